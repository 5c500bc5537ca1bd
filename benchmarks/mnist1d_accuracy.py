"""Published-number check: the mnist1d MLP and CNN trained with the paper's settings.

Greydanus (2020), "Scaling down deep learning", reports test accuracy ≈ 68 % for the MLP
(40-100-100-10) and ≈ 94 % for the CNN (5,210 parameters) on mnist1d. The paper's code
trains with Adam, learning rate 1e-2, batch 100, no weight decay, for 6000 steps (150
epochs of the 4000 training signals). This script does the same through
``losslandscape.training.loop.train_run`` for several seeds and prints the final test accuracy
beside the paper's; it exits non-zero when a model is more than 3 points away.

Run: python benchmarks/mnist1d_accuracy.py [--seeds 0 1 2] [--epochs 150]
"""

import argparse
import statistics
import time

import torch

from losslandscape.data.datasets import prepare_dataset
from losslandscape.engine.cpu.allocator import keep_freed_memory
from losslandscape.training.loop import train_run

PAPER = {"mlp": 0.68, "mnist1d_cnn": 0.94}
TOLERANCE = 0.03


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=150, help="150 epochs = 6000 steps")
    args = parser.parse_args()
    torch.set_num_threads(1)
    keep_freed_memory()
    dataset = prepare_dataset("mnist1d")
    print(f"mnist1d, Adam lr 1e-2, batch 100, {args.epochs} epochs, seeds {args.seeds}\n")
    print(
        f"{'model':12} {'per seed':>28} {'mean':>7} {'paper':>7} {'within 3 pts':>13} {'s/run':>6}"
    )
    failed = False
    for name, paper in PAPER.items():
        accuracies, started = [], time.perf_counter()
        for seed in args.seeds:
            _, history = train_run(
                dataset, name, "relu", seed, args.epochs, learning_rate=1e-2, batch_size=100
            )
            accuracies.append(float(history["test_accuracy"].iloc[-1]))
        seconds = (time.perf_counter() - started) / len(args.seeds)
        mean = statistics.mean(accuracies)
        ok = abs(mean - paper) <= TOLERANCE
        failed |= not ok
        per_seed = " ".join(f"{100 * a:.1f}" for a in accuracies)
        print(
            f"{name:12} {per_seed:>28} {100 * mean:6.1f}% {100 * paper:6.1f}% "
            f"{'yes' if ok else 'NO':>13} {seconds:6.1f}"
        )
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
