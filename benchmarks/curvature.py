"""Hessian curvature: cost of λmax and λmin, and precision of the trace, in one run.

On the default mnist1d CNN trained briefly (Adam, as the study trains) and the sharpness
rule's seeded 500-sample training subset, it prints

- λmax (Lanczos, ``which="LA"``), λmin through the shifted operator ``λmax·I − H`` (the
  study's, :func:`losslandscape.metrics.sharpness.hessian_extreme_eigenvalues`) and λmin by
  ARPACK's ``which="SA"`` on ``H`` (before): value, seconds, Hessian-vector products, and
  each λmin's cost as a multiple of λmax's;
- the dense Hessian's extreme eigenvalues and exact trace (the model has few enough
  parameters to build it);
- the trace by Hutchinson with 20 probes (the study's old default) and with 60, and by
  Hutch++ with 60 products (the study's default): mean, mean standard error and the root
  mean square error against the exact trace over ``--seeds`` seeds.

Run: python benchmarks/curvature.py [--steps 300] [--seeds 10] [--activation relu]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=10)
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

    products = Sharpness().trace_products  # the study's default
    estimators = {
        "Hutchinson, 20 probes": lambda seed: hutchinson_trace(hvp, hvp.n_params, 20, seed),
        "Hutchinson, 60 probes": lambda seed: hutchinson_trace(hvp, hvp.n_params, 60, seed),
        f"Hutch++, {products} products": lambda seed: hutchpp_trace(
            hvp, hvp.n_params, products, seed
        ),
    }
    print(f"\ntrace over {args.seeds} seeds (exact {exact:.5g})")
    print(f"{'estimator':<24} {'mean':>9} {'mean SE':>9} {'RMS error':>10} {'worst':>7}")
    for name, estimate in estimators.items():
        results = np.array([estimate(seed) for seed in range(args.seeds)])
        errors = (results[:, 0] - exact) / exact
        print(
            f"{name:<24} {results[:, 0].mean():9.4g} {results[:, 1].mean():9.3g} "
            f"{np.sqrt(np.mean(errors**2)):10.2%} {np.abs(errors).max():7.2%}"
        )


if __name__ == "__main__":
    main()
