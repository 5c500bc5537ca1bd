"""Runs that missed the training-loss target, direction-draw noise, and the planes behind them.

- the target: when a run reached it (:func:`summary.target_columns`), which runs the
  statistics leave out (:func:`study_statistics.converged_runs`, the statistics stage) and
  how the front page says so (:func:`answer.answer_rst`);
- the noise that the choice of random directions puts into a difference of activation
  means (:func:`conclusions.draw_noise`) against a hand computation, and the sentence that
  weighs a difference against it;
- the planes: independent draws, narrow planes on the same directions over a smaller
  window, narrow planes around an earlier checkpoint, and basin width over training.
"""

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr
from docutils.core import publish_parts

from losslandscape.data.datasets import save_dataset
from losslandscape.engine.evaluation import evaluate
from losslandscape.io.datamodel import read_landscape
from losslandscape.planes.directions import load_directions
from losslandscape.stages.analyze import run_study_statistics
from losslandscape.stages.directions import direction_kwargs, run_compute_directions
from losslandscape.stages.landscape import LandscapeSettings, run_evaluate_landscape
from losslandscape.stages.landscape_plane import grid_axes, load_plane
from losslandscape.statistics import answer, conclusions
from losslandscape.statistics import study as study_statistics
from losslandscape.statistics.summary import (
    ACROSS_SEEDS_COLUMNS,
    OVER_TRAINING_COLUMNS,
    RUN_COLUMNS,
    over_training_table,
    target_columns,
)
from losslandscape.training.checkpoints import model_from_checkpoints, save_checkpoints
from tests.unit.statistics.test_statistics import draw_summary, five_seed_summary

# --- the training-loss target -------------------------------------------------------------


def history(losses) -> pd.DataFrame:
    return pd.DataFrame({"epoch": range(len(losses)), "train_loss": losses})


def test_target_columns_mark_the_first_epoch_at_or_below_the_target():
    losses = [2.0, 1.5, 1.0, 0.4, 0.5, 0.3]  # below 0.45 first at epoch 3, above again at 4
    none = target_columns(history(losses), None)
    assert math.isnan(none["target_loss"])
    assert (none["target_epoch"], none["reached_target"]) == (-1, 1)  # nothing to judge
    assert target_columns(history(losses), 0.45) == {
        "target_loss": 0.45,
        "target_epoch": 3,
        "reached_target": 1,
    }
    assert target_columns(history(losses), 0.4)["target_epoch"] == 3  # at the target counts
    assert target_columns(history(losses), 0.1) == {
        "target_loss": 0.1,
        "target_epoch": -1,
        "reached_target": 0,
    }
    # below the target at epoch 2, above it at the end: not at the target (first epoch kept)
    rose = target_columns(history([2.0, 1.0, 0.04, 0.2]), 0.05)
    assert (rose["target_epoch"], rose["reached_target"]) == (2, 0)
    diverged = target_columns(history([2.0, 1.0, np.nan]), 0.5)  # NaN never reaches it
    assert (diverged["target_epoch"], diverged["reached_target"]) == (-1, 0)


def with_target(summary: pd.DataFrame, missed: list[tuple[str, int]]) -> pd.DataFrame:
    """``summary`` with a training-loss target of 0.05 nats that every run reached (final
    training loss 0.01) but ``missed`` (final training loss 0.3)."""
    runs = list(zip(summary["activation"], summary["seed"], strict=True))
    reached = np.array([run not in missed for run in runs])
    return summary.assign(
        target_loss=0.05,
        reached_target=reached.astype(int),
        final_train_loss=np.where(reached, 0.01, 0.3),
    )


