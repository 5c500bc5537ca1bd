"""Shared fixtures of the figure tests."""

import pytest

from losslandscape.io import files
from losslandscape.plots import across_runs, analysis, comparison, landscape


@pytest.fixture
def kept(monkeypatch):
    """Figures saved by the plotting modules, in order (written to disk as usual)."""
    figures_saved = []

    def save_and_keep(fig, path, dpi):
        files.save_figure(fig, path, dpi=dpi)
        figures_saved.append(fig)

    for module in (landscape, across_runs, comparison, analysis):
        monkeypatch.setattr(module, "save_figure", save_and_keep)
    return figures_saved
