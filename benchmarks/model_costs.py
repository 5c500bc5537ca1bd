"""Seconds per sample of every shipped model on every input shape it takes, on one CPU
thread: the rates behind the workflow's runtime requests (losslandscape/settings/runtimes.py).

For each model of ``losslandscape.models.registry.MODELS`` (at its default size) and each
input shape of the shipped data sets, it times, after a warm-up, the forward pass in eval
mode without gradients (what a grid point, a line point or an evaluation costs per sample:
the fastest of batches 100 and 500 and, for images, of the default and channels-last memory
layouts, the candidates the engine's ``auto`` also tries) and a training step (forward,
backward and Adam at batch 100: what an epoch costs per training sample; a Hessian-vector
product costs about two of these), and
writes them with the machine, torch version and date, and the models with BatchNorm layers
(whose statistics ``batchnorm: recompute`` re-estimates at every grid point), to ``--out``
(by default the table the runtime requests read). Models that refuse a shape (1-D CNN on
images) are left out there.

Run: python benchmarks/model_costs.py [--repeats 3] [--out PATH]
"""

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import torch
from torch.nn import functional as F

from losslandscape.models.registry import MODELS, build_model, data_kwargs
from losslandscape.settings.runtimes import COSTS_FILE, SHAPES


def _median_seconds(step, repeats: int) -> float:
    step()  # warm-up: allocations, one-time kernels
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def model_cost(name: str, shape: list[int], repeats: int) -> dict[str, float] | None:
    """``{"forward", "train"}`` seconds per sample of model ``name`` on inputs of ``shape``,
    or None where the model does not take that shape."""
    try:
        model = build_model(name, "relu", **data_kwargs(name, shape, 10))
    except ValueError:
        return None
    generator = torch.Generator().manual_seed(0)
    forward_inputs = torch.randn(500, *shape, generator=generator)
    layouts = [torch.contiguous_format]
    if len(shape) == 3:  # images with a channel axis: the engine may use channels-last
        layouts.append(torch.channels_last)
    train_inputs = torch.randn(100, *shape, generator=generator)
    targets = torch.randint(0, 10, (100,), generator=generator)
    try:
        with torch.no_grad():
            model.eval()
            model(forward_inputs[:2])
    except RuntimeError:  # e.g. a patch size larger than the image
        return None

    def forward_at(batch: int, layout: torch.memory_format) -> float:
        inputs = forward_inputs[:batch].contiguous(memory_format=layout)
        model.to(memory_format=layout)

        def forward():
            with torch.no_grad():
                model(inputs)

        seconds = _median_seconds(forward, repeats) / batch
        model.to(memory_format=torch.contiguous_format)
        return seconds

    optimizer = torch.optim.Adam(model.parameters())

    def train():
        optimizer.zero_grad()
        F.cross_entropy(model(train_inputs), targets).backward()
        optimizer.step()

    model.eval()
    seconds_forward = min(forward_at(b, layout) for b in (100, 500) for layout in layouts)
    model.train()
    seconds_train = _median_seconds(train, repeats) / len(train_inputs)
    return {"forward": seconds_forward, "train": seconds_train}


def has_batchnorm(name: str) -> bool:
    """Whether model ``name`` (built for the first shape it takes) has BatchNorm layers."""
    for shape in SHAPES.values():
        try:
            model = build_model(name, "relu", **data_kwargs(name, list(shape), 10))
        except ValueError:
            continue
        return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    raise ValueError(f"model {name!r} takes none of the shapes {list(SHAPES)}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (median)")
    parser.add_argument("--out", type=Path, default=COSTS_FILE, help="the JSON to write")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    costs, batchnorm_models = {}, []
    print(f"{'model':18} {'shape':12} {'forward ms/sample':>18} {'train ms/sample':>16}")
    for name in MODELS:
        if has_batchnorm(name):
            batchnorm_models.append(name)
        for key, shape in SHAPES.items():
            cost = model_cost(name, list(shape), args.repeats)
            if cost is None:
                continue
            costs.setdefault(name, {})[key] = cost
            print(f"{name:18} {key:12} {1e3 * cost['forward']:18.4f} {1e3 * cost['train']:16.4f}")
    table = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "threads": 1,
        "command": "python benchmarks/model_costs.py",
        "seconds_per_sample": costs,
        "batchnorm_models": batchnorm_models,
    }
    args.out.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
