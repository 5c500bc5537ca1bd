"""What the engine's graph rewrites (``losslandscape.inference_plan``) gain, in one run.

For the default mnist1d CNN with each study activation, on one thread, it times a grid
point's forward passes over the training and test sets (4,000 + 1,000 signals, batch
1,000, logits reduced to loss and accuracy as the engine does) through

- ``plain``: the engine's model copy unplanned (channels-last convolutions, in-place
  activations), fed the data channels-last;
- ``planned``: the copy the engine runs (:func:`evaluation_copy`: planned, its weights
  stored as the plan reads them), fed its prepared batches;

alternating the two for ``--rounds`` rounds (this machine's speed drifts by ±30 % within
minutes), and prints points per second of each (best round), the median of the per-round
ratios, and the largest difference between their logits.

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


def compare(activation: str, data: dict, rounds: int, points: int) -> tuple:
    torch.manual_seed(0)
    model = build_model("mnist1d_cnn", activation, input_length=40, n_classes=10).eval()
    sample = data["x_train"][:1]
    twin, twin_flat, unplanned, _ = evaluation_copy(model, sample, rewrite=False)
    _, flat, plan, _ = evaluation_copy(model, sample)
    raw, prepared = [], []
    for split in ("train", "test"):
        inputs, labels = data[f"x_{split}"], data[f"y_{split}"]
        for start in range(0, len(inputs), BATCH):
            batch = inputs[start : start + BATCH]
            raw.append((unplanned.prepare(batch), labels[start : start + BATCH]))
            prepared.append((plan.prepare(batch), labels[start : start + BATCH]))
    with torch.inference_mode():
        difference = max(
            float((plan.forward(p) - twin(r)).abs().max() / twin(r).abs().max())
            for (r, _), (p, _) in zip(raw, prepared, strict=True)
        )
        plain, planned = [], []
        for _ in range(rounds):
            plain.append(point_rate(twin, raw, twin_flat, points))
            planned.append(point_rate(plan.forward, prepared, flat, points))
    ratio = float(np.median(np.array(planned) / np.array(plain)))
    return max(plain), max(planned), ratio, difference, plan.rewrites


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
    print(f"{args.rounds} alternating rounds; ratio: median of the rounds' planned/plain\n")
    print(f"{'activation':12}{'plain':>8}{'planned':>9}{'ratio':>7}{'max rel diff':>14}  rewrites")
    for activation in args.activations:
        plain, planned, ratio, difference, rewrites = compare(
            activation, data, args.rounds, args.points
        )
        print(
            f"{activation:12}{plain:8.1f}{planned:9.1f}{ratio:6.2f}x{difference:14.1e}  "
            + "; ".join(rewrites)
        )


if __name__ == "__main__":
    main()
