"""Hessian curvature: cost of λmax and λmin, and precision of the trace, in one run.

On the default mnist1d CNN trained briefly (Adam, as the study trains) and the sharpness
rule's seeded 500-sample training subset, it prints

- λmax (Lanczos, ``which="LA"``), λmin through the shifted operator ``λmax·I − H`` (the
  study's, :func:`losslandscape.metrics.sharpness.hessian_extreme_eigenvalues`) and λmin by
  ARPACK's ``which="SA"`` on ``H`` (before): value, seconds, Hessian-vector products, and
  each λmin's cost as a multiple of λmax's;
- the dense Hessian's extreme eigenvalues and exact trace (the model has few enough
  parameters to build it);
- the Krylov floor: the Lanczos steps each end of the dense Hessian's spectrum needs
  (exact Lanczos, full reorthogonalization, the residual tested after every step) before
  its Ritz value's residual, or its true error, is below ``tol·(λmax − λmin)``: what no
  Lanczos solver, ARPACK's included, can go below from a random start;
- the trace by Hutchinson with 20 probes (the study's old default) and with the study's
  products, and by Hutch++ with 60 products (the previous default) and the study's
  default (``sharpness.trace_products``): mean, mean standard error, root mean square and
  worst error against the exact trace over ``--seeds`` seeds, and how many seeds' estimates
  were within 2 %.

Run: python benchmarks/curvature.py [--steps 300] [--seeds 30] [--activation relu]
"""

import argparse
import time

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigsh
from torch.nn import functional as F

from losslandscape.data.datasets import prepare_dataset
from losslandscape.metrics.sharpness import (
    HESSIAN_TOLERANCE,
    HessianOperator,
    _largest_eigenpair,
    _smallest_eigenpair,
    sharpness_subset,
)
from losslandscape.metrics.trace import hutchinson_trace, hutchpp_trace
from losslandscape.models.registry import build_model, data_kwargs
from losslandscape.settings.analysis import Sharpness


