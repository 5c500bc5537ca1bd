"""Statistics across seeds against hand-computable cases, and the study tables built on them."""

import math

import numpy as np
import pandas as pd
import pytest
from docutils.core import publish_parts

from losslandscape.statistics import answer
from losslandscape.statistics import inference as statistics
from losslandscape.statistics import study as study_statistics
from losslandscape.statistics.summary import RUN_COLUMNS


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


def test_t_interval_of_a_hand_computable_sample():
    # [1, 2, 3]: mean 2, sd 1, t_{0.975, 2} = 4.302653
    half_width = 4.302653 / math.sqrt(3)
    low, high = statistics.t_interval([1.0, 2.0, 3.0])
    assert low == pytest.approx(2 - half_width, rel=1e-6)
    assert high == pytest.approx(2 + half_width, rel=1e-6)
    # 90 %: t_{0.95, 2} = 2.919986
    low, high = statistics.t_interval([1.0, 2.0, 3.0], confidence=0.90)
    assert high - 2 == pytest.approx(2.919986 / math.sqrt(3), rel=1e-6)
    # non-finite values dropped: the same interval
    assert statistics.t_interval([1.0, np.inf, 2.0, np.nan, 3.0]) == statistics.t_interval(
        [1.0, 2.0, 3.0]
    )


def test_t_interval_of_degenerate_samples():
    assert statistics.t_interval([4.0, 4.0, 4.0]) == (4.0, 4.0)
    assert all(math.isnan(v) for v in statistics.t_interval([1.0, np.nan]))
    assert all(math.isnan(v) for v in statistics.t_interval([]))


def test_t_interval_covers_the_mean_95_percent_of_the_time_with_three_runs():
    rng = np.random.default_rng(2026)
    samples = rng.normal(loc=5.0, scale=2.0, size=(2000, 3))
    intervals = np.array([statistics.t_interval(sample) for sample in samples])
    coverage = np.mean((intervals[:, 0] <= 5.0) & (5.0 <= intervals[:, 1]))
    assert 0.93 <= coverage <= 0.97


def test_variance_components_of_a_balanced_design_by_hand():
    # 3 groups × 3: group means 2, 5, 8, grand mean 5
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9]
    groups = ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    # SSW = 3 · 2 = 6 over 9 − 3 → MSW = 1; SSB = 3 · (9 + 0 + 9) = 54 over 2 → MSB = 27
    split = statistics.variance_components(values, groups)
    assert (split["n_groups"], split["n_values"], split["n_per_group"]) == (3, 9, 3)
    assert split["within_variance"] == pytest.approx(1.0)
    assert split["between_variance"] == pytest.approx((27 - 1) / 3)
    assert split["within_share"] == pytest.approx(1 / (1 + 26 / 3))
    # a NaN is dropped: group c keeps 7 and 9 (mean 8, SS 2): unbalanced, n0 from sizes
    split = statistics.variance_components([*values[:7], np.nan, 9], groups)
    assert split["n_values"] == 8
    assert split["n_per_group"] == pytest.approx((8 - (9 + 9 + 4) / 8) / 2)
    assert split["within_variance"] == pytest.approx((2 + 2 + 2) / (8 - 3))


def test_variance_components_without_differences_between_groups():
    # the same three values in every group: all the spread is within groups
    split = statistics.variance_components([1, 2, 3] * 4, np.repeat([1, 2, 3, 4], 3))
    assert split["between_variance"] == 0.0
    assert split["within_variance"] == pytest.approx(1.0)
    assert split["within_share"] == pytest.approx(1.0)


