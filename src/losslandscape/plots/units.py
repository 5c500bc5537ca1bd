"""A figure drawn for cross-entropy, relabelled in another loss's units."""

from matplotlib.figure import Figure
from matplotlib.text import Text

from losslandscape.units import in_loss_units


def in_figure_units(fig: Figure, units: str) -> Figure:
    """``fig`` with "nats" in every text (titles, axis and colour-bar labels, legends,
    notes) replaced by the loss's ``units`` (:func:`losslandscape.units.in_loss_units`):
    the across-run figures write their labels for cross-entropy, and one pass here keeps
    each of them from spelling the units out."""
    if units != "nats":
        for text in fig.findobj(Text):
            text.set_text(in_loss_units(text.get_text(), units))
    return fig
