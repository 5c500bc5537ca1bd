"""One source per config fact (losslandscape.settings): the schema and the README's key table
are generated from it, config/config.yaml states its defaults, and the package's own
defaults for config keys are its values (or differ for a stated reason)."""

import ast
import importlib.util
import inspect
import sys
from dataclasses import MISSING, fields, is_dataclass
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from snakemake.utils import validate

from losslandscape.settings import (
    DEFAULTS,
    Registry,
    Settings,
    as_config,
    check_config,
    default_at,
    generate,
)

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
SETTINGS = REPO / "src" / "losslandscape" / "settings"


def config_file(name: str) -> dict:
    return yaml.safe_load((REPO / "config" / name).read_text())


def leaves(value, prefix=""):
    """(dotted key, value) of every key of a config, mappings flattened, except the mappings
    a key holds as a whole (``model.kwargs``, ``training.learning_rate``, plateau…)."""
    whole = {"model.kwargs", "training.learning_rate", "dataset.checksums"}
    whole |= {"training.plateau", "training.milestones"}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict) and name not in whole:
            yield from leaves(item, f"{name}.")
        else:
            yield name, item


def test_the_schema_file_is_the_one_the_settings_generate():
    """Edit the settings (src/losslandscape/settings/), then run
    ``python -m losslandscape.settings``: the committed schema must be its output."""
    assert SCHEMA.read_text(encoding="utf-8") == generate.schema_text(), (
        "workflow/schemas/config.schema.yaml is out of date: run python -m losslandscape.settings"
    )
    Draft202012Validator.check_schema(generate.json_schema())


def test_the_readme_key_table_is_the_one_the_settings_generate():
    readme = (REPO / "config" / "README.md").read_text(encoding="utf-8")
    assert generate.TABLE_START in readme and generate.TABLE_END in readme
    assert readme == generate.readme_with_table(readme), (
        "config/README.md's key table is out of date: run python -m losslandscape.settings"
    )
    for name, _ in leaves(as_config(DEFAULTS)):
        assert f"| `{name}` |" in readme, f"{name} has no row in config/README.md"


def test_the_generator_rewrites_stale_files_and_check_mode_says_so(tmp_path, capsys):
    for path in (generate.SCHEMA_PATH, generate.README_PATH):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text((REPO / path).read_text(encoding="utf-8"))
    (tmp_path / generate.SCHEMA_PATH).write_text("stale\n")
    with pytest.raises(SystemExit, match="out of date: .*config.schema.yaml"):
        generate.main(["--root", str(tmp_path), "--check"])
    generate.main(["--root", str(tmp_path)])
    assert (tmp_path / generate.SCHEMA_PATH).read_text() == generate.schema_text()
    generate.main(["--root", str(tmp_path), "--check"])  # now up to date: no exit
    assert "wrote" in capsys.readouterr().out


def test_config_yaml_states_every_key_with_the_settings_default():
    """The embedded study's values are the defaults; config.yaml states (and comments)
    every key, so it doubles as the reference of the defaults."""
    stated = dict(leaves(config_file("config.yaml")))
    defaults = dict(leaves(as_config(DEFAULTS)))
    assert sorted(stated) == sorted(defaults)
    differing = {k: (stated[k], defaults[k]) for k in defaults if stated[k] != defaults[k]}
    assert not differing, f"config.yaml value, settings default: {differing}"


@pytest.mark.parametrize(
    "name",
    [
        "config.yaml",
        "test.yaml",
        *(f"studies/{p.name}" for p in (REPO / "config/studies").glob("*")),
    ],
)
def test_every_shipped_config_passes_the_start_up_checks(name):
    config = config_file(name)
    validate(config, str(SCHEMA))
    check_config(config)


def test_a_config_of_only_the_required_keys_gets_every_default():
    """The schema's defaults are the settings': Snakemake fills in each key left out."""

    def required_only(kind, values):
        kept = {}
        for f in fields(kind):
            if f.metadata["required"]:
                inner = f.default_factory if f.metadata["meaning"] is None else None
                kept[f.name] = required_only(inner, values[f.name]) if inner else values[f.name]
        return kept

    config = required_only(Settings, as_config(DEFAULTS))
    assert "across_seeds" not in config and "subset_size" not in config["landscape"]
    validate(config, str(SCHEMA))
    assert config == as_config(DEFAULTS)


