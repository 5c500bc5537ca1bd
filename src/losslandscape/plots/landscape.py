"""Landscape maps with the training trajectory, for the report (matplotlib only: seaborn's
import costs 2 s per job and these run once per run and plane)."""

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib import colors, ticker

from losslandscape.io.datamodel import LOSS_UNITS, LOSS_VARIABLES
from losslandscape.io.files import save_figure
from losslandscape.planes.kinds import plane_kind
from losslandscape.plots.finite import (
    draw_notes,
    finite_grid,
    grid_minimum,
    non_finite_note,
    positive_range,
)

# The trajectory is drawn only where a checkpoint lies near the plane (relative off-plane
# distance below this): on random planes every checkpoint's residual but the origin's is ~1,
# and its projection is a meaningless cloud near the origin, not a path across the map.
TRAJECTORY_RESIDUAL_MAX = 0.5


def _off_plane(landscape: xr.Dataset) -> np.ndarray:
    """Each checkpoint's distance off the plane, relative to what the test against
    :data:`TRAJECTORY_RESIDUAL_MAX` needs: on a plane of orthonormal directions
    (``normalization: unit``: PCA, Hessian), the off-plane distance over the trajectory's
    largest distance from the origin, since the stored residual (over the checkpoint's own
    distance) grows without bound as a late checkpoint nears the model (‖d‖² = x² + y² +
    off², so ‖d‖ = √((x² + y²) / (1 − r²))); elsewhere the stored residual."""
    residual = landscape.trajectory_residual.values
    if landscape.attrs.get("normalization") != "unit":
        return residual
    in_plane = np.hypot(landscape.trajectory_x.values, landscape.trajectory_y.values)
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.where(residual < 1, in_plane / np.sqrt(1 - residual**2), np.inf)
    scale = np.max(distance[np.isfinite(distance)], initial=0.0)
    return residual * distance / scale if scale > 0 else residual


def _trajectory(ax, landscape: xr.Dataset) -> str | None:
    """Draw the training trajectory (plane coordinates): its checkpoints near the plane
    (residual below :data:`TRAJECTORY_RESIDUAL_MAX`) and inside the window. Fewer than two
    such checkpoints: no line (and no legend entry); the note saying why is returned. A
    grid without a trajectory (one made outside the study) has none to draw and no note."""
    if "trajectory_x" not in landscape or landscape.sizes["epoch"] < 2:
        return None  # none, or one saved model (imported): no path to draw
    xs, ys = landscape["x"].values, landscape["y"].values
    near = xr.DataArray(_off_plane(landscape) < TRAJECTORY_RESIDUAL_MAX, dims="epoch")
    on_grid = (
        (landscape.trajectory_x >= xs[0])
        & (landscape.trajectory_x <= xs[-1])
        & (landscape.trajectory_y >= ys[0])
        & (landscape.trajectory_y <= ys[-1])
    )
    shown = near & on_grid
    # One checkpoint is no path: the plane's origin (residual 0) is always on it, and on a
    # random plane it is the only one; the trained model has its own marker.
    if int(shown.sum()) < 2:
        reason = (
            f"off the plane (residual ≥ {TRAJECTORY_RESIDUAL_MAX:g})"
            if int(near.sum()) < 2
            else "outside the window"
        )
        return f"trajectory not drawn: {reason}"
    hidden = int((~near).sum())
    ax.plot(
        landscape.trajectory_x.where(shown),
        landscape.trajectory_y.where(shown),
        "o-",
        color="tab:red",
        markersize=2.5,
        linewidth=1,
        label="training trajectory",
    )
    if hidden:
        return f"{hidden} of {landscape.sizes['epoch']} checkpoints off the plane, not drawn"
    return None


def _spanning_models(ax, attrs: dict) -> None:
    """The models a plane passes through (three-point, three-seed planes) at their plane
    coordinates, labelled by the grid's ``model_names`` where it has them (the API's
    three-point planes), else as its kind says (``model_labels``: by epoch, by seed)."""
    if "model_names" in attrs:
        labels = [str(name) for name in np.atleast_1d(attrs["model_names"])]
    else:
        word, attr = plane_kind(attrs["plane"]).model_labels
        labels = [f"{word} {value}" for value in np.atleast_1d(attrs[attr])]
    for px, py, label in zip(
        np.atleast_1d(attrs["three_point_x"]),
        np.atleast_1d(attrs["three_point_y"]),
        labels,
        strict=True,
    ):
        ax.plot(px, py, marker="o", color="white", markeredgecolor="black", markersize=7)
        ax.annotate(
            label,
            (px, py),
            textcoords="offset points",
            xytext=(6, 6),
            color="white",
            fontsize=8,
        )