def test_converged_runs_leave_out_every_row_of_a_run_that_missed_the_target():
    summary = with_target(draw_summary(), [("relu", 2)])  # 3 rows per run: pca, 2 random draws
    kept, left_out = study_statistics.converged_runs(summary)
    assert len(kept) == len(summary) - 3
    assert ("relu", 2) not in set(zip(kept["activation"], kept["seed"], strict=True))
    pd.testing.assert_frame_equal(kept, summary[summary["reached_target"] == 1])
    assert left_out.to_dict("records") == [
        {"activation": "relu", "seed": 2, "target_loss": 0.05, "final_train_loss": 0.3}
    ]
    # without the column nothing is judged: everything kept, nothing listed
    plain = draw_summary()
    kept, left_out = study_statistics.converged_runs(plain)
    pd.testing.assert_frame_equal(kept, plain)
    assert left_out.empty and list(left_out.columns) == ["activation", "seed"]


def test_the_statistics_stage_compares_only_runs_that_reached_the_target(tmp_path):
    table = with_target(five_seed_summary(differ=True), [("relu", 4)])
    path = tmp_path / "summary.csv"
    table.to_csv(path, index=False)
    names = ("by_activation", "comparisons", "correlations", "variance_split")
    outputs = {name: str(tmp_path / f"{name}.csv") for name in names}
    outputs |= {"dataset": str(tmp_path / "study.nc"), "answer": str(tmp_path / "answer.rst")}
    run_study_statistics(str(path), ["sigmoid", "relu"], ["random"], outputs)
    stats = pd.read_csv(outputs["by_activation"])
    runs = stats.query("metric == 'roughness'").set_index("activation")["n"]
    assert runs.to_dict() == {"sigmoid": 5, "relu": 4}
    tests = pd.read_csv(outputs["comparisons"]).query("metric == 'roughness'")
    assert tests[["n_a", "n_b"]].values.tolist() == [[5, 4]]
    text = Path(outputs["answer"]).read_text()
    assert "relu seed 4 (final training loss 0.3 nats)" in text
    with xr.open_dataset(outputs["dataset"]) as study:  # the files keep every run
        assert study.sizes["seed"] == 5 and not study.roughness.isnull().any()
    # no run reached the target: nothing to compare, said so
    everyone = [(a, s) for a, s in zip(table["activation"], table["seed"], strict=True)]
    with_target(table, everyone).to_csv(path, index=False)
    with pytest.raises(ValueError, match="no run reached the training-loss target"):
        run_study_statistics(str(path), ["sigmoid", "relu"], ["random"], outputs)


# --- direction-draw noise -----------------------------------------------------------------

# the compared pair as the comparisons table gives it: the runs each mean is over
PAIR = pd.Series({"activation_a": "relu", "activation_b": "sigmoid", "n_a": 3, "n_b": 3})


def split_row(activation: str, within: float, seeds: int, draws: float) -> dict:
    return {
        "plane": "random",
        "metric": "roughness",
        "activation": activation,
        "n_seeds": seeds,
        "n_draws": draws,
        "between_seed_variance": 1.0,
        "within_run_variance": within,
        "draw_share": np.nan,
    }


def test_draw_noise_is_the_standard_error_of_a_difference_of_run_means():
    # draw_summary: draws ±1 around each run's mean → σ²_w = 2 for both, 3 runs × 2 draws
    split = study_statistics.variance_split(draw_summary())
    assert conclusions.draw_noise(split, "random", "roughness", PAIR) == pytest.approx(
        math.sqrt(2 / (3 * 2) + 2 / (3 * 2))
    )
    unequal = pd.DataFrame([split_row("relu", 2.0, 3, 2), split_row("sigmoid", 8.0, 4, 2)])
    pair = PAIR.copy()
    pair["n_b"] = 4
    assert conclusions.draw_noise(unequal, "random", "roughness", pair) == pytest.approx(
        math.sqrt(2 / 6 + 8 / 8)
    )
    # no split, an empty one, another plane or metric, an activation without rows: unknown
    for variance, plane, metric in (
        (None, "random", "roughness"),
        (split.iloc[0:0], "random", "roughness"),
        (unequal, "pca", "roughness"),
        (unequal, "random", "steepness"),
        (unequal.iloc[:1], "random", "roughness"),
    ):
        assert math.isnan(conclusions.draw_noise(variance, plane, metric, PAIR))