def trained_model(activation: str, steps: int) -> tuple[torch.nn.Module, dict]:
    """The default CNN after ``steps`` Adam steps of batch 100 (seed 0)."""
    data = prepare_dataset("mnist1d")
    torch.manual_seed(0)
    model = build_model(
        "mnist1d_cnn",
        activation,
        **data_kwargs("mnist1d_cnn", list(data["input_shape"]), data["n_classes"]),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        batch = torch.randint(0, len(data["y_train"]), (100,), generator=generator)
        optimizer.zero_grad()
        F.cross_entropy(model(data["x_train"][batch]), data["y_train"][batch]).backward()
        optimizer.step()
    return model, data


class Counted:
    """A scipy operator that counts its products."""

    def __init__(self, operator: LinearOperator):
        self.products = 0
        self.operator = LinearOperator(operator.shape, matvec=self._matvec, dtype=np.float64)
        self._inner = operator

    def _matvec(self, vector):
        self.products += 1
        return self._inner.matvec(vector)


def timed(function):
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def krylov_floor(dense: np.ndarray, spectrum: np.ndarray, tols, seed: int = 0) -> dict:
    """Steps of exact Lanczos on ``dense`` (full reorthogonalization; Golub & Van Loan,
    *Matrix Computations*, 4th ed., §10.1) until, for each end and tolerance, the Ritz
    value's residual estimate ``β_m |s_m|`` or its true error against ``spectrum`` is at
    most ``tol·(λmax − λmin)``: ``{(end, test, tol): steps}``."""
    spread = spectrum[-1] - spectrum[0]
    basis = [np.random.default_rng(seed).standard_normal(len(dense))]
    basis[0] /= np.linalg.norm(basis[0])
    alphas, betas, steps = [], [], {}
    wanted = 2 * 2 * len(tols)
    for m in range(1, len(dense) + 1):
        w = dense @ basis[-1]
        alphas.append(basis[-1] @ w)
        stacked = np.array(basis)
        w -= stacked.T @ (stacked @ w)
        w -= stacked.T @ (stacked @ w)  # twice is enough (Parlett)
        beta = np.linalg.norm(w)
        ritz, vectors = np.linalg.eigh(np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1))
        for end, index, exact in (("max", -1, spectrum[-1]), ("min", 0, spectrum[0])):
            residual, error = beta * abs(vectors[-1, index]), abs(ritz[index] - exact)
            for tol in tols:
                for test, value in (("residual", residual), ("error", error)):
                    if value <= tol * spread:
                        steps.setdefault((end, test, tol), m)
        if len(steps) == wanted or beta == 0:
            return steps
        betas.append(beta)
        basis.append(w / beta)
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--activation", default="relu")
    args = parser.parse_args()
    torch.set_num_threads(1)

    model, data = trained_model(args.activation, args.steps)
    subset = sharpness_subset(len(data["y_train"]), Sharpness().subset_size, 0)
    hvp = HessianOperator(model, data["x_train"][subset], data["y_train"][subset])
    print(
        f"mnist1d CNN ({args.activation}, {hvp.n_params:,} parameters) after {args.steps} "
        f"Adam steps; {len(subset)} training samples, loss {hvp.loss:.4f} nats; 1 thread; "
        f"ARPACK tol {HESSIAN_TOLERANCE:g}"
    )

    counted = Counted(hvp.as_scipy())
    (largest, _), seconds_max = timed(
        lambda: _largest_eigenpair(counted.operator, HESSIAN_TOLERANCE, 0)
    )
    rows = [("λmax (LA)", largest, seconds_max, counted.products)]
    counted.products = 0
    (smallest, _), seconds = timed(
        lambda: _smallest_eigenpair(counted.operator, largest, HESSIAN_TOLERANCE, 0)
    )
    rows.append(("λmin (LA on λmax·I − H)", smallest, seconds, counted.products))
    counted.products = 0
    start = np.random.default_rng(0).standard_normal(hvp.n_params)
    values, seconds = timed(
        lambda: eigsh(counted.operator, k=1, which="SA", tol=HESSIAN_TOLERANCE, v0=start)[0]
    )
    rows.append(("λmin (SA on H, before)", float(values[0]), seconds, counted.products))
    print(f"\n{'eigenvalue':<26} {'value':>12} {'seconds':>8} {'products':>9} {'× λmax':>7}")
    for name, value, seconds, products in rows:
        print(f"{name:<26} {value:12.6g} {seconds:8.2f} {products:9d} {seconds / seconds_max:7.2f}")

    identity = np.eye(hvp.n_params, dtype=np.float32)
    dense = np.stack([hvp(torch.from_numpy(column)).double().numpy() for column in identity])
    dense = (dense + dense.T) / 2
    spectrum = np.linalg.eigvalsh(dense)
    exact = float(spectrum.sum())
    print(
        f"dense Hessian: λmax {spectrum[-1]:.6g}, λmin {spectrum[0]:.6g}, trace {exact:.6g} "
        f"(λmin error of the shifted solve {abs(rows[1][1] - spectrum[0]):.2g})"
    )

    tols = (HESSIAN_TOLERANCE, 1e-4)
    steps = krylov_floor(dense, spectrum, tols)
    print("\nKrylov floor (exact Lanczos steps until below tol·(λmax − λmin))")
    print(f"{'tol':>7} {'test':<9} {'λmax':>5} {'λmin':>5} {'λmin/λmax':>10}")
    for tol in tols:
        for test in ("residual", "error"):
            top, bottom = steps[("max", test, tol)], steps[("min", test, tol)]
            print(f"{tol:7.0e} {test:<9} {top:5d} {bottom:5d} {bottom / top:10.2f}")
    gaps = np.diff(spectrum[:2])[0], np.diff(spectrum[-2:])[0]
    print(f"gap next to λmin {gaps[0]:.3g}, next to λmax {gaps[1]:.3g}")

    products = Sharpness().trace_products  # the study's default
    estimators = {
        "Hutchinson, 20 probes": lambda seed: hutchinson_trace(hvp, hvp.n_params, 20, seed),
        f"Hutchinson, {products} probes": lambda seed: hutchinson_trace(
            hvp, hvp.n_params, products, seed
        ),
        "Hutch++, 60 products": lambda seed: hutchpp_trace(hvp, hvp.n_params, 60, seed),
        f"Hutch++, {products} products": lambda seed: hutchpp_trace(
            hvp, hvp.n_params, products, seed
        ),
    }
    print(f"\ntrace over {args.seeds} seeds (exact {exact:.5g})")
    print(
        f"{'estimator':<24} {'mean':>9} {'mean SE':>9} {'RMS error':>10} {'worst':>7} {'≤ 2 %':>7}"
    )
    for name, estimate in estimators.items():
        results = np.array([estimate(seed) for seed in range(args.seeds)])
        errors = np.abs(results[:, 0] - exact) / exact
        print(
            f"{name:<24} {results[:, 0].mean():9.4g} {results[:, 1].mean():9.3g} "
            f"{np.sqrt(np.mean(errors**2)):10.2%} {errors.max():7.2%} "
            f"{np.sum(errors <= 0.02):3d}/{args.seeds:<3d}"
        )


if __name__ == "__main__":
    main()