def _loss_panel(ax, landscape: xr.Dataset, variable: str) -> None:
    raw = landscape[variable].values
    if not np.isfinite(raw).any():  # nothing to colour: no scale for values that are not there
        ax.text(0.5, 0.5, f"no finite {variable.replace('_', ' ')} on this grid",
                ha="center", va="center", transform=ax.transAxes)  # fmt: skip
        draw_notes(ax, [non_finite_note(raw, shown="none drawn")])
        return
    low, high = positive_range(raw)
    loss = finite_grid(raw)
    levels = np.geomspace(low, high, 30)
    xs, ys = landscape["x"].values, landscape["y"].values
    filled = ax.contourf(
        xs,
        ys,
        np.clip(loss, low, high),
        levels=levels,
        norm=colors.LogNorm(low, high),
        cmap="viridis",
    )
    ax.contour(
        xs,
        ys,
        np.clip(loss, low, high),
        levels=levels[::3],
        colors="white",
        linewidths=0.4,
        alpha=0.6,
    )
    plt.colorbar(
        filled,
        ax=ax,
        label=f"{variable.replace('_', ' ')} ({loss_units(landscape)}, log scale)",
        format="%.3g",
    )
    draw_notes(ax, [_trajectory(ax, landscape), non_finite_note(raw)])
    minimum = grid_minimum(raw)
    if minimum is not None:
        iy, ix = minimum
        ax.plot(
            xs[ix],
            ys[iy],
            marker="*",
            color="white",
            markeredgecolor="black",
            markersize=12,
            label="grid minimum",
        )
    if "three_point_x" in landscape.attrs:
        _spanning_models(ax, landscape.attrs)
    # The trained model is the trajectory's last point: (0, 0) unless the plane's origin is
    # another checkpoint (three-point planes, narrow planes around an earlier epoch); a grid
    # without a trajectory is centred on its model
    trained = (
        (float(landscape.trajectory_x[-1]), float(landscape.trajectory_y[-1]))
        if "trajectory_x" in landscape
        else (0.0, 0.0)
    )
    ax.plot(
        *trained,
        marker="X",
        color="tab:orange",
        markeredgecolor="black",
        markersize=8,
        label="trained model",
    )
    ax.set_xlabel("x (along u)")
    ax.set_ylabel("y (along v)")
    ax.set_title(variable.replace("_", " "))


