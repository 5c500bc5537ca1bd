"""Every metric variable's name, dims, long name and units: one home for what the metrics
files say their numbers are (docs/data-model.md), asked by the code that writes them.

A long name or unit may name the landscape variable measured and its units, as
``{variable}`` and ``{units}`` (nats for cross-entropy), or the stability threshold as
``{threshold}``; :meth:`Variable.entry` fills them in. A unit other than a UDUNITS string
(nats, per unit coordinate: all dimensionless) is written into the long name, with
``units = "1"`` (:func:`losslandscape.io.cf.quantity`, CF §3.1).
"""

from dataclasses import dataclass

from losslandscape.io import cf


@dataclass(frozen=True)
class Variable:
    """A metric variable's dims, CF-style long name and units (templates, see above)."""

    dims: tuple[str, ...]
    long_name: str
    units: str

    def entry(self, values, **fields) -> tuple:
        """``(dims, values, {"long_name", "units"})`` for ``xr.Dataset``, with ``fields``
        (``variable``, ``units``, ``threshold``) filled into the templates and the unit made
        CF's (:func:`losslandscape.io.cf.quantity`)."""
        attrs = cf.quantity(self.long_name.format(**fields), self.units.format(**fields))
        return self.dims, values, attrs


SCALAR: tuple[str, ...] = ()
GRID = ("y", "x")
PER_COORDINATE = "{units} per unit coordinate"
PER_COORDINATE_SQUARED = "{units} per unit coordinate^2"
AREA = "coordinate units^2"
PER_PARAMETER_SQUARED = "{units} per unit parameter^2"

# losslandscape.metrics.landscape.landscape_metrics, in the order of its files
LANDSCAPE_METRICS = {
    "n_local_minima": Variable(
        SCALAR, "number of local minima at least minima_tolerance deep in the window", "1"
    ),
    "n_local_minima_region": Variable(
        SCALAR, "number of those minima whose lowest point lies in the low-loss region", "1"
    ),
    "minima_tolerance": Variable(SCALAR, "depth a local minimum needs to count", "{units}"),
    "n_nonfinite": Variable(
        SCALAR,
        "grid points whose value is NaN or infinite (walls; their neighbourhood masked)",
        "1",
    ),
    "minima_x": Variable(("minimum",), "x of each local minimum's lowest point", "1"),
    "minima_y": Variable(("minimum",), "y of each local minimum's lowest point", "1"),
    "minima_loss": Variable(("minimum",), "{variable} at each local minimum", "{units}"),
    "minima_depth": Variable(
        ("minimum",),
        "flooding height at which the minimum joins a lower one (the range for the global one)",
        "{units}",
    ),
    "loss_min": Variable(SCALAR, "lowest {variable} on the grid", "{units}"),
    "loss_min_x": Variable(SCALAR, "x of the lowest grid point", "1"),
    "loss_min_y": Variable(SCALAR, "y of the lowest grid point", "1"),
    "loss_range": Variable(SCALAR, "max - min of {variable} (a property of the window)", "{units}"),
    "loss_at_origin": Variable(SCALAR, "{variable} at the grid point nearest (0, 0)", "{units}"),
    "gradient_magnitude": Variable(GRID, "|grad {variable}| by finite differences", PER_COORDINATE),
    "region_height": Variable(SCALAR, "height of the low-loss region above the minimum", "{units}"),
    "region_area": Variable(SCALAR, "area of the low-loss region (a length on a 1-D slice)", AREA),
    "region_touches_edge": Variable(
        SCALAR,
        "1 where the low-loss region reaches the window's edge (its summaries may change "
        "with the window)",
        "1",
    ),
    "steepness": Variable(
        SCALAR, "area-weighted mean |grad L| over the low-loss region", PER_COORDINATE
    ),
    "roughness": Variable(
        SCALAR,
        "RMS over the low-loss region of L minus its local quadratic fit "
        "(Savitzky-Golay, order 2, half-width roughness_window)",
        "{units}",
    ),
    "roughness_window_x": Variable(
        SCALAR, "half-width in x of the roughness fit's window as used", "1"
    ),
    "roughness_window_y": Variable(
        SCALAR, "half-width in y of the roughness fit's window as used (0: a slice)", "1"
    ),
    "basin_height": Variable(("level",), "basin level above the global minimum", "{units}"),
    "basin_area": Variable(
        ("level",),
        "area of the connected region below the level holding the minimum "
        "(a length on a 1-D slice)",
        AREA,
    ),
    "basin_width": Variable(
        ("level",),
        "equivalent diameter sqrt(4 area / pi) of the basin (its length on a 1-D slice); "
        "a lower bound where basin_touches_edge",
        "1",
    ),
    "basin_extent_x": Variable(("level",), "x extent of the basin", "1"),
    "basin_extent_y": Variable(("level",), "y extent of the basin", "1"),
    "basin_touches_edge": Variable(
        ("level",), "1 where the basin reaches the grid edge (widths are lower bounds)", "1"
    ),
    "shape_index": Variable(
        GRID, "Koenderink shape index (-1 cup, 0 saddle, +1 cap; NaN flat)", "1"
    ),
    "curvedness": Variable(
        GRID, "Koenderink curvedness sqrt((l1^2 + l2^2)/2)", PER_COORDINATE_SQUARED
    ),
    "curvature_noise": Variable(
        GRID,
        "largest curvature float32 rounding of the values can fake (below: flat)",
        PER_COORDINATE_SQUARED,
    ),
    "shape_index_at_minimum": Variable(SCALAR, "shape index at the lowest grid point", "1"),
    "curvedness_at_minimum": Variable(
        SCALAR, "curvedness at the lowest grid point", PER_COORDINATE_SQUARED
    ),
    "nonconvex_fraction": Variable(
        SCALAR,
        "share of the low-loss region whose smaller in-plane Hessian eigenvalue is "
        "negative beyond float noise (Li et al. 2018)",
        "1",
    ),
    "shape_class_fraction": Variable(
        ("shape_class",), "fraction of the low-loss region in each shape class", "1"
    ),
}

