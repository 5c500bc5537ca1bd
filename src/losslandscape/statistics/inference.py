"""Statistics across seeds: intervals per activation, pairwise tests, correlations, and
the split of a metric's variance between runs and direction draws.

Every function takes plain arrays of per-run values (one value per seed, or per direction
draw for :func:`variance_components`); the study tables are built from them in
:mod:`losslandscape.statistics.study`. The interval of a mean is Student's t-interval: with
three seeds it is wide (t = 4.30), which is the honest width of three runs; a percentile
bootstrap of three values stays inside their range, so it misses the population median at
least one time in four. With three seeds per activation, an exact permutation test cannot reach
p < 0.05 (its smallest attainable two-sided p is 2/20 = 0.1), so every comparison also
reports that smallest p.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


def finite(values) -> np.ndarray:
    """``values`` as a float array without NaN or inf (diverged or undefined entries)."""
    array = np.asarray(values, dtype=float).ravel()
    return array[np.isfinite(array)]


def t_quantile(n: int, confidence: float = 0.95) -> float:
    """``t_{(1 + confidence)/2, n−1}``: the two-sided Student-t quantile for ``n`` values
    (4.30 for n = 3 at 95 %)."""
    return float(stats.t.ppf((1 + confidence) / 2, n - 1))


def t_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """Student's t-interval ``(low, high)`` of the mean of ``values`` ``(n,)``.

    ``mean ± t_{(1 + confidence)/2, n−1} · sd / √n`` with ``sd`` the sample standard
    deviation (ddof = 1) of the finite values and ``t_{q, n−1}`` the q-quantile of Student's
    t distribution with n − 1 degrees of freedom. Both ends are in the units of ``values``
    (the metric's units). NaN for fewer than two finite values (no spread to estimate); a
    point when all finite values are equal.

    Assumes independent runs whose run-to-run variation is approximately normal; then the
    interval covers the true mean with probability ``confidence`` for every n ≥ 2. With
    n = 3 it is wide on purpose: t_{0.975, 2} = 4.30, against 1.96 for a known sd.

    Source: Student (1908), "The probable error of a mean", Biometrika 6(1), 1–25; any
    statistics text, e.g. Casella & Berger (2002), Statistical Inference, 2nd ed., ch. 9
    (the pivot (x̄ − μ)/(S/√n) ~ t_{n−1}).
    """
    data = finite(values)
    n = len(data)
    if n < 2:
        return math.nan, math.nan
    mean = float(data.mean())
    if np.ptp(data) == 0:
        return mean, mean
    half_width = t_quantile(n, confidence) * data.std(ddof=1) / math.sqrt(n)
    return float(mean - half_width), float(mean + half_width)


def variance_components(values, groups) -> dict:
    """One-way random-effects ANOVA: the variance of ``values`` split between and within
    ``groups`` (method of moments, the ANOVA estimators).

    ``values`` ``(N,)``: one metric, e.g. one value per direction draw of each run;
    ``groups`` ``(N,)``: the group of each value, e.g. the seed of its run. Pairs with a
    non-finite value are dropped first. Model: ``y_ij = μ + a_i + e_ij`` with run effects
    ``a_i`` of variance σ²_b and draw noise ``e_ij`` of variance σ²_w. With k groups of
    n_i values, N = Σ n_i, group means ȳ_i and grand mean ȳ::

        MSB = Σ n_i (ȳ_i − ȳ)² / (k − 1)         MSW = Σ_i Σ_j (y_ij − ȳ_i)² / (N − k)
        n0  = (N − Σ n_i² / N) / (k − 1)          (= n for balanced groups of n)
        σ²_w = MSW                                σ²_b = max(0, (MSB − MSW) / n0)

    since E[MSW] = σ²_w and E[MSB] = σ²_w + n0 σ²_b. Returns a dict:

    - ``n_groups`` (k), ``n_values`` (N), ``n_per_group`` (n0: the common group size when
      balanced, the usual adjusted mean size otherwise);
    - ``between_variance`` (σ²_b) and ``within_variance`` (σ²_w), in the squared units of
      ``values``;
    - ``within_share``: σ²_w / (σ²_w + σ²_b) in [0, 1], the noise-floor share: how much of
      the spread of one value is within-group noise (direction draws) rather than a
      difference between groups (runs).

    NaN where undefined: ``within_variance`` without a group of two or more values (N = k);
    ``between_variance`` also with fewer than two groups; ``within_share`` when either is
    NaN or both are 0. The truncation at 0 makes σ²_b biased upward when it is small.

    Source: Searle, Casella & McCulloch (1992), Variance Components, Wiley, ch. 3 (the
    1-way classification, ANOVA estimation for balanced and unbalanced data).
    """
    values = np.asarray(values, dtype=float).ravel()
    groups = np.asarray(groups).ravel()
    if values.shape != groups.shape:
        raise ValueError(f"values {values.shape} and groups {groups.shape} differ in shape")
    keep = np.isfinite(values)
    values, groups = values[keep], groups[keep]
    _, index = np.unique(groups, return_inverse=True)
    sizes = np.bincount(index).astype(float)
    k, total = len(sizes), float(len(values))
    result = {
        "n_groups": k,
        "n_values": int(total),
        "n_per_group": math.nan,
        "between_variance": math.nan,
        "within_variance": math.nan,
        "within_share": math.nan,
    }
    if total > k:
        means = np.bincount(index, weights=values) / sizes
        result["within_variance"] = float(((values - means[index]) ** 2).sum() / (total - k))
    if k >= 2:
        n0 = (total - (sizes**2).sum() / total) / (k - 1)
        result["n_per_group"] = float(n0)
        if total > k:
            grand = values.mean()
            msb = float((sizes * (means - grand) ** 2).sum() / (k - 1))
            result["between_variance"] = max(0.0, (msb - result["within_variance"]) / n0)
    elif k == 1:
        result["n_per_group"] = total
    within, between = result["within_variance"], result["between_variance"]
    if math.isfinite(within) and math.isfinite(between) and within + between > 0:
        result["within_share"] = within / (within + between)
    return result


@dataclass(frozen=True)
class Comparison:
    """Two activations' values of one metric.

    mean_difference: mean(a) − mean(b) in the metric's units.
    cliffs_delta: P(a > b) − P(a < b) over all pairs, in [−1, 1] (±1: no overlap).
    p_value: exact two-sided permutation test of the difference in means.
    smallest_p: the smallest p the test can give with these sample sizes.
    """

    n_a: int
    n_b: int
    mean_difference: float
    cliffs_delta: float
    p_value: float
    smallest_p: float

    @property
    def note(self) -> str:
        if min(self.n_a, self.n_b) < 2:
            return "fewer than 2 runs on a side: no test"
        if self.smallest_p > 0.05:
            return f"too few runs for p < 0.05 (smallest possible p = {self.smallest_p:.2g})"
        return ""


def cliffs_delta(a, b) -> float:
    """Cliff's delta of samples ``a`` ``(n_a,)`` and ``b`` ``(n_b,)``: the mean sign of all
    pairwise differences (one line of numpy; scipy has no function for it)."""
    return float(np.sign(np.subtract.outer(finite(a), finite(b))).mean())


def smallest_permutation_p(n_a: int, n_b: int) -> float:
    """Smallest two-sided p of an exact permutation test: the observed split and its
    mirror image among all C(n_a + n_b, n_a) splits."""
    return min(1.0, 2.0 / math.comb(n_a + n_b, n_a))


def compare(a, b) -> Comparison:
    """Exact permutation test (every split of the pooled runs) and effect sizes."""
    a, b = finite(a), finite(b)
    if min(len(a), len(b)) < 2:
        difference = a.mean() - b.mean() if len(a) and len(b) else math.nan
        delta = cliffs_delta(a, b) if len(a) and len(b) else math.nan
        return Comparison(len(a), len(b), float(difference), delta, math.nan, math.nan)
    if np.ptp(np.concatenate([a, b])) == 0:
        p_value = 1.0  # every split gives the same difference
    else:
        p_value = stats.permutation_test(
            (a, b),
            lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
            permutation_type="independent",
            alternative="two-sided",
            n_resamples=math.inf,  # exact: every distinct split
            vectorized=True,
        ).pvalue
    return Comparison(
        len(a),
        len(b),
        float(a.mean() - b.mean()),
        cliffs_delta(a, b),
        float(p_value),
        smallest_permutation_p(len(a), len(b)),
    )


def spearman(x, y) -> tuple[float, float, int]:
    """Spearman's rho, its p-value and the number of pairs with both values finite; NaN
    when fewer than 3 pairs or one side is constant (rank correlation undefined)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan, int(len(x))
    result = stats.spearmanr(x, y)
    return float(result.statistic), float(result.pvalue), int(len(x))
