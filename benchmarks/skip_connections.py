"""Skip connections and the shape of the minimum: do the project's metrics see Li et al.?

Li et al. (2018, "Visualizing the Loss Landscape of Neural Nets", §5, Fig. 5 and Table 2)
show that a ResNet without its skip connections ("noshort") has, once trained, a
narrower, more sharply curved, more non-convex and more chaotic minimum on a
filter-normalized random plane than the same network with them; ResNet-20 noshort is
still fairly convex, ResNet-56 and -110 noshort are chaotic. This script repeats the
comparison on an offline data set and reads it off
``losslandscape.metrics.landscape.landscape_metrics``
(default options):

1. Data: scikit-learn's digits (1,438 training images 8×8, 10 classes) through
   ``prepare_dataset("digits")``, one channel added: ``(n, 1, 8, 8)``.
2. Models: the shipped ``CifarResNet`` (ReLU) of ``--depth`` layers with and without skips,
   the same seed. Each is trained until its training accuracy (eval mode, the trained
   BatchNorm running statistics, the whole training set) reaches ``--target-accuracy``
   (95 %), at most ``--max-epochs`` epochs: SGD with Nesterov momentum 0.9, learning rate
   ``--lr`` (0.02) after a linear warm-up of 3 epochs, cosine decay over ``--max-epochs``,
   batch 64, gradients clipped to norm 1 (Li et al.: SGD 0.1, batch 128, 300 epochs on
   CIFAR-10). Without skips, a deep net learns slowly and unstably; measured here at depth
   56: SGD 0.1 for 30 epochs reached 41 %, Adam 1e-3 68 % (with a warm-up it collapsed to
   10 % after 37 epochs; its eval-mode accuracy swings with the BatchNorm statistics),
   Adam 3e-4 59 % and Adam 1e-4 31 % after 60 epochs, SGD 0.05 stalled near 55 %; this
   recipe reaches 95 % in 25–31 epochs (seeds 0–2). A net that misses the target is
   reported and the script exits 1: an untrained net is chaotic whatever its
   architecture, and comparing one proves nothing.
3. Planes: one random plane per net (``random_directions``: filter-normalized Gaussian
   directions, biases and BatchNorm parameters zeroed, as Li et al.), each evaluated at the
   ``--extents`` (0.5 and 1.0; Li et al. plot [−1, 1]) on a ``--resolution`` grid
   (21 × 21) over the training set (or a seeded ``--subset`` of it) by the project's engine
   (``open_evaluator``, as the workflow's landscape stage: ``pool`` of ``--threads``
   one-thread workers, ``point`` with one thread), BatchNorm in eval mode with the
   trained running statistics (Li et al. keep them).
4. Metrics: each grid as an xarray Dataset ``train_loss`` (y, x) in nats, through
   ``landscape_metrics`` with its defaults: basin width at each height in nats (``≥``: the
   basin reaches the grid edge, the width is a lower bound), curvedness at the minimum,
   and over the region within 1 nat of it the non-convex share, roughness, steepness and
   the local minima; and the headlines the metrics flag as not stable on this grid.
5. A verdict for each of Li et al.'s claims: is the noshort net's basin narrower, its
   curvature higher, its non-convex share larger and its surface rougher, at every
   extent? Steepness and the minima count are printed without a verdict (no claim in the
   paper). The exit code is 0 whatever the verdicts; 1 only if a net missed the target.

Depth: 56 by default, the depth at which Li et al. see the plain net turn chaotic; it fits
this project's 2-core machine: the default run took 394 s (397 s with start-up; training
45 s with skips, 86 s without; each net's 882 grid points over the 1,438 training images
113–149 s), and 584 s while other jobs loaded the 2 cores (load average near 7).
``--depth 20`` is their still-convex control. Under such contention two-thread training can
slow several-fold (OpenMP threads waiting for each other); ``--threads 1`` is then safer.

Run: python benchmarks/skip_connections.py [--depth 56] [--resolution 21]
[--extents 0.5 1.0] [--subset N] [--max-epochs 60] [--seed 0] [--threads N] [--quick]
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import xarray as xr
from torch import nn
from torch.nn import functional as F

from losslandscape.data.datasets import prepare_dataset
from losslandscape.engine.cpu.allocator import keep_freed_memory
from losslandscape.engine.evaluation import evaluate
from losslandscape.engine.grid import grid_coordinates
from losslandscape.engine.strategies import EvaluationOptions, open_evaluator
from losslandscape.io import cf
from losslandscape.metrics.landscape import landscape_metrics
from losslandscape.models.activations import activation_factory
from losslandscape.models.cifar import CifarResNet
from losslandscape.parameters import ParameterLayout
from losslandscape.planes.directions import random_directions
from losslandscape.seeding import generator_for, seeded_subset

NETS = (("skip", True), ("noshort", False))
TARGET_ACCURACY = 0.95
WARMUP_EPOCHS = 3
BATCH_SIZE = 64
CLIP_NORM = 1.0
QUICK = {"depth": 8, "resolution": 5, "subset": 200, "max_epochs": 20}
# scalar metrics: name → (column header, Li et al.'s claim for noshort: +1 larger; None:
# printed, no claim — steepness is not in their paper, and a minima count depends on how
# much of the chaotic surface the region holds)
SCALARS = {
    "curvedness_at_minimum": ("curved@min", +1),
    "nonconvex_fraction": ("nonconvex", +1),
    "roughness": ("roughness", +1),
    "steepness": ("steepness", None),
    "n_local_minima_region": ("minima", None),
}


def train_to_target(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    target: float,
    max_epochs: int,
    learning_rate: float,
    seed: int,
) -> dict:
    """Train ``model`` in place until its eval-mode training accuracy reaches ``target``
    or ``max_epochs`` pass; returns epochs, accuracy, loss (nats) and seconds."""
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9, nesterov=True)
    order = generator_for(seed, "data_order")
    steps_per_epoch = math.ceil(len(labels) / BATCH_SIZE)
    total, warmup = max_epochs * steps_per_epoch, WARMUP_EPOCHS * steps_per_epoch
    step, started = 0, time.perf_counter()
    loss, accuracy = evaluate(model, inputs, labels)
    epoch = 0
    while epoch < max_epochs and accuracy < target:
        epoch += 1
        model.train()
        for batch in torch.randperm(len(labels), generator=order).split(BATCH_SIZE):
            step += 1
            scale = min(1.0, step / warmup) * 0.5 * (1 + math.cos(math.pi * step / total))
            for group in optimizer.param_groups:
                group["lr"] = learning_rate * scale
            batch_loss = F.cross_entropy(model(inputs[batch]), labels[batch])
            optimizer.zero_grad()
            batch_loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
            optimizer.step()
        loss, accuracy = evaluate(model, inputs, labels)
        if not math.isfinite(loss):
            break
    model.eval()
    return {
        "epochs": epoch,
        "accuracy": accuracy,
        "loss": loss,
        "seconds": time.perf_counter() - started,
    }


def landscapes(
    model: nn.Module,
    split: tuple[torch.Tensor, torch.Tensor],
    extents: list[float],
    resolution: int,
    seed: int,
    threads: int,
) -> dict[float, xr.Dataset]:
    """The training loss on one filter-normalized random plane of ``model`` at each extent,
    as ``(y, x)`` Datasets; all extents' points in one call of one evaluator."""
    layout = ParameterLayout.of(model)
    weights = {name: p.detach().clone() for name, p in model.named_parameters()}
    u, v, _ = random_directions(weights, seed=seed, normalization="filter", ignore_biasbn=True)
    axes = {extent: np.linspace(-extent, extent, resolution) for extent in extents}
    coords = np.concatenate([grid_coordinates(axis, axis) for axis in axes.values()])
    strategy = "pool" if threads > 1 else "point"
    options = EvaluationOptions(batchnorm="keep", workers=threads)
    plane = (model, layout.flatten(weights), layout.flatten(u), layout.flatten(v))
    with open_evaluator(*plane, {"train": split}, strategy, options) as evaluator:
        losses = evaluator(coords)["train_loss"]
    out = {}
    for index, (extent, axis) in enumerate(axes.items()):
        grid = losses[index * resolution**2 : (index + 1) * resolution**2]
        out[extent] = xr.Dataset(
            {
                "train_loss": (
                    ("y", "x"),
                    grid.reshape(resolution, resolution),
                    cf.quantity("training loss", "nats"),
                )
            },
            coords={"x": ("x", axis), "y": ("y", axis)},
        )
    return out


