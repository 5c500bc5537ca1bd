"""One colour per activation in every figure: seaborn's colour-blind-safe palette, in the
order the config lists the activations."""

import seaborn as sns


def activation_colors(activations: list[str]) -> dict[str, tuple[float, float, float]]:
    """activation → RGB, stable for a given config order (up to 10 activations distinct)."""
    colors = sns.color_palette("colorblind", n_colors=max(len(activations), 1))
    return dict(zip(activations, colors, strict=False))
