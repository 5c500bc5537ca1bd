"""Figures across the runs of the study: basin width over training (narrow planes around
earlier checkpoints) and the loss barriers on the straight lines between seeds' models."""

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib import colors, ticker
from matplotlib.lines import Line2D

from losslandscape.io.files import save_figure
from losslandscape.plots.finite import draw_notes, non_finite_note
from losslandscape.plots.palette import activation_colors
from losslandscape.plots.units import in_figure_units
from losslandscape.statistics.summary import OVER_TRAINING_COLUMNS

# the columns of summary.over_training_table this figure reads
WIDTH_COLUMNS = tuple(c for c in OVER_TRAINING_COLUMNS if c != "n_local_minima_region")
LOWER_BOUND_LABEL = "hollow: a lower bound (the basin reaches the window's edge)"


def _plain_log_ticks(ax) -> None:
    """Log-scale y ticks as plain numbers (1.8, not 1.8 × 10⁰): loss ranges are often narrow."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ticker.FormatStrFormatter("%.3g"))
    # minor ticks labelled only where the axis spans about a decade or less: over several
    # decades their labels would run into each other
    ax.yaxis.set_minor_formatter(
        ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.5))
    )


def _check_columns(table: pd.DataFrame, columns: tuple[str, ...], source: str) -> None:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(
            f"{source}: columns {', '.join(missing)} are missing; found {', '.join(table.columns)}"
        )
    if table.empty:
        raise ValueError(f"{source}: the table has no rows")


def _run_width(ax, run: pd.DataFrame, colour) -> None:
    """One run's width against epoch: a thin line, markers filled where the width is measured
    and hollow where the basin reaches the window's edge (a lower bound)."""
    ax.plot(run["epoch"], run["basin_width"], color=colour, linewidth=0.7, alpha=0.6)
    edge = run["basin_touches_edge"].astype(int) == 1
    for rows, face in ((run[~edge], colour), (run[edge], "none")):
        ax.plot(
            rows["epoch"],
            rows["basin_width"],
            linestyle="",
            marker="o",
            markersize=4,
            markerfacecolor=face,
            markeredgecolor=colour,
            zorder=3,
        )


def _activation_lines(ax_width, ax_loss, rows: pd.DataFrame, colour) -> Line2D:
    """One activation's rows: per run, its width (:func:`_run_width`) and its training loss;
    then the thick line of the mean width over its seeds at each epoch, returned for the
    legend."""
    for _, run in rows.groupby("seed"):
        _run_width(ax_width, run, colour)
        ax_loss.plot(
            run["epoch"], run["train_loss"], color=colour, linewidth=0.8, marker=".", alpha=0.8
        )
    mean = rows.groupby("epoch")["basin_width"].mean()
    activation = rows["activation"].iloc[0]
    (line,) = ax_width.plot(
        mean.index,
        mean.values,
        color=colour,
        linewidth=2.5,
        alpha=0.5,
        zorder=1,  # under the runs' markers, which say which widths are lower bounds
        label=f"{activation} (mean of {rows['seed'].nunique()} seeds)",
    )
    return line


def plot_width_over_training(
    table: pd.DataFrame, activations: list[str], path: str, loss_units: str = "nats"
) -> None:
    """Basin width against epoch (left) beside training loss against epoch (right).

    ``table``: one row per run and epoch with columns ``activation``, ``seed``, ``epoch``,
    ``train_loss`` (nats, the checkpoint's training loss), ``basin_level`` (nats above the
    minimum the width is read at), ``basin_width`` (plane coordinates, filter-normalized
    units, on the narrow plane centred on that epoch's checkpoint) and
    ``basin_touches_edge`` (1: the basin reaches the window's edge, so the width is a lower
    bound, drawn hollow). Left: a thin line per run, a thick line per activation for the
    mean over its seeds at each epoch. Right: training loss (log scale) per run, in the
    same colours, so width can be read against convergence. Activations in the order of
    ``activations`` (the palette's); rows of other activations are not drawn.

    Raises ValueError when a column is missing or the table is empty.
    """
    _check_columns(table, WIDTH_COLUMNS, "basin width over training")
    palette = activation_colors(activations)
    fig, (ax_width, ax_loss) = plt.subplots(1, 2, figsize=(12, 4.5))
    handles = []
    for activation in activations:
        rows = table[table["activation"] == activation].sort_values(["seed", "epoch"])
        if not rows.empty:
            handles.append(_activation_lines(ax_width, ax_loss, rows, palette[activation]))
    handles.append(Line2D([], [], color="grey", linewidth=0.7, label="thin: one run"))
    if (table["basin_touches_edge"].astype(int) == 1).any():
        hollow = {"marker": "o", "markerfacecolor": "none", "markeredgecolor": "grey"}
        handles.append(Line2D([], [], linestyle="", **hollow, label=LOWER_BOUND_LABEL))
    levels = ", ".join(f"{level:g}" for level in sorted(table["basin_level"].unique()))
    ax_width.set_ylabel(
        f"basin width at {levels} nats above the minimum\n"
        "(plane coordinates, filter-normalized units)"
    )
    ax_width.set_xlabel("epoch (narrow plane centred on that checkpoint)")
    ax_width.set_ylim(0, 1.08 * max(float(np.nanmax(table["basin_width"])), 1e-12))
    # Below the axes: inside, it would hide lines that are often alike and all near the top.
    ax_width.legend(
        handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2
    )
    ax_width.set_title("basin width over training")
    _plain_log_ticks(ax_loss)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (nats, log scale)")
    ax_loss.set_title("training loss of the same checkpoints")
    for ax in (ax_width, ax_loss):
        ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    fig.tight_layout()
    save_figure(in_figure_units(fig, loss_units), path, dpi=110)
    plt.close(fig)