def basin_widths(metrics: xr.Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(levels in nats, widths in plane coordinates, touches the edge) of one grid."""
    return (
        metrics["basin_height"].values.astype(float),
        metrics["basin_width"].values.astype(float),
        metrics["basin_touches_edge"].values.astype(bool),
    )


def scalars(metrics: xr.Dataset) -> dict[str, float]:
    """The scalar metrics of :data:`SCALARS` and the loss at the origin (the trained net)."""
    values = {name: float(metrics[name]) for name in SCALARS}
    values["origin"] = float(metrics["loss_at_origin"])
    return values


def format_width(width: float, touches: bool) -> str:
    return f"{'≥' if touches else ''}{width:.3g}"


def print_table(results: dict, extents: list[float]) -> None:
    """One row per net and extent."""
    levels, _, _ = basin_widths(results["skip"]["metrics"][extents[0]])
    header = f"{'net':8}{'extent':>7}{'acc':>7}{'epochs':>7}{'origin':>9}"
    header += "".join(f"{f'width@{level:g}':>12}" for level in levels)
    header += "".join(f"{SCALARS[n][0]:>12}" for n in SCALARS)
    print(header)
    for net, _ in NETS:
        result = results[net]
        for extent in extents:
            values = result["scalars"][extent]
            row = (
                f"{net:8}{extent:7g}{100 * result['training']['accuracy']:6.1f}%"
                f"{result['training']['epochs']:7d}{values['origin']:9.4f}"
            )
            _, widths, touches = basin_widths(result["metrics"][extent])
            row += "".join(
                f"{format_width(a, t):>12}" for a, t in zip(widths, touches, strict=True)
            )
            row += "".join(f"{values[n]:12.4g}" for n in SCALARS)
            print(row)


def width_verdict(results: dict, extents: list[float]) -> str:
    """Is the noshort basin narrower at every extent: narrower at one level at least and
    wider at none? Equal widths are ties (on a coarse grid, the lowest levels' basins are
    often the same single cell). A level is undecided where the comparison cannot be made:
    the noshort basin reaches the edge (its width only a lower bound, which proves nothing
    about "narrower"), either width is NaN, or the skip basin reaches the edge and the
    noshort one is not below it."""
    parts, holds = [], True
    for extent in extents:
        levels, skip_w, skip_touch = basin_widths(results["skip"]["metrics"][extent])
        _, plain_w, plain_touch = basin_widths(results["noshort"]["metrics"][extent])
        counts = dict.fromkeys(("narrower", "tied", "wider", "undecided"), 0)
        for a, a_touch, b, b_touch in zip(plain_w, plain_touch, skip_w, skip_touch, strict=True):
            if a_touch or not (np.isfinite(a) and np.isfinite(b)) or (b_touch and a >= b):
                counts["undecided"] += 1
            elif np.isclose(a, b, rtol=1e-9, atol=0.0):
                counts["tied"] += 1
            else:
                counts["narrower" if a < b else "wider"] += 1
        holds &= counts["narrower"] > 0 and counts["wider"] == 0
        parts.append(
            f"extent {extent:g}: narrower at {counts['narrower']}/{len(levels)} levels, "
            f"{counts['tied']} tied, {counts['wider']} wider"
            + (
                f", {counts['undecided']} undecided (a lower bound or NaN)"
                if counts["undecided"]
                else ""
            )
        )
    verdict = "yes" if holds else "no"
    return (
        f"basin width            noshort {'; '.join(parts)}; Li et al.: narrower "
        f"→ in their direction at every extent: {verdict}"
    )


def stability_notes(results: dict, extents: list[float]) -> list[str]:
    """Headlines the metrics flag (``headline_stable`` 0):
    they move more than its threshold when the grid is subsampled 2× or the window is cut
    to its central half, or their low-loss region leaves the window."""
    lines = []
    for net, _ in NETS:
        for extent in extents:
            flags = results[net]["metrics"][extent]["headline_stable"]
            flagged = [
                str(h) for h, ok in zip(flags.headline.values, flags.values, strict=True) if not ok
            ]
            lines.append(f"{net:8} extent {extent:g}: {', '.join(flagged) or 'none'}")
    return lines


def scalar_verdicts(results: dict, extents: list[float]) -> list[str]:
    """Per scalar metric: is the noshort value beyond the skip net's, in Li et al.'s
    direction, at every extent, by more than float noise (1e-6 relative)? A verdict on
    values the metrics flag as not stable on this grid says so. (Metrics they make no claim
    about: values only.)"""
    lines = []
    for name, (_, sign) in SCALARS.items():
        parts, holds, flagged = [], True, 0
        for extent in extents:
            plain = results["noshort"]["scalars"][extent][name]
            skip = results["skip"]["scalars"][extent][name]
            margin = 1e-6 * max(abs(plain), abs(skip))
            holds &= sign is not None and bool(sign * (plain - skip) > margin)
            parts.append(f"{plain:.4g} vs {skip:.4g} at {extent:g}")
            for net, _ in NETS:
                stable = results[net]["metrics"][extent]["headline_stable"]
                flagged += name in stable.headline.values and not stable.sel(headline=name)
        if sign is None:
            claim = "no claim by Li et al."
        else:
            claim = (
                f"Li et al.: {'larger' if sign > 0 else 'smaller'} → in their direction at "
                f"every extent: {'yes' if holds else 'no'}"
            )
            if flagged:
                claim += f" (flagged not stable on {flagged} of {2 * len(extents)} grids)"
        lines.append(f"{name:23}noshort vs skip: {', '.join(parts)}; {claim}")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=None, help="ResNet depth 6n+2 (56)")
    parser.add_argument("--resolution", type=int, default=None, help="grid points per axis (21)")
    parser.add_argument("--extents", type=float, nargs="+", default=[0.5, 1.0])
    parser.add_argument(
        "--subset", type=int, default=None, help="training samples evaluated (all 1,438)"
    )
    parser.add_argument("--max-epochs", type=int, default=None, help="per net (60)")
    parser.add_argument("--lr", type=float, default=0.02, help="peak SGD learning rate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count(), help="cores to use (default: all)"
    )
    parser.add_argument(
        "--target-accuracy",
        type=float,
        default=TARGET_ACCURACY,
        help="training accuracy each net must reach (below 0.95 only with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tiny configuration for the tests: depth 8, resolution 5, subset 200, "
        "20 epochs (each unless given)",
    )
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else {"depth": 56, "resolution": 21, "max_epochs": 60}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.target_accuracy < TARGET_ACCURACY and not args.quick:
        parser.error(f"--target-accuracy below {TARGET_ACCURACY} is allowed only with --quick")
    if (args.depth - 2) % 6:
        parser.error(f"--depth {args.depth}: expected 6n + 2 (8, 14, 20, 32, 44, 56, 110)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    keep_freed_memory()
    torch.set_num_threads(args.threads)
    data = prepare_dataset("digits")
    inputs, labels = data["x_train"].unsqueeze(1), data["y_train"]
    keep = seeded_subset(len(labels), args.subset, args.seed, "evaluation_subset_train")
    split = (inputs[keep], labels[keep])
    print(
        f"digits: {len(labels)} training images 1x8x8; ResNet-{args.depth} (ReLU) with and "
        f"without skips, seed {args.seed}; target training accuracy "
        f"{100 * args.target_accuracy:g}% within {args.max_epochs} epochs"
    )
    print(
        f"planes: filter-normalized random, biases/BN zeroed, BN running statistics kept; "
        f"{args.resolution}x{args.resolution} grids at extents "
        f"{', '.join(f'{e:g}' for e in args.extents)} over {len(keep)} training images; "
        f"{args.threads} threads\n"
    )
    results, failed = {}, []
    for net, skip in NETS:
        torch.manual_seed(args.seed)
        model = CifarResNet(
            activation_factory("relu"), args.depth, skip, in_channels=1, n_classes=10
        )
        training = train_to_target(
            model, inputs, labels, args.target_accuracy, args.max_epochs, args.lr, args.seed
        )
        print(
            f"{net:8} trained {training['epochs']} epochs in {training['seconds']:.0f} s: "
            f"training accuracy {100 * training['accuracy']:.1f}%, loss {training['loss']:.4f}"
        )
        if not training["accuracy"] >= args.target_accuracy:
            failed.append(net)
            continue
        begun = time.perf_counter()
        grids = landscapes(model, split, args.extents, args.resolution, args.seed, args.threads)
        metrics = {extent: landscape_metrics(ds) for extent, ds in grids.items()}
        print(
            f"{'':8} {len(args.extents)} grids of {args.resolution**2} points in "
            f"{time.perf_counter() - begun:.0f} s"
        )
        results[net] = {
            "training": training,
            "metrics": metrics,
            "scalars": {e: scalars(metrics[e]) for e in args.extents},
        }
    if failed:
        print(
            f"\nFAILED: {', '.join(failed)} did not reach {100 * args.target_accuracy:g}% "
            f"training accuracy within {args.max_epochs} epochs; an untrained net is chaotic "
            "whatever its architecture, so nothing is compared (raise --max-epochs or lower "
            "--lr)"
        )
        print(f"total wall time {time.perf_counter() - started:.0f} s")
        return 1

    print(
        "\nlandscape_metrics with its defaults: basin widths (plane coordinates; ≥: the basin "
        "reaches the window's edge, a lower bound) at heights in nats above the minimum; "
        "curvedness (nats per unit²) at the minimum; non-convex share, roughness (nats), "
        "steepness (nats per unit) and local minima over the region within 1 nat of it"
    )
    print()
    print_table(results, args.extents)
    print()
    if args.quick:
        print(
            "--quick: a smoke test at a tiny size (a shallow net, a coarse grid, a subset); "
            "its verdicts and flags say nothing about Li et al.'s result"
        )
    print(width_verdict(results, args.extents))
    for line in scalar_verdicts(results, args.extents):
        print(line)
    notes = stability_notes(results, args.extents)
    if notes:
        print("\nheadlines the metrics flag as not stable (headline_stable = 0):")
        for line in notes:
            print(f"  {line}")
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
