"""The config's keys of what is measured and reported: the lines between seeds
(``across_seeds``), the grid metrics (``metrics``), the models' sharpness (``sharpness``)
and the report (``report``)."""

from dataclasses import dataclass

from losslandscape.settings.keys import Registry, key, section


@dataclass(frozen=True)
class AcrossSeeds:
    """Straight lines between the final models of every pair of seeds of each activation."""

    interpolations: bool = key(
        True,
        "evaluate the straight line between the final models of every pair of seeds of each "
        "activation on the grids' evaluation subset (`landscape.subset_size`), and report its "
        "loss barrier (nats above the mean of its ends; `metrics/<activation>/seed_barriers.nc`, "
        "`metrics/across_seeds.csv`); needs at least 2 seeds",
    )
    points: int = key(25, "points on each line, α from 0 to 1", minimum=3)


@dataclass(frozen=True)
class MinimaTolerance:
    """How deep a local minimum must be to count."""

    absolute: float = key(
        1e-3,
        "a local minimum must be this deep, in loss units (nats; depth = flooding height at "
        "which it joins a lower minimum), and deeper than float32 noise at its height "
        "(1.9e-6 × the loss there)",
        exclusive_minimum=0,
    )
    relative: float = key(
        0.0,
        "> 0: also this fraction of the window's loss range (a property of the window: not "
        "for comparing runs); 0: off",
        minimum=0,
    )


@dataclass(frozen=True)
class Metrics:
    """Grid metrics, in the loss's own units (nats for cross-entropy) or plane coordinates:
    they measure the minimum rather than the plotting window (docs/data-model.md)."""

    variable: str = key(
        "train_loss",
        "grid the metrics describe: `train_loss` or `test_loss`",
        choices=Registry("losslandscape.io.datamodel", "LOSS_VARIABLES"),
    )
    minima_tolerance: MinimaTolerance = section(MinimaTolerance)
    edge: str = key(
        "include",
        "minima on the grid edge: `include` (counted when lower than all existing "
        "neighbours) or `exclude` (their basin may continue outside the window; on a 1-D "
        "slice, those at its two ends)",
        choices=Registry("losslandscape.metrics.minima", "EDGE_RULES"),
    )
    basin_levels: list[float] = key(
        [0.01, 0.03, 0.1, 0.3, 1.0],
        "heights above the global minimum at which the basin (the connected region below the "
        "level holding the minimum) is measured; the front page quotes the width at the "
        "middle one; a basin reaching the window's edge is a lower bound and marked so",
        exclusive_minimum=0,
        min_items=1,
    )
    basin_level_mode: str = key(
        "absolute",
        "levels in loss units (`absolute`, nats) or, only as an explicit choice, as fractions "
        "of the window's loss range (`relative`: it measures the window, not the minimum)",
        choices=Registry("losslandscape.metrics.basins", "LEVEL_MODES"),
    )
    region_height: float = key(
        1.0,
        "the low-loss region is the connected region below minimum + this height (nats) "
        "holding the minimum; steepness, roughness, the non-convex share and the shape "
        "classes are measured over it",
        exclusive_minimum=0,
    )
    roughness_scale: float = key(
        0.2,
        "half-width (plane coordinates) of the local quadratic fit whose residual's RMS is the "
        "roughness (nats): 0 for any quadratic bowl, growing with ripples shorter than the "
        "window",
        exclusive_minimum=0,
    )
    shape_sigma: float = key(
        0.0,
        "Gaussian smoothing width (coordinate units) before the Hessian for shape index and "
        "curvedness; 0 uses the surface as evaluated",
        minimum=0,
    )


@dataclass(frozen=True)
class Sharpness:
    """Sharpness of each trained model (its own rule; needs the model, not the grid), on a
    fixed seeded subset of the training set."""

    subset_size: int = key(
        500, "training samples (fixed, seeded subset) for Hessian and ε-sharpness", minimum=1
    )
    trace_products: int = key(
        90,
        "Hessian-vector products for the Hutch++ estimate of the Hessian trace (its "
        "standard error is reported beside it)",
        minimum=6,
    )
    epsilon: float = key(1e-3, "Keskar et al. (2017) box size: `|δ_i| ≤ ε(|w_i| + 1)`", minimum=0)
    ascent_iterations: int = key(
        10, "L-BFGS-B iterations maximizing the loss in the box", minimum=1
    )


# no control character (C0, DEL, C1) and no line or paragraph separator, with at least one
# character that is not white space
_NOT_LINE = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_ONE_LINE_OF_TEXT = rf"^[^{_NOT_LINE}]*[^\s{_NOT_LINE}][^{_NOT_LINE}]*$"


@dataclass(frozen=True)
class Report:
    """The HTML report (`snakemake --report`)."""

    title: str = key(
        "Activation functions and the loss landscape: mnist1d CNN",
        "title of the report's front page: one line of any text, without control characters "
        "or line separators (reStructuredText markup in it is shown as typed)",
        # one line, not blank: a title is a heading. Control characters and every other
        # character Python's (so docutils') splitlines breaks at (\v \f \x1c-\x1e \x85,
        # U+2028, U+2029) are refused: U+2028 had split the heading and shown no title
        pattern=_ONE_LINE_OF_TEXT,
    )
