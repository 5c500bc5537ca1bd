"""The study's statistics tables, from the per-run summary (one row per run and plane).

- ``by_activation``: per (plane, metric, activation): n, mean, sd, 95 % t-interval of the
  mean;
- ``comparisons``: per (plane, metric, pair of activations): difference in means, Cliff's
  delta, exact permutation p and the smallest p the run counts allow;
- ``correlations``: per (plane, landscape metric, target): Spearman's rho over all runs
  with the final test accuracy and with the generalization gap;
- ``study_dataset``: every metric as an xarray variable over (plane, activation, seed);
- ``variance_split``: where the summary has several direction draws of a plane per run (a
  ``draw`` column), per (plane, metric, activation): the variance between seeds and within
  a run (between direction draws), and the draws' share of it.

Run-level columns (accuracy, loss, sharpness; :data:`losslandscape.statistics.summary.RUN_COLUMNS`)
are the same on every plane of a run, so they are analysed once, under plane ``run``. Runs,
not direction draws, are the units of every table but the variance split: draws of one run
are averaged first (:func:`run_means`).
"""

import itertools

import numpy as np
import pandas as pd
import xarray as xr

from losslandscape.io import cf
from losslandscape.io.datamodel import LOSS_UNITS
from losslandscape.metrics import variables
from losslandscape.statistics import inference as statistics
from losslandscape.statistics.summary import RUN_COLUMNS

IDENTITY = ("activation", "seed", "plane")
# Optional identity column: the direction draw of a plane, when a run has several planes of
# one kind (e.g. random planes from different seeds of the directions). Never a metric.
DRAW = "draw"
RUN_PLANE = "run"  # the plane label of run-level metrics in the tables
# Settings echoed in the summary, not measurements
NOT_METRICS = (
    "minima_tolerance",
    "region_height",
    "roughness_window_x",
    "roughness_window_y",
    "target_loss",
    "reached_target",
)
# Per-run checks of the headlines (metrics.landscape_metrics), not measurements
NOT_METRIC_PREFIXES = ("stability_", "headline_stable_")
CORRELATION_TARGETS = ("final_test_accuracy", "generalization_gap")


def metric_columns(summary: pd.DataFrame) -> tuple[list[str], list[str]]:
    """``(landscape metrics, run metrics)``: the numeric columns of the summary other than
    the identity columns (with ``draw``) and echoed settings."""
    numeric = [
        c
        for c in summary.columns
        if c not in IDENTITY + (DRAW,) + NOT_METRICS
        and not c.startswith(NOT_METRIC_PREFIXES)
        and pd.api.types.is_numeric_dtype(summary[c])
    ]
    run = [c for c in numeric if c in RUN_COLUMNS]
    return [c for c in numeric if c not in RUN_COLUMNS], run


def identity_columns(summary: pd.DataFrame) -> list[str]:
    """The columns that name a row: activation, seed, plane, and draw where present."""
    return [*IDENTITY, *([DRAW] if DRAW in summary.columns else [])]


