"""What the figures draw of a grid with non-finite points (NaN, ±inf: diverged evaluations,
or a window far beyond where the model computes): one convention for every figure."""

import numpy as np


def finite_grid(values: np.ndarray) -> np.ndarray:
    """``values`` (any shape) as float, with non-finite points raised to the largest finite
    value, so that contours and surfaces can be drawn and such points read as the highest
    loss; all-non-finite → all ones (a flat, labelled figure rather than a crash). The
    metrics mask these points instead (``metrics/landscape.py``)."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    top = values[finite].max() if finite.any() else 1.0
    return np.where(finite, values, top)


def grid_minimum(values: np.ndarray) -> tuple[int, ...] | None:
    """Index of the smallest finite value of ``values``; ``None`` where none is finite
    (``np.argmin`` would point at the first NaN)."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    if not finite.any():
        return None
    return np.unravel_index(np.argmin(np.where(finite, values, np.inf)), values.shape)


def positive_range(values: np.ndarray) -> tuple[float, float]:
    """``(low, high)`` of the finite positive values, for a logarithmic colour scale
    (``high > low``); ``(1e-3, 1)`` where there are none."""
    values = np.asarray(values, dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    if not positive.size:
        return 1e-3, 1.0
    low = float(positive.min())
    return low, float(max(positive.max(), low * 1.01))


def non_finite_note(values: np.ndarray, shown: str = "drawn as the highest loss") -> str:
    """``"k of n points non-finite, <shown>"``, or ``""`` where all are finite."""
    values = np.asarray(values, dtype=float)
    bad = int((~np.isfinite(values)).sum())
    if not bad:
        return ""
    return f"{bad} of {values.size} points non-finite, {shown}"


def draw_notes(ax, notes: list[str | None]) -> None:
    """A panel's notes (non-finite points, a trajectory not drawn) in one box at its lower
    left, a line each (two boxes had been drawn over each other, issue 21)."""
    lines = [note for note in notes if note]
    if lines:
        ax.text(
            0.02, 0.02, "\n".join(lines), transform=ax.transAxes, fontsize=7, va="bottom",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"},
        )  # fmt: skip
