"""Statistics across seeds against hand-computable cases, and the study tables built on them."""

import math

import numpy as np
import pandas as pd
import pytest
from docutils.core import publish_parts

from losslandscape import answer, statistics, study_statistics
from losslandscape.summary import RUN_COLUMNS


def test_exact_permutation_test_on_two_tiny_samples():
    # 3 vs 3: 20 splits; [1,2,3] vs [4,5,6] is the most extreme split (and its mirror)
    result = statistics.compare([1, 2, 3], [4, 5, 6])
    assert result.p_value == pytest.approx(2 / 20)
    assert result.mean_difference == -3 and result.cliffs_delta == -1
    assert result.smallest_p == pytest.approx(0.1)
    assert "too few runs" in result.note
    # 2 vs 2: splits give differences -2, -1, 0, 0, 1, 2; observed -1: |d| >= 1 in 4 of 6
    assert statistics.compare([1, 3], [2, 4]).p_value == pytest.approx(4 / 6)
    assert statistics.compare([1, 2], [3, 4]).p_value == pytest.approx(2 / 6)
    # identical pooled values: every split gives the same difference
    assert statistics.compare([2, 2], [2, 2]).p_value == 1.0


def test_smallest_attainable_p_and_the_note():
    assert statistics.smallest_permutation_p(3, 3) == pytest.approx(0.1)
    assert statistics.smallest_permutation_p(5, 5) == pytest.approx(2 / 252)
    assert statistics.compare(range(5), range(10, 15)).note == ""
    assert "fewer than 2" in statistics.compare([1.0], [2.0, 3.0]).note


def test_cliffs_delta_counts_pairs():
    assert statistics.cliffs_delta([3, 4], [1, 2]) == 1
    assert statistics.cliffs_delta([1, 2, 3], [2, 2, 2]) == 0
    # pairs (1,2)-,(1,4)-,(3,2)+,(3,4)-: (1 - 3) / 4
    assert statistics.cliffs_delta([1, 3], [2, 4]) == pytest.approx(-0.5)


def test_bootstrap_interval_covers_the_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(2026)
    trials = 200
    hits = 0
    for trial in range(trials):
        sample = rng.normal(loc=5.0, scale=2.0, size=30)
        low, high = statistics.bootstrap_interval(sample, resamples=2000, seed=trial)
        assert low < sample.mean() < high
        hits += low <= 5.0 <= high
    # percentile intervals run slightly narrow at n = 30 (about 93 %)
    assert 0.88 <= hits / trials <= 0.99


def test_bootstrap_interval_of_degenerate_samples():
    assert statistics.bootstrap_interval([4.0, 4.0, 4.0]) == (4.0, 4.0)
    assert all(math.isnan(v) for v in statistics.bootstrap_interval([1.0, np.nan]))
    low, high = statistics.bootstrap_interval([1.0, 2.0, np.inf, 3.0])  # inf dropped
    assert 1.0 <= low < high <= 3.0


def test_spearman_of_monotone_constant_and_short_samples():
    assert statistics.spearman([1, 2, 3, 4], [10, 20, 30, 45])[0] == pytest.approx(1.0)
    assert statistics.spearman([1, 2, 3, 4], [4, 3, 2, 1])[0] == pytest.approx(-1.0)
    assert math.isnan(statistics.spearman([1, 1, 1], [1, 2, 3])[0])
    rho, _, n = statistics.spearman([1, 2, np.nan, 4], [1, 2, 3, np.nan])
    assert math.isnan(rho) and n == 2


def synthetic_summary(diverged: bool = False) -> pd.DataFrame:
    """A summary table of 3 activations × 3 seeds × 2 planes with known values."""
    rng = np.random.default_rng(0)
    rows = []
    for a, activation in enumerate(["sigmoid", "relu", "leaky_relu"]):
        for seed in (1, 2, 3):
            run = {column: rng.normal() for column in RUN_COLUMNS}
            run |= {"final_test_accuracy": 0.5 + 0.1 * a + 0.01 * seed, "diverged_epoch": -1}
            if diverged and activation == "sigmoid" and seed == 2:
                run["diverged_epoch"] = 7
            for plane in ("pca", "random"):
                row = {"activation": activation, "seed": seed, "plane": plane, **run}
                row |= {
                    "n_local_minima": 1 + a,
                    "minima_tolerance": 1e-6,
                    "roughness_relative": 0.1 * a + 0.01 * seed,
                    "shape_index_at_minimum": -0.5,
                    "curvedness_at_minimum": rng.random(),
                    "basin_equivalent_diameter_level_0.01": 1.0,
                    "basin_equivalent_diameter_level_0.05": 2.0 + a,
                    "basin_equivalent_diameter_level_0.2": 3.0,
                }
                rows.append(row)
    return pd.DataFrame(rows)


