"""The units of each loss the study can train on and measure, and the study's texts put in
them.

Standard library only: the workflow loads this file by path while planning (the report's
rules take the units of ``training.loss`` as a param), and the engine's losses
(:mod:`losslandscape.engine.loss`) take their units from here.
"""

import re

# training.loss → its units: cross-entropy in nats; the squared error of softmax
# probabilities against one-hot labels (Li et al. 2018's mse) in squared units
LOSS_UNITS = {"cross_entropy": "nats", "mse": "squared units"}


def in_loss_units(text: str, units: str) -> str:
    """``text`` written for cross-entropy, in the loss's ``units``: each word "nats"
    replaced (the study's texts, tables and figure labels name nats only as the loss's
    units)."""
    return text if units == "nats" else re.sub(r"\bnats\b", units, text)