def test_variance_components_where_undefined():
    one_group = statistics.variance_components([1.0, 2.0, 3.0], [0, 0, 0])
    assert one_group["within_variance"] == pytest.approx(1.0)
    assert math.isnan(one_group["between_variance"]) and math.isnan(one_group["within_share"])
    singletons = statistics.variance_components([1.0, 2.0, 3.0], [0, 1, 2])
    assert math.isnan(singletons["within_variance"]) and math.isnan(singletons["within_share"])
    constant = statistics.variance_components([2.0] * 4, [0, 0, 1, 1])
    assert constant["within_variance"] == 0 and constant["between_variance"] == 0
    assert math.isnan(constant["within_share"])
    with pytest.raises(ValueError, match="shape"):
        statistics.variance_components([1.0, 2.0], [0])


def simulated_runs(rng, n_groups=200, n_per_group=3, sd_between=2.0, sd_within=1.0):
    groups = np.repeat(np.arange(n_groups), n_per_group)
    effects = rng.normal(scale=sd_between, size=n_groups)[groups]
    return 10 + effects + rng.normal(scale=sd_within, size=len(groups)), groups


def test_variance_components_recover_simulated_components():
    # σ_b = 2, σ_w = 1, 200 groups × 3 draws. One data set: the variance estimates have a
    # relative sd of about 11 % (σ²_b) and 7 % (σ²_w), so compare the standard deviations
    split = statistics.variance_components(*simulated_runs(np.random.default_rng(7)))
    assert math.sqrt(split["between_variance"]) == pytest.approx(2.0, rel=0.15)
    assert math.sqrt(split["within_variance"]) == pytest.approx(1.0, rel=0.15)
    assert split["within_share"] == pytest.approx(1 / 5, abs=0.05)
    # unbiased: the variance estimates over 40 data sets average to σ²_b = 4 and σ²_w = 1
    rng = np.random.default_rng(8)
    splits = [statistics.variance_components(*simulated_runs(rng)) for _ in range(40)]
    assert np.mean([s["between_variance"] for s in splits]) == pytest.approx(4.0, rel=0.05)
    assert np.mean([s["within_variance"] for s in splits]) == pytest.approx(1.0, rel=0.05)


def draw_summary() -> pd.DataFrame:
    """Two activations × 3 seeds: a ``random`` plane with 2 draws per run, a ``pca`` plane
    with one; values chosen so the variance split is hand-computable."""
    rows = []
    for activation, offset in (("relu", 0.0), ("sigmoid", 10.0)):
        for seed in (1, 2, 3):
            run = {"final_test_accuracy": 0.5 + 0.01 * seed, "diverged_epoch": -1}
            run["generalization_gap"] = 0.1 * seed
            common = {"activation": activation, "seed": seed, **run, "minima_tolerance": 1e-6}
            rows.append(common | {"plane": "pca", "draw": 0, "roughness": seed})
            for draw, noise in ((0, -1.0), (1, 1.0)):
                # run means offset + 2 · seed; draws ±1 around them
                value = offset + 2.0 * seed + noise
                rows.append(common | {"plane": "random", "draw": draw, "roughness": value})
    return pd.DataFrame(rows)


def test_variance_split_between_seeds_and_direction_draws():
    summary = draw_summary()
    landscape, run = study_statistics.metric_columns(summary)
    assert "draw" not in landscape + run and landscape == ["roughness"]
    split = study_statistics.variance_split(summary)
    assert list(split.columns) == list(study_statistics.VARIANCE_SPLIT_COLUMNS)
    # only the plane with several draws per run; only landscape metrics
    assert set(split["plane"]) == {"random"} and set(split["metric"]) == {"roughness"}
    relu = split.query("activation == 'relu'").iloc[0]
    assert (relu.n_seeds, relu.n_draws) == (3, 2)
    # draws ±1 around the run mean: SSW = 6 · 1 over 6 − 3 → MSW = 2;
    # run means 2, 4, 6: SSB = 2 · 8 = 16 over 2 → MSB = 8; σ²_b = (8 − 2) / 2 = 3
    assert relu.within_run_variance == pytest.approx(2.0)
    assert relu.between_seed_variance == pytest.approx(3.0)
    assert relu.draw_share == pytest.approx(2 / 5)
    # the offset between activations is not part of either component
    sigmoid = split.query("activation == 'sigmoid'").iloc[0]
    assert sigmoid.between_seed_variance == pytest.approx(3.0)
    # by_activation still sees plain metrics (draw is not one)
    assert "draw" not in set(study_statistics.by_activation(summary)["metric"])