def comparison(difference: float) -> pd.DataFrame:
    """One relu − sigmoid comparison of roughness on the random plane."""
    return pd.DataFrame(
        [
            {
                "plane": "random",
                "metric": "roughness",
                "activation_a": "relu",
                "activation_b": "sigmoid",
                "n_a": 3,
                "n_b": 3,
                "mean_difference": difference,
                "cliffs_delta": 1.0 if difference > 0 else -1.0,
                "p_value": 0.1,
                "smallest_p": 0.1,
                "note": "",
            }
        ]
    )


def sentence(tests: pd.DataFrame, variance: pd.DataFrame | None) -> str:
    return conclusions.difference_sentence(
        "smoothness", "roughness (nats)", "random", tests, "roughness", [], variance
    )


def test_difference_sentence_weighs_the_difference_against_twice_the_draw_noise():
    summary = draw_summary()
    tests = study_statistics.comparisons(summary, ["relu", "sigmoid"])
    split = study_statistics.variance_split(summary)
    # run means relu 2, 4, 6 and sigmoid 12, 14, 16: Δ = −10 against s.e. √(2/3) = 0.816
    text = sentence(tests, split)
    assert "relu − sigmoid = -10" in text
    assert "12× the direction-draw noise of it (s.e. 0.816): beyond twice that noise" in text
    # σ²_w = 6, 3 runs × 1 draw each: s.e. √(2 + 2) = 2 exactly
    noise_two = pd.DataFrame([split_row("relu", 6.0, 3, 1), split_row("sigmoid", 6.0, 3, 1)])
    assert "(s.e. 2): within twice that noise" in sentence(comparison(1.5), noise_two)
    assert "2× the direction-draw noise of it (s.e. 2): within" in sentence(
        comparison(-4.0), noise_two
    )  # exactly twice is not beyond
    assert "beyond twice that noise" in sentence(comparison(4.001), noise_two)
    # draws that agree exactly, and no variance split at all
    exact = pd.DataFrame([split_row("relu", 0.0, 3, 2), split_row("sigmoid", 0.0, 3, 2)])
    assert "the direction draws agree exactly (no draw noise)" in sentence(comparison(1.0), exact)
    for variance in (None, split.iloc[0:0]):
        text = sentence(tests, variance)
        assert "noise" not in text and "draws" not in text
        assert text.endswith(
            "(Cliff's δ -1, exact p = 0.1), and these run counts cannot reach "
            "it (smallest possible p = 0.1)."
        )


def test_draw_noise_counts_only_the_compared_runs(tmp_path):
    """relu seed 2 missed the target: relu's mean is over 2 runs, so the draw noise of
    relu − sigmoid is √(2/(2·2) + 2/(3·2)) = 0.913, not √(2/(3·2) + 2/(3·2)) = 0.816."""
    rows = []
    for activation, offset in (("relu", 0.0), ("sigmoid", 10.0)):
        for seed in (1, 2, 3):
            run = {column: 1.0 for column in RUN_COLUMNS} | {"diverged_epoch": -1}
            for draw, noise in ((1, -1.0), (2, 1.0)):
                rows.append(
                    {"activation": activation, "seed": seed, "plane": "random", "draw": draw}
                    | run
                    | {
                        "roughness": offset + 2.0 * seed + noise,
                        "n_local_minima_region": 1,
                        "steepness": 1.0,
                        "nonconvex_fraction": 0.0,
                        "shape_index_at_minimum": -1.0,
                        "curvedness_at_minimum": 1.0,
                        "basin_width_level_0.1": 1.0,
                        "basin_touches_edge_level_0.1": 0,
                    }
                )
    path = tmp_path / "summary.csv"
    with_target(pd.DataFrame(rows), [("relu", 2)]).to_csv(path, index=False)
    names = ("by_activation", "comparisons", "correlations", "variance_split")
    outputs = {name: str(tmp_path / f"{name}.csv") for name in names}
    outputs |= {"dataset": str(tmp_path / "study.nc"), "answer": str(tmp_path / "answer.rst")}
    run_study_statistics(str(path), ["relu", "sigmoid"], ["random"], outputs)
    text = Path(outputs["answer"]).read_text()
    noise = math.sqrt(2 / (2 * 2) + 2 / (3 * 2))
    assert f"(s.e. {noise:.3g})" in text


