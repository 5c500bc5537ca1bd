"""Training curves across seeds (seaborn), for the report."""

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

PANELS = [
    ("train_loss", "train loss (nats)"),
    ("test_loss", "test loss (nats)"),
    ("train_accuracy", "train accuracy"),
    ("test_accuracy", "test accuracy"),
]


def plot_training_curves(histories: pd.DataFrame, path: str) -> None:
    """Mean over seeds (line) and the min–max range (band) per activation, one panel each.

    The range, not ± sd, because losses are drawn on a log scale where mean − sd can be
    negative, and with three seeds the range is the honest spread.

    Args:
        histories: long table with columns ``activation``, ``seed``, ``epoch`` and the
            history columns of :mod:`losslandscape.training`.
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
            errorbar=("pi", 100),
            palette="colorblind",
            ax=ax,
        )
        ax.set_ylabel(label)
        if column.endswith("loss"):
            ax.set_yscale("log")
    fig.suptitle(f"Training curves: mean (line) and min–max range (band) over {n_seeds} seed(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
