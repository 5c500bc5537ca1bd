"""Training and evaluation speed of the CIFAR models, and what the ready studies cost.

For ConvMLP-s (CIFAR-100) and ResNet-56 (CIFAR-10) on synthetic 3×32×32 images, it times
``--steps`` optimizer steps (Adam, the study's batch) and forward passes in eval mode, and
prints images per second, forward FLOPs per image (``torch.utils.flop_counter``), and the
projected hours of each study in ``config/studies/``: training (9 runs × epochs × 50,000
images) and grid evaluation (9 runs × planes × resolution² points × 60,000 images) at the
measured rates on this machine's device.

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
from losslandscape.engine.cpu.allocator import keep_freed_memory
from losslandscape.models.registry import build_model

STUDIES = Path(__file__).resolve().parents[1] / "config" / "studies"
CASES = {  # model → (classes, study file)
    "convmlp_s": (100, "cifar100-convmlp.yaml"),
    "resnet56": (10, "cifar10-resnet56.yaml"),
}


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def rates(name: str, classes: int, batch: int, steps: int, device: torch.device) -> dict:
    """Images/s of training steps and of eval forward passes, and forward FLOPs/image."""
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
    return {"train": train_rate, "eval": eval_rate, "flops": counter.get_total_flops() / 10}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    keep_freed_memory()
    device = resolve_device(args.device)
    print(f"device {device}, {torch.get_num_threads()} threads\n")
    header = f"{'model':10} {'train img/s':>12} {'eval img/s':>11} {'GFLOP/img':>10}"
    print(header + f" {'training h':>11} {'grids h':>9}  study")
    for name, (classes, study_file) in CASES.items():
        study = yaml.safe_load((STUDIES / study_file).read_text())
        batch = study["training"]["batch_size"]
        r = rates(name, classes, batch, args.steps, device)
        runs = len(study["activations"]) * len(study["seeds"])
        training_hours = runs * study["training"]["epochs"] * 50_000 / r["train"] / 3600
        points = len(study["directions"]["planes"]) * study["landscape"]["resolution"] ** 2
        grid_hours = runs * points * 60_000 / r["eval"] / 3600
        print(
            f"{name:10} {r['train']:12.1f} {r['eval']:11.1f} {r['flops'] / 1e9:10.3f} "
            f"{training_hours:11.1f} {grid_hours:9.1f}  {study_file}"
        )


if __name__ == "__main__":
    main()
