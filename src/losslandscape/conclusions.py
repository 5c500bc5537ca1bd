"""The study's questions answered in words: one generated sentence per question and plane.

The questions (README): does the activation change the number of local minima, the
smoothness, the width and the shape of the minimum, and do those go with accuracy? Each
sentence is read off the study tables (:mod:`losslandscape.study_statistics`): the pair
of activations with the largest effect (Cliff's δ, then the smaller exact permutation p),
whether its p reaches 0.05, and the caveats that apply — too few runs for p < 0.05, runs
whose headline is a lower bound or depends on the grid (:mod:`losslandscape.metrics`), and
what is not measured yet (one direction draw per run: no draw-to-draw noise floor).
"""

import math

import pandas as pd

# question → the landscape headline that answers it (see answer.LANDSCAPE_HEADLINES)
QUESTIONS = (
    ("local minima", "n_local_minima_region"),
    ("smoothness", "roughness"),
    ("width of the minimum", "basin_width"),
    ("shape of the minimum", "curvedness_at_minimum"),
)
SIGNIFICANCE = 0.05


def _number(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:.3g}"


def _strongest(tests: pd.DataFrame, plane: str, column: str) -> pd.Series | None:
    """The pair with the largest |Cliff's δ| (then the smallest p) on one metric and plane;
    None where no pair was tested."""
    if tests.empty:  # one activation: no pair
        return None
    rows = tests[(tests["plane"] == plane) & (tests["metric"] == column)]
    rows = rows[rows["cliffs_delta"].notna()]
    if rows.empty:
        return None
    order = rows.assign(size=rows["cliffs_delta"].abs()).sort_values(
        ["size", "p_value"], ascending=[False, True], na_position="last"
    )
    return order.iloc[0]


def difference_sentence(
    question: str,
    heading: str,
    plane: str,
    tests: pd.DataFrame,
    column: str,
    caveats: list[str],
) -> str:
    """One sentence: does any pair of activations differ on ``column`` (a headline, with
    ``heading`` naming it and its unit) on ``plane``?"""
    pair = _strongest(tests, plane, column)
    lead = f"*{question.capitalize()}* ({heading}, {plane} plane): "
    if pair is None:
        text = "no two activations could be compared (fewer than two runs each)"
    elif pair["mean_difference"] == 0 and pair["cliffs_delta"] == 0:
        text = "every activation gives the same value in every run"
    else:
        names = f"{pair['activation_a']} − {pair['activation_b']}"
        effect = (
            f"{names} = {_number(pair['mean_difference'])} "
            f"(Cliff's δ {_number(pair['cliffs_delta'])}, exact p = {_number(pair['p_value'])})"
        )
        if math.isfinite(pair["p_value"]) and pair["p_value"] <= SIGNIFICANCE:
            text = f"the activations differ: {effect}"
        else:
            text = f"no difference reaches p ≤ {SIGNIFICANCE}; the largest is {effect}"
            if pair["smallest_p"] > SIGNIFICANCE:
                text += (
                    f", and these run counts cannot reach it (smallest possible p = "
                    f"{_number(pair['smallest_p'])})"
                )
    return lead + text + "".join(f"; {caveat}" for caveat in caveats) + "."


def accuracy_sentence(correlations: pd.DataFrame, plane: str, headlines) -> str:
    """Which landscape headline goes with test accuracy most strongly on ``plane``
    (Spearman's ρ over all runs), and whether its p reaches 0.05."""
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
        f"{_number(best['spearman_rho'])} with test accuracy over {int(best['n_runs'])} runs "
        f"(p = {_number(best['p_value'])}: {verdict}); activations differ in accuracy too, so "
        "a correlation across them does not say which causes which."
    )