def _shades(colour, n: int) -> list[tuple[float, float, float]]:
    """``n`` shades of ``colour``: from itself to 60 % of the way to white."""
    rgb = np.asarray(colors.to_rgb(colour))
    return [tuple(rgb + (1 - rgb) * share) for share in np.linspace(0.0, 0.6, n)]


def _nats(value: float) -> str:
    """A barrier as the figure writes it: in nats, or undefined where a point of its line
    was not finite (the barrier is then infinite or NaN)."""
    return f"{value:.3g} nats" if np.isfinite(value) else "undefined: non-finite points"


def plot_seed_barriers(barriers: list[xr.Dataset], activations: list[str], path: str) -> None:
    """Training loss along the straight line between every pair of seeds' trained models,
    one panel per activation (in the order of ``activations``; shared log-scale y axis).

    Each of ``barriers`` is one activation's seed-barriers Dataset: dims ``(pair, alpha)``,
    ``train_loss`` (nats) on ``(pair, alpha)``, ``barrier_height`` (nats: the maximum along
    the line minus the mean of its ends) on ``pair``, coordinates ``seed_a``, ``seed_b`` on
    ``pair`` and ``alpha`` (0: ``seed_a``'s model, 1: ``seed_b``'s), attribute
    ``activation``. A line per pair, labelled with its barrier; each panel's title gives the
    mean barrier over its pairs.

    Raises ValueError when two datasets hold the same activation, a dataset's activation is
    not in ``activations``, or ``barriers`` is empty.
    """
    by_activation = {}
    for ds in barriers:
        activation = ds.attrs["activation"]
        if activation in by_activation:
            raise ValueError(f"seed barriers: activation {activation!r} has two datasets")
        if activation not in activations:
            raise ValueError(
                f"seed barriers: activation {activation!r} is not one of {', '.join(activations)}"
            )
        by_activation[activation] = ds
    if not by_activation:
        raise ValueError("seed barriers: expected one dataset per activation; found none")
    shown = [activation for activation in activations if activation in by_activation]
    palette = activation_colors(activations)
    fig, axes = plt.subplots(
        1, len(shown), figsize=(max(4.2 * len(shown), 6.5), 4), sharey=True, squeeze=False
    )
    for ax, activation in zip(axes[0], shown, strict=True):
        ds = by_activation[activation]
        heights = ds["barrier_height"].values
        for pair, colour in enumerate(_shades(palette[activation], ds.sizes["pair"])):
            line = ds.isel(pair=pair)
            losses = line["train_loss"].values
            ax.plot(
                ds["alpha"].values,
                np.where(np.isfinite(losses), losses, np.nan),  # gaps, not values on a log axis
                color=colour,
                marker=".",
                label=(
                    f"seed {int(line.seed_a)} → seed {int(line.seed_b)} "
                    f"(barrier {_nats(float(line.barrier_height))})"
                ),
            )
        draw_notes(ax, [non_finite_note(ds["train_loss"].values, shown="left out of the lines")])
        _plain_log_ticks(ax)
        ax.set_xlabel("α (0: seed a's model, 1: seed b's)")
        ax.set_title(f"{activation}: mean barrier {_nats(float(np.mean(heights)))}")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("training loss along the line (nats, log scale)")
    fig.suptitle("Training loss on the straight line between two seeds' trained models")
    fig.tight_layout()
    units = barriers[0].attrs.get("loss_units", "nats")
    save_figure(in_figure_units(fig, units), path, dpi=110)
    plt.close(fig)
