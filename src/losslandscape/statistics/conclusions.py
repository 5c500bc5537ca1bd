"""The study's questions answered in words: one generated sentence per question and plane.

The questions (README): does the activation change the number of local minima, the
smoothness, the width and the shape of the minimum, and do those go with accuracy? Each
sentence is read off the study tables (:mod:`losslandscape.statistics.study`): the pair
of activations with the largest effect (Cliff's δ, then the smaller exact permutation p),
whether its p reaches 0.05, and the caveats that apply — too few runs for p < 0.05, runs
whose headline is a lower bound or depends on the grid
(:mod:`losslandscape.metrics.stability`) — and,
where runs have several direction draws, how the difference compares with the noise that the
choice of directions alone puts into it (:func:`draw_noise`).
"""

import math

import pandas as pd

from losslandscape.statistics.tables import headline_name, number, run_caveats

# question → the landscape headline that answers it (see answer.LANDSCAPE_HEADLINES)
QUESTIONS = (
    ("local minima", "n_local_minima_region"),
    ("smoothness", "roughness"),
    ("width of the minimum", "basin_width"),
    ("shape of the minimum", "curvedness_at_minimum"),
)
SIGNIFICANCE = 0.05


def _strongest(tests: pd.DataFrame, plane: str, column: str) -> pd.Series | None:
    """The pair with the largest |Cliff's δ| (then the smallest p, then the largest |Δ|) on
    one metric and plane; None where no pair was tested."""
    if tests.empty:  # one activation: no pair
        return None
    rows = tests[(tests["plane"] == plane) & (tests["metric"] == column)]
    rows = rows[rows["cliffs_delta"].notna()]
    if rows.empty:
        return None
    # ties in |δ| and p (runs that do not overlap at the smallest p the counts allow) go
    # to the larger difference of means
    order = rows.assign(
        size=rows["cliffs_delta"].abs(), gap=rows["mean_difference"].abs()
    ).sort_values(["size", "p_value", "gap"], ascending=[False, True, False], na_position="last")
    return order.iloc[0]


def draw_noise(variance: pd.DataFrame | None, plane: str, column: str, pair: pd.Series) -> float:
    """The standard error that direction draws alone put into a difference of activation
    means: sqrt(σ²_w,a / (n_a·k_a) + σ²_w,b / (n_b·k_b)), σ²_w the within-run (between-draw)
    variance and k the draws per run of each activation (the variance split,
    :func:`losslandscape.statistics.study.variance_split`; each run's value is a mean over
    its k draws), n the runs compared (``pair``'s ``n_a`` and ``n_b``: the runs that reached
    the training-loss target, where the split may count more). NaN where the split has no
    such rows (one draw per run)."""
    if variance is None or variance.empty:
        return math.nan
    rows = variance[(variance["plane"] == plane) & (variance["metric"] == column)]
    rows = rows.set_index("activation")
    total = 0.0
    for side in ("a", "b"):
        activation = pair[f"activation_{side}"]
        if activation not in rows.index:
            return math.nan
        row = rows.loc[activation]
        total += row["within_run_variance"] / (pair[f"n_{side}"] * row["n_draws"])
    return math.sqrt(total) if math.isfinite(total) else math.nan


def difference_sentence(
    question: str,
    heading: str,
    plane: str,
    tests: pd.DataFrame,
    column: str,
    caveats: list[str],
    variance: pd.DataFrame | None = None,
) -> str:
    """One sentence: does any pair of activations differ on ``column`` (a headline, with
    ``heading`` naming it and its unit) on ``plane``, and (with ``variance``, the variance
    split) is that difference larger than twice the direction-draw noise (:func:`draw_noise`)?"""
    pair = _strongest(tests, plane, column)
    lead = f"*{question.capitalize()}* ({heading}, {plane} plane): "
    if pair is None:
        text = (
            "no pair of activations had values to compare (fewer than two activations "
            "with compared runs, or no finite values)"
        )
    elif pair["mean_difference"] == 0 and pair["cliffs_delta"] == 0:
        text = "every activation gives the same value in every run"
    else:
        names = f"{pair['activation_a']} − {pair['activation_b']}"
        effect = (
            f"{names} = {number(pair['mean_difference'])} "
            f"(Cliff's δ {number(pair['cliffs_delta'])}, exact p = {number(pair['p_value'])})"
        )
        if math.isfinite(pair["p_value"]) and pair["p_value"] <= SIGNIFICANCE:
            text = f"the activations differ: {effect}"
        else:
            text = f"no difference reaches p ≤ {SIGNIFICANCE}; the largest is {effect}"
            if pair["smallest_p"] > SIGNIFICANCE:
                text += (
                    f", and these run counts cannot reach it (smallest possible p = "
                    f"{number(pair['smallest_p'])})"
                )
        noise = draw_noise(variance, plane, column, pair)
        if math.isfinite(noise) and noise > 0:
            ratio = abs(pair["mean_difference"]) / noise
            verdict = "beyond" if ratio > 2 else "within"
            text += (
                f"; the difference is {ratio:.2g}× the direction-draw noise of it (s.e. "
                f"{number(noise)}): {verdict} twice that noise"
            )
        elif math.isfinite(noise):
            text += "; the direction draws agree exactly (no draw noise)"
        elif variance is not None and not variance.empty:
            text += "; one plane per run here, so its direction-draw noise is not measured"
    return lead + text + "".join(f"; {caveat}" for caveat in caveats) + "."


