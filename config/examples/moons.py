"""The examples' own model and data set, as a user of the workflow would write them.

- :func:`mlp` is a model factory for ``model.name: config.examples.moons:mlp`` (the
  signature every factory has: ``losslandscape/models/import_path.py``).
- ``python config/examples/moons.py`` writes ``config/examples/moons.csv``, the two-moons
  data set (``sklearn.datasets.make_moons``) in the CSV layout of ``dataset.name: file``:
  one column per input feature, ``label`` and ``split``.

Used by ``config/examples/own-model.yaml`` and ``config/examples/external-checkpoints.yaml``
(with ``config/examples/train_outside.py``).
"""

import argparse
import csv
from collections.abc import Callable
from pathlib import Path

from torch import nn

HERE = Path(__file__).resolve().parent


def mlp(
    activation: Callable[[], nn.Module],
    input_shape: tuple[int, ...],
    n_classes: int,
    hidden: tuple[int, ...] | list[int] = (32, 32),
) -> nn.Module:
    """A fully connected net with LayerNorm: input → (Linear, LayerNorm, activation) per
    width of ``hidden`` → Linear to ``n_classes`` logits. Input ``(batch, *input_shape)``."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = 1
    for size in input_shape:
        width *= size
    for size in hidden:
        layers += [nn.Linear(width, size), nn.LayerNorm(size), activation()]
        width = size
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


def write_moons_csv(
    path: str | Path, n_train: int = 300, n_test: int = 200, noise: float = 0.25, seed: int = 0
) -> None:
    """Two interleaved half-moons (2 features, 2 classes), the first ``n_train`` samples
    of one seeded draw for training and the rest for testing, as CSV."""
    from sklearn.datasets import make_moons

    inputs, labels = make_moons(n_train + n_test, noise=noise, random_state=seed)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["x1", "x2", "label", "split"])
        for i, ((x1, x2), label) in enumerate(zip(inputs, labels, strict=True)):
            split = "train" if i < n_train else "test"
            writer.writerow([f"{x1:.6f}", f"{x2:.6f}", int(label), split])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "moons.csv"))
    write_moons_csv(parser.parse_args().out)
