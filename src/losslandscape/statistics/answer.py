"""The report's front-page answer: the headline metrics per activation with intervals,
the pairwise tests behind them, the metric–accuracy correlations and any diverged runs,
as a reStructuredText fragment that ``report/workflow.rst`` includes."""

import math

import pandas as pd

from losslandscape.metrics.landscape import STABILITY_THRESHOLD, headline_level
from losslandscape.statistics import conclusions
from losslandscape.statistics.inference import t_quantile
from losslandscape.statistics.study import RUN_PLANE

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
_WIDTH_PREFIX = "basin_width_level_"


def basin_column(columns) -> str:
    """The basin-width column at the headline level (the middle of the configured ladder,
    :func:`losslandscape.metrics.landscape.headline_level`)."""
    levels = {float(c[len(_WIDTH_PREFIX) :]): c for c in columns if c.startswith(_WIDTH_PREFIX)}
    if not levels:
        raise ValueError(f"the summary has no {_WIDTH_PREFIX}<level> columns")
    return levels[headline_level(levels)]


def landscape_headlines(columns, level_units: str = "nats") -> list[tuple[str, str]]:
    """:data:`LANDSCAPE_HEADLINES` with the basin width at the headline level's column
    (levels in ``level_units``: nats, or a share of the loss range in ``relative`` mode)."""
    basin = basin_column(columns)
    level = basin[len(_WIDTH_PREFIX) :]
    return [
        (basin, f"basin width at {level} {level_units} (plane units)")
        if column == "basin_width"
        else (column, heading)
        for column, heading in LANDSCAPE_HEADLINES
    ]


def _headline_name(column: str) -> str:
    """The metrics' headline name of a summary column (``basin_width`` for every rung)."""
    return "basin_width" if column.startswith(_WIDTH_PREFIX) else column


def _caveats(summary: pd.DataFrame, plane: str, activation: str, column: str) -> tuple[int, int]:
    """``(lower bounds, not stable)``: how many of the activation's runs on ``plane`` give
    ``column`` only as a lower bound (a basin reaching the window's edge) or flag it as not
    stable (:data:`losslandscape.metrics.landscape.STABILITY_THRESHOLD`) in any of their direction
    draws (runs are counted, not draws)."""
    rows = summary[(summary["plane"] == plane) & (summary["activation"] == activation)]
    edge = column.replace(_WIDTH_PREFIX, "basin_touches_edge_level_")
    bounds = rows[rows[edge] == 1]["seed"].nunique() if column.startswith(_WIDTH_PREFIX) else 0
    stable = f"headline_stable_headline_{_headline_name(column)}"
    unstable = rows[rows[stable] == 0]["seed"].nunique() if stable in rows else 0
    return int(bounds), int(unstable)


def _number(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:.3g}"


def _cell(row: pd.Series) -> str:
    """``mean [low, high]``, or the mean alone where no interval exists."""
    if not math.isfinite(row["ci_low"]):
        return _number(row["mean"])
    return f"{_number(row['mean'])} [{_number(row['ci_low'])}, {_number(row['ci_high'])}]"


def _list_table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for cells in [header, *rows]:
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {cell}" for cell in cells[1:]]
    return lines + [""]


def _interval_table(title, stats, plane, headlines, activations, summary=None) -> list[str]:
    """One row per activation: runs, then ``mean [ci_low, ci_high]`` per headline; a width
    that is a lower bound in some run is marked ``≥``, a headline not stable in some run
    ``†`` (landscape planes, from ``summary``)."""
    table = stats[stats["plane"] == plane].set_index(["metric", "activation"])
    rows = []
    for activation in activations:
        cells = [activation, str(int(table.loc[(headlines[0][0], activation), "n"]))]
        for column, _ in headlines:
            cell = _cell(table.loc[(column, activation)])
            if summary is not None:
                bounds, unstable = _caveats(summary, plane, activation, column)
                cell = ("≥ " if bounds else "") + cell + (" †" if unstable else "")
            cells.append(cell)
        rows.append(cells)
    header = ["activation", "runs", *(heading for _, heading in headlines)]
    return _list_table(title, header, rows)


