# Config validation, helpers and input functions for every rule file (rule files hold
# rules only; the wildcard constraints are in the Snakefile, since --lint wants no rules
# beside functions).
import importlib.util
from itertools import product
from pathlib import Path

from snakemake.utils import validate

validate(config, "../schemas/config.schema.yaml")

# Package edits rerun the rules that import the edited modules: each rule's params carry a
# digest of the modules its stage imports, transitively (losslandscape/codehash.py, loaded
# by path so that planning imports neither torch nor an installed copy of the package).
PACKAGE_DIR = Path(workflow.basedir) / "src" / "losslandscape"
_spec = importlib.util.spec_from_file_location("codehash", PACKAGE_DIR / "codehash.py")
codehash = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(codehash)


def code_of(module):
    """Digest of `losslandscape.<module>` and the package modules it imports."""
    return codehash.code_hash(PACKAGE_DIR, f"losslandscape.{module}")


STUDY = config["study"]
PLANES = config["directions"]["planes"]

missing_rates = [
    a for a in config["activations"] if a not in config["training"]["learning_rate"]
]
if missing_rates:
    raise ValueError(
        f"config training.learning_rate: no learning rate for activation(s) {missing_rates}; "
        f"found rates for {sorted(config['training']['learning_rate'])}"
    )
if config["training"]["plateau"] and config["training"]["milestones"]:
    raise ValueError(
        "config training: choose one learning-rate schedule; found both plateau "
        f"{config['training']['plateau']} and milestones {config['training']['milestones']}"
    )

epochs, every = config["training"]["epochs"], config["training"]["checkpoint_every"]
saved_epochs = sorted({0, epochs, *range(every, epochs + 1, every)})
if "pca" in PLANES and len(saved_epochs) < 4:
    raise ValueError(
        "config directions.planes has pca, which needs at least 4 saved checkpoints; "
        f"training.epochs {epochs} with checkpoint_every {every} saves {saved_epochs}"
    )
for plane, count in (("three_point", 3), ("interpolation", 2)):
    chosen = config["directions"][plane]["epochs"]
    if plane in PLANES and chosen is not None:
        unsaved = [e for e in chosen if e not in saved_epochs]
        if unsaved:
            raise ValueError(
                f"config directions.{plane}.epochs: expected {count} saved epochs "
                f"(saved: {saved_epochs}); found {chosen}, of which {unsaved} are not saved"
            )

n_grid_points = config["landscape"]["resolution"] ** (
    1 if set(PLANES) & {"interpolation", "line"} else 2
)
if config["landscape"]["tiles"] > n_grid_points:
    raise ValueError(
        f"config landscape.tiles: expected at most the {n_grid_points} points of the "
        f"smallest grid; found {config['landscape']['tiles']}"
    )


def runs():
    """Every (activation, seed) pair of the study, activation-major."""
    return list(product(config["activations"], config["seeds"]))


def run_paths(pattern, **extra):
    """`pattern` expanded for every run (and the given extra wildcards)."""
    return [
        pattern.format(study=STUDY, activation=a, seed=s, **extra) for a, s in runs()
    ]


def run_plane_paths(pattern):
    """`pattern` expanded for every run and plane kind."""
    return [
        pattern.format(study=STUDY, activation=a, seed=s, plane=p)
        for (a, s), p in product(runs(), PLANES)
    ]


def run_labels():
    """[activation, seed] per run, in the order of run_paths (for the gather scripts)."""
    return [[a, int(s)] for a, s in runs()]


def hessian_dataset(wildcards):
    """The prepared data set for hessian planes (their directions need data), else nothing."""
    if wildcards.plane != "hessian":
        return []
    return rules.prepare_dataset.output.dataset.format(study=wildcards.study)


# Official archive file names per downloadable data set (losslandscape.archives.ARCHIVES;
# repeated here so that planning a run does not import torch).
ARCHIVE_FILES = {
    "cifar10": ["cifar-10-python.tar.gz"],
    "cifar100": ["cifar-100-python.tar.gz"],
    **{
        name: [
            f"{prefix}-{kind}-idx{dims}-ubyte.gz"
            for prefix in ("train", "t10k")
            for kind, dims in (("images", 3), ("labels", 1))
        ]
        for name in ("mnist", "fashion_mnist")
    },
}


def dataset_archives(wildcards):
    """The configured data set's archives to download, or nothing for offline ones."""
    name = config["dataset"]["name"]
    return [f"resources/datasets/{name}/{f}" for f in ARCHIVE_FILES.get(name, [])]


def accelerator(device, kind):
    """1 when a job on the configured `device` needs an accelerator of `kind` (cuda: the
    `gpu` resource; xla: `tpu`), else 0. Profiles limit or request them."""
    return int(device == kind)


def canonical(value):
    """`value` with every dict's keys sorted, recursively: params are compared with their
    key order, so without this, reordering keys in a config file would rerun jobs."""
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


# Landscape settings that change how a job runs, not its values: read by the scripts from
# snakemake.config, so that changing them reruns nothing.
RUNTIME_ONLY_LANDSCAPE = ("save_every_seconds", "threads")


def landscape_settings():
    return canonical(
        {
            k: v
            for k, v in config["landscape"].items()
            if k not in RUNTIME_ONLY_LANDSCAPE
        }
    )


def plane_options(wildcards):
    """The direction options of this plane kind only (random ones for line slices)."""
    section = {"line": "random"}.get(wildcards.plane, wildcards.plane)
    return canonical(config["directions"].get(section, {}))


def landscape_tiles(wildcards):
    """The tile files of one landscape, in tile order."""
    return [
        rules.evaluate_landscape_tile.output.tile.format(
            study=wildcards.study,
            activation=wildcards.activation,
            seed=wildcards.seed,
            plane=wildcards.plane,
            tile=k,
        )
        for k in range(config["landscape"]["tiles"])
    ]


def learning_rate(wildcards):
    return config["training"]["learning_rate"][wildcards.activation]


def final_outputs():
    """Targets of the default target (all): the summary tables and every report figure."""
    return [
        f"results/{STUDY}/metrics/summary.csv",
        f"results/{STUDY}/metrics/summary_by_activation.csv",
        f"results/{STUDY}/statistics/answer.rst",
        f"results/{STUDY}/statistics/study.nc",
        f"results/{STUDY}/report/metric_comparison.png",
        f"results/{STUDY}/report/training_curves.png",
        *run_plane_paths(
            "results/{study}/report/landscape/{activation}/seed_{seed}/{plane}.png"
        ),
        *run_plane_paths(
            "results/{study}/report/analysis/{activation}/seed_{seed}/{plane}.png"
        ),
        *(f"results/{STUDY}/report/planes/{plane}.png" for plane in PLANES),
    ]
