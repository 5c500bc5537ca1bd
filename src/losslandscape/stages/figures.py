"""Stages that draw the report's figures."""

from losslandscape.io import datamodel
from losslandscape.stages.analyze import load_histories


def run_plot_training_curves(
    histories: list[str],
    runs: list[tuple[str, int]],
    activations: list[str],
    out: str,
    out_per_seed: str,
    loss_units: str = "nats",
) -> None:
    """Training curves of every run → mean and range per activation (``out``) and one row
    per seed (``out_per_seed``); seaborn is imported here only (2 s)."""
    from losslandscape.plots import training as plot_training

    table = load_histories(histories, runs)
    plot_training.plot_training_curves(table, activations, out, loss_units)
    plot_training.plot_training_curves_per_seed(table, activations, out_per_seed, loss_units)


def run_plot_landscape(landscape: str, out: str) -> None:
    """One landscape file → one PNG."""
    from losslandscape.plots import landscape as plot_landscape

    plot_landscape.plot_landscape(datamodel.read_landscape(landscape), out)


def run_plot_study_statistics(
    summary: str,
    correlations: str,
    activations: list[str],
    planes: list[str],
    comparison: str,
    accuracy: str,
    loss_units: str = "nats",
) -> None:
    """Summary and correlation tables → the metric comparison and metric–accuracy PNGs,
    activations and planes in config order (the front page's order): the runs the front
    page compares (those that reached the training-loss target), each run's draws averaged
    into one value, as in the statistics."""
    import pandas as pd

    from losslandscape.plots import statistics as plot_statistics
    from losslandscape.statistics.study import converged_runs, run_means

    # the runs the front page compares, one value per run (the mean over its draws)
    kept, _ = converged_runs(pd.read_csv(summary))
    table = run_means(kept)
    compared = [a for a in activations if a in set(table["activation"])]
    # colours from the config's full list: an activation keeps its colour in every figure
    plot_statistics.plot_metric_comparison(
        table, compared, planes, comparison, activations, loss_units
    )
    plot_statistics.plot_metric_accuracy(
        table, pd.read_csv(correlations), compared, planes, accuracy, activations, loss_units
    )


def run_plot_landscape_analysis(
    landscape: str, metrics: str, out: str, numbers: str | None = None
) -> None:
    """A landscape and its metrics → the analysis PNG, and ``numbers`` (None: not written):
    a sentence with the run's own values for the figure's caption (reStructuredText)."""
    from losslandscape.io.files import write_text
    from losslandscape.plots import analysis as plot_analysis
    from losslandscape.units import in_loss_units

    values = datamodel.open_netcdf(metrics)
    grid = datamodel.read_landscape(landscape)
    plot_analysis.plot_analysis(grid, values, out)
    if numbers is None:
        return
    widths = ", ".join(
        f"{'≥ ' if edge else ''}{width:.3g} at {height:.3g} nats"
        for height, width, edge in zip(
            values["basin_height"].values,
            values["basin_width"].values,
            values["basin_touches_edge"].values,
            strict=True,
        )
    )
    unstable = [
        str(name)
        for name, stable in zip(
            values["headline"].values, values["headline_stable"].values, strict=True
        )
        if not stable
    ]
    sentence = (
        f"This run: {int(values.n_local_minima)} local minimum(s) in the window, "
        f"{int(values.n_local_minima_region)} in the low-loss region; lowest "
        f"{values.attrs['variable'].replace('_', ' ')} {float(values.loss_min):.4g} nats at "
        f"({float(values.loss_min_x):.3g}, {float(values.loss_min_y):.3g}); basin width "
        f"{widths} (≥: the basin reaches the window's edge); over the region within "
        f"{float(values.region_height):g} nats of the minimum: roughness "
        f"{float(values.roughness):.3g} nats, steepness {float(values.steepness):.3g} nats per "
        f"unit, non-convex share {float(values.nonconvex_fraction):.2f}; shape index "
        f"{float(values.shape_index_at_minimum):.2f} and curvedness "
        f"{float(values.curvedness_at_minimum):.3g} nats per unit² at the minimum"
        f"; {int(values.n_nonfinite)} non-finite grid points"
        + (f"; not stable on this grid: {', '.join(unstable)}" if unstable else "")
        + ".\n"
    )
    write_text(numbers, in_loss_units(sentence, grid.attrs.get("loss_units", "nats")))


def run_plot_plane_comparison(
    landscapes: list[str],
    runs: list[tuple[str, int]],
    activations: list[str],
    variable: str,
    out: str,
) -> None:
    """Every run's landscape of one plane kind (in the order of ``runs``) → one PNG."""
    from losslandscape.plots import comparison as plot_comparison

    loaded = {
        (activation, int(seed)): datamodel.read_landscape(path)
        for path, (activation, seed) in zip(landscapes, runs, strict=True)
    }
    plot_comparison.plot_plane_comparison(loaded, activations, variable, out)


def run_plot_width_over_training(
    table: str, activations: list[str], out: str, loss_units: str = "nats"
) -> None:
    """The basin-width-over-training CSV (one row per run and epoch) → one PNG, activations
    in config order."""
    import pandas as pd

    from losslandscape.plots import across_runs as plot_across_runs

    plot_across_runs.plot_width_over_training(pd.read_csv(table), activations, out, loss_units)


def run_plot_seed_barriers(barriers: list[str], activations: list[str], out: str) -> None:
    """Every activation's seed-barriers netCDF → one PNG, a panel per activation in config
    order."""
    from losslandscape.plots import across_runs as plot_across_runs

    loaded = [datamodel.open_netcdf(path) for path in barriers]
    plot_across_runs.plot_seed_barriers(loaded, activations, out)