def _slice_panels(axes, landscape: xr.Dataset) -> None:
    """A 1-D slice: loss (log scale, ± 2 standard errors) and accuracy along x, with dotted
    lines at the models it passes through (its kind's ``points``; else the trained model at
    x = 0), named in the title."""
    kind = _kind(landscape)
    xs = landscape["x"].values
    colours = dict(zip(loss_variables(landscape), plt.get_cmap("tab10").colors, strict=False))
    for variable, colour in colours.items():
        split = variable.removesuffix("_loss")
        # non-finite points are gaps in a curve (NaN), not values on a log axis
        loss = np.where(np.isfinite(raw := landscape[variable].values[0]), raw, np.nan)
        axes[0].plot(xs, loss, color=colour, label=f"{split} loss")
        if f"{variable}_sem" in landscape:
            sem = landscape[f"{variable}_sem"].values[0]
            axes[0].fill_between(xs, loss - 2 * sem, loss + 2 * sem, color=colour, alpha=0.2)
        if f"{split}_accuracy" in landscape:
            axes[1].plot(xs, landscape[f"{split}_accuracy"].values[0], color=colour, label=split)
    axes[0].set_yscale("log")
    raw = np.concatenate([landscape[v].values[0] for v in colours])
    axes[0].set_ylim(*positive_range(raw))  # limits from the finite values (none: 1e-3…1)
    draw_notes(axes[0], [non_finite_note(raw, shown="left out of the curves")])
    for axis in (axes[0].yaxis,):
        axis.set_major_formatter(ticker.FormatStrFormatter("%.3g"))
        axis.set_minor_formatter(ticker.FormatStrFormatter("%.3g"))
    axes[0].set_ylabel(f"mean {loss_name(landscape)} ({loss_units(landscape)}, log scale; "
                       "band ± 2 s.e.)")  # fmt: skip
    axes[1].set_ylabel("accuracy")
    if not axes[1].lines:
        axes[1].text(0.5, 0.5, "no accuracy: the loss defines none", ha="center",
                     va="center", transform=axes[1].transAxes)  # fmt: skip
    marks = kind.points[0] if kind is not None and kind.points else (0.0,)
    for ax in axes:
        for mark in marks:
            ax.axvline(mark, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("x (along u)")
        if ax.lines:
            ax.legend(fontsize=8)
    if kind is not None and kind.model_labels and kind.model_labels[1] in landscape.attrs:
        word, attr = kind.model_labels
        ends = np.atleast_1d(landscape.attrs[attr])
        axes[0].set_title(
            ", ".join(f"x = {x:g}: {word} {end}" for x, end in zip(marks, ends, strict=True))
        )
    else:
        axes[0].set_title("x = 0: the trained model")


def loss_variables(landscape: xr.Dataset) -> list[str]:
    """The grid's loss variables, train then test then any other split's (``<split>_loss``
    on ``(y, x)``)."""
    named = [v for v in LOSS_VARIABLES if v in landscape]
    others = sorted(
        str(v) for v in landscape.data_vars
        if str(v).endswith("_loss") and v not in named and landscape[v].dims == ("y", "x")
    )  # fmt: skip
    return named + others


def loss_units(landscape: xr.Dataset) -> str:
    """The loss's units: the grid's ``loss_units`` attribute, else nats (the study's
    cross-entropy)."""
    return str(landscape.attrs.get("loss_units", LOSS_UNITS))


def loss_name(landscape: xr.Dataset) -> str:
    """The loss's name for a label: the grid's ``loss`` attribute, else cross-entropy."""
    return str(landscape.attrs.get("loss", "cross_entropy")).replace("_", "-")


def _kind(landscape: xr.Dataset):
    """The plane kind the grid names (``plane``), or None (a grid made outside the study)."""
    try:
        return plane_kind(str(landscape.attrs["plane"]))
    except (KeyError, ValueError):
        return None


def _title(landscape: xr.Dataset) -> str:
    """The run and plane as far as the grid's attributes say (all optional)."""
    attrs = landscape.attrs
    run = ", seed ".join(str(attrs[k]) for k in ("activation", "seed") if k in attrs)
    plane = attrs.get("plane_name", attrs.get("plane"))
    around = f" around epoch {attrs['centre_epoch']}" if "centre_epoch" in attrs else ""
    shape = "slice" if landscape.sizes["y"] == 1 else "plane"
    title = f"{plane} {shape}{around}" if plane is not None else f"loss {shape}"
    if run:
        title = f"{run}: {title}"
    if "model" in attrs and "dataset" in attrs:
        title += f" ({attrs['model']} on {attrs['dataset']})"
    kind = _kind(landscape)
    if kind is not None and kind.title_note:
        values = {key: np.atleast_1d(value) for key, value in attrs.items()}
        try:
            title += "; " + kind.title_note.format_map(values)
        except KeyError:  # the attribute the note reads is not there
            pass
    return title


def landscape_figure(landscape: xr.Dataset):
    """The loss map of each split (filled contours, log colour scale) with the trajectory
    where it lies near the plane (:data:`TRAJECTORY_RESIDUAL_MAX`); for a 1-D slice, loss
    and accuracy curves along it. Titled by the run and plane as far as the attributes
    say, and what the plane's kind adds (``title_note``: a PCA plane's explained variance).

    Works on any grid with a loss ``<split>_loss`` on ``(y, x)``: the study's attributes,
    standard errors, accuracies and trajectory are drawn where present.

    Returns:
        the matplotlib Figure (the caller saves or closes it).

    Raises:
        ValueError: no ``<split>_loss`` variable on ``(y, x)``.
    """
    variables = loss_variables(landscape)
    if not variables:
        raise ValueError(
            f"a landscape figure needs a loss on (y, x) named <split>_loss; found "
            f"{sorted(map(str, landscape.data_vars))}"
        )
    one_d = landscape.sizes["y"] == 1
    panels = 2 if one_d else len(variables)
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 5), squeeze=False)
    axes = axes[0]
    if one_d:
        _slice_panels(axes, landscape)
    else:
        for ax, variable in zip(axes, variables, strict=True):
            _loss_panel(ax, landscape, variable)
        if axes[0].get_legend_handles_labels()[0]:
            axes[0].legend(loc="upper left", fontsize=7, framealpha=0.8)
    fig.suptitle(_title(landscape))
    fig.tight_layout()
    return fig


def plot_landscape(landscape: xr.Dataset, path: str) -> None:
    """:func:`landscape_figure` → ``path`` (PNG at 110 dpi)."""
    fig = landscape_figure(landscape)
    save_figure(fig, path, dpi=110)
    plt.close(fig)
