"""Study-level tables: one row per (activation, seed, plane, draw), means over seeds, the
measures across seeds (barriers, three-seed planes) and basin width over training."""

import numpy as np
import pandas as pd
import xarray as xr

from losslandscape.metrics.stability import headline_level

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
    "target_loss",
    "target_epoch",
    "reached_target",
    "epochs",
    *(f"final_{column}" for column in FINAL_COLUMNS),
    "generalization_gap",
)


def run_row(
    metrics: xr.Dataset,
    history: pd.DataFrame,
    sharpness: xr.Dataset,
    target_loss: float | None = None,
) -> dict:
    """One summary row: run identity (with the direction draw), every scalar grid metric,
    the run's sharpness scalars, the final epoch's history and whether the run reached the
    training-loss target (:func:`target_columns`)."""
    row = {key: metrics.attrs[key] for key in ("activation", "seed", "plane")}
    row["draw"] = int(metrics.attrs.get("draw", 1))
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
    row |= target_columns(history, target_loss)
    final = history[np.isfinite(history["train_loss"])].iloc[-1]  # a diverged run's last finite
    row["epochs"] = int(final["epoch"])
    row |= {f"final_{column}": float(final[column]) for column in FINAL_COLUMNS}
    row["generalization_gap"] = row["final_test_loss"] - row["final_train_loss"]
    return row


def target_columns(history: pd.DataFrame, target_loss: float | None) -> dict:
    """Whether a run's final model is at the study's training-loss target, and when training
    first reached it: ``target_loss`` (nats; NaN without one), ``target_epoch`` (the first
    epoch whose training loss is at or below it; −1 if none) and ``reached_target`` (1 when
    the final model's training loss — the last finite epoch's, the model the landscapes are
    drawn around — is at or below the target, else 0; 1 when the study sets no target:
    nothing to judge). A run that dipped below the target and rose again is not at it."""
    if target_loss is None:
        return {"target_loss": np.nan, "target_epoch": -1, "reached_target": 1}
    hits = history.loc[history["train_loss"] <= target_loss, "epoch"]
    final = history.loc[np.isfinite(history["train_loss"]), "train_loss"]
    return {
        "target_loss": float(target_loss),
        "target_epoch": int(hits.iloc[0]) if len(hits) else -1,
        "reached_target": int(len(final) > 0 and final.iloc[-1] <= target_loss),
    }


def study_summary(rows: list[dict]) -> pd.DataFrame:
    """The study table, sorted by plane, activation, seed and draw."""
    return pd.DataFrame(rows).sort_values(
        ["plane", "activation", "seed", "draw"], ignore_index=True
    )


def activation_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of every numeric column, per (plane, activation).

    Where runs have several direction draws (a ``draw`` column), each run's values are first
    averaged over its draws, so the standard deviation is between runs, not draws.
    Columns are flattened to ``<metric>_mean`` and ``<metric>_std``; ``n_seeds`` counts runs.
    """
    identity = ["activation", "seed", "plane"]
    numeric = [
        c
        for c in summary.columns
        if c not in (*identity, "draw") and np.issubdtype(summary[c].dtype, np.number)
    ]
    runs = summary.groupby(identity, sort=False)[numeric].mean().reset_index()
    grouped = runs.groupby(["plane", "activation"])
    table = grouped[numeric].agg(["mean", "std"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    table.insert(0, "n_seeds", grouped.size())
    return table.reset_index()


# The across-seeds table's ``kind`` of the straight line between two seeds' models (rule
# interpolate_seeds: not a plane kind); its planes through several seeds' models have their
# plane kind there (losslandscape.planes.kinds.ACROSS_SEEDS)
SEED_LINE = "line"
ACROSS_SEEDS_COLUMNS = (
    "activation",
    "kind",
    "seeds",
    "barrier_height",
    "barrier_height_max",
    "n_local_minima",
    "n_local_minima_region",
)


def across_seeds_table(planes: list[xr.Dataset], lines: list[xr.Dataset]) -> pd.DataFrame:
    """Measures across the final models of several seeds of one activation, one row each:

    - ``kind`` ``line``: the straight line between two seeds' models (a seed-barriers file
      of rule interpolate_seeds, one row per pair): ``barrier_height`` (nats, Frankle et
      al. 2020 §2);
    - ``kind`` ``three_seed``: the plane through three seeds' models (its metrics file):
      ``barrier_height`` the mean, ``barrier_height_max`` the largest over the three pairs
      of the lowest pass between two models on the grid (nats), and the plane's local
      minima in the window and in the low-loss region.

    ``seeds`` names the models, joined by ``-``.
    """
    rows = []
    for ds in lines:
        for pair in range(ds.sizes["pair"]):
            rows.append(
                {
                    "activation": ds.attrs["activation"],
                    "kind": SEED_LINE,
                    "seeds": f"{int(ds.seed_a[pair])}-{int(ds.seed_b[pair])}",
                    "barrier_height": float(ds.barrier_height[pair]),
                }
            )
    for ds in planes:
        rows.append(
            {
                "activation": ds.attrs["activation"],
                "kind": ds.attrs["plane"],
                "seeds": "-".join(str(s) for s in np.atleast_1d(ds.attrs["plane_seeds"])),
                "barrier_height": float(ds.model_barrier_mean),
                "barrier_height_max": float(ds.model_barrier_max),
                "n_local_minima": int(ds.n_local_minima),
                "n_local_minima_region": int(ds.n_local_minima_region),
            }
        )
    return pd.DataFrame(rows, columns=list(ACROSS_SEEDS_COLUMNS))


OVER_TRAINING_COLUMNS = (
    "activation",
    "seed",
    "epoch",
    "train_loss",
    "basin_level",
    "basin_width",
    "basin_touches_edge",
    "n_local_minima_region",
)


def over_training_table(
    metrics: list[xr.Dataset], histories: dict[tuple[str, int], pd.DataFrame]
) -> pd.DataFrame:
    """Basin width against epoch: one row per narrow-plane metrics file of the first draw
    (around the checkpoint of ``centre_epoch``, or the final model), with the checkpoint's
    training loss (nats, from the run's history), the width (plane coordinates) at the
    headline level (:func:`losslandscape.metrics.stability.headline_level`, in the metrics' units)
    and whether the basin reaches the window's edge (then the width is a lower bound)."""
    rows = []
    for ds in metrics:
        run = (ds.attrs["activation"], int(ds.attrs["seed"]))
        history = histories[run]
        finite = history[np.isfinite(history["train_loss"])]
        epoch = int(ds.attrs.get("centre_epoch", finite["epoch"].iloc[-1]))
        level = headline_level(ds["level"].values)
        rows.append(
            {
                "activation": run[0],
                "seed": run[1],
                "epoch": epoch,
                "train_loss": float(history.loc[history["epoch"] == epoch, "train_loss"].iloc[0]),
                "basin_level": level,
                "basin_width": float(ds.basin_width.sel(level=level)),
                "basin_touches_edge": int(ds.basin_touches_edge.sel(level=level)),
                "n_local_minima_region": int(ds.n_local_minima_region),
            }
        )
    table = pd.DataFrame(rows, columns=list(OVER_TRAINING_COLUMNS))
    return table.sort_values(["activation", "seed", "epoch"], ignore_index=True)
