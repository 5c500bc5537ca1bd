"""Hessian curvature: cost of λmax and λmin, and precision of the trace, in one run.

On the default mnist1d CNN trained briefly (Adam, as the study trains) and the sharpness
rule's seeded 500-sample training subset, it prints

- now: λmax alone and both ends from one Lanczos run tested after every step (the study's
  :func:`losslandscape.metrics.lanczos.lanczos_extremes`, as
  :func:`losslandscape.metrics.sharpness.hessian_extreme_eigenvalues` calls it); before:
  ARPACK's λmax (``which="LA"``, 20 vectors), then λmin as the top of the shifted operator
  ``λmax·I − H`` (80 vectors), and λmin by ``which="SA"`` on ``H`` (the first solver): value,
  best time of ``--rounds`` interleaved rounds, Hessian-vector products, and each cost as
  a multiple of its own solver's λmax;
- the dense Hessian's extreme eigenvalues and exact trace (the model has few enough
  parameters to build it);
- the Krylov floor: the Lanczos steps each end of the dense Hessian's spectrum needs
  (exact Lanczos, full reorthogonalization, the residual tested after every step) before
  its Ritz value's residual, or its true error, is below ``tol·(λmax − λmin)``: what no
  Lanczos solver, ARPACK's included, can go below from a random start; and the products
  block Krylov spaces of 2, 4 and 8 random vectors need (Rayleigh–Ritz on the whole block
  space, the best any block method can extract), since a cluster is what blocks are for,
  and what 8 products at once cost against 8 single ones;
- the trace by Hutchinson with 20 probes (the study's old default) and with the study's
  products, and by Hutch++ with 60 products (the previous default) and the study's
  default (``sharpness.trace_products``): mean, mean standard error, root mean square and
  worst error against the exact trace over ``--seeds`` seeds, and how many seeds' estimates
  were within 2 %.

Run: python benchmarks/curvature.py [--steps 300] [--seeds 30] [--activation relu] [--rounds 5]
"""

import argparse
import time

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigsh
from torch.func import functional_call, grad, jvp, vmap
from torch.nn import functional as F

from losslandscape.data.datasets import prepare_dataset
from losslandscape.metrics.lanczos import lanczos_extremes
from losslandscape.metrics.sharpness import HESSIAN_TOLERANCE, HessianOperator, sharpness_subset
from losslandscape.metrics.trace import hutchinson_trace, hutchpp_trace
from losslandscape.models.registry import build_model, data_kwargs
from losslandscape.parameters import ParameterLayout
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
    """A product ``matvec`` on ``(n,)`` vectors as a scipy operator that counts its calls."""

    def __init__(self, matvec, n: int):
        self.products = 0
        self.operator = LinearOperator((n, n), matvec=self._matvec, dtype=np.float64)
        self._inner = matvec

    def _matvec(self, vector):
        self.products += 1
        return self._inner(vector)


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


def block_krylov_floor(
    dense: np.ndarray, spectrum: np.ndarray, tol: float, block: int, seed: int = 0
) -> dict:
    """Hessian-vector products of a block Krylov method with ``block`` random start vectors
    until each end's Ritz pair has residual ``‖H x − θ x‖ ≤ tol·(λmax − λmin)``:
    ``{end: products}``. Rayleigh–Ritz on the whole block Krylov space after every block
    step, which is what block Lanczos's Ritz values are (Golub & Van Loan, *Matrix
    Computations*, 4th ed., §10.3.6) and the best a block method can extract; a cluster
    of eigenvalues at one end, as at λmin, is the case blocks are meant for."""
    spread = spectrum[-1] - spectrum[0]
    rng = np.random.default_rng(seed)
    fresh = np.linalg.qr(rng.standard_normal((len(dense), block)))[0]
    basis, products, found = fresh, 0, {}
    while len(found) < 2 and products < len(dense):
        images = dense @ fresh
        products += block
        ritz, vectors = np.linalg.eigh(basis.T @ (dense @ basis))
        for end, index in (("max", -1), ("min", 0)):
            x = basis @ vectors[:, index]
            if np.linalg.norm(dense @ x - ritz[index] * x) <= tol * spread:
                found.setdefault(end, products)
        images -= basis @ (basis.T @ images)
        images -= basis @ (basis.T @ images)  # twice is enough (Parlett)
        fresh = np.linalg.qr(images)[0]
        basis = np.hstack([basis, fresh])
    return found