def _registries(kind=Settings):
    for f in fields(kind):
        if f.metadata["meaning"] is None:
            yield from _registries(f.default_factory)
        elif isinstance(f.metadata["choices"], Registry):
            yield f"{kind.__name__}.{f.name}", f.metadata["choices"]


@pytest.mark.parametrize("key, registry", list(_registries()), ids=lambda v: str(v))
def test_allowed_names_are_read_from_the_package_registries(key, registry):
    """Each name list lives in the package (one home); a registry that moved fails here
    by name (point the settings' Registry at its new home)."""
    names = registry.names()
    assert names and all(isinstance(n, str) for n in names), key


def test_the_settings_import_only_the_standard_library():
    """workflow/rules/common.smk loads checks.py by path: it must not import torch, or
    anything of the package, when loaded. The modules the package's settings import
    (sections.py and the sections and key helpers beside it) import only the standard
    library and each other (generate.py, which imports yaml, is imported only to write)."""
    modules = sorted(p.name for p in SETTINGS.glob("*.py"))
    assert {"checks.py", "sections.py", "keys.py"} <= set(modules)
    for module in modules:
        if module in ("generate.py", "__main__.py"):
            continue
        tree = ast.parse((SETTINGS / module).read_text())
        imported = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                siblings = node.module.startswith("losslandscape.settings.")
                if module == "checks.py" or not siblings:
                    imported.add(node.module.split(".")[0])
        assert imported <= sys.stdlib_module_names, f"{module} imports {imported}"


