"""Grid points per second: the reference loop against every engine strategy, in one run.

For each model (the default mnist1d CNN, the mnist1d MLP, a CIFAR-shaped 2-D CNN on
synthetic 3×32×32 images) it evaluates train and test loss and accuracy on a random
filter-normalized plane and prints

- points/s of (a) the reference loop (Li et al.: copy the point's weights into the model,
  DataLoader of batch 128) at the better of 1 and ``--threads`` torch threads, and (b) each
  strategy of
  ``losslandscape.engine``: ``point``, ``vmap`` and ``compile`` with one thread, ``pool``
  with ``--threads`` one-thread workers; the best strategy's ratio to the reference;
- the float32 matmul rate of this machine with ``--threads`` threads, measured in the same
  run, and the fraction of it the best strategy reaches (FLOPs per grid point counted with
  ``torch.utils.flop_counter``, forward over both splits);
- the largest relative difference of each strategy from the reference loop on the points
  both evaluated (must be ≤ 1e-5);
- for the default model, the projected time of a 500×500 grid over its training set.

Run: python benchmarks/grid_throughput.py [--threads N] [--models cnn mlp cnn2d]
"""

import argparse
import os
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from losslandscape.allocator import keep_freed_memory
from losslandscape.datasets import prepare_dataset
from losslandscape.directions import random_directions
from losslandscape.engine import STRATEGIES, EvaluationOptions, open_evaluator
from losslandscape.landscape import evaluate_grid_reference, grid_coordinates
from losslandscape.models import build_model, data_kwargs
from losslandscape.parameters import ParameterLayout
from losslandscape.seeding import generator_for

TOLERANCE = 1e-5


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    """Measured float32 ``torch.mm`` rate (GFLOP/s) with the current thread setting."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


def cases() -> dict[str, tuple[str, str, dict]]:
    """key → (label, model name, splits, share of ``--points`` timed) per model."""
    mnist1d = prepare_dataset("mnist1d")
    one_d = {
        "train": (mnist1d["x_train"], mnist1d["y_train"]),
        "test": (mnist1d["x_test"], mnist1d["y_test"]),
    }
    gen = generator_for(0, "benchmark_images")
    images = {
        split: (torch.randn(n, 3, 32, 32, generator=gen), torch.randint(0, 10, (n,), generator=gen))
        for split, n in (("train", 2000), ("test", 500))
    }
    return {
        "cnn": ("mnist1d CNN (default), 4000+1000 signals", "mnist1d_cnn", one_d, 1.0),
        "mlp": ("mnist1d MLP 40-100-100-10, 4000+1000 signals", "mlp", one_d, 1.0),
        "cnn2d": (
            "small_cnn2d (188,810 params), 2000+500 synthetic 3x32x32",
            "small_cnn2d",
            images,
            0.1,  # 100x the FLOPs per point: a tenth of the points
        ),
    }


def flops_per_point(model: torch.nn.Module, splits: dict) -> float:
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        for inputs, _ in splits.values():
            model(inputs)
    return float(counter.get_total_flops())


def max_relative_difference(ours: dict, reference: dict) -> float:
    return max(
        float(np.max(np.abs(ours[k].ravel() - reference[k].ravel()) / np.abs(reference[k]).ravel()))
        for k in reference
    )


def reference_rate(plane, splits, threads: int) -> tuple[float, dict]:
    """Points/s of the reference loop on a 2×2 grid, at the better of 1 and ``threads``
    threads (small-batch convolutions often run slower on more threads), and its values."""
    axis, best, values = np.linspace(-0.5, 0.5, 2), 0.0, {}
    for count in sorted({1, threads}):
        torch.set_num_threads(count)
        started = time.perf_counter()
        values = evaluate_grid_reference(*plane, axis, axis, splits)
        best = max(best, 4 / (time.perf_counter() - started))
    return best, values


def strategy_rate(plane, splits, strategy: str, threads: int, points: int) -> tuple[float, dict]:
    """Points/s of one strategy after a warm-up (compile, worker start-up), and its values
    on the reference's 2×2 grid."""
    workers = threads if strategy == "pool" else 1
    torch.set_num_threads(1)
    coords = np.resize(
        np.random.default_rng(0).uniform(-0.5, 0.5, (points, 2)), (points * workers, 2)
    )
    check = grid_coordinates(np.linspace(-0.5, 0.5, 2), np.linspace(-0.5, 0.5, 2))
    with open_evaluator(*plane, splits, strategy, EvaluationOptions(workers=workers)) as evaluate:
        values = evaluate(check)
        started = time.perf_counter()
        evaluate(coords)
        return len(coords) / (time.perf_counter() - started), values


