"""Figures of the study's statistics (seaborn): the headline metrics per activation, and
each landscape metric against test accuracy over all runs."""

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from losslandscape.io.files import save_figure
from losslandscape.plots.palette import activation_colors
from losslandscape.plots.units import in_figure_units
from losslandscape.statistics.answer import RUN_HEADLINES, landscape_headlines
from losslandscape.statistics.study import RUN_PLANE, long_table


def _grid(n_panels: int, columns: int, size: float = 3.2):
    rows = math.ceil(n_panels / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    for ax in axes.ravel()[n_panels:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _landscape_panels(summary: pd.DataFrame, planes: list[str]) -> list[tuple[str, str, str]]:
    """(plane, column, heading) of every landscape headline metric, planes in their order."""
    headlines = landscape_headlines(summary.columns)
    return [(plane, column, heading) for plane in planes for column, heading in headlines]


def plot_metric_comparison(
    summary: pd.DataFrame,
    activations: list[str],
    planes: list[str],
    path: str,
    color_order: list[str] | None = None,
    loss_units: str = "nats",
) -> None:
    """Box and individual runs (dots) per activation for every headline metric: the run
    metrics first, then the landscape metrics of each plane in the order of ``planes``.
    Figure ``(n_panels,)``. Colours follow ``color_order`` (the config's activations, so
    that an activation keeps its colour when others are left out), else ``activations``."""
    sns.set_theme(style="whitegrid", context="paper")
    values = long_table(summary)
    panels = [(RUN_PLANE, column, heading) for column, heading in RUN_HEADLINES]
    panels += _landscape_panels(summary, planes)
    colors = activation_colors(color_order or activations)
    fig, axes = _grid(len(panels), columns=4)
    for ax, (plane, column, heading) in zip(axes, panels, strict=False):
        data = values[(values["plane"] == plane) & (values["metric"] == column)]
        data = data[np.isfinite(data["value"].astype(float))]
        ax.set_title(heading if plane == RUN_PLANE else f"{heading}\n({plane} plane)")
        if data.empty:  # e.g. shape metrics of a 1-D slice
            ax.text(0.5, 0.5, "undefined here", ha="center", va="center", transform=ax.transAxes)
            continue
        common = dict(data=data, x="activation", y="value", order=activations, ax=ax)
        # no outlier markers: the dots already show every run
        sns.boxplot(
            **common, hue="activation", palette=colors, fill=False, legend=False, showfliers=False
        )
        sns.stripplot(**common, hue="activation", palette=colors, size=6, legend=False)
        ax.set_xlabel("")
        ax.set_ylabel("")
    n = summary.groupby("activation")["seed"].nunique().max()
    fig.suptitle(f"Metrics per activation: box over seeds, one dot per run ({n} seeds)")
    fig.tight_layout(rect=(0, 0, 1, 0.98))  # room for the title above the panels' titles
    save_figure(in_figure_units(fig, loss_units), path, dpi=110)
    plt.close(fig)


def plot_metric_accuracy(
    summary: pd.DataFrame,
    correlations: pd.DataFrame,
    activations: list[str],
    planes: list[str],
    path: str,
    color_order: list[str] | None = None,
    loss_units: str = "nats",
) -> None:
    """Each landscape headline metric (x) against final test accuracy (y), one dot per
    run, one panel per (plane, metric) with ``planes`` in their order, Spearman's rho over
    all runs in the title; colours as :func:`plot_metric_comparison`."""
    sns.set_theme(style="whitegrid", context="paper")
    panels = _landscape_panels(summary, planes)
    colors = activation_colors(color_order or activations)
    rho = correlations[correlations["target"] == "final_test_accuracy"].set_index(
        ["plane", "metric"]
    )["spearman_rho"]
    fig, axes = _grid(len(panels), columns=len(landscape_headlines(summary.columns)))
    for ax, (plane, column, heading) in zip(axes, panels, strict=False):
        sns.scatterplot(
            data=summary[summary["plane"] == plane],
            x=column,
            y="final_test_accuracy",
            hue="activation",
            hue_order=activations,
            palette=colors,
            s=50,
            ax=ax,
            legend=ax is axes[0],
        )
        value = rho.get((plane, column), math.nan)
        shown = "undefined" if not math.isfinite(value) else f"{value:.2f}"
        ax.set_title(f"{plane}: ρ = {shown}")
        ax.set_xlabel(heading)
        ax.set_ylabel("test accuracy")
    fig.suptitle("Landscape metrics against test accuracy (Spearman's ρ over all runs)")
    fig.tight_layout()
    save_figure(in_figure_units(fig, loss_units), path, dpi=110)
    plt.close(fig)
