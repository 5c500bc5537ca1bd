"""The report's front-page answer: the headline metrics per activation with intervals,
the pairwise tests behind them, the metric–accuracy correlations and any diverged runs,
as a reStructuredText fragment that ``report/workflow.rst`` includes."""

import math

import pandas as pd

from losslandscape.study_statistics import RUN_PLANE

# (column, heading): what the study's question asks about, per trained model ...
RUN_HEADLINES = (
    ("final_test_accuracy", "test accuracy"),
    ("final_train_accuracy", "train accuracy"),
    ("generalization_gap", "generalization gap (nats)"),
    ("hessian_max_eigenvalue", "largest Hessian eigenvalue"),
)
# ... and per plane: minima, smoothness, width, shape
LANDSCAPE_HEADLINES = (
    ("n_local_minima", "local minima"),
    ("roughness_relative", "roughness (relative)"),
    ("basin_equivalent_diameter", "basin diameter"),
    ("shape_index_at_minimum", "shape index at minimum"),
    ("curvedness_at_minimum", "curvedness at minimum"),
)


def basin_column(columns) -> str:
    """The basin-diameter column at the middle of the configured levels."""
    prefix = "basin_equivalent_diameter_level_"
    levels = sorted(
        (c for c in columns if c.startswith(prefix)), key=lambda c: float(c[len(prefix) :])
    )
    if not levels:
        raise ValueError(f"the summary has no {prefix}<level> columns")
    return levels[len(levels) // 2]


def landscape_headlines(columns) -> list[tuple[str, str]]:
    """:data:`LANDSCAPE_HEADLINES` with the basin diameter at the middle level's column."""
    basin = basin_column(columns)
    level = basin.rsplit("_", 1)[1]
    return [
        (basin, f"basin diameter at level {level}")
        if column == "basin_equivalent_diameter"
        else (column, heading)
        for column, heading in LANDSCAPE_HEADLINES
    ]


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


def _interval_table(title, stats: pd.DataFrame, plane, headlines, activations) -> list[str]:
    table = stats[stats["plane"] == plane].set_index(["metric", "activation"])
    rows = []
    for activation in activations:
        cells = [activation, str(int(table.loc[(headlines[0][0], activation), "n"]))]
        cells += [_cell(table.loc[(column, activation)]) for column, _ in headlines]
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


def answer_rst(
    summary: pd.DataFrame,
    stats: pd.DataFrame,
    tests: pd.DataFrame,
    correlations: pd.DataFrame,
    activations: list[str],
    planes: list[str],
) -> str:
    """The front page's results section (reStructuredText); activations and planes in the
    config's order."""
    landscape = landscape_headlines(summary.columns)
    seeds = summary.groupby("activation")["seed"].nunique()
    lines = [
        "**Results.** Mean over seeds with its 95 % percentile-bootstrap interval in brackets "
        f"({', '.join(f'{a}: {seeds.get(a, 0)} runs' for a in activations)}). "
        "Tables with every metric: *Study statistics*.",
        "",
    ]
    lines += _interval_table("Trained models", stats, RUN_PLANE, RUN_HEADLINES, activations)
    for plane in planes:
        lines += _interval_table(f"Landscape, {plane} plane", stats, plane, landscape, activations)

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
