"""Trace estimators against matrices whose trace is known."""

import numpy as np
import pytest
import torch

from losslandscape.metrics.trace import MIN_TRACE_PRODUCTS, hutchinson_trace, hutchpp_trace
from losslandscape.settings.analysis import Sharpness


def _operator(matrix: np.ndarray):
    dense = torch.from_numpy(matrix).float()
    return lambda vector: dense @ vector


def _network_like(n: int, outliers: int, seed: int) -> np.ndarray:
    """A symmetric ``(n, n)`` matrix with a network Hessian's spectrum: a few large
    eigenvalues (one per class, Papyan 2020) over a bulk near zero, some negative."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((n, n)))
    spectrum = np.concatenate([np.linspace(20, 5, outliers), rng.normal(0.02, 0.05, n - outliers)])
    return (basis * spectrum) @ basis.T


def test_hutchinson_is_exact_on_a_diagonal_matrix():
    """``zᵀ D z = tr D`` for every ±1 vector ``z``."""
    diagonal = np.diag(np.arange(1.0, 41.0))
    estimate, error = hutchinson_trace(_operator(diagonal), 40, n_samples=5, seed=0)
    assert estimate == pytest.approx(820.0, rel=1e-6)
    assert error == pytest.approx(0.0, abs=1e-6)


def test_hutchpp_is_exact_when_the_rank_fits_its_sketch():
    """Rank 5 ≤ k = 18 // 3 = 6: the sketch spans the range, the residual is zero."""
    rng = np.random.default_rng(1)
    factor = rng.standard_normal((60, 5))
    matrix = factor @ factor.T
    estimate, error = hutchpp_trace(_operator(matrix), 60, n_products=18, seed=0)
    assert estimate == pytest.approx(np.trace(matrix), rel=1e-5)
    assert error < 1e-4 * np.trace(matrix)


def test_hutchpp_beats_hutchinson_at_the_same_products_on_a_network_like_spectrum():
    """60 products on a 400-dimensional matrix with ten outliers: Hutch++ takes the
    outliers exactly, so its error and standard error are far below Hutchinson's."""
    matrix = _network_like(400, outliers=10, seed=2)
    exact = np.trace(matrix)
    plain = [hutchinson_trace(_operator(matrix), 400, 60, seed) for seed in range(20)]
    sketched = [hutchpp_trace(_operator(matrix), 400, 60, seed) for seed in range(20)]
    plain_error = np.sqrt(np.mean([(e - exact) ** 2 for e, _ in plain]))
    sketched_error = np.sqrt(np.mean([(e - exact) ** 2 for e, _ in sketched]))
    assert sketched_error < plain_error / 5
    assert np.median([s for _, s in sketched]) < np.median([s for _, s in plain]) / 5


def test_hutchpp_at_the_default_products_is_within_two_percent_on_a_network_like_spectrum():
    """The study's default, ``sharpness.trace_products`` products, for each of 20 seeds."""
    matrix = _network_like(400, outliers=10, seed=2)
    products = Sharpness().trace_products
    for seed in range(20):
        estimate, _ = hutchpp_trace(_operator(matrix), 400, products, seed)
        assert estimate == pytest.approx(np.trace(matrix), rel=0.02)


def test_hutchpp_standard_error_covers_the_truth():
    """Over 40 seeds the exact trace lies within two standard errors about 95 % of the time
    (at least 80 % asked, so the test is not flaky)."""
    matrix = _network_like(300, outliers=3, seed=3)
    exact = np.trace(matrix)
    covered = [
        abs(estimate - exact) < 2 * error
        for estimate, error in (hutchpp_trace(_operator(matrix), 300, 12, s) for s in range(40))
    ]
    assert np.mean(covered) >= 0.8


def test_hutchpp_is_seeded():
    matrix = _network_like(50, outliers=2, seed=4)
    assert hutchpp_trace(_operator(matrix), 50, 9, 7) == hutchpp_trace(_operator(matrix), 50, 9, 7)
    assert hutchpp_trace(_operator(matrix), 50, 9, 7) != hutchpp_trace(_operator(matrix), 50, 9, 8)


def test_hutchpp_is_exact_when_the_products_reach_the_dimension():
    matrix = _network_like(30, outliers=2, seed=5)
    estimate, error = hutchpp_trace(_operator(matrix), 30, 30, seed=0)
    assert estimate == pytest.approx(np.trace(matrix), rel=1e-5, abs=1e-5)
    assert error == 0.0


def test_hutchpp_refuses_too_few_products():
    with pytest.raises(ValueError, match=f"at least {MIN_TRACE_PRODUCTS} .* found 5"):
        hutchpp_trace(_operator(np.eye(10)), 10, 5, 0)
