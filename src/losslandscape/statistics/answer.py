"""The report's front-page answer: the headline metrics per activation with intervals,
the pairwise tests behind them, the metric–accuracy correlations and any diverged runs,
as a reStructuredText fragment that ``report/workflow.rst`` includes."""

import pandas as pd

from losslandscape.metrics.stability import STABILITY_THRESHOLD, headline_level
from losslandscape.planes.kinds import ACROSS_SEEDS
from losslandscape.statistics import conclusions
from losslandscape.statistics.inference import t_quantile
from losslandscape.statistics.study import RUN_PLANE
from losslandscape.statistics.summary import SEED_LINE
from losslandscape.statistics.tables import (
    WIDTH_PREFIX,
    comparison_table,
    correlation_table,
    interval_table,
    list_table,
    number,
    run_caveats,
)

# (column, heading): what the study's question asks about, per trained model ...
RUN_HEADLINES = (
    ("final_test_accuracy", "test accuracy (fraction)"),
    ("final_train_accuracy", "train accuracy (fraction)"),
    ("generalization_gap", "generalization gap (nats)"),
    ("hessian_max_eigenvalue_adaptive", "adaptive λmax (nats; compares across activations)"),
    ("hessian_max_eigenvalue", "raw λmax (nats/param²; not across ReLU vs sigmoid)"),
)
# ... and per plane: minima, width, smoothness, shape. Every one is in loss units or plane
# coordinates and measures the minimum, not the window (losslandscape.metrics.landscape).
LANDSCAPE_HEADLINES = (
    ("n_local_minima_region", "local minima in the low-loss region (count)"),
    ("basin_width", "basin width"),
    ("roughness", "roughness (nats)"),
    ("steepness", "steepness (nats/unit)"),
    ("curvedness_at_minimum", "curvedness at minimum (nats/unit²)"),
    ("shape_index_at_minimum", "shape index at minimum (−1 cup … +1 cap)"),
    ("nonconvex_fraction", "non-convex share (of the region)"),
)


def basin_column(columns) -> str:
    """The basin-width column at the headline level (the middle of the configured ladder,
    :func:`losslandscape.metrics.stability.headline_level`)."""
    levels = {float(c[len(WIDTH_PREFIX) :]): c for c in columns if c.startswith(WIDTH_PREFIX)}
    if not levels:
        raise ValueError(f"the summary has no {WIDTH_PREFIX}<level> columns")
    return levels[headline_level(levels)]


def landscape_headlines(columns, level_units: str = "nats") -> list[tuple[str, str]]:
    """:data:`LANDSCAPE_HEADLINES` with the basin width at the headline level's column
    (levels in ``level_units``: nats, or a share of the loss range in ``relative`` mode)."""
    basin = basin_column(columns)
    level = basin[len(WIDTH_PREFIX) :]
    return [
        (basin, f"basin width at {level} {level_units} (plane units)")
        if column == "basin_width"
        else (column, heading)
        for column, heading in LANDSCAPE_HEADLINES
    ]


def _training_target(left_out: pd.DataFrame | None) -> list[str]:
    """The runs left out of the comparison for missing the training-loss target."""
    if left_out is None or not len(left_out):
        return []
    listed = ", ".join(
        f"{r.activation} seed {r.seed} (final training loss {number(r.final_train_loss)} nats)"
        for r in left_out.itertuples()
    )
    target = number(float(left_out["target_loss"].iloc[0]))
    return [
        f"**Runs that did not reach the training-loss target of {target} nats: {listed}.** "
        "They are not at a minimum yet, so their landscapes are left out of every table, "
        "test and sentence on this page (their files and summary rows are kept).",
        "",
    ]


