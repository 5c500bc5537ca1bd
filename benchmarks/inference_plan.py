"""What the engine's graph rewrites (``losslandscape.engine.cpu.inference_plan``) gain, in one run.

For the default mnist1d CNN with each study activation, on one thread, it times a grid
point's forward passes over the training and test sets (4,000 + 1,000 signals, batch
1,000, logits reduced to loss and accuracy as the engine does) through

- ``plain``: the engine's model copy unplanned (channels-last convolutions, in-place
  activations), fed the data channels-last;
- ``gemm``: the copy the engine runs (:func:`evaluation_copy`: planned, its weights
  stored as the plan reads them), fed its prepared batches, its products torch's batched
  GEMM;
- ``kernel``: the same with the products in the C kernel
  (``losslandscape.engine.cpu.native_kernel``),
  its logits reduced by torch;
- ``fused``: as the engine runs it where the kernels build: the products, and the loss
  sums from the head's output, in C;

alternating the four for ``--rounds`` rounds (this machine's speed drifts by ±30 % within
minutes), and prints points per second of each (best round), the medians of the
per-round ratios of each to the one before and of the last to the first, and the largest
relative difference of the planned logits and the fused loss sums (one point, both
splits) from the plain model's.

Run: python benchmarks/inference_plan.py [--rounds R] [--points P]
"""

import argparse
import time
from dataclasses import replace

import numpy as np
import torch

from losslandscape.data.datasets import prepare_dataset
from losslandscape.engine.cpu.allocator import keep_freed_memory
from losslandscape.engine.loss import LossSums
from losslandscape.engine.model_copy import evaluation_copy
from losslandscape.models.registry import build_model

BATCH = 1000
VARIANTS = ("plain", "gemm", "kernel", "fused")
RATIOS = (("gemm", "plain"), ("kernel", "gemm"), ("fused", "kernel"), ("fused", "plain"))


def point_rate(
    plan, batches, flat: torch.Tensor, points: int, sums: LossSums | None = None
) -> float:
    """Points/s of ``points`` grid points, each moving the weights and adding every
    batch's summed loss, squared loss and correct predictions to ``sums`` (one point)
    as the engine does: in the plan's own step where it has one (the C kernel's), from
    its logits otherwise."""
    sums = LossSums(1, "cpu") if sums is None else sums
    started = time.perf_counter()
    for _ in range(points):
        flat.add_(1e-3)  # another point, as the engine's in-place move
        for inputs, labels in batches:
            if plan.add_loss_sums is not None:
                plan.add_loss_sums(inputs, labels, sums.sums[:, 0])
                continue
            sums.add(0, plan.forward(inputs), labels)
    return points / (time.perf_counter() - started)


def _batches(prepare, data: dict) -> list[tuple[torch.Tensor, torch.Tensor]]:
    out = []
    for split in ("train", "test"):
        inputs, labels = data[f"x_{split}"], data[f"y_{split}"]
        for start in range(0, len(inputs), BATCH):
            out.append((prepare(inputs[start : start + BATCH]), labels[start : start + BATCH]))
    return out


def compare(activation: str, data: dict, rounds: int, points: int) -> tuple:
    """Best points/s of each of :data:`VARIANTS`, the medians of the per-round
    :data:`RATIOS`, the largest relative difference of the planned logits from the plain
    model's, and the kernel plan's rewrites."""
    torch.manual_seed(0)
    model = build_model("mnist1d_cnn", activation, input_length=40, n_classes=10).eval()
    sample = data["x_train"][:1]
    runs = {}  # name → (plan, batches, flat vector)
    variants = (("plain", False, False), ("gemm", True, False), ("kernel", True, True))
    for name, rewrite, native in variants:
        _, flat, plan, _ = evaluation_copy(model, sample, rewrite=rewrite, native=native)
        runs[name] = (plan, _batches(plan.prepare, data), flat)
    fused, batches, flat = runs["kernel"]
    runs["kernel"] = (replace(fused, add_loss_sums=None), batches, flat)
    runs["fused"] = (fused, batches, flat)
    rewrites = fused.rewrites
    with torch.inference_mode():
        plain, plain_batches, _ = runs["plain"]
        difference = max(
            float((ran.forward(p) - plain.forward(r)).abs().max() / plain.forward(r).abs().max())
            for ran, batches, _ in (runs["gemm"], runs["kernel"])
            for (r, _), (p, _) in zip(plain_batches, batches, strict=True)
        )
        # the fused loss sums against the plain model's logits reduced by torch
        sums = {name: LossSums(1, "cpu") for name in ("plain", "fused")}
        point_rate(plain, plain_batches, torch.zeros(1), 1, sums["plain"])
        point_rate(fused, batches, torch.zeros(1), 1, sums["fused"])
        fused_sums, plain_sums = sums["fused"].sums, sums["plain"].sums
        difference = max(difference, float(((fused_sums - plain_sums) / plain_sums).abs().max()))
        rates = {name: [] for name in runs}
        for _ in range(rounds):
            for name, run in runs.items():
                rates[name].append(point_rate(*run, points))
    rates = {name: np.array(values) for name, values in rates.items()}
    ratios = [float(np.median(rates[a] / rates[b])) for a, b in RATIOS]
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
    header = [*VARIANTS, *(f"{a}/{b}" for a, b in RATIOS)]
    print(f"{'activation':12}" + "".join(f"{h:>13}" for h in header) + f"{'max rel diff':>14}")
    for activation in args.activations:
        rates, ratios, difference, rewrites = compare(activation, data, args.rounds, args.points)
        print(
            f"{activation:12}"
            + "".join(f"{rates[name]:13.1f}" for name in VARIANTS)
            + "".join(f"{ratio:12.2f}x" for ratio in ratios)
            + f"{difference:14.1e}"
        )
    print(f"\nkernel plan: {'; '.join(rewrites)}")


if __name__ == "__main__":
    main()
