"""Runtime requests scale with the work a config sets and with the attempt
(losslandscape/settings/runtimes.py), from per-sample costs measured for every shipped model
on every data set it takes."""

import copy
from pathlib import Path

import pytest
import yaml

from losslandscape.models.registry import MODELS, data_kwargs
from losslandscape.settings import runtimes

REPO = Path(__file__).resolve().parents[3]


def merged(*files: str) -> dict:
    """The default config with each study file's keys over it, as Snakemake merges them."""

    def over(base: dict, extra: dict) -> dict:
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                over(base[key], value)
            else:
                base[key] = value
        return base

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    for name in files:
        config = over(config, yaml.safe_load((REPO / name).read_text()))
    return config


def test_every_model_has_a_measured_cost_on_every_data_set_it_takes():
    for model in MODELS:
        for dataset, (shape, _, _) in runtimes.DATASETS.items():
            try:
                data_kwargs(model, list(shape), 10)
            except ValueError:
                continue  # a 1-D CNN on images: refused before any job
            cost = runtimes.sample_cost(model, dataset)
            key = "x".join(map(str, shape))
            assert key in runtimes._costs()[model], (model, dataset)
            assert 0 < cost["forward"] < cost["train"], (model, dataset)


def test_a_model_the_table_lacks_is_charged_the_costliest_on_its_shape():
    cifar = runtimes.sample_cost("own.module:factory", "cifar10")
    assert cifar == {
        kind: max(
            by_shape["3x32x32"][kind]
            for by_shape in runtimes._costs().values()
            if "3x32x32" in by_shape
        )
        for kind in ("forward", "train")
    }


def test_the_request_is_the_estimate_with_a_margin_a_floor_and_the_attempt():
    assert runtimes.request_minutes(0) == runtimes.FLOOR_MINUTES
    hour = runtimes.request_minutes(3600)
    assert hour == 60 * runtimes.SAFETY
    assert runtimes.request_minutes(3600, attempt=3) == 3 * hour
    assert runtimes.resource(3600)(None, 2) == 2 * hour  # Snakemake's (wildcards, attempt)
    assert runtimes.fixed(10)(None, 3) == 30


@pytest.mark.parametrize(
    "change, estimate, factor",
    [
        ({"training": {"epochs": 80}}, runtimes.training_seconds, 2),
        ({"landscape": {"tiles": 2}}, runtimes.tile_seconds, 0.5),
        ({"landscape": {"subset_size": 500}}, runtimes.tile_seconds, 0.5),
        ({"landscape": {"batchnorm": "recompute"}}, runtimes.tile_seconds, 1),  # no BatchNorm
        ({"training": {"checkpoint_every": 20}}, runtimes.trajectory_seconds, 3 / 41),
        ({"sharpness": {"subset_size": 250}}, runtimes.sharpness_seconds, 0.5),
        ({"across_seeds": {"points": 50}}, lambda c: runtimes.interpolation_seconds(c, 3), 2),
    ],
)
def test_estimates_scale_with_the_work(change, estimate, factor):
    config = merged()
    changed = copy.deepcopy(config)
    for section, values in change.items():
        changed[section] |= values
    assert estimate(changed) == pytest.approx(factor * estimate(config), rel=0.02)


def test_recomputed_batchnorm_statistics_cost_their_samples_on_models_with_batchnorm():
    config = merged()
    config["model"]["name"], config["dataset"]["name"] = "resnet20", "digits"
    recompute = copy.deepcopy(config)
    recompute["landscape"] |= {"batchnorm": "recompute", "batchnorm_samples": 1000}
    evaluation = min(1000, 1438) + min(1000, 359)  # subset_size 1000 of each split
    ratio = runtimes.tile_seconds(recompute) / runtimes.tile_seconds(config)
    assert ratio == pytest.approx((evaluation + 1000) / evaluation)
    assert runtimes.has_batchnorm("resnet20") and not runtimes.has_batchnorm("mnist1d_cnn")


def test_a_finer_grid_and_a_costlier_model_ask_for_more():
    config = merged()
    finer = copy.deepcopy(config)
    finer["landscape"]["resolution"] = 2 * config["landscape"]["resolution"]
    assert runtimes.tile_seconds(finer) == pytest.approx(4 * runtimes.tile_seconds(config))
    cifar = merged("config/studies/cifar10-resnet56.yaml")
    assert runtimes.training_seconds(cifar) > 1000 * runtimes.training_seconds(config)
    # the default study's jobs stay at the floor; a CIFAR tile asks for hours
    assert runtimes.request_minutes(runtimes.tile_seconds(config)) == runtimes.FLOOR_MINUTES
    assert runtimes.request_minutes(runtimes.tile_seconds(cifar)) > 120