def test_study_tables_from_a_summary():
    summary = synthetic_summary()
    stats = study_statistics.by_activation(summary)
    relu_minima = stats.query(
        "plane == 'pca' and metric == 'n_local_minima' and activation == 'relu'"
    )
    assert relu_minima[["n", "mean", "sd", "ci_low", "ci_high"]].values.tolist() == [
        [3, 2.0, 0.0, 2.0, 2.0]
    ]
    # run-level metrics once per run, not once per plane
    accuracy = stats.query("metric == 'final_test_accuracy'")
    assert set(accuracy["plane"]) == {study_statistics.RUN_PLANE} and (accuracy["n"] == 3).all()
    assert "minima_tolerance" not in set(stats["metric"])

    tests = study_statistics.comparisons(summary, ["sigmoid", "relu", "leaky_relu"])
    pair = tests.query("plane == 'pca' and metric == 'roughness_relative'").iloc[0]
    assert (pair.activation_a, pair.activation_b) == ("sigmoid", "relu")
    assert pair.mean_difference == pytest.approx(-0.1) and pair.cliffs_delta == -1
    assert pair.p_value == pytest.approx(0.1)

    correlations = study_statistics.correlations(summary)
    rho = correlations.query(
        "plane == 'pca' and metric == 'roughness_relative' and target == 'final_test_accuracy'"
    )
    assert rho["spearman_rho"].item() == pytest.approx(1.0) and rho["n_runs"].item() == 9

    dataset = study_statistics.study_dataset(summary, {"study": "synthetic"})
    assert dataset["roughness_relative"].dims == ("plane", "activation", "seed")
    assert dataset["final_test_accuracy"].dims == ("activation", "seed")
    assert (
        float(dataset["n_local_minima"].sel(plane="random", activation="leaky_relu", seed=2)) == 3
    )


@pytest.mark.parametrize("diverged", [False, True])
def test_front_page_answer_renders_and_states_the_result(diverged):
    summary = synthetic_summary(diverged)
    activations = ["sigmoid", "relu", "leaky_relu"]
    text = answer.answer_rst(
        summary,
        study_statistics.by_activation(summary),
        study_statistics.comparisons(summary, activations),
        study_statistics.correlations(summary),
        activations,
        ["pca", "random"],
    )
    # docutils stops at the first warning: the tables are well-formed
    html = publish_parts(text, writer="html", settings_overrides={"halt_level": 2})["body"]
    assert "basin diameter at level 0.05" in html  # the middle level
    assert "0.72 [0.71, 0.73]" in html  # leaky_relu test accuracy: 0.71, 0.72, 0.73
    assert "smallest possible p = 0.1" in html
    if diverged:
        assert "Diverged runs: sigmoid seed 2 (epoch 7)" in html
    else:
        assert "Diverged runs:</strong> none" in html


def test_statistics_figures_show_planes_in_config_order(monkeypatch, tmp_path):
    """The figures list planes as the config and the front page do, not as the summary
    table happens to be sorted (alphabetically)."""
    from losslandscape import plot_statistics

    titles = []

    def keep_titles(fig, path, **_kwargs):
        titles.append([ax.get_title() for ax in fig.axes if ax.get_visible()])

    monkeypatch.setattr(plot_statistics, "save_figure", keep_titles)
    summary = synthetic_summary()
    activations, planes = ["sigmoid", "relu", "leaky_relu"], ["random", "pca"]
    plot_statistics.plot_metric_comparison(summary, activations, planes, tmp_path / "c.png")
    correlations = study_statistics.correlations(summary)
    plot_statistics.plot_metric_accuracy(
        summary, correlations, activations, planes, tmp_path / "a.png"
    )
    comparison, accuracy = titles
    landscape_titles = [t for t in comparison if "plane)" in t]
    assert "(random plane)" in landscape_titles[0] and "(pca plane)" in landscape_titles[-1]
    assert accuracy[0].startswith("random:") and accuracy[-1].startswith("pca:")
