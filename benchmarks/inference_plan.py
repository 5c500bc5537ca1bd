"""What the engine's graph rewrites (``losslandscape.inference_plan``) gain, in one run.

For the default mnist1d CNN with each study activation, on one thread, it times a grid
point's forward passes over the training and test sets (4,000 + 1,000 signals, batch
1,000, logits reduced to loss and accuracy as the engine does) through

- ``plain``: the engine's model copy unplanned (channels-last convolutions, in-place
  activations), fed the data channels-last;
- ``gemm``: the copy the engine runs (:func:`evaluation_copy`: planned, its weights
  stored as the plan reads them), fed its prepared batches, its products torch's batched
  GEMM;
- ``kernel``: the same with the C kernel (``losslandscape.native_kernel``), as the engine
  runs it where the kernel builds;

alternating the three for ``--rounds`` rounds (this machine's speed drifts by ±30 % within
minutes), and prints points per second of each (best round), the medians of the
per-round ratios gemm/plain, kernel/plain and kernel/gemm, and the largest relative
difference of the planned logits from the plain model's.

Run: python benchmarks/inference_plan.py [--rounds R] [--points P]
"""

import argparse
import time

import numpy as np
import torch

from losslandscape.allocator import keep_freed_memory
from losslandscape.datasets import prepare_dataset
from losslandscape.engine import cross_entropy_and_prediction, evaluation_copy
from losslandscape.models import build_model

BATCH = 1000


def point_rate(forward, batches, flat: torch.Tensor, points: int) -> float:
    """Points/s of ``points`` grid points, each moving the weights and reducing every
    batch's logits to summed loss, squared loss and correct predictions."""
    sums = torch.zeros(3, dtype=torch.float64)
    started = time.perf_counter()
    for _ in range(points):
        flat.add_(1e-3)  # another point, as the engine's in-place move
        for inputs, labels in batches:
            losses, predicted = cross_entropy_and_prediction(forward(inputs), labels)
            losses = losses.double()
            sums += torch.stack([losses.sum(), losses.square().sum(), (predicted == labels).sum()])
    return points / (time.perf_counter() - started)


def _batches(prepare, data: dict) -> list[tuple[torch.Tensor, torch.Tensor]]:
    out = []
    for split in ("train", "test"):
        inputs, labels = data[f"x_{split}"], data[f"y_{split}"]
        for start in range(0, len(inputs), BATCH):
            out.append((prepare(inputs[start : start + BATCH]), labels[start : start + BATCH]))
    return out


def compare(activation: str, data: dict, rounds: int, points: int) -> tuple:
    """Best points/s of plain, gemm and kernel, the medians of the per-round ratios
    gemm/plain, kernel/plain and kernel/gemm, the largest relative difference of the
    planned logits from the plain model's, and the kernel plan's rewrites."""
    torch.manual_seed(0)
    model = build_model("mnist1d_cnn", activation, input_length=40, n_classes=10).eval()
    sample = data["x_train"][:1]
    runs = {}  # name → (forward, batches, flat vector)
    variants = (("plain", False, False), ("gemm", True, False), ("kernel", True, True))
    for name, rewrite, native in variants:
        _, flat, plan, _ = evaluation_copy(model, sample, rewrite=rewrite, native=native)
        runs[name] = (plan.forward, _batches(plan.prepare, data), flat)
    rewrites = plan.rewrites  # the kernel's
    with torch.inference_mode():
        plain_forward, plain_batches, _ = runs["plain"]
        difference = max(
            float((forward(p) - plain_forward(r)).abs().max() / plain_forward(r).abs().max())
            for forward, batches, _ in (runs["gemm"], runs["kernel"])
            for (r, _), (p, _) in zip(plain_batches, batches, strict=True)
        )
        rates = {name: [] for name in runs}
        for _ in range(rounds):
            for name, run in runs.items():
                rates[name].append(point_rate(*run, points))
    rates = {name: np.array(values) for name, values in rates.items()}
    ratios = [
        float(np.median(rates[a] / rates[b]))
        for a, b in (("gemm", "plain"), ("kernel", "plain"), ("kernel", "gemm"))
    ]
    return {name: values.max() for name, values in rates.items()}, ratios, difference, rewrites


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds")
    parser.add_argument("--points", type=int, default=10, help="grid points per round")
    parser.add_argument(
        "--activations", nargs="+", default=["relu", "leaky_relu", "sigmoid", "elu"]
    )
    args = parser.parse_args()
    keep_freed_memory()
    torch.set_num_threads(1)
    data = prepare_dataset("mnist1d")
    print("mnist1d CNN, 4000+1000 signals, batch 1000, 1 thread; points/s, best of")
    print(f"{args.rounds} alternating rounds; ratios: medians of the rounds' ratios\n")
    header = ["plain", "gemm", "kernel", "gemm/plain", "kernel/plain", "kernel/gemm"]
    print(f"{'activation':12}" + "".join(f"{h:>13}" for h in header) + f"{'max rel diff':>14}")
    for activation in args.activations:
        rates, ratios, difference, rewrites = compare(activation, data, args.rounds, args.points)
        print(
            f"{activation:12}"
            + "".join(f"{rates[name]:13.1f}" for name in ("plain", "gemm", "kernel"))
            + "".join(f"{ratio:12.2f}x" for ratio in ratios)
            + f"{difference:14.1e}"
        )
    print(f"\nkernel plan: {'; '.join(rewrites)}")


if __name__ == "__main__":
    main()
