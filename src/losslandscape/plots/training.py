"""Training curves across seeds (seaborn), for the report."""

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from losslandscape.io.files import save_figure
from losslandscape.plots.palette import activation_colors

PANELS = [
    ("train_loss", "train loss (nats)"),
    ("test_loss", "test loss (nats)"),
    ("train_accuracy", "train accuracy"),
    ("test_accuracy", "test accuracy"),
]


def plot_training_curves(histories: pd.DataFrame, activations: list[str], path: str) -> None:
    """Mean over seeds (line) and the min–max range (band) per activation, one panel each.

    The range, not ± sd, because losses are drawn on a log scale where mean − sd can be
    negative, and with three seeds the range is the honest spread.

    Args:
        histories: long table with columns ``activation``, ``seed``, ``epoch`` and the
            history columns of :mod:`losslandscape.training.loop`.
        activations: the config's order, which fixes each activation's colour.
    """
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    n_seeds = histories.groupby("activation")["seed"].nunique().max()
    for ax, (column, label) in zip(axes.ravel(), PANELS, strict=True):
        sns.lineplot(
            data=histories,
            x="epoch",
            y=column,
            hue="activation",
            hue_order=activations,
            errorbar=("pi", 100),
            palette=activation_colors(activations),
            ax=ax,
        )
        ax.set_ylabel(label)
        if column.endswith("loss"):
            ax.set_yscale("log")
    fig.suptitle(f"Training curves: mean (line) and min–max range (band) over {n_seeds} seed(s)")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def plot_training_curves_per_seed(
    histories: pd.DataFrame, activations: list[str], path: str
) -> None:
    """One row per seed: loss (log scale) and accuracy per epoch, every activation in its
    colour, train solid and test dashed (the original proposal's appendix figures)."""
    sns.set_theme(style="whitegrid", context="paper")
    seeds = sorted(histories["seed"].unique())
    palette = activation_colors(activations)
    fig, axes = plt.subplots(
        len(seeds), 2, figsize=(11, 3.2 * len(seeds)), squeeze=False, sharex=True
    )
    for row, seed in zip(axes, seeds, strict=True):
        for activation in activations:
            run = histories[(histories["seed"] == seed) & (histories["activation"] == activation)]
            for split, style in (("train", "-"), ("test", "--")):
                for ax, quantity in zip(row, ("loss", "accuracy"), strict=True):
                    ax.plot(
                        run["epoch"],
                        run[f"{split}_{quantity}"],
                        style,
                        color=palette[activation],
                        label=f"{activation} {split}",
                    )
        row[0].set_yscale("log")
        row[0].set_ylabel(f"seed {seed}\nloss (nats)")
        row[1].set_ylabel("accuracy")
    axes[0, 1].legend(fontsize=7, ncol=2)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    fig.suptitle("Training curves per seed: train (solid) and test (dashed)")
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
