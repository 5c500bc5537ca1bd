"""Training curves across seeds (seaborn), for the report."""

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from losslandscape.io.files import save_figure
from losslandscape.plots.palette import activation_colors
from losslandscape.plots.units import in_figure_units

PANELS = [
    ("train_loss", "train loss (nats)"),
    ("test_loss", "test loss (nats)"),
    ("train_accuracy", "train accuracy"),
    ("test_accuracy", "test accuracy"),
]


def plot_training_curves(
    histories: pd.DataFrame, activations: list[str], path: str, loss_units: str = "nats"
) -> None:
    """Mean over seeds (line) and the min–max range (band) per activation, one panel each;
    where every run has one epoch (runs imported from elsewhere), one marker per run.

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
    # runs imported from elsewhere have one epoch each: a line and a band need two, so each
    # run is a marker of its own
    single = histories["epoch"].nunique() == 1
    drawn = {"units": "seed", "estimator": None, "marker": "o"} if single else {}
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
            **drawn,
        )
        ax.set_ylabel(label)
        if column.endswith("loss"):
            ax.set_yscale("log")
    fig.suptitle(
        f"Imported models: one marker per seed ({n_seeds} seed(s), no training curve)"
        if single
        else f"Training curves: mean (line) and min–max range (band) over {n_seeds} seed(s)"
    )
    fig.tight_layout()
    save_figure(in_figure_units(fig, loss_units), path, dpi=120)
    plt.close(fig)


def plot_training_curves_per_seed(
    histories: pd.DataFrame, activations: list[str], path: str, loss_units: str = "nats"
) -> None:
    """One row per seed: loss (log scale) and accuracy per epoch, every activation in its
    colour, train solid and test dashed (the original proposal's appendix figures); a run of
    one epoch (imported from elsewhere) is a circle (train) and a square (test)."""
    sns.set_theme(style="whitegrid", context="paper")
    seeds = sorted(histories["seed"].unique())
    palette = activation_colors(activations)
    fig, axes = plt.subplots(
        len(seeds), 2, figsize=(11, 3.2 * len(seeds)), squeeze=False, sharex=True
    )
    for row, seed in zip(axes, seeds, strict=True):
        for activation in activations:
            run = histories[(histories["seed"] == seed) & (histories["activation"] == activation)]
            for split, style, marker in (("train", "-", "o"), ("test", "--", "s")):
                for ax, quantity in zip(row, ("loss", "accuracy"), strict=True):
                    ax.plot(
                        run["epoch"],
                        run[f"{split}_{quantity}"],
                        style,
                        marker=marker if len(run) == 1 else None,  # an imported run: one epoch
                        color=palette[activation],
                        label=f"{activation} {split}",
                    )
        row[0].set_yscale("log")
        row[0].set_ylabel(f"seed {seed}\nloss (nats)")
        row[1].set_ylabel("accuracy")
    axes[0, 1].legend(fontsize=7, ncol=2)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    fig.suptitle(
        "Imported models per seed: train (circle) and test (square)"
        if histories["epoch"].nunique() == 1
        else "Training curves per seed: train (solid) and test (dashed)"
    )
    fig.tight_layout()
    save_figure(in_figure_units(fig, loss_units), path, dpi=110)
    plt.close(fig)
