"""The study's statistics tables, from the per-run summary (one row per run and plane).

- ``by_activation``: per (plane, metric, activation): n, mean, sd, 95 % bootstrap interval;
- ``comparisons``: per (plane, metric, pair of activations): difference in means, Cliff's
  delta, exact permutation p and the smallest p the run counts allow;
- ``correlations``: per (plane, landscape metric, target): Spearman's rho over all runs
  with the final test accuracy and with the generalization gap;
- ``study_dataset``: every metric as an xarray variable over (plane, activation, seed).

Run-level columns (accuracy, loss, sharpness; :data:`losslandscape.summary.RUN_COLUMNS`)
are the same on every plane of a run, so they are analysed once, under plane ``run``.
"""

import itertools

import numpy as np
import pandas as pd
import xarray as xr

from losslandscape import statistics
from losslandscape.summary import RUN_COLUMNS

IDENTITY = ("activation", "seed", "plane")
RUN_PLANE = "run"  # the plane label of run-level metrics in the tables
# Settings echoed in the summary, not measurements
NOT_METRICS = ("minima_tolerance",)
CORRELATION_TARGETS = ("final_test_accuracy", "generalization_gap")


def metric_columns(summary: pd.DataFrame) -> tuple[list[str], list[str]]:
    """``(landscape metrics, run metrics)``: the numeric columns of the summary."""
    numeric = [
        c
        for c in summary.columns
        if c not in IDENTITY + NOT_METRICS and pd.api.types.is_numeric_dtype(summary[c])
    ]
    run = [c for c in numeric if c in RUN_COLUMNS]
    return [c for c in numeric if c not in RUN_COLUMNS], run


def long_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Tidy values: columns plane, metric, activation, seed, value (run-level metrics once
    per run, under plane ``run``)."""
    landscape, run = metric_columns(summary)
    per_plane = summary.melt(list(IDENTITY), landscape, var_name="metric")
    per_run = (
        summary.drop_duplicates(["activation", "seed"])
        .assign(plane=RUN_PLANE)
        .melt(list(IDENTITY), run, var_name="metric")
    )
    return pd.concat([per_plane, per_run], ignore_index=True)


def by_activation(summary: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Per (plane, metric, activation): n (finite values), mean, sd, ci_low, ci_high."""
    rows = []
    for (plane, metric, activation), group in long_table(summary).groupby(
        ["plane", "metric", "activation"], sort=False
    ):
        values = statistics.finite(group["value"])
        low, high = statistics.bootstrap_interval(values, seed=seed)
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


def comparisons(summary: pd.DataFrame, activations: list[str]) -> pd.DataFrame:
    """Every pair of activations (in config order) on every metric and plane."""
    rows = []
    for (plane, metric), group in long_table(summary).groupby(["plane", "metric"], sort=False):
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
    return pd.DataFrame(rows)


def correlations(summary: pd.DataFrame) -> pd.DataFrame:
    """Spearman's rho of each landscape metric with each target, over all runs of a plane."""
    landscape, _ = metric_columns(summary)
    rows = []
    for plane, group in summary.groupby("plane", sort=False):
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
    return pd.DataFrame(rows)


def study_dataset(summary: pd.DataFrame, attrs: dict) -> xr.Dataset:
    """Every metric as a variable: landscape metrics over (plane, activation, seed), run
    metrics over (activation, seed)."""
    landscape, run = metric_columns(summary)
    per_plane = summary.set_index(["plane", "activation", "seed"])[landscape].to_xarray()
    per_run = (
        summary.drop_duplicates(["activation", "seed"])
        .set_index(["activation", "seed"])[run]
        .to_xarray()
    )
    return xr.merge([per_plane, per_run]).assign_attrs(attrs)
