"""Peak memory of grid evaluation: bounded by ``memory_budget_mb``, whatever the grid size.

Each measurement runs in a fresh process: it builds the model and data, records the peak
resident memory so far (``ru_maxrss``), evaluates the points with the ``point`` strategy
under the budget, and records the peak again. Printed per (model, budget, points): the
batch size the budget allowed, the peak after setting up, the peak after evaluating and the
growth between them. The budget bounds the activations of one forward pass; evaluation
adds a fixed overhead (the model's flat-vector copy, oneDNN's workspace, modules imported on
first use) of tens of MiB. The script fails when the growth exceeds the budget plus
``OVERHEAD_MIB`` or grows with the number of points.

Run: python benchmarks/grid_memory.py [--points 16 64 1024] [--budgets 16 64 256]
"""

import argparse
import multiprocessing
import resource

import numpy as np
import torch

from losslandscape.engine.budget import budget_batch_size
from losslandscape.engine.cpu.allocator import keep_freed_memory
from losslandscape.engine.strategies import EvaluationOptions, evaluate_points
from losslandscape.models.registry import build_model, data_kwargs
from losslandscape.parameters import ParameterLayout
from losslandscape.planes.directions import random_directions
from losslandscape.seeding import generator_for

CASES = {
    # name: (model, input shape, training samples): a CIFAR-shaped CNN, whose activations
    # (about 400 kB per image) make the budget bite
    "small_cnn2d": ("small_cnn2d", (3, 32, 32), 500),
    "mnist1d_cnn": ("mnist1d_cnn", (40,), 4000),
}


OVERHEAD_MIB = 64  # fixed evaluation overhead allowed beyond the budget


def grid_noise_mib(budget_mb: float) -> float:
    """Allocator noise allowed between grid sizes: the peak of identical runs spreads with
    the batch (small_cnn2d at a 256 MiB budget: 133–172 MiB at 64 points, 125–205 at 16,
    over two days; one run gave 125 at 16 and 172 at 64, 47 apart), while a per-point leak
    would grow with the 4–64× more points (the mnist1d CNN's 16 → 1024 points, within
    2 MiB of each other, are the sensitive check)."""
    return 8 + 0.2 * budget_mb


def peak_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(case: str, budget_mb: float, points: int) -> dict:
    keep_freed_memory()
    torch.set_num_threads(1)
    name, shape, n = CASES[case]
    gen = generator_for(0, "benchmark_memory")
    splits = {
        "train": (torch.randn(n, *shape, generator=gen), torch.randint(0, 10, (n,), generator=gen))
    }
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(name, "relu", **data_kwargs(name, list(shape), 10)).eval()
    layout = ParameterLayout.of(model)
    weights = {k: p.detach().clone() for k, p in model.named_parameters()}
    u, v, _ = random_directions(weights, seed=0)
    origin, u, v = layout.flatten(weights), layout.flatten(u), layout.flatten(v)
    options = EvaluationOptions(batch_size=n, memory_budget_mb=budget_mb)
    batch = budget_batch_size(model, splits["train"][0][:1], n, budget_mb)
    coords = np.random.default_rng(0).uniform(-1, 1, (points, 2))
    before = peak_mib()
    evaluate_points(model, origin, u, v, coords, splits, "point", options)
    after = peak_mib()
    return {"batch": batch, "before": before, "after": after}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, nargs="+", default=[16, 64, 1024])
    parser.add_argument("--budgets", type=float, nargs="+", default=[16, 64, 256])
    parser.add_argument("--cases", nargs="+", default=list(CASES))
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")  # a fresh process: its own peak
    print(
        f"{'model':<12} {'budget MiB':>10} {'points':>7} {'batch':>6} "
        f"{'peak setup MiB':>15} {'peak eval MiB':>14} {'growth MiB':>11}"
    )
    failures = []
    for case in args.cases:
        for budget in args.budgets:
            growths = []
            for points in args.points:
                if case == "small_cnn2d" and points > 64:
                    continue  # 10 GFLOP a point: the small grids already show the bound
                with context.Pool(1) as pool:
                    r = pool.apply(measure, (case, budget, points))
                growth = max(0.0, r["after"] - r["before"])
                growths.append(growth)
                print(
                    f"{case:<12} {budget:>10.0f} {points:>7} {r['batch']:>6} "
                    f"{r['before']:>15.0f} {r['after']:>14.0f} {growth:>11.0f}"
                )
                if growth > budget + OVERHEAD_MIB:
                    failures.append(
                        f"{case} at {budget:.0f} MiB and {points} points grew {growth:.0f} MiB"
                    )
            # the bound must not depend on the grid size
            if growths and max(growths) > growths[0] + grid_noise_mib(budget):
                failures.append(f"{case} at {budget} MiB grows with the grid: {growths}")
    if failures:
        raise SystemExit("memory bound broken: " + "; ".join(failures))
    print(
        f"every evaluation stayed within its budget plus {OVERHEAD_MIB} MiB, and memory did not "
        "grow with the grid"
    )


if __name__ == "__main__":
    main()