def _comparison_table(tests: pd.DataFrame, headlines, planes, activations) -> list[str]:
    """One row per headline metric (and plane), one column per pair of activations:
    ``Δ`` (difference of means), ``δ`` (Cliff's delta) and the permutation ``p``."""
    pairs = [(a, b) for i, a in enumerate(activations) for b in activations[i + 1 :]]
    indexed = tests.set_index(["plane", "metric", "activation_a", "activation_b"])
    rows = []
    for plane in planes:
        for column, heading in headlines[plane]:
            cells = []
            for pair in pairs:
                key = (plane, column, *pair)
                if key not in indexed.index or not math.isfinite(indexed.loc[key, "cliffs_delta"]):
                    cells.append("–")
                    continue
                t = indexed.loc[key]
                cells.append(
                    f"Δ {_number(t['mean_difference'])}, δ {_number(t['cliffs_delta'])}, "
                    f"p {_number(t['p_value'])}"
                )
            if set(cells) != {"–"}:  # e.g. shape metrics of a 1-D slice: undefined
                rows.append([heading if plane == RUN_PLANE else f"{heading} ({plane})", *cells])
    header = ["metric", *(f"{a} − {b}" for a, b in pairs)]
    return _list_table("Pairwise comparisons", header, rows)


def _answer_in_words(
    summary, tests, correlations, activations, planes, landscape, variance, left_out
) -> list[str]:
    """The study's questions answered in one generated sentence each, per plane
    (:mod:`losslandscape.statistics.conclusions`), as a bullet list with the caveats for all."""
    headings = dict(landscape)
    columns = {name: column for column, _ in landscape for name in [_headline_name(column)]}
    bullets = []
    for question, name in conclusions.QUESTIONS:
        column = columns[name]
        for plane in planes:
            counts = [_caveats(summary, plane, a, column) for a in activations]
            bounds, unstable = (sum(kind) for kind in zip(*counts, strict=True))
            caveats = [f"{bounds} run(s) give only a lower bound"] if bounds else []
            if unstable:
                caveats.append(f"{unstable} run(s) flag it as depending on the grid (†)")
            bullets.append(
                conclusions.difference_sentence(
                    question, headings[column], plane, tests, column, caveats, variance
                )
            )
    bullets += [conclusions.accuracy_sentence(correlations, plane, landscape) for plane in planes]
    drawn = variance is not None and not variance.empty
    draws = (
        "several direction draws per run (each run's value is the mean over its draws; the "
        "noise between draws is in the variance split and in each sentence)"
        if drawn
        else "one direction draw per run, so the noise between draws is not measured"
    )
    judged = "target_loss" in summary.columns and summary["target_loss"].notna().any()
    if not judged:
        training = (
            "no training-loss target is set, so whether each run reached a minimum is not checked"
        )
    elif left_out is not None and len(left_out):
        target = _number(float(left_out["target_loss"].iloc[0]))
        training = (
            f"only runs that reached the training-loss target ({target} nats) are compared; "
            f"{len(left_out)} did not and are left out (listed below)"
        )
    else:
        target = _number(float(summary["target_loss"].dropna().iloc[0]))
        training = f"every run reached the training-loss target ({target} nats)"
    multiplicity = conclusions.multiplicity_sentence(tests)
    return [
        "**The answer in words.**",
        "",
        *(f"- {bullet}" for bullet in bullets),
        "",
        f"For all of these: {draws}; {training}." + (f" {multiplicity}" if multiplicity else ""),
        "",
    ]


