"""Statistics across seeds: intervals per activation, pairwise tests, correlations.

Every function takes plain arrays of per-run values (one value per seed); the study
tables are built from them in :mod:`losslandscape.study_statistics`. With three seeds per
activation, an exact permutation test cannot reach p < 0.05 (its smallest attainable
two-sided p is 2/20 = 0.1), so every comparison also reports that smallest p.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


def finite(values) -> np.ndarray:
    """``values`` as a float array without NaN or inf (diverged or undefined entries)."""
    array = np.asarray(values, dtype=float).ravel()
    return array[np.isfinite(array)]


def bootstrap_interval(
    values, confidence: float = 0.95, resamples: int = 9999, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval ``(low, high)`` of the mean of ``values`` ``(n,)``.

    NaN for fewer than two finite values (no spread to resample); a point for identical
    values. Percentile, not BCa: BCa's jackknife is undefined for the many tied resamples
    of n = 3. With n = 3 there are only 10 distinct resamples, so the interval is coarse.
    """
    data = finite(values)
    if len(data) < 2:
        return math.nan, math.nan
    if np.ptp(data) == 0:
        return float(data[0]), float(data[0])
    result = stats.bootstrap(
        (data,),
        np.mean,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


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
