"""One plane kind across activations at the same scale: seeds in rows, activations in
columns, one shared logarithmic colour scale (a 1-D slice: one curve per activation)."""

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib import colors

from losslandscape.io.files import save_figure
from losslandscape.plots.finite import (
    draw_notes,
    finite_grid,
    grid_minimum,
    non_finite_note,
    positive_range,
)
from losslandscape.plots.palette import activation_colors
from losslandscape.plots.units import in_figure_units


def _shared_range(landscapes: list[xr.Dataset], variable: str) -> tuple[float, float]:
    return positive_range(np.concatenate([ds[variable].values.ravel() for ds in landscapes]))


def plot_plane_comparison(
    runs: dict[tuple[str, int], xr.Dataset], activations: list[str], variable: str, path: str
) -> None:
    """``runs``: (activation, seed) → landscape of one plane kind."""
    seeds = sorted({seed for _, seed in runs})
    plane = next(iter(runs.values())).attrs["plane"]
    low, high = _shared_range(list(runs.values()), variable)
    label = f"{variable.replace('_', ' ')} (nats, log scale)"
    if next(iter(runs.values())).sizes["y"] == 1:
        fig, axes = plt.subplots(
            len(seeds), 1, figsize=(9, 3 * len(seeds)), squeeze=False, layout="constrained"
        )
        palette = activation_colors(activations)
        for ax, seed in zip(axes[:, 0], seeds, strict=True):
            for activation in activations:
                if (activation, seed) in runs:
                    ds = runs[(activation, seed)]
                    curve = ds[variable].values[0]
                    curve = np.where(np.isfinite(curve), curve, np.nan)  # gaps, not values
                    ax.plot(ds["x"], curve, color=palette[activation], label=activation)
            notes = {
                activation: non_finite_note(
                    runs[(activation, seed)][variable].values, shown="left out of the curve"
                )
                for activation in activations
                if (activation, seed) in runs
            }
            draw_notes(ax, [f"{a}: {note}" for a, note in notes.items() if note])
            ax.set_yscale("log")
            ax.set_ylim(low, high)
            ax.set_title(f"seed {seed}")
            ax.set_ylabel(label)
            ax.set_xlabel("x (along u)")
            ax.legend(fontsize=8)
    else:
        fig, axes = plt.subplots(
            len(seeds),
            len(activations),
            figsize=(3.6 * len(activations) + 1.2, 3.2 * len(seeds)),
            squeeze=False,
            layout="constrained",
        )
        levels = np.geomspace(low, high, 30)
        norm = colors.LogNorm(low, high)
        filled = None
        for row, seed in enumerate(seeds):
            for col, activation in enumerate(activations):
                ax = axes[row, col]
                if (activation, seed) not in runs:
                    ax.set_visible(False)
                    continue
                ds = runs[(activation, seed)]
                raw = ds[variable].values
                ax.set_title(f"{activation}, seed {seed}")
                if not np.isfinite(raw).any():  # not a flat map on the shared scale
                    ax.text(0.5, 0.5, "no finite loss on this grid", ha="center",
                            va="center", transform=ax.transAxes)  # fmt: skip
                    draw_notes(ax, [non_finite_note(raw, shown="none drawn")])
                    continue
                loss = np.clip(finite_grid(raw), low, high)
                filled = ax.contourf(
                    ds["x"], ds["y"], loss, levels=levels, norm=norm, cmap="viridis"
                )
                minimum = grid_minimum(raw)
                if minimum is not None:
                    iy, ix = minimum
                    ax.plot(ds["x"][ix], ds["y"][iy], "*", color="white", markeredgecolor="black")
                draw_notes(ax, [non_finite_note(raw, shown="drawn as the highest loss")])
                ax.set_xlabel("x")
                ax.set_ylabel("y")
        if filled is not None:
            fig.colorbar(filled, ax=axes, label=label, format="%.3g", shrink=0.8)
    fig.suptitle(f"{plane}: {variable.replace('_', ' ')} of every run on one colour scale")
    units = next(iter(runs.values())).attrs.get("loss_units", "nats")
    save_figure(in_figure_units(fig, units), path, dpi=100)
    plt.close(fig)