# --- the front page: left-out runs and the across-seeds table ------------------------------


def front_page(summary: pd.DataFrame, **extra) -> str:
    """The front page of the compared runs of ``summary``, as the statistics stage builds it."""
    activations = ["sigmoid", "relu"]
    kept, left_out = study_statistics.converged_runs(summary)
    return answer.answer_rst(
        kept,
        study_statistics.by_activation(kept),
        study_statistics.comparisons(kept, activations),
        study_statistics.correlations(kept),
        activations,
        ["random"],
        variance=study_statistics.variance_split(summary),
        left_out=left_out,
        **extra,
    )


def across_seeds() -> pd.DataFrame:
    rows = [
        ["sigmoid", "line", "1-2", 0.1, np.nan, np.nan, np.nan],
        ["sigmoid", "line", "1-3", 0.2, np.nan, np.nan, np.nan],
        ["sigmoid", "line", "2-3", 0.6, np.nan, np.nan, np.nan],
        ["sigmoid", "three_seed", "1-2-3", 0.25, 0.5, 3, 1],
        ["relu", "line", "1-2", 1.0, np.nan, np.nan, np.nan],
        ["relu", "line", "1-3", 2.0, np.nan, np.nan, np.nan],
        ["relu", "line", "2-3", 3.0, np.nan, np.nan, np.nan],
    ]
    return pd.DataFrame(rows, columns=list(ACROSS_SEEDS_COLUMNS))


def test_front_page_lists_the_runs_left_out_and_the_barriers_across_seeds():
    summary = with_target(five_seed_summary(differ=True), [("relu", 4)])
    text = front_page(summary, across_seeds=across_seeds())
    publish_parts(text, writer="html", settings_overrides={"halt_level": 2})  # well-formed
    assert "(sigmoid: 5 runs, relu: 4 runs;" in text
    assert (
        "**Runs that did not reach the training-loss target of 0.05 nats: relu seed 4 (final "
        "training loss 0.3 nats).** They are not at a minimum yet, so their landscapes are "
        "left out of every table" in text
    )
    assert (
        "only runs that reached the training-loss target (0.05 nats) are compared; 1 did not "
        "and are left out (listed below)" in text
    )
    assert "**Across seeds.**" in text and text.index("Across seeds") < text.index("Trained models")
    table = text[text.index(".. list-table:: Across seeds") :]
    table = table[: table.index("\n\n", table.index("* - activation"))]
    rows = [block.split("\n     - ") for block in table.split("   * - ")[2:]]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["sigmoid", "0.3 [0.1, 0.6] over 3 pairs", "3", "1", "0.25"],
        ["relu (1 run(s) short of the target)", "2 [1, 3] over 3 pairs", "–", "–", "–"],
    ]


def test_front_page_without_left_out_runs_or_a_target():
    summary = with_target(five_seed_summary(differ=True), [])
    text = front_page(summary)
    assert "every run reached the training-loss target (0.05 nats)" in text
    assert "did not reach" not in text and "Across seeds" not in text
    untargeted = five_seed_summary(differ=True).assign(target_loss=np.nan)
    assert "no training-loss target is set" in front_page(untargeted, across_seeds=None)


# --- direction draws, narrow planes and planes around earlier checkpoints ------------------

RANDOM = {"normalization": "filter", "ignore_biasbn": True}
EXTENT = 0.3