def _across_seeds_table(
    table: pd.DataFrame, activations: list[str], left_out: pd.DataFrame | None = None
) -> list[str]:
    """Per activation (every one the table has, in config order): the loss barrier on the
    straight lines between its seeds' models (mean and range, nats) and, on the plane
    through three of them, the local minima and the mean lowest pass between the models;
    an activation with runs that missed the training-loss target says how many (their
    models are on these lines too)."""
    missed = (
        left_out.groupby("activation").size()
        if left_out is not None and len(left_out)
        else pd.Series(dtype=int)
    )
    rows = []
    for activation in activations:
        lines = table[(table["activation"] == activation) & (table["kind"] == SEED_LINE)]
        plane = table[(table["activation"] == activation) & table["kind"].isin(ACROSS_SEEDS)]
        barrier = (
            f"{number(lines['barrier_height'].mean())} [{number(lines['barrier_height'].min())}, "
            f"{number(lines['barrier_height'].max())}] over {len(lines)} pairs"
            if len(lines)
            else "–"
        )
        minima = str(int(plane["n_local_minima"].iloc[0])) if len(plane) else "–"
        region = str(int(plane["n_local_minima_region"].iloc[0])) if len(plane) else "–"
        passes = number(float(plane["barrier_height"].iloc[0])) if len(plane) else "–"
        name = activation
        if activation in missed.index:
            name += f" ({int(missed[activation])} run(s) short of the target)"
        rows.append([name, barrier, minima, region, passes])
    header = [
        "activation",
        "barrier on the line between two seeds (nats; mean [min, max])",
        "local minima on the three-seed plane (window)",
        "… in its low-loss region",
        "lowest pass between its models (nats, mean of pairs)",
    ]
    intro = [
        "**Across seeds.** How separated are the solutions an activation finds? A barrier "
        "near 0 means the seeds' models are joined by a path of low loss (one wide basin); a "
        "high one, separate minima (Frankle et al. 2020; Garipov et al. 2018). Runs are "
        "paired here, so no test is drawn from these numbers.",
        "",
    ]
    return intro + list_table("Across seeds", header, rows)


def answer_rst(
    summary: pd.DataFrame,
    stats: pd.DataFrame,
    tests: pd.DataFrame,
    correlations: pd.DataFrame,
    activations: list[str],
    planes: list[str],
    basin_level_mode: str = "absolute",
    variance: pd.DataFrame | None = None,
    left_out: pd.DataFrame | None = None,
    across_seeds: pd.DataFrame | None = None,
) -> str:
    """The front page's results section (reStructuredText); activations and planes in the
    config's order. ``summary`` holds the compared runs; ``variance`` is the variance split
    (direction-draw noise), ``left_out`` the runs that did not reach the training-loss
    target (:func:`losslandscape.statistics.study.converged_runs`), ``across_seeds`` the
    table of barriers between seeds
    (:func:`losslandscape.statistics.summary.across_seeds_table`)."""
    units = "nats" if basin_level_mode == "absolute" else "× the window's loss range"
    landscape = landscape_headlines(summary.columns, units)
    seeds = summary.groupby("activation")["seed"].nunique()
    lines = _results_intro(seeds, activations)
    lines += conclusions.answer_in_words(
        summary, tests, correlations, activations, planes, landscape, variance, left_out
    )
    lines += _training_target(left_out)
    if across_seeds is not None and len(across_seeds):
        ordered = [a for a in dict.fromkeys([*activations, *across_seeds["activation"]])]
        lines += _across_seeds_table(across_seeds, ordered, left_out)
    lines += interval_table("Trained models", stats, RUN_PLANE, RUN_HEADLINES, activations)
    for plane in planes:
        lines += interval_table(
            f"Landscape, {plane} plane", stats, plane, landscape, activations, summary
        )
    lines += _table_marks(summary, planes, activations, landscape, seeds)
    lines += _differences(tests, planes, activations, landscape)
    lines += ["**Landscape and accuracy.** Spearman's ρ over all runs of each plane:", ""]
    lines += correlation_table(correlations, planes, landscape)
    lines += _diverged_runs(summary)
    return "\n".join(lines)