def test_variance_split_without_draws_is_empty():
    columns = list(study_statistics.VARIANCE_SPLIT_COLUMNS)
    for summary in (synthetic_summary(), draw_summary().query("plane == 'pca'")):
        split = study_statistics.variance_split(summary)
        assert split.empty and list(split.columns) == columns


def test_spearman_of_monotone_constant_and_short_samples():
    assert statistics.spearman([1, 2, 3, 4], [10, 20, 30, 45])[0] == pytest.approx(1.0)
    assert statistics.spearman([1, 2, 3, 4], [4, 3, 2, 1])[0] == pytest.approx(-1.0)
    assert math.isnan(statistics.spearman([1, 1, 1], [1, 2, 3])[0])
    rho, _, n = statistics.spearman([1, 2, np.nan, 4], [1, 2, 3, np.nan])
    assert math.isnan(rho) and n == 2


def synthetic_summary(diverged: bool = False) -> pd.DataFrame:
    """A summary table of 3 activations × 3 seeds × 2 planes with known values; relu seed 3's
    random-plane basin reaches the window's edge at 1 nat and its roughness is not stable."""
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
                odd = activation == "relu" and seed == 3 and plane == "random"
                row |= {
                    "n_local_minima": 1 + a,
                    "n_local_minima_region": 1,
                    "minima_tolerance": 1e-3,
                    "region_height": 1.0,
                    "roughness": 0.1 * a + 0.01 * seed,
                    "steepness": 2.0 + a,
                    "nonconvex_fraction": 0.0,
                    "shape_index_at_minimum": -0.5,
                    "curvedness_at_minimum": rng.random(),
                    "basin_width_level_0.01": 1.0,
                    "basin_width_level_0.1": 2.0 + a,
                    "basin_width_level_1": 3.0,
                    "basin_touches_edge_level_0.01": 0,
                    "basin_touches_edge_level_0.1": int(odd),
                    "basin_touches_edge_level_1": 1,
                    "stability_window_headline_roughness": 0.5 if odd else 0.0,
                    "headline_stable_headline_roughness": 0 if odd else 1,
                    "headline_stable_headline_basin_width": 1,
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
    assert not {"minima_tolerance", "region_height"} & set(stats["metric"])
    assert not any(m.startswith(("stability_", "headline_stable_")) for m in stats["metric"])

    tests = study_statistics.comparisons(summary, ["sigmoid", "relu", "leaky_relu"])
    pair = tests.query("plane == 'pca' and metric == 'roughness'").iloc[0]
    assert (pair.activation_a, pair.activation_b) == ("sigmoid", "relu")
    assert pair.mean_difference == pytest.approx(-0.1) and pair.cliffs_delta == -1
    assert pair.p_value == pytest.approx(0.1)

    correlations = study_statistics.correlations(summary)
    rho = correlations.query(
        "plane == 'pca' and metric == 'roughness' and target == 'final_test_accuracy'"
    )
    assert rho["spearman_rho"].item() == pytest.approx(1.0) and rho["n_runs"].item() == 9

    dataset = study_statistics.study_dataset(summary, {"study": "synthetic"})
    assert dataset["roughness"].dims == ("plane", "activation", "seed")
    assert dataset["final_test_accuracy"].dims == ("activation", "seed")
    assert (
        float(dataset["n_local_minima"].sel(plane="random", activation="leaky_relu", seed=2)) == 3
    )


def front_page(summary: pd.DataFrame, activations: list[str], planes: list[str]) -> str:
    """The front page's results section, from the study tables as the stage builds them."""
    return answer.answer_rst(
        summary,
        study_statistics.by_activation(summary),
        study_statistics.comparisons(summary, activations),
        study_statistics.correlations(summary),
        activations,
        planes,
    )


@pytest.mark.parametrize("diverged", [False, True])
def test_front_page_answer_renders_and_states_the_result(diverged):
    text = front_page(
        synthetic_summary(diverged), ["sigmoid", "relu", "leaky_relu"], ["pca", "random"]
    )
    # docutils stops at the first warning: the tables are well-formed
    html = publish_parts(text, writer="html", settings_overrides={"halt_level": 2})["body"]
    assert "basin width at 0.1 nats" in html  # the middle level
    # relu's random-plane width at 0.1 nats is a lower bound in one run, its roughness
    # not stable in one: both marked, and both listed under the table
    assert "≥ 3 [3, 3]" in html and "relu, random: 1 of 3 runs" in html
    assert "relu, random: roughness (nats) 1/3" in html
    assert "0.12 [0.0952, 0.145] †" in html
    assert "adaptive λmax" in html and "t-interval" in html
    # leaky_relu test accuracy 0.71, 0.72, 0.73: 0.72 ± 4.303 · 0.01 / √3
    assert "0.72 [0.695, 0.745]" in html
    assert "smallest possible p = 0.1" in html
    if diverged:
        assert "Diverged runs: sigmoid seed 2 (epoch 7)" in html
    else:
        assert "Diverged runs:</strong> none" in html


def test_statistics_figures_show_planes_in_config_order(monkeypatch, tmp_path):
    """The figures list planes as the config and the front page do, not as the summary
    table happens to be sorted (alphabetically)."""
    from losslandscape.plots import statistics as plot_statistics

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


def test_direction_draws_are_averaged_per_run_before_the_study_tables():
    """Draws of one run are not independent runs: n, tests, correlations and the study
    dataset see one value per run, the mean of its draws."""
    summary = draw_summary()
    stats = study_statistics.by_activation(summary)
    random_relu = stats.query("plane == 'random' and activation == 'relu'").iloc[0]
    assert random_relu.n == 3 and random_relu["mean"] == pytest.approx(4.0)  # 2, 4, 6
    tests = study_statistics.comparisons(summary, ["relu", "sigmoid"])
    assert (tests.query("plane == 'random'")[["n_a", "n_b"]] == 3).all(axis=None)
    correlations = study_statistics.correlations(summary)
    assert (correlations.query("plane == 'random'")["n_runs"] == 6).all()
    dataset = study_statistics.study_dataset(summary, {})
    assert float(dataset.roughness.sel(plane="random", activation="sigmoid", seed=2)) == 14.0


def five_seed_summary(differ: bool) -> pd.DataFrame:
    """Two activations × 5 seeds on one plane; with ``differ``, relu's basins are wider and
    smoother than sigmoid's in every run (exact p = 2/252 reachable), else every value is
    the same."""
    rows = []
    for a, activation in enumerate(["sigmoid", "relu"]):
        for seed in range(5):
            shift = a * 10 + seed if differ else 0
            run = {column: 1.0 for column in RUN_COLUMNS}
            run |= {"final_test_accuracy": 0.5 + 0.01 * shift, "diverged_epoch": -1}
            rows.append(
                {"activation": activation, "seed": seed, "plane": "random", **run}
                | {
                    "n_local_minima_region": 1,
                    "roughness": 1.0 - 0.05 * shift,
                    "steepness": 2.0,
                    "nonconvex_fraction": 0.0,
                    "shape_index_at_minimum": -1.0,
                    "curvedness_at_minimum": 3.0,
                    "basin_width_level_0.1": 0.2 + 0.01 * shift,
                    "basin_touches_edge_level_0.1": 0,
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("differ", [True, False])
def test_the_answer_in_words(differ):
    """The front page answers each question in a sentence: with the effect and exact p
    where the activations differ, and saying so where they do not."""
    text = front_page(five_seed_summary(differ), ["sigmoid", "relu"], ["random"])
    html = publish_parts(text, writer="html", settings_overrides={"halt_level": 2})["body"]
    words = text[text.index("**The answer in words.**") : text.index(".. list-table::")]
    assert words.count("\n- ") == 5  # minima, smoothness, width, shape, accuracy
    if differ:
        assert (
            "*Width of the minimum* (basin width at 0.1 nats (plane units), random plane): "
            in words
        )
        assert (
            "the activations differ: sigmoid − relu = -0.1 (Cliff's δ -1, exact p = 0.00794)"
            in words
        )
        assert "*Smoothness* (roughness (nats), random plane): the activations differ" in words
        assert "Spearman's ρ = " in words and "a rank correlation" in words
    else:
        assert words.count("every activation gives the same value in every run") == 4
        assert "no landscape headline varies with test accuracy" in words
    assert "one direction draw per run" in words and "The answer in words" in html


def test_study_nc_has_levels_and_shape_classes_as_dimensions_and_describes_every_variable(
    tmp_path,
):
    """study.nc for notebooks (issue 19, item 5): a metric measured per basin level is one
    variable over ``level`` (not ``basin_width_level_0.01`` columns), every variable and
    coordinate says what it is and its CF units, and the file reads back by label."""
    import numpy as np
    import xarray as xr

    from losslandscape.io.datamodel import open_netcdf, write_netcdf
    from losslandscape.metrics.landscape import landscape_metrics
    from losslandscape.metrics.variables import SHARPNESS_METRICS
    from losslandscape.statistics.summary import run_row, study_summary
    from tests.unit.metrics.test_landscape import as_landscape

    axis = np.linspace(-1, 1, 61)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    levels = (0.1, 0.2, 0.4)
    rows = []
    for activation, curvature in (("relu", 1.0), ("tanh", 4.0)):
        for seed in (1, 2):
            metrics = landscape_metrics(
                as_landscape(curvature * (xx**2 + yy**2) + 0.01 * seed, axis), basin_levels=levels
            )
            metrics.attrs |= {"activation": activation, "seed": seed, "plane": "random"}
            sharpness = xr.Dataset({name: 1.0 for name in SHARPNESS_METRICS})
            history = pd.DataFrame(
                {
                    "epoch": [0, 1],
                    "train_loss": [1.0, 0.5],
                    "test_loss": [1.1, 0.6],
                    "train_accuracy": [0.5, 0.8],
                    "test_accuracy": [0.5, 0.7],
                }
            )
            rows.append(run_row(metrics, history, sharpness))
    dataset = study_statistics.study_dataset(study_summary(rows), {"study": "synthetic"})
    assert dataset["basin_width"].dims == ("plane", "activation", "seed", "level")
    np.testing.assert_array_equal(dataset["level"], levels)
    assert dataset["shape_class_fraction"].dims[-1] == "shape_class"
    assert not [name for name in dataset.variables if "." in str(name)]
    for name, var in dataset.variables.items():
        assert var.attrs.get("long_name") and var.attrs.get("units") in ("1", "percent"), name
    assert dataset["basin_height"].attrs["long_name"].endswith("in nats")
    # a relu basin (curvature 1) is twice as wide as a tanh one (4) at every level
    width = dataset["basin_width"].sel(plane="random", seed=1)
    np.testing.assert_allclose(
        width.sel(activation="relu"), 2 * width.sel(activation="tanh"), rtol=0.1
    )
    path = tmp_path / "study.nc"
    write_netcdf(dataset, path)
    reread = open_netcdf(path)
    xr.testing.assert_identical(reread.drop_attrs(deep=False), dataset.drop_attrs(deep=False))
    assert float(reread.basin_width.sel(activation="tanh", seed=2, level=0.2, plane="random")) > 0
