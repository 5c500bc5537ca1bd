"""Training and evaluation speed of the CIFAR models, and what the ready studies cost.

For ConvMLP-s (CIFAR-100) and ResNet-56 (CIFAR-10) on synthetic 3×32×32 images, it times
``--steps`` optimizer steps (Adam, the study's batch), forward passes in eval mode at batch
1000 (the plain pass), and the grid evaluation the study's ``landscape`` settings get
(``strategy: auto`` on a random plane over 1000 images, with the study's largest batch
and its threads per tile job: what auto chose and its rate), and prints images per
second, forward FLOPs per image (``torch.utils.flop_counter``), and the projected hours of
each study in ``config/studies/``: training (9 runs × epochs × 50,000 images), grid
evaluation (9 runs × planes × resolution² points × 60,000 images) at auto's rate, and one
tile job (a grid's hours over ``landscape.tiles``), on this machine's device.

Run: python benchmarks/training_throughput.py [--device auto] [--steps 20]
"""

import argparse
import time
from pathlib import Path

import torch
import yaml
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from losslandscape.devices import resolve_device
from losslandscape.engine.autotune import choose_evaluation
from losslandscape.engine.cpu.allocator import keep_freed_memory
from losslandscape.engine.strategies import EvaluationOptions
from losslandscape.models.registry import build_model
from losslandscape.parameters import ParameterLayout
from losslandscape.planes.directions import random_directions

STUDIES = Path(__file__).resolve().parents[1] / "config" / "studies"
CASES = {  # model → (classes, study file)
    "convmlp_s": (100, "cifar100-convmlp.yaml"),
    "resnet56": (10, "cifar10-resnet56.yaml"),
}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def rates(
    name: str, classes: int, batch: int, steps: int, device: torch.device, landscape: dict
) -> dict:
    """Images/s of training steps, of plain eval forward passes and of grid evaluation as
    auto chose it for the ``landscape`` settings; forward FLOPs/image; auto's choice."""
    gen = torch.Generator().manual_seed(0)
    model = build_model(name, "relu", n_classes=classes).to(device)
    images = torch.randn(batch, 3, 32, 32, generator=gen).to(device)
    labels = torch.randint(0, classes, (batch,), generator=gen).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.train()
    for _ in range(3):
        step()
    synchronize(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    train_rate = steps * batch / (time.perf_counter() - started)
    model.eval()
    eval_batch = torch.randn(1000, 3, 32, 32, generator=gen).to(device)
    with torch.inference_mode():
        model(eval_batch)
        synchronize(device)
        started = time.perf_counter()
        for _ in range(max(1, steps // 5)):
            model(eval_batch)
        synchronize(device)
        eval_rate = max(1, steps // 5) * 1000 / (time.perf_counter() - started)
        with FlopCounterMode(display=False) as counter:
            model(eval_batch[:10])
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    u, v, _ = random_directions(weights, seed=0)
    layout = ParameterLayout.of(model)
    plane = [layout.flatten(t) for t in (weights, u, v)]
    threads = landscape["threads"]
    options = EvaluationOptions(
        batch_size=landscape["batch_size"],
        workers=threads,
        memory_budget_mb=landscape["memory_budget_mb"],
    )
    splits = {"train": (eval_batch, torch.zeros(1000, dtype=torch.long, device=device))}
    points = landscape["resolution"] ** 2 // landscape["tiles"]  # a tile job's
    choice = choose_evaluation(model, *plane, splits, options, points, threads)
    label = f"{choice.strategy}/{choice.options.layout}/{choice.options.batch_size}"
    return {
        "train": train_rate,
        "eval": eval_rate,
        "grid": choice.rates[label] * 1000,
        "choice": label,
        "flops": counter.get_total_flops() / 10,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    keep_freed_memory()
    device = resolve_device(args.device)
    print(f"device {device}, {torch.get_num_threads()} threads\n")
    header = f"{'model':10} {'train img/s':>12} {'eval img/s':>11} {'grid img/s':>11}"
    print(header + f" {'GFLOP/img':>10} {'training h':>11} {'grids h':>8} {'tile h':>7}  study")
    choices = []
    for name, (classes, study_file) in CASES.items():
        study = yaml.safe_load((STUDIES / study_file).read_text())
        batch, landscape = study["training"]["batch_size"], study["landscape"]
        r = rates(name, classes, batch, args.steps, device, landscape)
        runs = len(study["activations"]) * len(study["seeds"])
        training_hours = runs * study["training"]["epochs"] * 50_000 / r["train"] / 3600
        planes = len(study["directions"]["planes"])
        grid_hours = runs * planes * landscape["resolution"] ** 2 * 60_000 / r["grid"] / 3600
        tile_hours = grid_hours / (runs * planes * landscape["tiles"])
        print(
            f"{name:10} {r['train']:12.1f} {r['eval']:11.1f} {r['grid']:11.1f} "
            f"{r['flops'] / 1e9:10.3f} {training_hours:11.1f} {grid_hours:8.1f} "
            f"{tile_hours:7.2f}  {study_file}"
        )
        choices.append(
            f"{name}: auto chose {r['choice']} (largest batch {landscape['batch_size']}, "
            f"{landscape['threads']} thread(s) per tile job)"
        )
    print("\n" + "\n".join(choices))


if __name__ == "__main__":
    main()
