# Config validation, helpers and input functions for every rule file (rule files hold
# rules only; the wildcard constraints are in the Snakefile, since --lint wants no rules
# beside functions).
import importlib.util
from itertools import product
from pathlib import Path

from snakemake.utils import validate

# Package modules that planning needs are loaded by path, so that planning imports neither
# torch nor an installed copy of the package.
PACKAGE_DIR = Path(workflow.basedir) / "src" / "losslandscape"


def _module_by_path(relative_path):
    name = Path(relative_path).stem
    spec = importlib.util.spec_from_file_location(name, PACKAGE_DIR / relative_path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


# Package edits rerun the rules that import the edited modules: each rule's params carry a
# digest of the modules its stage imports, transitively (losslandscape/codehash.py).
codehash = _module_by_path("codehash.py")
# The plane kinds and the plane-name grammar (losslandscape/planes/kinds.py)
plane_kinds = _module_by_path("planes/kinds.py")
# The config: the schema (generated from losslandscape/settings/sections.py) checks each
# key and fills in the defaults, then the checks across keys (losslandscape/settings/checks.py);
# a renamed key is named before the schema only calls it unexpected
config_checks = _module_by_path("settings/checks.py")
config_checks.check_renamed_keys(config)
validate(config, "../schemas/config.schema.yaml")
# Wall-time requests from the work the config sets and the model's measured cost, and the
# data sets' input shapes (losslandscape/settings/runtimes.py)
runtimes = _module_by_path("settings/runtimes.py")
# The units of each loss (losslandscape/units.py): the report states the study's loss in them
loss_units = _module_by_path("units.py")
LOSS_UNITS = loss_units.LOSS_UNITS[config["training"]["loss"]]
# A model of the user's own, by import path: its source files (losslandscape/models/import_path.py)
import_path = _module_by_path("models/import_path.py")
config_checks.check_config(
    config,
    kinds=plane_kinds.PLANE_KINDS,
    dataset_summary=runtimes.dataset_summary,
    has_batchnorm=runtimes.has_batchnorm,
    check_import_path=import_path.check_import_path,
)


def code_of(module):
    """Digest of `losslandscape.<module>` and the package modules it imports."""
    return codehash.code_hash(PACKAGE_DIR, f"losslandscape.{module}")


def _shown_path(path):
    """`path` relative to the working directory where it lies under it (Snakemake's
    inputs are), else absolute."""
    path = Path(path).resolve()
    return (
        str(path.relative_to(Path.cwd()))
        if path.is_relative_to(Path.cwd())
        else str(path)
    )


MODEL_NAME = config["model"]["name"]
OWN_MODEL = import_path.is_import_path(MODEL_NAME)
# A model given by import path: its module and the modules of its project it imports are
# inputs of the rule that builds the runs' models, and their digest a param, so that
# editing them reruns that rule and what follows, and nothing upstream
MODEL_FILES, MODEL_CODE = (
    import_path.source_digest(MODEL_NAME.split(":")[0]) if OWN_MODEL else ([], "")
)
MODEL_SOURCES = [_shown_path(p) for p in MODEL_FILES]
# A data set given by file: an input of prepare_dataset
DATASET_FILE = (
    [config["dataset"]["path"]] if config["dataset"]["name"] == "file" else []
)
# Models trained elsewhere: (activation, seed) → state dict (training.external_checkpoints)
EXTERNAL = config["training"]["external_checkpoints"]


def external_state_dict(wildcards):
    return config_checks.external_checkpoint_paths(config)[
        (wildcards.activation, int(wildcards.seed))
    ]


STUDY = config["study"]
# Plane kinds; the {plane} wildcard holds plane names (kinds with their draw, centre epoch
# or other seed: losslandscape/planes/kinds.py)
PLANES = config["directions"]["planes"]
DIRECTIONS = config["directions"]
SEEDS = [int(s) for s in config["seeds"]]
THREE_SEEDS = plane_kinds.plane_seeds(DIRECTIONS, SEEDS)
NARROW_EPOCHS = plane_kinds.checkpoint_epochs(DIRECTIONS)


def runs():
    """Every (activation, seed) pair of the study, activation-major."""
    return list(product(config["activations"], config["seeds"]))


def run_paths(pattern, **extra):
    """`pattern` expanded for every run (and the given extra wildcards)."""
    return [
        pattern.format(study=STUDY, activation=a, seed=s, **extra) for a, s in runs()
    ]


def landscapes_of_plane(wildcards):
    """The landscape file of plane `wildcards.plane` in every run."""
    return run_paths(
        "results/{study}/landscape/{activation}/seed_{seed}/{plane}.nc",
        plane=wildcards.plane,
    )


def planes_of(seed, kinds=None):
    """The plane names mapped in the folder of `seed` (of `kinds`, default every kind)."""
    return [
        str(name)
        for name in plane_kinds.run_plane_names(
            kinds or PLANES,
            DIRECTIONS.get("draws", 1),
            int(seed),
            THREE_SEEDS,
            NARROW_EPOCHS,
        )
    ]


def all_plane_names():
    """Every plane name of the study (for the {plane} wildcard's constraint)."""
    return sorted({name for seed in SEEDS for name in planes_of(seed)})


# Where a plane's metrics go in the summary (losslandscape.planes.kinds; the command line's
# summarize-study sorts metrics files by the same rules)
is_run_plane = plane_kinds.is_run_plane
is_across_seeds = plane_kinds.is_across_seeds
is_over_training = plane_kinds.is_over_training


def run_plane_paths(pattern, which=is_run_plane):
    """`pattern` expanded for every run and every plane name for which `which` holds."""
    return [
        pattern.format(study=STUDY, activation=a, seed=s, plane=p)
        for a, s in runs()
        for p in planes_of(s)
        if which(p)
    ]


def is_figured(name):
    """Planes drawn in the report: the first direction draw, centred on the final model
    (the other draws and the planes around earlier checkpoints are measured, in the
    summary tables, not drawn: a figure job costs more than a small model's plane)."""
    parsed = plane_kinds.PlaneName.parse(name)
    return parsed.draw == 1 and parsed.epoch is None


def figure_plane_paths(pattern):
    """`pattern` expanded for every run and every plane drawn in the report."""
    return run_plane_paths(pattern, which=is_figured)


def across_seed_paths(pattern):
    """`pattern` for every plane through several seeds' models."""
    return run_plane_paths(pattern, which=is_across_seeds)


def over_training_paths(pattern):
    """`pattern` for every plane of basin width over training (:func:`is_over_training`)."""
    return run_plane_paths(pattern, which=is_over_training)


def maps_over_training():
    """Whether the study maps planes around earlier checkpoints (basin width over
    training): a kind that is mapped around them, and epochs to map them around."""
    return bool(NARROW_EPOCHS) and any(
        plane_kinds.plane_kind(kind).around_checkpoints for kind in PLANES
    )


# The plane kinds of the per-run summary (its `plane` column), and the plane names drawn
# side by side for every run (the first draw)
SUMMARY_PLANES = [k for k in PLANES if not is_across_seeds(k)]
COMPARED_PLANES = [
    p
    for p in planes_of(SEEDS[0])
    if is_run_plane(p) and plane_kinds.PlaneName.parse(p).draw == 1
]


def seed_checkpoints(wildcards):
    """The final checkpoints of every seed of one activation, in the config's order."""
    return [
        TRAINED.output.checkpoints.format(
            study=wildcards.study, activation=wildcards.activation, seed=seed
        )
        for seed in SEEDS
    ]


def seed_barrier_paths():
    """The seed-barrier files of every activation, where the config asks for them."""
    if not config["across_seeds"]["interpolations"]:
        return []
    return [
        f"results/{STUDY}/metrics/{activation}/seed_barriers.nc"
        for activation in config["activations"]
    ]


def plane_checkpoints(wildcards):
    """The run's checkpoints, then those of the other seeds a plane passes through."""
    parsed = plane_kinds.PlaneName.parse(wildcards.plane)
    seeds = [int(wildcards.seed)]
    if parsed.plane_kind.across_seeds:
        if seeds[0] != THREE_SEEDS[0]:
            raise ValueError(
                f"the {parsed} plane lives in the folder of seed {THREE_SEEDS[0]}, the first "
                f"of {THREE_SEEDS}; found a request in the folder of seed {seeds[0]}"
            )
        seeds = THREE_SEEDS
    return [
        TRAINED.output.checkpoints.format(
            study=wildcards.study, activation=wildcards.activation, seed=seed
        )
        for seed in seeds
    ]


def run_labels():
    """[activation, seed] per run, in the order of run_paths (for the gather scripts)."""
    return [[a, int(s)] for a, s in runs()]


def hessian_dataset(wildcards):
    """The prepared data set for planes whose directions need data (hessian), else nothing."""
    if not plane_kinds.plane_kind(wildcards.plane).needs_dataset:
        return []
    return rules.prepare_dataset.output.dataset.format(study=wildcards.study)


# Official archive file names per downloadable data set (losslandscape.data.archives.ARCHIVES;
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


def direction_seconds(wildcards):
    """Estimated seconds of one plane's directions: Lanczos for a hessian plane; random,
    PCA and the others are cheap (settings/runtimes.py)."""
    if plane_kinds.plane_kind(wildcards.plane).name == "hessian":
        return runtimes.hessian_directions_seconds(config)
    return 0.0


def run_planes_seconds():
    """Estimated seconds of `map_run_planes`: a run's own planes, their directions and
    their trajectories (settings/runtimes.py)."""
    planes = local_planes()
    hessian = [p for p in planes if plane_kinds.plane_kind(p).name == "hessian"]
    return (
        runtimes.grid_seconds(config, runtimes.plane_points(config) * len(planes))
        + len(hessian) * runtimes.hessian_directions_seconds(config)
        + len(planes) * runtimes.trajectory_seconds(config)
    )


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


# Landscape settings that change how a job runs, not its values: they reach the scripts as
# the rules' threads and resources, never as params, so that changing them reruns nothing.
RUNTIME_ONLY_LANDSCAPE = ("save_every_seconds", "threads")


# Landscape settings only recomputed BatchNorm statistics use: left out of the params where
# nothing is recomputed, so that changing them reruns nothing there
BATCHNORM_ONLY_LANDSCAPE = ("batchnorm_samples", "batchnorm_batch_size")


def landscape_settings():
    recomputed = config["landscape"][
        "batchnorm"
    ] == "recompute" and runtimes.has_batchnorm(config["model"]["name"])
    unused = RUNTIME_ONLY_LANDSCAPE + (() if recomputed else BATCHNORM_ONLY_LANDSCAPE)
    return canonical({k: v for k, v in config["landscape"].items() if k not in unused})


def options_of_plane(name):
    """The direction options of plane `name`'s kind only: the config section of the kind
    whose directions it uses (random ones for narrow planes and line slices), with its own
    extent for a kind that has one (narrow)."""
    kind = plane_kinds.plane_kind(name)
    options = dict(DIRECTIONS.get(kind.directions_of, {}))
    if kind.own_extent:
        options["extent"] = DIRECTIONS[kind.name]["extent"]
    return canonical(options)


def plane_options(wildcards):
    """The direction options of the requested plane's kind (:func:`options_of_plane`)."""
    return options_of_plane(wildcards.plane)


def local_planes():
    """The plane names mapped from a run's own checkpoints: every kind but those through
    several seeds' models. The same in every run's folder."""
    return [name for name in planes_of(SEEDS[0]) if not is_across_seeds(name)]


def local_plane_options():
    """Plane name → its direction options, for the run's own planes."""
    return {name: options_of_plane(name) for name in local_planes()}


def local_paths(pattern, which=lambda name: True):
    """`pattern` for each of a run's own planes (for which `which` holds), its other
    wildcards kept: the outputs of the rules that handle a run's planes in one job."""
    return [pattern.replace("{plane}", name) for name in local_planes() if which(name)]


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
        *figure_plane_paths(
            "results/{study}/report/landscape/{activation}/seed_{seed}/{plane}.png"
        ),
        *figure_plane_paths(
            "results/{study}/report/analysis/{activation}/seed_{seed}/{plane}.png"
        ),
        *(f"results/{STUDY}/report/planes/{plane}.png" for plane in COMPARED_PLANES),
        *(
            [f"results/{STUDY}/report/width_over_training.png"]
            if maps_over_training()
            else []
        ),
        *(
            [f"results/{STUDY}/report/seed_barriers.png"]
            if config["across_seeds"]["interpolations"]
            else []
        ),
    ]
