"""Study-level tables: one row per (activation, seed, plane), and means over seeds."""

import numpy as np
import pandas as pd
import xarray as xr

FINAL_COLUMNS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
# The scalars of a run's sharpness file (rule compute_sharpness), one value per run
SHARPNESS_COLUMNS = (
    "subset_loss",
    "hessian_max_eigenvalue",
    "hessian_min_eigenvalue",
    "hessian_max_eigenvalue_adaptive",
    "hessian_trace",
    "hessian_trace_se",
    "epsilon_sharpness",
)
# Columns that describe the trained run, not one plane's landscape: the same in every row
# of a run
RUN_COLUMNS = (
    *SHARPNESS_COLUMNS,
    "diverged_epoch",
    "epochs",
    *(f"final_{column}" for column in FINAL_COLUMNS),
    "generalization_gap",
)


def run_row(metrics: xr.Dataset, history: pd.DataFrame, sharpness: xr.Dataset) -> dict:
    """One summary row: run identity, every scalar grid metric, the run's sharpness scalars
    and the final epoch's history."""
    row = {key: metrics.attrs[key] for key in ("activation", "seed", "plane")}
    row |= {name: var.item() for name, var in metrics.data_vars.items() if var.ndim == 0}
    # Ladders become one column per rung: basin widths per level, shape-class fractions,
    # the headlines' stability checks.
    for name, var in metrics.data_vars.items():
        if var.dims in (("level",), ("shape_class",), ("headline",)):
            dim = var.dims[0]
            for label, value in zip(metrics[dim].values, var.values, strict=True):
                row[f"{name}_{dim}_{label}"] = value.item()
    row |= {name: sharpness[name].item() for name in SHARPNESS_COLUMNS}
    # histories written before the ``diverged`` column existed have no diverged epochs
    flags = history["diverged"] if "diverged" in history else pd.Series(0, index=history.index)
    diverged = history[flags == 1]
    row["diverged_epoch"] = int(diverged["epoch"].iloc[0]) if len(diverged) else -1
    final = history[np.isfinite(history["train_loss"])].iloc[-1]  # a diverged run's last finite
    row["epochs"] = int(final["epoch"])
    row |= {f"final_{column}": float(final[column]) for column in FINAL_COLUMNS}
    row["generalization_gap"] = row["final_test_loss"] - row["final_train_loss"]
    return row


def study_summary(rows: list[dict]) -> pd.DataFrame:
    """The study table, sorted by plane, activation and seed."""
    return pd.DataFrame(rows).sort_values(["plane", "activation", "seed"], ignore_index=True)


def activation_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of every numeric column, per (plane, activation).

    Columns are flattened to ``<metric>_mean`` and ``<metric>_std``; ``n_seeds`` counts runs.
    """
    numeric = [
        c
        for c in summary.columns
        if c not in ("activation", "seed", "plane") and np.issubdtype(summary[c].dtype, np.number)
    ]
    grouped = summary.groupby(["plane", "activation"])
    table = grouped[numeric].agg(["mean", "std"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table.insert(0, "n_seeds", grouped.size())
    return table.reset_index()
