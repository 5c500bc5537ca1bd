"""The front page's reStructuredText tables (:mod:`losslandscape.statistics.answer`): headline
intervals per activation, pairwise comparisons and rank correlations, with the caveats of
the runs behind each number."""

import math

import pandas as pd

from losslandscape.statistics.study import RUN_PLANE

WIDTH_PREFIX = "basin_width_level_"


def headline_name(column: str) -> str:
    """The metrics' headline name of a summary column (``basin_width`` for every rung)."""
    return "basin_width" if column.startswith(WIDTH_PREFIX) else column


def run_caveats(summary: pd.DataFrame, plane: str, activation: str, column: str) -> tuple[int, int]:
    """``(lower bounds, not stable)``: how many of the activation's runs on ``plane`` give
    ``column`` only as a lower bound (a basin reaching the window's edge) or flag it as not
    stable (:data:`losslandscape.metrics.stability.STABILITY_THRESHOLD`) in any of their direction
    draws (runs are counted, not draws)."""
    rows = summary[(summary["plane"] == plane) & (summary["activation"] == activation)]
    edge = column.replace(WIDTH_PREFIX, "basin_touches_edge_level_")
    bounds = rows[rows[edge] == 1]["seed"].nunique() if column.startswith(WIDTH_PREFIX) else 0
    stable = f"headline_stable_headline_{headline_name(column)}"
    unstable = rows[rows[stable] == 0]["seed"].nunique() if stable in rows else 0
    return int(bounds), int(unstable)


def number(value: float) -> str:
    """Three significant digits, or a dash for NaN and infinities."""
    return "–" if not math.isfinite(value) else f"{value:.3g}"


def interval_cell(row: pd.Series) -> str:
    """``mean [low, high]``, or the mean alone where no interval exists."""
    if not math.isfinite(row["ci_low"]):
        return number(row["mean"])
    return f"{number(row['mean'])} [{number(row['ci_low'])}, {number(row['ci_high'])}]"


def list_table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    """An rST ``list-table`` of ``rows`` under ``header``, as lines."""
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for cells in [header, *rows]:
        lines.append(f"   * - {cells[0]}")
        lines += [f"     - {cell}" for cell in cells[1:]]
    return lines + [""]


def interval_table(title, stats, plane, headlines, activations, summary=None) -> list[str]:
    """One row per activation: runs, then ``mean [ci_low, ci_high]`` per headline; a width
    that is a lower bound in some run is marked ``≥``, a headline not stable in some run
    ``†`` (landscape planes, from ``summary``)."""
    table = stats[stats["plane"] == plane].set_index(["metric", "activation"])
    rows = []
    for activation in activations:
        cells = [activation, str(int(table.loc[(headlines[0][0], activation), "n"]))]
        for column, _ in headlines:
            cell = interval_cell(table.loc[(column, activation)])
            if summary is not None:
                bounds, unstable = run_caveats(summary, plane, activation, column)
                cell = ("≥ " if bounds else "") + cell + (" †" if unstable else "")
            cells.append(cell)
        rows.append(cells)
    header = ["activation", "runs", *(heading for _, heading in headlines)]
    return list_table(title, header, rows)


def comparison_table(tests: pd.DataFrame, headlines, planes, activations) -> list[str]:
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
                    f"Δ {number(t['mean_difference'])}, δ {number(t['cliffs_delta'])}, "
                    f"p {number(t['p_value'])}"
                )
            if set(cells) != {"–"}:  # e.g. shape metrics of a 1-D slice: undefined
                rows.append([heading if plane == RUN_PLANE else f"{heading} ({plane})", *cells])
    header = ["metric", *(f"{a} − {b}" for a, b in pairs)]
    return list_table("Pairwise comparisons", header, rows)


def correlation_table(correlations: pd.DataFrame, planes, landscape) -> list[str]:
    """Spearman's ρ of each landscape headline with test accuracy and with the
    generalization gap over all runs of each plane (headlines undefined on a plane left
    out)."""
    rows = []
    for plane in planes:
        for column, heading in landscape:
            chosen = correlations[
                (correlations["plane"] == plane) & (correlations["metric"] == column)
            ]
            by_target = chosen.set_index("target")
            if by_target["n_runs"].max() == 0:  # undefined on this plane (a 1-D slice)
                continue
            rhos = by_target.loc[["final_test_accuracy", "generalization_gap"], "spearman_rho"]
            if not rhos.notna().any():  # no variation over the runs: nothing to rank
                continue
            rows.append(
                [
                    f"{heading} ({plane})",
                    number(by_target.loc["final_test_accuracy", "spearman_rho"]),
                    number(by_target.loc["generalization_gap", "spearman_rho"]),
                    str(int(by_target.loc["final_test_accuracy", "n_runs"])),
                ]
            )
    if not rows:
        return [
            "None: no landscape headline and no accuracy vary over enough runs to rank.",
            "",
        ]
    return list_table(
        "Rank correlation with accuracy",
        ["metric", "ρ with test accuracy", "ρ with generalization gap", "runs"],
        rows,
    )
