"""Grid points per second through the Python API, call after call (issue 23, "pools that live").

On the default mnist1d CNN (untrained, relu) and a filter-normalized random plane, it calls
``evaluate_grid`` on a ``--resolution``² plane over the 4000+1000 signals, in one process:
``point``; ``pool`` with two workers, twice (the first call starts the workers, the
second reuses them); ``auto`` with two workers allowed, twice (the first call measures).
Each line gives the call's points/s including everything the call did, and its ratio to
``point``'s.

Run: python benchmarks/python_calls.py [--resolution 21]
"""

import argparse
import time

import numpy as np
import torch

from losslandscape.data.datasets import prepare_dataset
from losslandscape.engine.grid import evaluate_grid
from losslandscape.engine.strategies import EvaluationOptions
from losslandscape.models.registry import build_model, data_kwargs
from losslandscape.parameters import ParameterLayout
from losslandscape.planes.directions import random_directions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=21)
    args = parser.parse_args()
    data = prepare_dataset("mnist1d")
    torch.manual_seed(0)
    kwargs = data_kwargs("mnist1d_cnn", list(data["input_shape"]), data["n_classes"])
    model = build_model("mnist1d_cnn", "relu", **kwargs).eval()
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    u, v, _ = random_directions(weights, seed=0)
    layout = ParameterLayout.of(model)
    plane = [layout.flatten(t) for t in (weights, u, v)]
    splits = {"train": (data["x_train"], data["y_train"]), "test": (data["x_test"], data["y_test"])}
    axis = np.linspace(-1, 1, args.resolution)
    calls = [
        ("point", "point", EvaluationOptions()),
        ("pool, first call", "pool", EvaluationOptions(workers=2)),
        ("pool, second call", "pool", EvaluationOptions(workers=2)),
        ("auto, first call", "auto", EvaluationOptions(workers=2)),
        ("auto, second call", "auto", EvaluationOptions(workers=2)),
    ]
    points = args.resolution**2
    print(
        f"mnist1d CNN, {args.resolution}x{args.resolution} plane over 4000+1000 signals, "
        f"{torch.get_num_threads()} threads; points/s of each whole call"
    )
    baseline, first = None, None
    for name, strategy, options in calls:
        started = time.perf_counter()
        values = evaluate_grid(model, *plane, axis, axis, splits, strategy, options)
        rate = points / (time.perf_counter() - started)
        baseline = baseline or rate
        first = values["train_loss"] if first is None else first
        assert np.allclose(values["train_loss"], first, rtol=1e-5), name
        print(f"{name:<20} {rate:8.1f} points/s  {rate / baseline:5.2f}x point")


if __name__ == "__main__":
    main()