@pytest.fixture(scope="module")
def planes(tmp_path_factory, toy_dataset, toy_run) -> dict:
    """The toy CNN run (checkpoints at epochs 0 … 4) on disk and the directions of its
    random and narrow planes: draws 1 and 2, and the first narrow draw around epoch 2."""
    folder = tmp_path_factory.mktemp("draws")
    files = {"dataset": str(folder / "dataset.pt"), "checkpoints": str(folder / "ckpt.pt")}
    save_dataset(toy_dataset, files["dataset"])
    save_checkpoints(toy_run[0], files["checkpoints"])
    names = ("random_draw1", "random_draw2", "narrow_draw1", "narrow_draw2", "narrow_draw1_epoch2")
    for name in names:
        files[name] = str(folder / f"{name}.pt")
        kwargs = direction_kwargs(name, RANDOM | {"extent": EXTENT})
        run_compute_directions(files["checkpoints"], files[name], name, seed=5, **kwargs)
    return files


def filter_norms(tensor: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(tensor, dim=tuple(range(1, tensor.dim())))


def test_direction_draws_are_independent_and_narrow_planes_share_them(planes):
    assert direction_kwargs("narrow_draw1", RANDOM | {"extent": EXTENT}) == RANDOM | {
        "narrow_extent": EXTENT
    }
    first, second = (load_directions(planes[f"random_draw{k}"]) for k in (1, 2))
    assert (first["metadata"]["draw"], second["metadata"]["draw"]) == (1, 2)
    for name, origin in first["origin"].items():
        assert torch.equal(origin, second["origin"][name])
        if origin.dim() > 1:  # weights: other draws; biases: zeroed in both
            for axis in ("u", "v"):
                assert not torch.allclose(first[axis][name], second[axis][name]), (axis, name)
                torch.testing.assert_close(filter_norms(second[axis][name]), filter_norms(origin))
    for draw, random in ((1, first), (2, second)):
        narrow = load_directions(planes[f"narrow_draw{draw}"])
        assert (narrow["plane"], narrow["plane_name"]) == ("narrow", f"narrow_draw{draw}")
        assert narrow["metadata"]["extent"] == EXTENT and narrow["metadata"]["draw"] == draw
        assert "extent" not in random["metadata"]
        for key in ("origin", "u", "v"):
            for name, tensor in random[key].items():
                assert torch.equal(narrow[key][name], tensor), (draw, key, name)


def test_a_narrow_plane_is_gridded_over_its_own_extent(planes):
    trajectory = np.array([0.5, 2.0, -3.0])  # ignored by window planes
    for kind in ("narrow", "random"):
        xs, ys = grid_axes(kind, trajectory, trajectory, 5, EXTENT, 0.25)
        np.testing.assert_allclose(xs, np.linspace(-EXTENT, EXTENT, 5))
        np.testing.assert_allclose(ys, xs)
    settings = LandscapeSettings(resolution=5, extent=1.0)
    for name, extent in (("narrow_draw1", EXTENT), ("narrow_draw1_epoch2", EXTENT)):
        plane = load_plane(planes["dataset"], planes["checkpoints"], planes[name], settings)
        np.testing.assert_allclose(plane.xs, np.linspace(-extent, extent, 5), err_msg=name)
        np.testing.assert_allclose(plane.ys, plane.xs, err_msg=name)
    wide = load_plane(planes["dataset"], planes["checkpoints"], planes["random_draw1"], settings)
    np.testing.assert_allclose(wide.xs, np.linspace(-1.0, 1.0, 5))


def test_a_narrow_plane_around_an_earlier_checkpoint(planes, toy_run, toy_dataset, tmp_path):
    """Centred on epoch 2's weights, with filter norms of epoch 2's weights and the same
    Gaussian draw as the final model's narrow plane; the grid's centre is epoch 2's loss."""
    checkpoints, _ = toy_run
    earlier = checkpoints["state_dicts"][checkpoints["epochs"].index(2)]
    final = checkpoints["state_dicts"][-1]
    around = load_directions(planes["narrow_draw1_epoch2"])
    at_end = load_directions(planes["narrow_draw1"])
    assert around["metadata"]["epoch"] == 2 and around["metadata"]["extent"] == EXTENT
    assert list(around["origin"]) == list(at_end["origin"])
    for name, origin in around["origin"].items():
        assert torch.equal(origin, earlier[name]), name
        for axis in ("u", "v"):
            direction = around[axis][name]
            if origin.dim() <= 1:
                assert torch.count_nonzero(direction) == 0, (axis, name)
                continue
            torch.testing.assert_close(filter_norms(direction), filter_norms(origin))
            assert not torch.allclose(filter_norms(direction), filter_norms(final[name]))
            # the same draw, scaled per filter to other weights
            shape = (-1,) + (1,) * (origin.dim() - 1)
            torch.testing.assert_close(
                direction / filter_norms(direction).reshape(shape),
                at_end[axis][name] / filter_norms(at_end[axis][name]).reshape(shape),
            )
    with pytest.raises(ValueError, match=r"saved epochs are \[0, 1, 2, 3, 4\]"):
        run_compute_directions(
            planes["checkpoints"], str(tmp_path / "d.pt"), "narrow_draw1_epoch9", seed=5
        )

    out = tmp_path / "landscape.nc"
    files = {key: planes[key] for key in ("dataset", "checkpoints")}
    settings = {"resolution": 3, "strategy": "point", "device": "cpu"}
    run_evaluate_landscape(
        **files, directions=planes["narrow_draw1_epoch2"], out=str(out), settings=settings
    )
    landscape = read_landscape(out)
    assert landscape.attrs["plane_name"] == "narrow_draw1_epoch2"
    assert (landscape.attrs["centre_epoch"], landscape.attrs["extent"]) == (2, EXTENT)
    np.testing.assert_allclose(landscape.x, [-EXTENT, 0.0, EXTENT])
    loss, _ = evaluate(
        model_from_checkpoints(checkpoints, checkpoints["epochs"].index(2)),
        toy_dataset["x_train"],
        toy_dataset["y_train"],
    )
    assert float(landscape.train_loss.sel(x=0.0, y=0.0)) == pytest.approx(loss, rel=1e-5)
    assert float(landscape.trajectory_residual.sel(epoch=2)) == pytest.approx(0.0, abs=1e-6)


# --- basin width over training -------------------------------------------------------------

LEVELS = [0.01, 0.1, 1.0]  # the headline level is the middle one, 0.1


def narrow_metrics(activation: str, seed: int, epoch: int | None, width: float) -> xr.Dataset:
    """A narrow plane's metrics: widths ``width × (1, 2, 3)`` at the three levels, the
    headline one reaching the edge only for epoch 0."""
    attrs = {"activation": activation, "seed": seed, "plane": "narrow"}
    if epoch is not None:
        attrs["centre_epoch"] = epoch
    return xr.Dataset(
        {
            "basin_width": ("level", [width, 2 * width, 3 * width]),
            "basin_touches_edge": ("level", [0, int(epoch == 0), 1]),
            "n_local_minima_region": ((), 1 + seed),
        },
        coords={"level": LEVELS},
        attrs=attrs,
    )


def test_over_training_table_reads_each_checkpoints_epoch_and_loss():
    histories = {
        ("relu", 1): history([2.0, 1.0, 0.5, 0.25]),
        ("relu", 2): history([2.1, 1.1, 0.6, np.nan]),  # diverged at epoch 3
        ("elu", 1): history([1.9, 0.9, 0.45, 0.2]),
    }
    metrics = [
        narrow_metrics("relu", 2, None, 0.4),  # final model: last finite epoch, 2
        narrow_metrics("relu", 1, None, 0.3),  # final model: epoch 3
        narrow_metrics("relu", 1, 0, 0.1),
        narrow_metrics("elu", 1, 1, 0.5),
        narrow_metrics("relu", 2, 0, 0.2),
    ]
    table = over_training_table(metrics, histories)
    assert list(table.columns) == list(OVER_TRAINING_COLUMNS)
    assert table[["activation", "seed", "epoch"]].values.tolist() == [
        ["elu", 1, 1],
        ["relu", 1, 0],
        ["relu", 1, 3],
        ["relu", 2, 0],
        ["relu", 2, 2],
    ]
    assert table["train_loss"].tolist() == [0.9, 2.0, 0.25, 2.1, 0.6]
    assert (table["basin_level"] == 0.1).all()
    assert table["basin_width"].tolist() == pytest.approx([1.0, 0.2, 0.6, 0.4, 0.8])
    assert table["basin_touches_edge"].tolist() == [0, 1, 0, 1, 0]
    assert table["n_local_minima_region"].tolist() == [2, 2, 2, 3, 3]
    empty = over_training_table([], histories)
    assert empty.empty and list(empty.columns) == list(OVER_TRAINING_COLUMNS)


def test_tied_pairs_report_the_larger_difference_of_means():
    """Pairs that do not overlap tie at δ = ±1 and the smallest p: the sentence names the
    pair with the larger |Δ|, whatever the config order."""
    small, large = comparison(-0.5), comparison(2.0)
    large["activation_a"], large["activation_b"] = "tanh", "relu"
    for tests in (pd.concat([small, large]), pd.concat([large, small])):
        text = sentence(tests.reset_index(drop=True), None)
        assert "tanh − relu = 2" in text


def test_a_plane_without_draws_says_its_noise_is_not_measured():
    split = study_statistics.variance_split(draw_summary())  # rows for the random plane only
    tests = comparison(3.0).assign(plane="pca")
    text = conclusions.difference_sentence(
        "smoothness", "roughness (nats)", "pca", tests, "roughness", [], split
    )
    assert "one plane per run here, so its direction-draw noise is not measured" in text


def test_the_caveats_count_the_tests_and_those_at_p_005():
    tests = pd.concat([comparison(1.0), comparison(2.0), comparison(3.0)], ignore_index=True)
    tests["p_value"] = [0.0286, 0.2, 0.0286]
    tests["smallest_p"] = 0.0286
    text = conclusions.multiplicity_sentence(tests)
    assert "Of the 3 pairwise tests" in text and "2 reach p ≤ 0.05" in text
    assert "0.0286" in text and "no correction for multiple tests" in text
    assert conclusions.multiplicity_sentence(tests.iloc[0:0]) == ""
    # with run counts that cannot reach 0.05 (3 against 3: p ≥ 0.1), no chance hits either
    tests["p_value"], tests["smallest_p"] = [0.1, 0.4, 1.0], 0.1
    text = conclusions.multiplicity_sentence(tests)
    assert text.startswith("None of the 3 pairwise tests") and "about" not in text
    assert "the smallest p they allow is 0.1" in text


@pytest.mark.parametrize("how", ["one activation configured", "one activation converged"])
def test_a_study_with_one_activation_to_compare_gets_its_statistics_and_front_page(tmp_path, how):
    """The schema allows one activation, and the training target can leave one: the
    comparison table is then empty, and the front page still says what there is (issue 21)."""
    table = with_target(five_seed_summary(differ=True), [])
    activations = ["sigmoid", "relu"]
    if how == "one activation configured":
        table, activations = table[table["activation"] == "relu"], ["relu"]
    else:
        table = with_target(table, [("sigmoid", seed) for seed in range(5)])
    path = tmp_path / "summary.csv"
    table.to_csv(path, index=False)
    names = ("by_activation", "comparisons", "correlations", "variance_split")
    outputs = {name: str(tmp_path / f"{name}.csv") for name in names}
    outputs |= {"dataset": str(tmp_path / "study.nc"), "answer": str(tmp_path / "answer.rst")}
    run_study_statistics(str(path), activations, ["random"], outputs)
    assert pd.read_csv(outputs["comparisons"]).empty
    assert set(pd.read_csv(outputs["by_activation"])["activation"]) == {"relu"}
    text = Path(outputs["answer"]).read_text()
    assert "relu" in text and "Differences between activations" in text
    assert "over the seeds of one activation" in text
    assert "Pairwise comparisons" not in text  # no table of metrics without a column
    # one sentence, not one per question and plane each saying there is no pair
    assert text.count("none can be tested; the comparison has one activation (relu)") == 1
    assert "no pair of activations" not in text
