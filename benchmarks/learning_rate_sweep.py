"""Learning-rate sweep for the default study: which Adam rate per activation trains lowest?

The default study (config/config.yaml) trains the mnist1d paper's CNN (``mnist1d_cnn``,
Greydanus 2020) on mnist1d with Adam, batch 100, for 40 epochs. The landscapes are drawn
around each run's final weights, so each activation should end at a minimum: a training
loss near zero, not a point still descending. This script sweeps the learning rate for
that setting under a cosine schedule (``train_run(cosine=True)``: from the rate to 0 over
the run, Loshchilov & Hutter 2017, SGDR eq. 5) and records whether each run reaches a
training-loss target (``train_run(target_loss=...)``):

1. Data: mnist1d built offline as the workflow's prepare stage does
   (``prepare_dataset("mnist1d")``: 4000/1000 signals of length 40, 10 classes,
   standardized).
2. Runs: for each activation in ``--activations`` (sigmoid, tanh, relu, leaky_relu; slope
   ``--leaky-relu-slope`` 0.01 as the config), each rate in ``--rates`` (0.003, 0.01,
   0.03) and each seed in ``--seeds`` (42), ``train_run`` for ``--epochs`` (40) epochs,
   batch 100, Adam without weight decay, cosine schedule, target ``--target`` (0.05 nats).
   One thread (``torch.set_num_threads(1)``), as the workflow's training jobs.
3. Table: one row per (activation, rate, seed): the final epoch's training loss (mean
   cross-entropy over the training set in nats, eval mode), training and test accuracy,
   ``target_epoch`` (the first epoch with training loss ≤ the target, −1: never), the
   epoch the run diverged at (−1: it did not) and the run's seconds.
4. Choice: per activation, the rate with the lowest mean final training loss over the
   seeds (a rate with a diverged seed counts as +∞), with its mean test accuracy and how
   many seeds reached the target.

The full default sweep is 4 × 3 = 12 runs of 40 epochs; ``--quick`` is a smoke test
(2 epochs, one rate, two activations).

Run: python benchmarks/learning_rate_sweep.py [--activations sigmoid tanh relu leaky_relu]
[--rates 0.003 0.01 0.03] [--seeds 42] [--epochs 40] [--target 0.05] [--quick]
"""

import argparse
import math
import statistics
import time

import torch

from losslandscape.data.datasets import prepare_dataset
from losslandscape.engine.cpu.allocator import keep_freed_memory
from losslandscape.training.loop import train_run

MODEL = "mnist1d_cnn"
BATCH_SIZE = 100
QUICK = {"activations": ["relu", "tanh"], "rates": [0.01], "epochs": 2}
FULL = {
    "activations": ["sigmoid", "tanh", "relu", "leaky_relu"],
    "rates": [0.003, 0.01, 0.03],
    "epochs": 40,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--activations", nargs="+", default=None, help="(sigmoid tanh relu leaky_relu)"
    )
    parser.add_argument("--rates", type=float, nargs="+", default=None, help="(0.003 0.01 0.03)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--epochs", type=int, default=None, help="per run (40)")
    parser.add_argument(
        "--target", type=float, default=0.05, help="training-loss target in nats (0.05)"
    )
    parser.add_argument("--leaky-relu-slope", type=float, default=0.01)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke test: activations relu and tanh, rate 0.01, 2 epochs (each unless given)",
    )
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def train_one(dataset: dict, activation: str, rate: float, seed: int, args) -> dict:
    """One run's row of the table: its final epoch and whether it reached the target."""
    started = time.perf_counter()
    checkpoints, history = train_run(
        dataset,
        MODEL,
        activation,
        seed,
        args.epochs,
        learning_rate=rate,
        batch_size=BATCH_SIZE,
        optimizer="adam",
        model_kwargs={"leaky_relu_slope": args.leaky_relu_slope},
        cosine=True,
        target_loss=args.target,
    )
    final = history.iloc[-1]  # a diverged run's last row has a non-finite loss
    return {
        "activation": activation,
        "rate": rate,
        "seed": seed,
        "train_loss": float(final["train_loss"]),
        "train_accuracy": float(final["train_accuracy"]),
        "test_accuracy": float(final["test_accuracy"]),
        "target_epoch": checkpoints["target_epoch"],
        "diverged_epoch": checkpoints["diverged_epoch"],
        "seconds": time.perf_counter() - started,
    }


def best_rates(rows: list[dict]) -> list[str]:
    """Per activation: the rate with the lowest mean final training loss over seeds."""
    lines = [
        f"{'activation':12} {'best rate':>9} {'mean train loss':>16} {'mean test acc':>14} "
        f"{'reached target':>15}"
    ]
    for activation in dict.fromkeys(row["activation"] for row in rows):
        by_rate = {}
        for row in rows:
            if row["activation"] == activation:
                by_rate.setdefault(row["rate"], []).append(row)
        rate, runs = min(
            by_rate.items(),
            key=lambda item: statistics.mean(
                r["train_loss"] if math.isfinite(r["train_loss"]) else math.inf for r in item[1]
            ),
        )
        loss = statistics.mean(r["train_loss"] for r in runs)
        accuracy = statistics.mean(r["test_accuracy"] for r in runs)
        reached = sum(r["target_epoch"] >= 0 for r in runs)
        lines.append(
            f"{activation:12} {rate:9.4g} {loss:16.4f} {100 * accuracy:13.1f}% "
            f"{f'{reached}/{len(runs)}':>15}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    torch.set_num_threads(1)
    keep_freed_memory()
    dataset = prepare_dataset("mnist1d")
    print(
        f"mnist1d, {MODEL}, Adam, batch {BATCH_SIZE}, cosine schedule over {args.epochs} "
        f"epochs, target {args.target} nats, seeds {args.seeds}, 1 thread\n"
    )
    print(
        f"{'activation':12} {'rate':>7} {'seed':>5} {'train loss':>11} {'train acc':>10} "
        f"{'test acc':>9} {'target epoch':>13} {'diverged':>9} {'s':>7}"
    )
    rows = []
    for activation in args.activations:
        for rate in args.rates:
            for seed in args.seeds:
                row = train_one(dataset, activation, rate, seed, args)
                rows.append(row)
                print(
                    f"{activation:12} {rate:7.4g} {seed:5d} {row['train_loss']:11.4f} "
                    f"{100 * row['train_accuracy']:9.1f}% {100 * row['test_accuracy']:8.1f}% "
                    f"{row['target_epoch']:13d} {row['diverged_epoch']:9d} "
                    f"{row['seconds']:7.1f}",
                    flush=True,
                )
    print()
    print("\n".join(best_rates(rows)))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.quick:
        print("--quick: a smoke test at a tiny size; its rates and losses choose nothing.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
