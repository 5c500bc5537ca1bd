"""Models trained outside the workflow, for ``config/examples/external-checkpoints.yaml``.

A plain PyTorch loop, as a user's own training code would be: for each activation and
seed of the example, :func:`config.examples.moons.mlp` is trained with Adam on the
training split of ``config/examples/moons.csv`` (inputs standardized with the training
set's mean and standard deviation, one scalar, as the workflow's ``dataset.name: file``
does), and its ``state_dict()`` saved to ``<out>/<activation>/seed_<seed>.pt``: the
pattern that config's ``training.external_checkpoints`` names.

    python config/examples/train_outside.py   # then
    snakemake --cores 2 --configfile config/examples/external-checkpoints.yaml
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # the examples' model, as the workflow imports it

from config.examples.moons import mlp  # noqa: E402

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
SEEDS = (42, 250, 300)


def train(activation: str, seed: int, data: pd.DataFrame, epochs: int = 60) -> nn.Module:
    """The example's model trained with Adam (rate 0.01, batches of 50) for ``epochs``."""
    train_rows = data[data["split"] == "train"]
    inputs = train_rows[["x1", "x2"]].to_numpy(np.float64)
    inputs = torch.from_numpy((inputs - inputs.mean()) / inputs.std()).float()
    labels = torch.from_numpy(train_rows["label"].to_numpy()).long()
    torch.manual_seed(seed)
    model = mlp(ACTIVATIONS[activation], (2,), 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for batch in torch.randperm(len(labels), generator=order).split(50):
            optimizer.zero_grad()
            F.cross_entropy(model(inputs[batch]), labels[batch]).backward()
            optimizer.step()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO / "config/examples/moons.csv"))
    parser.add_argument("--out", default="resources/examples/moons")
    args = parser.parse_args()
    data = pd.read_csv(args.data)
    for activation in ACTIVATIONS:
        for seed in SEEDS:
            path = Path(args.out) / activation / f"seed_{seed}.pt"
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(train(activation, seed, data).state_dict(), path)
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