def run_means(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per (activation, seed, plane): where the summary has several direction draws
    of a plane per run (a ``draw`` column), the mean over draws of every numeric column
    (NaN left out), so that runs, not draws, are the units of the statistics; the summary
    as it is otherwise."""
    if DRAW not in summary.columns:
        return summary
    numeric = [c for c in summary.columns if c not in IDENTITY + (DRAW,)]
    numeric = [c for c in numeric if pd.api.types.is_numeric_dtype(summary[c])]
    return summary.groupby(list(IDENTITY), sort=False)[numeric].mean().reset_index()


def long_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Tidy values: columns plane, metric, activation, seed, value (and draw, where the
    summary has it); run-level metrics once per run, under plane ``run``."""
    landscape, run = metric_columns(summary)
    per_plane = summary.melt(identity_columns(summary), landscape, var_name="metric")
    per_run = (
        summary.drop_duplicates(["activation", "seed"])
        .assign(plane=RUN_PLANE)
        .melt(list(IDENTITY), run, var_name="metric")
    )
    return pd.concat([per_plane, per_run], ignore_index=True)


def by_activation(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (plane, metric, activation): n (finite values), mean, sd (ddof 1), and ci_low,
    ci_high: the 95 % t-interval of the mean (:func:`statistics.t_interval`; NaN for n < 2,
    a point when all values are equal)."""
    rows = []
    for (plane, metric, activation), group in long_table(run_means(summary)).groupby(
        ["plane", "metric", "activation"], sort=False
    ):
        values = statistics.finite(group["value"])
        low, high = statistics.t_interval(values)
        rows.append(
            {
                "plane": plane,
                "metric": metric,
                "activation": activation,
                "n": len(values),
                "mean": values.mean() if len(values) else np.nan,
                "sd": values.std(ddof=1) if len(values) > 1 else np.nan,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows)


COMPARISON_COLUMNS = (
    "plane",
    "metric",
    "activation_a",
    "activation_b",
    "n_a",
    "n_b",
    "mean_difference",
    "cliffs_delta",
    "p_value",
    "smallest_p",
    "note",
)


def comparisons(summary: pd.DataFrame, activations: list[str]) -> pd.DataFrame:
    """Every pair of activations (in config order) on every metric and plane; with fewer
    than two activations, a table with these columns and no rows."""
    rows = []
    table = long_table(run_means(summary))
    for (plane, metric), group in table.groupby(["plane", "metric"], sort=False):
        values = {a: g["value"].to_numpy() for a, g in group.groupby("activation")}
        for a, b in itertools.combinations([a for a in activations if a in values], 2):
            result = statistics.compare(values[a], values[b])
            rows.append(
                {
                    "plane": plane,
                    "metric": metric,
                    "activation_a": a,
                    "activation_b": b,
                    "n_a": result.n_a,
                    "n_b": result.n_b,
                    "mean_difference": result.mean_difference,
                    "cliffs_delta": result.cliffs_delta,
                    "p_value": result.p_value,
                    "smallest_p": result.smallest_p,
                    "note": result.note,
                }
            )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def correlations(summary: pd.DataFrame) -> pd.DataFrame:
    """Spearman's rho of each landscape metric with each target, over all runs of a plane."""
    landscape, _ = metric_columns(summary)
    rows = []
    for plane, group in run_means(summary).groupby("plane", sort=False):
        for metric, target in itertools.product(landscape, CORRELATION_TARGETS):
            rho, p_value, n = statistics.spearman(group[metric], group[target])
            rows.append(
                {
                    "plane": plane,
                    "metric": metric,
                    "target": target,
                    "n_runs": n,
                    "spearman_rho": rho,
                    "p_value": p_value,
                }
            )
    columns = ["plane", "metric", "target", "n_runs", "spearman_rho", "p_value"]
    return pd.DataFrame(rows, columns=columns)


# the summary's one-column-per-rung ladders (summary.run_row): ``{name}_{dim}_{label}``
LADDER_DIMS = ("level", "shape_class")


def study_dataset(summary: pd.DataFrame, attrs: dict, loss_units: str = LOSS_UNITS) -> xr.Dataset:
    """Every metric as a variable, for notebooks: landscape metrics over (plane, activation,
    seed), run metrics over (activation, seed), and a metric measured per basin level or
    shape class over that dimension too (``basin_width`` on ``level``; the summary's
    ``basin_width_level_0.01`` columns). Each variable has the ``long_name`` and CF
    ``units`` of the metrics files (:mod:`losslandscape.metrics.variables`), the loss's
    in ``loss_units`` (nats for cross-entropy; ``training.loss``).

    Raises:
        ValueError: a summary column that no metric registry describes (a new metric
            needs its entry in losslandscape.metrics.variables).
    """
    landscape, run = metric_columns(summary)
    summary = run_means(summary)
    per_plane = summary.set_index(["plane", "activation", "seed"])[landscape].to_xarray()
    per_run = (
        summary.drop_duplicates(["activation", "seed"])
        .set_index(["activation", "seed"])[run]
        .to_xarray()
    )
    dataset = _ladders_as_dimensions(xr.merge([per_plane, per_run]))
    for name, var in dataset.data_vars.items():
        var.attrs = _description(name, loss_units)
    for name, (long_name, unit) in STUDY_COORDINATES.items():
        if name in dataset.coords:
            dataset[name].attrs = cf.quantity(long_name, unit.format(units=loss_units))
    return dataset.assign_attrs(attrs)


STUDY_COORDINATES = {
    "plane": ("plane name (docs/data-model.md)", "1"),
    "activation": ("activation function", "1"),
    "seed": ("seed of the run", "1"),
    "level": ("basin level above the global minimum", "{units}"),
    "shape_class": ("Koenderink shape class", "1"),
}


def _ladders_as_dimensions(dataset: xr.Dataset) -> xr.Dataset:
    """Columns ``{name}_{dim}_{label}`` of a ladder metric ``name`` (its registry dims are
    ``(dim,)``) stacked into one variable ``name`` over ``dim``, labels as coordinates
    (floats for levels)."""
    for name, spec in variables.LANDSCAPE_METRICS.items():
        if len(spec.dims) != 1 or spec.dims[0] not in LADDER_DIMS:
            continue
        dim = spec.dims[0]
        prefix = f"{name}_{dim}_"
        columns = [c for c in dataset.data_vars if str(c).startswith(prefix)]
        if not columns:
            continue
        labels = [str(c)[len(prefix) :] for c in columns]
        index = [float(label) for label in labels] if dim == "level" else labels
        stacked = xr.concat([dataset[c] for c in columns], dim=pd.Index(index, name=dim))
        stacked = stacked.transpose(..., dim)  # the ladder innermost, as in the metrics
        dataset = dataset.drop_vars(columns).assign({name: stacked})
    return dataset


def _description(name: str, loss_units: str) -> dict[str, str]:
    for registry in (
        variables.LANDSCAPE_METRICS,
        variables.SHARPNESS_METRICS,
        variables.BARRIER_METRICS,
        variables.RUN_METRICS,
    ):
        if name in registry:
            return registry[name].entry(None, variable="train_loss", units=loss_units)[2]
    raise ValueError(
        f"summary column {name!r} is no metric of losslandscape.metrics.variables; add its "
        "long name and units there"
    )


VARIANCE_SPLIT_COLUMNS = (
    "plane",
    "metric",
    "activation",
    "n_seeds",
    "n_draws",
    "between_seed_variance",
    "within_run_variance",
    "draw_share",
)


def variance_split(summary: pd.DataFrame) -> pd.DataFrame:
    """How much of a landscape metric's spread is direction-draw noise, per (plane, metric,
    activation), where runs have several draws of a plane (rows that differ only in
    ``draw``).

    A one-way random-effects ANOVA over the finite values of all draws of all runs, runs
    (seeds) as groups (:func:`statistics.variance_components`): ``n_seeds`` runs with a
    finite value, ``n_draws`` draws per run (n0, the adjusted mean when runs have different
    counts), ``between_seed_variance`` σ²_b and ``within_run_variance`` σ²_w (squared units
    of the metric), ``draw_share`` σ²_w / (σ²_w + σ²_b). Only planes on which some run has
    more than one draw; run-level metrics (the same on every draw) are left out. An empty
    table with these columns when the summary has no ``draw`` column or no run more than
    one draw.
    """
    empty = pd.DataFrame(columns=list(VARIANCE_SPLIT_COLUMNS))
    if DRAW not in summary.columns:
        return empty
    draws = summary.groupby(list(IDENTITY)).size()
    planes = set(draws[draws > 1].index.get_level_values("plane"))
    if not planes:
        return empty
    landscape, _ = metric_columns(summary)
    values = long_table(summary)
    values = values[values["plane"].isin(planes) & values["metric"].isin(landscape)]
    rows = []
    for (plane, metric, activation), group in values.groupby(
        ["plane", "metric", "activation"], sort=False
    ):
        split = statistics.variance_components(group["value"], group["seed"])
        rows.append(
            {
                "plane": plane,
                "metric": metric,
                "activation": activation,
                "n_seeds": split["n_groups"],
                "n_draws": split["n_per_group"],
                "between_seed_variance": split["between_variance"],
                "within_run_variance": split["within_variance"],
                "draw_share": split["within_share"],
            }
        )
    return pd.DataFrame(rows, columns=list(VARIANCE_SPLIT_COLUMNS))


def converged_runs(summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(kept, left out)``: the summary's rows of runs that reached the training-loss
    target (``reached_target`` 1, or no such column: nothing judged) and one row per run
    that did not (activation, seed, target_loss, final_train_loss), for the front page.
    Runs that did not reach the target are not at a minimum yet; comparing their
    landscapes with converged ones would confound the activation with training time."""
    if "reached_target" not in summary.columns:
        return summary, summary.iloc[0:0][["activation", "seed"]]
    reached = summary["reached_target"] == 1
    columns = ["activation", "seed", "target_loss", "final_train_loss"]
    left_out = summary.loc[~reached, columns].drop_duplicates(["activation", "seed"])
    return summary[reached], left_out.reset_index(drop=True)
