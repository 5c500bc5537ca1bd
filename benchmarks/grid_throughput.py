"""Grid points per second: the reference loop against our engine, in one run.

For each model (the default mnist1d CNN, the mnist1d MLP, a CIFAR-shaped 2-D CNN on
synthetic 3×32×32 images) it evaluates train and test loss and accuracy on a random
filter-normalized plane and prints

- points/s of (a) the reference loop (Li et al.: copy the point's weights into the model,
  DataLoader of batch 128) and (b) our engine (``losslandscape.landscape.evaluate_grid``),
  and their ratio;
- the float32 matmul rate of this machine, measured in the same run with the same threads;
- FLOPs per grid point (``torch.utils.flop_counter``, forward over both splits) and the
  fraction of the matmul rate our engine reaches;
- the largest relative difference between the two methods on the points both evaluated
  (must be ≤ 1e-5).

Run: python benchmarks/grid_throughput.py [--threads 1] [--batch-size 1000]
"""

import argparse
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from losslandscape.allocator import keep_freed_memory
from losslandscape.datasets import prepare_dataset
from losslandscape.directions import random_directions
from losslandscape.landscape import evaluate_grid, evaluate_grid_reference
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


def cases() -> list[tuple[str, str, dict]]:
    """(label, model name, splits) for each benchmarked model."""
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
    return [
        ("mnist1d CNN (default), 4000+1000 signals", "mnist1d_cnn", one_d),
        ("mnist1d MLP 40-100-100-10, 4000+1000 signals", "mlp", one_d),
        ("small_cnn2d (188,810 params), 2000+500 synthetic 3x32x32", "small_cnn2d", images),
    ]


def flops_per_point(model: torch.nn.Module, splits: dict) -> float:
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        for inputs, _ in splits.values():
            model(inputs)
    return float(counter.get_total_flops())


def points_per_second(function, xs: np.ndarray, ys: np.ndarray) -> tuple[float, dict]:
    started = time.perf_counter()
    result = function(xs, ys)
    return len(xs) * len(ys) / (time.perf_counter() - started), result


def max_relative_difference(ours: dict, reference: dict) -> float:
    return max(
        float(np.max(np.abs(ours[k] - reference[k]) / np.maximum(np.abs(reference[k]), 1e-12)))
        for k in reference
    )


def benchmark(name: str, splits: dict, batch_size: int) -> dict[str, float]:
    """Reference and engine points/s, FLOPs per point and their disagreement for one model."""
    inputs = splits["train"][0]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(name, "relu", **data_kwargs(name, list(inputs.shape[1:]), 10)).eval()
    layout = ParameterLayout.of(model)
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    u, v, _ = random_directions(weights, seed=0)
    plane = (model, layout.flatten(weights), layout.flatten(u), layout.flatten(v))
    ref_axis, axis = np.linspace(-0.5, 0.5, 2), np.linspace(-0.5, 0.5, 5)
    ref_rate, ref_values = points_per_second(
        lambda xs, ys: evaluate_grid_reference(*plane, xs, ys, splits), ref_axis, ref_axis
    )

    def engine(xs, ys):
        return evaluate_grid(*plane, xs, ys, splits, batch_size=batch_size)

    engine(ref_axis[:1], ref_axis[:1])  # warm-up
    rate, _ = points_per_second(engine, axis, axis)
    check = engine(ref_axis, ref_axis)
    return {
        "reference": ref_rate,
        "engine": rate,
        "flops": flops_per_point(model, splits),
        "difference": max_relative_difference(check, ref_values),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 per workflow job)")
    parser.add_argument("--batch-size", type=int, default=1000, help="engine samples per pass")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    peak = matmul_gflops()
    print(f"threads {args.threads}; float32 matmul {peak:.1f} GFLOP/s (2048x2048, measured now)\n")
    header = ("model", "reference", "engine", "ratio", "MFLOP/pt", "of peak", "max rel diff")
    print(
        f"{header[0]:58} {header[1]:>10} {header[2]:>8} {header[3]:>6} {header[4]:>9} "
        f"{header[5]:>8} {header[6]:>13}"
    )
    worst = 0.0
    for label, name, splits in cases():
        r = benchmark(name, splits, args.batch_size)
        worst = max(worst, r["difference"])
        fraction = r["engine"] * r["flops"] / (peak * 1e9)
        print(
            f"{label:58} {r['reference']:10.1f} {r['engine']:8.1f} "
            f"{r['engine'] / r['reference']:5.1f}x {r['flops'] / 1e6:9.1f} "
            f"{100 * fraction:7.1f}% {r['difference']:13.2e}"
        )
    status = "agree" if worst <= TOLERANCE else "DISAGREE"
    print(f"\nengine and reference {status}: max relative difference {worst:.2e}", end=" ")
    print(f"(limit {TOLERANCE:g})")
    if worst > TOLERANCE:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