def benchmark(name: str, splits: dict, threads: int, points: int) -> dict:
    """Reference and per-strategy points/s, FLOPs per point and disagreements."""
    inputs = splits["train"][0]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(name, "relu", **data_kwargs(name, list(inputs.shape[1:]), 10)).eval()
    layout = ParameterLayout.of(model)
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    u, v, _ = random_directions(weights, seed=0)
    plane = (model, layout.flatten(weights), layout.flatten(u), layout.flatten(v))
    result = {"rates": {}, "differences": {}}
    result["reference"], reference = reference_rate(plane, splits, threads)
    for strategy in STRATEGIES:
        try:
            rate, values = strategy_rate(plane, splits, strategy, threads, points)
        except Exception as error:  # e.g. compile without a C++ compiler: report, go on
            print(f"  {strategy}: not available ({type(error).__name__}: {error})")
            continue
        result["rates"][strategy] = rate
        result["differences"][strategy] = max_relative_difference(
            {k: a.reshape(2, 2) for k, a in values.items()}, reference
        )
    torch.set_num_threads(1)
    result["flops"] = flops_per_point(model, splits)
    result["best"] = max(result["rates"], key=result["rates"].get)
    if name == "mnist1d_cnn":  # the 500×500 target is over the training set alone
        rate, _ = strategy_rate(plane, {"train": splits["train"]}, result["best"], threads, points)
        result["grid_500_minutes"] = 500 * 500 / rate / 60
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count(), help="cores to use (default: all)"
    )
    parser.add_argument("--points", type=int, default=40, help="timed points per strategy")
    parser.add_argument("--models", nargs="+", default=["cnn", "mlp", "cnn2d"])
    args = parser.parse_args()
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    peak = matmul_gflops()
    print(f"{args.threads} cores; float32 matmul {peak:.1f} GFLOP/s with {args.threads} threads")
    print("reference: Li et al. loop, batch 128, best of 1 and all threads;")
    print("point/vmap/compile: 1 thread;", end=" ")
    print(f"pool: {args.threads} one-thread workers. Rates in grid points per second.\n")
    columns = ("reference", *STRATEGIES)
    print(f"{'model':58}" + "".join(f"{c:>10}" for c in columns) + "  best/ref  of peak")
    worst = 0.0
    everything = cases()
    for key in args.models:
        label, name, splits, share = everything[key]
        r = benchmark(name, splits, args.threads, max(2, round(share * args.points)))
        rates = [r["reference"], *(r["rates"].get(s, float("nan")) for s in STRATEGIES)]
        best_rate = r["rates"][r["best"]]
        fraction = best_rate * r["flops"] / (peak * 1e9)
        print(
            f"{label:58}"
            + "".join(f"{rate:10.1f}" for rate in rates)
            + f"  {best_rate / r['reference']:7.1f}x  {100 * fraction:6.1f}%"
        )
        differences = ", ".join(f"{s} {d:.1e}" for s, d in r["differences"].items())
        print(f"{'':4}{r['flops'] / 1e6:.1f} MFLOP per point; max rel diff {differences}")
        if "grid_500_minutes" in r:
            print(
                f"{'':4}500x500 grid over the training set with {r['best']}: "
                f"{r['grid_500_minutes']:.1f} min projected"
            )
        worst = max(worst, *r["differences"].values())
    status = "agree" if worst <= TOLERANCE else "DISAGREE"
    print(
        f"\nall strategies and the reference {status}: max relative difference {worst:.2e}", end=""
    )
    print(f" (limit {TOLERANCE:g})")
    if worst > TOLERANCE:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
