"""The analysis figure of one landscape: surface, smoothness, basin and shape, from the
landscape file and its metrics file (matplotlib only, like plot_landscape)."""

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib import colors

from losslandscape.io.files import save_figure
from losslandscape.metrics.basins import basin_contours, basin_mask
from losslandscape.plots.finite import finite_grid
from losslandscape.plots.landscape import loss_units


def _mark_minimum(ax, metrics: xr.Dataset) -> None:
    ax.plot(
        float(metrics.loss_min_x),
        float(metrics.loss_min_y),
        marker="*",
        color="white",
        markeredgecolor="black",
        markersize=12,
    )


def _surface(fig, position, xs, ys, loss) -> None:
    ax = fig.add_subplot(*position, projection="3d")
    grid_x, grid_y = np.meshgrid(xs, ys)
    ax.plot_surface(grid_x, grid_y, np.log10(np.maximum(loss, 1e-12)), cmap="viridis")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("log10 loss")
    ax.set_title("surface (log10 of the loss)")


def _map(ax, fig, xs, ys, values, title, label, **style) -> None:
    mesh = ax.pcolormesh(xs, ys, values, shading="nearest", **style)
    fig.colorbar(mesh, ax=ax, label=label)
    ax.set_xlabel("x (along u)")
    ax.set_ylabel("y (along v)")
    ax.set_title(title)


def _basin_panel(ax, xs, ys, loss, metrics: xr.Dataset, units: str) -> None:
    low, high = max(loss.min(), 1e-12), max(loss.max(), loss.min() * 1.01, 1e-11)
    levels = np.geomspace(low, high, 30)
    ax.contourf(
        xs,
        ys,
        np.clip(loss, low, high),
        levels=levels,
        cmap="Greys_r",
        norm=colors.LogNorm(low, high),
    )
    palette = plt.get_cmap("plasma")(np.linspace(0.1, 0.9, metrics.sizes["level"]))
    for colour, height, width, edge in zip(
        palette,
        metrics["basin_height"].values,
        metrics["basin_width"].values,
        metrics["basin_touches_edge"].values,
        strict=True,
    ):
        for k, line in enumerate(basin_contours(loss, xs, ys, float(height))):
            ax.plot(
                line[:, 0],
                line[:, 1],
                color=colour,
                linewidth=1.2,
                label=f"{height:.3g} {units}: width {'≥ ' if edge else ''}{width:.3g}"
                if k == 0
                else None,
            )
    _mark_minimum(ax, metrics)
    if ax.get_legend_handles_labels()[0]:  # no contour at any level on a tiny grid
        ax.legend(fontsize=7, loc="upper left", framealpha=0.8)
    ax.set_xlabel("x (along u)")
    ax.set_ylabel("y (along v)")
    ax.set_title("basins: level sets at heights above the minimum")


def _slice_figure(landscape, metrics, variable, units: str):
    xs = landscape["x"].values
    loss = finite_grid(landscape[variable].values)[0]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    axes[0].plot(xs, loss, color="black")
    palette = plt.get_cmap("plasma")(np.linspace(0.1, 0.9, metrics.sizes["level"]))
    for colour, height in zip(palette, metrics["basin_height"].values, strict=True):
        below = basin_mask(loss[None, :], float(height))[0]  # the connected basin only
        axes[0].fill_between(
            xs,
            loss.min(),
            loss,
            where=below,
            color=colour,
            alpha=0.25,
            label=f"{height:.3g} {units}",
        )
    axes[0].set_yscale("log")
    axes[0].set_title("loss with the basin at each level")
    axes[0].legend(fontsize=7)
    axes[1].plot(xs, metrics["gradient_magnitude"].values[0], color="tab:red")
    axes[1].set_yscale("log")
    axes[1].set_title("gradient magnitude |dL/dx| (smoothness)")
    for ax in axes:
        ax.set_xlabel("x (along u)")
    return fig


def _shown(value, spec: str, unit: str = "") -> str:
    """A metric as a title shows it: formatted by ``spec`` with its ``unit``, or "undefined"
    where it is NaN (non-finite grid points, or a flat region)."""
    value = float(value)
    return format(value, spec) + unit if np.isfinite(value) else "undefined"


def analysis_figure(landscape: xr.Dataset, metrics: xr.Dataset):
    """2-D: the 3-D surface, the gradient-magnitude map, the basins' level sets with the
    minimum and the shape-index map; 1-D: the loss with its basins and the gradient.

    ``metrics`` are :func:`losslandscape.metrics.landscape.landscape_metrics` of
    ``landscape``; the run's attributes are optional (a grid made outside the study).

    Returns:
        the matplotlib Figure (the caller saves or closes it).
    """
    variable, units = metrics.attrs["variable"], loss_units(landscape)
    if landscape.sizes["y"] == 1:
        fig = _slice_figure(landscape, metrics, variable, units)
    else:
        xs, ys = landscape["x"].values, landscape["y"].values
        loss = finite_grid(landscape[variable].values)
        fig = plt.figure(figsize=(13, 10.5))
        _surface(fig, (2, 2, 1), xs, ys, loss)
        gradient = metrics["gradient_magnitude"].values
        positive = gradient[np.isfinite(gradient) & (gradient > 0)]
        norm = colors.LogNorm(positive.min(), positive.max()) if positive.size else None
        _map(
            fig.add_subplot(2, 2, 2),
            fig,
            xs,
            ys,
            gradient,
            f"|∇L| (steepness {_shown(metrics.steepness, '.3g')}, roughness "
            f"{_shown(metrics.roughness, '.2g', ' ' + units)} within "
            f"{float(metrics.region_height):g} {units})",
            f"|∇L| ({units} per unit, log scale)",
            cmap="magma",
            norm=norm,
        )
        _basin_panel(fig.add_subplot(2, 2, 3), xs, ys, loss, metrics, units)
        shape_ax = fig.add_subplot(2, 2, 4)
        _map(
            shape_ax,
            fig,
            xs,
            ys,
            metrics["shape_index"].values,
            f"shape index (at the minimum {_shown(metrics.shape_index_at_minimum, '.2f')}; "
            f"−1 cup, +1 cap; non-convex {_shown(metrics.nonconvex_fraction, '.0%')})",
            "shape index",
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
        )
        _mark_minimum(shape_ax, metrics)
    attrs = landscape.attrs
    bad = int(metrics.n_nonfinite) if "n_nonfinite" in metrics else 0
    run = ", ".join(
        f"{'seed ' if key == 'seed' else ''}{attrs[key]}"
        for key in ("activation", "seed", "plane")
        if key in attrs
    )
    fig.suptitle(
        (f"{run}: " if run else "")
        + f"{int(metrics.n_local_minima)} local minimum(s) of {variable.replace('_', ' ')}, "
        f"lowest {_shown(metrics.loss_min, '.4g', ' ' + units)}"
        + (
            f"\n{bad} of {landscape[variable].size} grid points non-finite: left out of the "
            "metrics ('undefined': a metric they leave without a value)"
            if bad
            else ""
        )
    )
    fig.tight_layout()
    return fig


def plot_analysis(landscape: xr.Dataset, metrics: xr.Dataset, path: str) -> None:
    """:func:`analysis_figure` → ``path`` (PNG at 100 dpi)."""
    fig = analysis_figure(landscape, metrics)
    save_figure(fig, path, dpi=100)
    plt.close(fig)