# losslandscape.metrics.stability: each headline re-measured on sub-grids
_CHANGE = "relative change (absolute for the share and the shape index)"
STABILITY_METRICS = {
    "stability_subsample": Variable(
        ("headline",), f"{_CHANGE} of each headline on the grid subsampled 2x", "1"
    ),
    "stability_window": Variable(
        ("headline",), f"{_CHANGE} of each headline on the central half of the window", "1"
    ),
    "headline_stable": Variable(
        ("headline",),
        "1 where both changes are at most {threshold} (NaN: not measurable, 0) "
        "and, for the region's summaries, the low-loss region lies inside the window",
        "1",
    ),
}

# losslandscape.stages.sharpness.run_compute_sharpness: scalars of the trained model
SHARPNESS_METRICS = {
    "subset_loss": Variable(SCALAR, "mean loss on the subset", "{units}"),
    "hessian_max_eigenvalue": Variable(SCALAR, "largest Hessian eigenvalue", PER_PARAMETER_SQUARED),
    "hessian_min_eigenvalue": Variable(
        SCALAR, "smallest Hessian eigenvalue", PER_PARAMETER_SQUARED
    ),
    "hessian_max_eigenvalue_adaptive": Variable(
        SCALAR,
        "largest eigenvalue of the adaptive Hessian diag(|w|) H diag(|w|)",
        "{units}",
    ),
    "hessian_trace": Variable(SCALAR, "Hessian trace (Hutch++)", PER_PARAMETER_SQUARED),
    "hessian_trace_se": Variable(SCALAR, "standard error of hessian_trace", PER_PARAMETER_SQUARED),
    "epsilon_sharpness": Variable(SCALAR, "Keskar et al. epsilon-sharpness", "percent"),
}

# losslandscape.stages.analyze.model_barriers: on planes through three models
BARRIER_METRICS = {
    "model_barrier": Variable(
        ("model", "model_to"),
        "lowest pass on the grid between two marked models, minus the mean of their losses",
        "{units}",
    ),
    "model_barrier_mean": Variable(SCALAR, "mean over pairs of models of model_barrier", "{units}"),
    "model_barrier_max": Variable(SCALAR, "largest model_barrier over pairs of models", "{units}"),
}

# losslandscape.statistics.summary.run_row: what a run's history says of its training
RUN_METRICS = {
    "diverged_epoch": Variable(SCALAR, "first epoch whose loss was not finite (-1: none)", "1"),
    "target_epoch": Variable(
        SCALAR, "first epoch at or below the training-loss target (-1: none)", "1"
    ),
    "epochs": Variable(SCALAR, "last epoch with a finite training loss", "1"),
    "final_train_loss": Variable(SCALAR, "training-set mean loss of the final model", "{units}"),
    "final_train_accuracy": Variable(SCALAR, "training-set accuracy of the final model", "1"),
    "final_test_loss": Variable(SCALAR, "test-set mean loss of the final model", "{units}"),
    "final_test_accuracy": Variable(SCALAR, "test-set accuracy of the final model", "1"),
    "generalization_gap": Variable(SCALAR, "final_test_loss - final_train_loss", "{units}"),
}

# losslandscape.metrics.hessian_map.hessian_ratio_map: the full Hessian over a coarse grid
HESSIAN_MAP_METRICS = {
    "hessian_max_eigenvalue": Variable(
        GRID, "largest Hessian eigenvalue (all parameters)", PER_PARAMETER_SQUARED
    ),
    "hessian_min_eigenvalue": Variable(
        GRID, "smallest Hessian eigenvalue (all parameters)", PER_PARAMETER_SQUARED
    ),
    "eigenvalue_ratio": Variable(GRID, "|lambda_min / lambda_max| (Li et al. 2018, sec. 6)", "1"),
}
