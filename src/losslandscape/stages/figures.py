"""Stages that draw the report's figures."""

from pathlib import Path

from losslandscape import datamodel
from losslandscape.stages.analyze import load_histories


def run_plot_training_curves(histories: list[str], runs: list[tuple[str, int]], out: str) -> None:
    """Training curves of every run → one PNG (seaborn is imported here only: 2 s)."""
    from losslandscape import plot_training

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    plot_training.plot_training_curves(load_histories(histories, runs), out)


def run_plot_landscape(landscape: str, out: str) -> None:
    """One landscape file → one PNG."""
    from losslandscape import plot_landscape

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    plot_landscape.plot_landscape(datamodel.read_landscape(landscape), out)