def multiplicity_sentence(tests: pd.DataFrame) -> str:
    """How many of the pairwise tests reach p ≤ 0.05, and how many would by chance alone:
    every test at its smallest possible p still has that chance under no difference, so
    across many tests some reach it without any effect (no correction is applied)."""
    finite = tests[tests["p_value"].notna()]
    if finite.empty:
        return ""
    hits = int((finite["p_value"] <= SIGNIFICANCE).sum())
    floor = float(finite["smallest_p"].min())
    can_reach = finite[finite["smallest_p"] <= SIGNIFICANCE]
    if can_reach.empty:  # no test can reach it, so none would by chance either
        return (
            f"None of the {len(finite)} pairwise tests behind these sentences and tables can "
            f"reach p ≤ {SIGNIFICANCE} with these run counts (the smallest p they allow is "
            f"{number(floor)}): the comparisons describe, they cannot test."
        )
    return (
        f"Of the {len(finite)} pairwise tests behind these sentences and tables, {hits} reach "
        f"p ≤ {SIGNIFICANCE}; with no difference at all, each would still reach it with "
        f"probability up to {SIGNIFICANCE} (the smallest p these run counts allow is "
        f"{number(floor)}), about {round(len(can_reach) * SIGNIFICANCE)} of the "
        f"{len(can_reach)} that can, and no "
        "correction for multiple tests is applied: read a single p ≤ 0.05 with that in mind."
    )


def accuracy_sentence(
    correlations: pd.DataFrame, plane: str, headlines, activations: int = 2
) -> str:
    """Which landscape headline goes with test accuracy most strongly on ``plane``
    (Spearman's ρ over all runs), and whether its p reaches 0.05; with several
    ``activations`` compared, that a correlation across them does not say which causes
    which."""
    names = dict(headlines)
    rows = correlations[
        (correlations["plane"] == plane)
        & (correlations["target"] == "final_test_accuracy")
        & correlations["metric"].isin(names)
        & correlations["spearman_rho"].notna()
    ]
    lead = f"*With accuracy* ({plane} plane): "
    if rows.empty:
        return lead + "no landscape headline varies with test accuracy over enough runs."
    best = rows.loc[rows["spearman_rho"].abs().idxmax()]
    verdict = (
        "a rank correlation"
        if math.isfinite(best["p_value"]) and best["p_value"] <= SIGNIFICANCE
        else "not significant"
    )
    return (
        f"{lead}the strongest is {names[best['metric']]}, Spearman's ρ = "
        f"{number(best['spearman_rho'])} with test accuracy over {int(best['n_runs'])} runs "
        f"(p = {number(best['p_value'])}: {verdict})"
        + (
            "; activations differ in accuracy too, so a correlation across them does not say "
            "which causes which."
            if activations > 1
            else ", over the seeds of one activation."
        )
    )


def answer_in_words(
    summary, tests, correlations, activations, planes, landscape, variance, left_out
) -> list[str]:
    """The study's questions answered in one generated sentence each, per plane, as a
    bullet list, then what applies to all of them: direction draws, the training-loss
    target and multiple tests."""
    headings = dict(landscape)
    columns = {name: column for column, _ in landscape for name in [headline_name(column)]}
    bullets = []
    if len(activations) < 2:  # one sentence, not one per question and plane saying so
        has = f"one activation ({activations[0]})" if activations else "no activation"
        bullets.append(
            f"*Differences between activations*: none can be tested; the comparison has "
            f"{has}, and a difference needs two."
        )
    for question, name in QUESTIONS if len(activations) >= 2 else ():
        column = columns[name]
        for plane in planes:
            counts = [run_caveats(summary, plane, a, column) for a in activations]
            bounds, unstable = (sum(kind) for kind in zip(*counts, strict=True))
            caveats = [f"{bounds} run(s) give only a lower bound"] if bounds else []
            if unstable:
                caveats.append(f"{unstable} run(s) flag it as depending on the grid (†)")
            bullets.append(
                difference_sentence(
                    question, headings[column], plane, tests, column, caveats, variance
                )
            )
    bullets += [
        accuracy_sentence(correlations, plane, landscape, len(activations)) for plane in planes
    ]
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
        target = number(float(left_out["target_loss"].iloc[0]))
        training = (
            f"only runs that reached the training-loss target ({target} nats) are compared; "
            f"{len(left_out)} did not and are left out (listed below)"
        )
    else:
        target = number(float(summary["target_loss"].dropna().iloc[0]))
        training = f"every run reached the training-loss target ({target} nats)"
    multiplicity = multiplicity_sentence(tests)
    return [
        "**The answer in words.**",
        "",
        *(f"- {bullet}" for bullet in bullets),
        "",
        f"For all of these: {draws}; {training}." + (f" {multiplicity}" if multiplicity else ""),
        "",
    ]