def _by_path(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checks_loaded_by_path_as_common_smk_does_refuse_a_bad_config():
    checks = _by_path("checks", SETTINGS / "checks.py")
    kinds = _by_path("kinds", SETTINGS.parent / "planes" / "kinds.py").PLANE_KINDS
    config = config_file("config.yaml")
    validate(config, str(SCHEMA))
    checks.check_config(config, kinds=kinds)
    config["landscape"]["tiles"] = 5000
    with pytest.raises(ValueError, match="landscape.tiles: expected at most the 961 points"):
        checks.check_config(config, kinds=kinds)


def test_every_key_has_a_type_a_default_and_a_meaning():
    def walk(kind):
        for f in fields(kind):
            if f.metadata["meaning"] is None:
                assert is_dataclass(f.default_factory), f.name
                yield from walk(f.default_factory)
            else:
                assert f.default is not MISSING or f.default_factory is not MISSING, f.name
                yield f

    keys = list(walk(Settings))
    assert len(keys) >= 60
    assert all(len(f.metadata["meaning"]) > 10 for f in keys)


# The package's own defaults for config keys: (object, parameter or field) → config key.
# Where a bare call deliberately differs from the embedded study, the reason is stated in
# UNLIKE_THE_CONFIG; any other difference fails.
def _package_defaults() -> dict[str, tuple[object, dict[str, str]]]:
    from losslandscape.engine.strategies import EvaluationOptions
    from losslandscape.metrics.landscape import landscape_metrics
    from losslandscape.stages.data import run_download_archive, run_prepare_dataset
    from losslandscape.stages.directions import run_compute_directions
    from losslandscape.stages.landscape import LandscapeSettings
    from losslandscape.stages.seed_barriers import run_interpolate_seeds
    from losslandscape.stages.sharpness import run_compute_sharpness, run_hessian_map
    from losslandscape.stages.train import run_train_model
    from losslandscape.training.loop import train_run

    landscape = {f.name: f"landscape.{f.name}" for f in fields(LandscapeSettings)}
    metrics = {
        "variable": "metrics.variable",
        "tolerance_absolute": "metrics.minima_tolerance.absolute",
        "tolerance_relative": "metrics.minima_tolerance.relative",
        "edge": "metrics.edge",
        "basin_levels": "metrics.basin_levels",
        "basin_level_mode": "metrics.basin_level_mode",
        "region_height": "metrics.region_height",
        "roughness_scale": "metrics.roughness_scale",
        "shape_sigma": "metrics.shape_sigma",
    }
    training = {
        key: f"training.{key}"
        for key in ("batch_size", "optimizer", "momentum", "weight_decay", "checkpoint_every")
        + ("augmentation", "device", "cosine", "target_loss")
    }
    training |= {
        "plateau_factor": "training.plateau",
        "plateau_patience": "training.plateau.patience",
        "milestones": "training.milestones",
        "milestone_factor": "training.milestones.factor",
    }
    sharpness = {
        key: f"sharpness.{key}"
        for key in ("subset_size", "trace_products", "epsilon", "ascent_iterations")
    }
    return {
        "LandscapeSettings": (LandscapeSettings, landscape),
        "EvaluationOptions": (
            EvaluationOptions,
            {key: f"landscape.{key}" for key in ("batch_size", "batchnorm", "memory_budget_mb")},
        ),
        "landscape_metrics": (landscape_metrics, metrics),
        "train_run": (train_run, training),
        "run_train_model": (run_train_model, {"device": "training.device"}),
        "run_compute_directions": (
            run_compute_directions,
            {
                "normalization": "directions.random.normalization",
                "ignore_biasbn": "directions.random.ignore_biasbn",
                "three_point_epochs": "directions.three_point.epochs",
                "interpolation_epochs": "directions.interpolation.epochs",
                "hessian_subset_size": "directions.hessian.subset_size",
                "narrow_extent": "directions.narrow.extent",
            },
        ),
        "run_compute_sharpness": (run_compute_sharpness, sharpness),
        "run_hessian_map": (run_hessian_map, {"subset_size": "sharpness.subset_size"}),
        "run_interpolate_seeds": (
            run_interpolate_seeds,
            {"points": "across_seeds.points", "subset_size": "landscape.subset_size"},
        ),
        "run_prepare_dataset": (run_prepare_dataset, {"labels": "dataset.labels"}),
        "run_download_archive": (
            run_download_archive,
            {"mirror": "dataset.mirror", "checksums": "dataset.checksums"},
        ),
    }


UNLIKE_THE_CONFIG = {
    "train_run.cosine": "a bare call trains at a constant rate unless a schedule is asked for",
    "train_run.target_loss": "a bare call records no training-loss target",
    "train_run.device": "takes a resolved device; run_train_model resolves the config's auto",
    "run_compute_directions.three_point_epochs": "a bare call's epochs fit a short run",
    "run_interpolate_seeds.subset_size": "a bare call evaluates the whole splits",
}


def _default(owner, name):
    if is_dataclass(owner):
        return next(f.default for f in fields(owner) if f.name == name)
    return inspect.signature(owner).parameters[name].default


def test_the_package_defaults_for_config_keys_are_the_settings():
    found = {}
    for owner_name, (owner, keys) in _package_defaults().items():
        for name, path in keys.items():
            default, expected = _default(owner, name), default_at(path)
            plain = list(default) if isinstance(default, tuple) else default
            if plain != expected:
                found[f"{owner_name}.{name}"] = (default, path, expected)
    unexplained = {k: v for k, v in found.items() if k not in UNLIKE_THE_CONFIG}
    assert not unexplained, f"(default, config key, its default): {unexplained}"
    resolved = sorted(set(UNLIKE_THE_CONFIG) - set(found))
    assert not resolved, f"{resolved} now agree with the config: drop them from UNLIKE_THE_CONFIG"


def test_the_metrics_defaults_table_is_the_settings():
    from losslandscape.metrics.landscape import DEFAULTS as METRICS

    metrics = as_config(DEFAULTS.metrics)
    tolerance = metrics.pop("minima_tolerance")
    expected = metrics | {f"tolerance_{k}": v for k, v in tolerance.items()}
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in METRICS.items()} == expected


def test_the_default_leaky_relu_slope_is_the_settings():
    from losslandscape.models.activations import DEFAULT_LEAKY_RELU_SLOPE

    assert DEFAULT_LEAKY_RELU_SLOPE == DEFAULTS.model.leaky_relu_slope