def _results_intro(seeds: pd.Series, activations: list[str]) -> list[str]:
    """What the tables' numbers are: means over seeds with t-intervals (``seeds``: runs per
    activation), in the loss's units, of the minimum; the adaptive λmax for comparisons."""
    fewest = int(min(seeds.get(a, 0) for a in activations))
    width = (
        f"with {fewest} runs it is mean ± {t_quantile(fewest):.3g} standard errors, wide by design"
        if fewest >= 2
        else "with one run there is no interval"
    )
    return [
        "**Results.** Mean over seeds with its 95 % t-interval of the mean in brackets "
        f"({', '.join(f'{a}: {seeds.get(a, 0)} runs' for a in activations)}; {width}). "
        "Tables with every metric: *Study statistics*.",
        "",
        "Every landscape number is in the loss's own units (nats) or plane coordinates and "
        "describes the minimum, not the plotting window: basin widths are equivalent "
        "diameters (lengths on a 1-D slice) of the region below a height in nats above the "
        "minimum; steepness (mean slope), roughness (RMS of L minus its local quadratic fit) "
        "and the non-convex share (points whose smaller in-plane curvature is negative) are "
        "taken over the low-loss region around the minimum (within the configured height "
        "in nats), where the local minima are counted too. The adaptive λmax (largest "
        "eigenvalue of the Hessian scaled by the weights' magnitudes, Kwon et al. 2021) is "
        "unchanged by the rescalings that leave a ReLU net's function unchanged; the raw "
        "λmax is not, so compare activations by the adaptive one: it removes that ambiguity "
        "of ReLU nets, which sigmoid nets do not have (docs/data-model.md).",
        "",
    ]


def _table_marks(summary, planes, activations, landscape, seeds: pd.Series) -> list[str]:
    """What the landscape tables' ``≥`` and ``†`` mean, and the runs behind each."""
    bounds, unstable = [], []
    for plane in planes:
        for a in activations:
            counts = {
                heading: run_caveats(summary, plane, a, column) for column, heading in landscape
            }
            runs = seeds.get(a, 0)
            bounded = sum(count[0] for count in counts.values())
            if bounded:
                bounds.append(f"{a}, {plane}: {bounded} of {runs} runs")
            flagged = [f"{h} {c[1]}/{runs}" for h, c in counts.items() if c[1]]
            if flagged:
                unstable.append(f"{a}, {plane}: {', '.join(flagged)}")
    return [
        "≥: in some runs the basin reaches the window's edge, so its width there is a lower "
        "bound and the mean is one too"
        + (f" ({'; '.join(bounds)})." if bounds else " (none here).")
        + f" †: in some runs the headline changes by more than {STABILITY_THRESHOLD:.0%} when "
        "the grid is subsampled 2× or the window cut to its central half (or the grid is too "
        "small to check), so it depends on the grid and should not be read alone"
        + (f" (runs flagged: {'; '.join(unstable)})." if unstable else " (none here)."),
        "",
    ]


def _differences(tests: pd.DataFrame, planes, activations, landscape) -> list[str]:
    """The pairwise permutation tests, explained, and their table; nothing with fewer than
    two activations compared (the table had listed the metrics with no column; the answer
    in words says no difference can be tested)."""
    if len(activations) < 2:  # the answer in words says so (conclusions.answer_in_words)
        return []
    notes = sorted(set(tests["note"].dropna()) - {""})
    lines = [
        "**Differences between activations.** Exact permutation tests of the difference in "
        "means over every split of the runs: Δ is the difference of the means, δ Cliff's "
        "delta (the share of run pairs where the first activation is higher minus the share "
        "where it is lower; ±1: the runs do not overlap), p the permutation p-value."
        + (f" Note: {'; '.join(notes)}." if notes else ""),
        "",
    ]
    headlines = {RUN_PLANE: RUN_HEADLINES} | {plane: landscape for plane in planes}
    return lines + comparison_table(tests, headlines, [RUN_PLANE, *planes], activations)


def _diverged_runs(summary: pd.DataFrame) -> list[str]:
    runs = summary.drop_duplicates(["activation", "seed"])
    diverged = runs[runs["diverged_epoch"] >= 0]
    if not len(diverged):
        return ["**Diverged runs:** none.", ""]
    listed = ", ".join(
        f"{r.activation} seed {r.seed} (epoch {r.diverged_epoch})" for r in diverged.itertuples()
    )
    return [
        f"**Diverged runs: {listed}.** Their loss became NaN or infinite; training stopped "
        "and their landscapes are around the last finite weights. Their numbers are in "
        "the tables above; read them with that in mind.",
        "",
    ]