def _training_target(left_out: pd.DataFrame | None) -> list[str]:
    """The runs left out of the comparison for missing the training-loss target."""
    if left_out is None or not len(left_out):
        return []
    listed = ", ".join(
        f"{r.activation} seed {r.seed} (final training loss {_number(r.final_train_loss)} nats)"
        for r in left_out.itertuples()
    )
    target = _number(float(left_out["target_loss"].iloc[0]))
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
        lines = table[(table["activation"] == activation) & (table["kind"] == "line")]
        plane = table[(table["activation"] == activation) & (table["kind"] == "three_seed")]
        barrier = (
            f"{_number(lines['barrier_height'].mean())} [{_number(lines['barrier_height'].min())}, "
            f"{_number(lines['barrier_height'].max())}] over {len(lines)} pairs"
            if len(lines)
            else "–"
        )
        minima = str(int(plane["n_local_minima"].iloc[0])) if len(plane) else "–"
        region = str(int(plane["n_local_minima_region"].iloc[0])) if len(plane) else "–"
        passes = _number(float(plane["barrier_height"].iloc[0])) if len(plane) else "–"
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
    return intro + _list_table("Across seeds", header, rows)


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
    fewest = int(min(seeds.get(a, 0) for a in activations))
    width = (
        f"with {fewest} runs it is mean ± {t_quantile(fewest):.3g} standard errors, wide by design"
        if fewest >= 2
        else "with one run there is no interval"
    )
    lines = [
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
    lines += _answer_in_words(
        summary, tests, correlations, activations, planes, landscape, variance, left_out
    )
    lines += _training_target(left_out)
    if across_seeds is not None and len(across_seeds):
        ordered = [a for a in dict.fromkeys([*activations, *across_seeds["activation"]])]
        lines += _across_seeds_table(across_seeds, ordered, left_out)
    lines += _interval_table("Trained models", stats, RUN_PLANE, RUN_HEADLINES, activations)
    for plane in planes:
        lines += _interval_table(
            f"Landscape, {plane} plane", stats, plane, landscape, activations, summary
        )
    bounds, unstable = [], []
    for plane in planes:
        for a in activations:
            counts = {heading: _caveats(summary, plane, a, column) for column, heading in landscape}
            runs = seeds.get(a, 0)
            bounded = sum(count[0] for count in counts.values())
            if bounded:
                bounds.append(f"{a}, {plane}: {bounded} of {runs} runs")
            flagged = [f"{h} {c[1]}/{runs}" for h, c in counts.items() if c[1]]
            if flagged:
                unstable.append(f"{a}, {plane}: {', '.join(flagged)}")
    caveats = {"bounds": bounds, "unstable": unstable}
    lines += [
        "≥: in some runs the basin reaches the window's edge, so its width there is a lower "
        "bound and the mean is one too"
        + (f" ({'; '.join(caveats['bounds'])})." if caveats["bounds"] else " (none here).")
        + f" †: in some runs the headline changes by more than {STABILITY_THRESHOLD:.0%} when "
        "the grid is subsampled 2× or the window cut to its central half (or the grid is too "
        "small to check), so it depends on the grid and should not be read alone"
        + (
            f" (runs flagged: {'; '.join(caveats['unstable'])})."
            if caveats["unstable"]
            else " (none here)."
        ),
        "",
    ]

    notes = sorted(set(tests["note"].dropna()) - {""})
    lines += [
        "**Differences between activations.** Exact permutation tests of the difference in "
        "means over every split of the runs: Δ is the difference of the means, δ Cliff's "
        "delta (the share of run pairs where the first activation is higher minus the share "
        "where it is lower; ±1: the runs do not overlap), p the permutation p-value."
        + (f" Note: {'; '.join(notes)}." if notes else ""),
        "",
    ]
    headlines = {RUN_PLANE: RUN_HEADLINES} | {plane: landscape for plane in planes}
    lines += _comparison_table(tests, headlines, [RUN_PLANE, *planes], activations)

    lines += ["**Landscape and accuracy.** Spearman's ρ over all runs of each plane:", ""]
    rows = []
    for plane in planes:
        for column, heading in landscape:
            chosen = correlations[
                (correlations["plane"] == plane) & (correlations["metric"] == column)
            ]
            by_target = chosen.set_index("target")
            if by_target["n_runs"].max() == 0:  # undefined on this plane (a 1-D slice)
                continue
            rows.append(
                [
                    f"{heading} ({plane})",
                    _number(by_target.loc["final_test_accuracy", "spearman_rho"]),
                    _number(by_target.loc["generalization_gap", "spearman_rho"]),
                    str(int(by_target.loc["final_test_accuracy", "n_runs"])),
                ]
            )
    lines += _list_table(
        "Rank correlation with accuracy",
        ["metric", "ρ with test accuracy", "ρ with generalization gap", "runs"],
        rows,
    )

    runs = summary.drop_duplicates(["activation", "seed"])
    diverged = runs[runs["diverged_epoch"] >= 0]
    if len(diverged):
        listed = ", ".join(
            f"{r.activation} seed {r.seed} (epoch {r.diverged_epoch})"
            for r in diverged.itertuples()
        )
        lines += [
            f"**Diverged runs: {listed}.** Their loss became NaN or infinite; training stopped "
            "and their landscapes are around the last finite weights. Their numbers are in "
            "the tables above; read them with that in mind.",
            "",
        ]
    else:
        lines += ["**Diverged runs:** none.", ""]
    return "\n".join(lines)