def batched_product_seconds(
    model: torch.nn.Module, inputs: torch.Tensor, labels: torch.Tensor, block: int = 8
) -> tuple[float, float]:
    """Best of 5 seconds for one Hessian-vector product of the study's operator and for
    ``block`` products at once (``torch.func``: ``vmap`` over ``jvp`` of ``grad``, the
    batched form a block method would use)."""
    layout = ParameterLayout.of(model)
    weights = layout.flatten(dict(model.named_parameters())).detach()
    buffers = dict(model.named_buffers())

    def loss(flat):
        outputs = functional_call(model, {**layout.unflatten(flat), **buffers}, (inputs,))
        return F.cross_entropy(outputs, labels)

    gradient = grad(loss)
    products = vmap(lambda v: jvp(gradient, (weights,), (v,))[1])
    hvp = HessianOperator(model, inputs, labels)
    vectors = torch.randn(block, len(weights))
    single = min(timed(lambda: hvp(vectors[0]))[1] for _ in range(5))
    batched = min(timed(lambda: products(vectors))[1] for _ in range(5))
    return single, batched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--activation", default="relu")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    args = parser.parse_args()
    torch.set_num_threads(1)

    model, data = trained_model(args.activation, args.steps)
    subset = sharpness_subset(len(data["y_train"]), Sharpness().subset_size, 0)
    hvp = HessianOperator(model, data["x_train"][subset], data["y_train"][subset])
    print(
        f"mnist1d CNN ({args.activation}, {hvp.n_params:,} parameters) after {args.steps} "
        f"Adam steps; {len(subset)} training samples, loss {hvp.loss:.4f} nats; 1 thread; "
        f"tol {HESSIAN_TOLERANCE:g}"
    )

    counted = Counted(hvp.matvec, hvp.n_params)
    operator, tol, n = counted.operator, HESSIAN_TOLERANCE, hvp.n_params

    for _ in range(3):  # the first products of a graph are slower: not the first solver's cost
        hvp.matvec(np.ones(hvp.n_params))
    start = np.random.default_rng(0).standard_normal(n)
    arpack_max = eigsh(operator, k=1, which="LA", tol=tol, v0=start)[0][0]
    shifted = LinearOperator(
        operator.shape, matvec=lambda v: arpack_max * np.ravel(v) - operator.matvec(v)
    )
    solvers = {
        "λmax alone": lambda: lanczos_extremes(operator.matvec, n, tol, 0, ends=("max",)).largest,
        "λmax and λmin, one run": lambda: lanczos_extremes(operator.matvec, n, tol, 0).smallest,
        "λmax (LA, 20 vectors)": lambda: eigsh(operator, k=1, which="LA", tol=tol, v0=start)[0][0],
        "λmin (LA on λmax·I − H)": lambda: (
            arpack_max - eigsh(shifted, k=1, which="LA", tol=tol, v0=start, ncv=80)[0][0]
        ),
        "λmin (SA on H)": lambda: eigsh(operator, k=1, which="SA", tol=tol, v0=start)[0][0],
    }
    # Interleaved rounds, each solver's best: a slow spell of the machine hits all alike.
    best = dict.fromkeys(solvers, float("inf"))
    values, products = {}, {}
    for _ in range(args.rounds):
        for name, solve in solvers.items():
            counted.products = 0
            values[name], seconds = timed(solve)
            best[name], products[name] = min(best[name], seconds), counted.products
    rows = [(name, values[name], best[name], products[name]) for name in solvers]
    now, before = rows[:2], rows[2:]
    seconds_max, arpack_seconds = now[0][2], before[0][2]
    both = lanczos_extremes(operator.matvec, n, tol, 0)
    print(
        f"\n{'solver':<7}{'eigenvalue':<27} {'value':>12} {'seconds':>8} {'products':>9} "
        f"{'× λmax':>7}"
    )
    for solver, group, base in (("now", now, seconds_max), ("before", before, arpack_seconds)):
        for name, value, seconds, count in group:
            print(
                f"{solver:<7}{name:<27} {value:12.6g} {seconds:8.2f} {count:9d} "
                f"{seconds / base:7.2f}"
            )
    print(
        f"the λmin of both: {now[1][3]} products now against {before[0][3] + before[1][3]} "
        f"before ({(now[1][2]) / (before[0][2] + before[1][2]):.2f}× the time)"
    )

    identity = np.eye(hvp.n_params, dtype=np.float32)
    dense = np.stack([hvp(torch.from_numpy(column)).double().numpy() for column in identity])
    dense = (dense + dense.T) / 2
    spectrum = np.linalg.eigvalsh(dense)
    exact = float(spectrum.sum())
    print(
        f"dense Hessian: λmax {spectrum[-1]:.6g}, λmin {spectrum[0]:.6g}, trace {exact:.6g} "
        f"(errors now: λmax {abs(both.largest - spectrum[-1]):.2g}, "
        f"λmin {abs(both.smallest - spectrum[0]):.2g}; before, shifted: "
        f"{abs(before[1][1] - spectrum[0]):.2g})"
    )

    tols = (HESSIAN_TOLERANCE, 1e-4)
    steps = krylov_floor(dense, spectrum, tols)
    print("\nKrylov floor (exact Lanczos steps until below tol·(λmax − λmin))")
    print(f"{'tol':>7} {'test':<9} {'λmax':>5} {'λmin':>5} {'λmin/λmax':>10}")
    for tol in tols:
        for test in ("residual", "error"):
            top, bottom = steps[("max", test, tol)], steps[("min", test, tol)]
            print(f"{tol:7.0e} {test:<9} {top:5d} {bottom:5d} {bottom / top:10.2f}")
    for block in (2, 4, 8):
        found = block_krylov_floor(dense, spectrum, HESSIAN_TOLERANCE, block)
        print(
            f"{HESSIAN_TOLERANCE:7.0e} block {block:<3d} {found['max']:5d} {found['min']:5d} "
            f"{found['min'] / found['max']:10.2f}   (products, residual test)"
        )
    gaps = np.diff(spectrum[:2])[0], np.diff(spectrum[-2:])[0]
    print(f"gap next to λmin {gaps[0]:.3g}, next to λmax {gaps[1]:.3g}")
    single, batched = batched_product_seconds(
        model, data["x_train"][subset], data["y_train"][subset]
    )
    print(
        "a block method pays off only where a block's products cost less than as many single "
        f"ones: 8 batched products (torch.func vmap of forward-over-reverse) took "
        f"{batched / (8 * single):.2f}× the time of 8 single ones per product"
    )

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
