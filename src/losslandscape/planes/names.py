"""Plane names: the ``{plane}`` part of a landscape's path, and what it stands for.

A study maps several planes per run; a name says which, in one path-safe word:

- ``pca``, ``three_point``, ``hessian``, ``interpolation``: one plane of that kind per run;
- ``random_draw<k>``, ``narrow_draw<k>``, ``line_draw<k>`` (``k`` = 1 … draws): independent
  draws of filter-normalized random directions. ``narrow`` is the random plane of the same
  draw (the same directions) over a smaller window, for width and curvature; ``random`` is
  the wide one, for the picture and the low-loss region;
- ``narrow_draw<k>_epoch<e>``: the narrow plane around the checkpoint of epoch ``e`` instead
  of the final model (basin width over training);
- ``three_seed`` (in the folder of the first of its seeds): the plane through the final
  models of three seeds of one activation (Garipov et al. 2018, §3; the plane of the
  study's formula w(x, y) = w1 + x·u + y·v).

(The straight lines between every pair of seeds' final models are not planes of a run:
rule interpolate_seeds evaluates them per activation, :mod:`losslandscape.stages.seed_barriers`.)
"""

import re
from dataclasses import dataclass

# The plane kinds a config may list (directions.planes)
KINDS = (
    "pca",
    "random",
    "narrow",
    "three_point",
    "hessian",
    "interpolation",
    "line",
    "three_seed",
)
# Kinds mapped once per direction draw
DRAWN = ("random", "narrow", "line")
# Kinds through the final models of several seeds of one activation
ACROSS_SEEDS = ("three_seed",)
# 1-D kinds: v = 0 and the grid has the single row y = 0
SLICES = ("interpolation", "line")
# The kind whose directions each kind uses (narrow: the random plane's, over another window)
DIRECTIONS_OF = {"narrow": "random", "line": "random"}

_NAME = re.compile(
    r"^(?P<kind>[a-z_]+?)"
    r"(?:_draw(?P<draw>[1-9]\d*))?"
    r"(?:_epoch(?P<epoch>\d+))?$"
)


@dataclass(frozen=True)
class PlaneName:
    """One plane of a run: its kind, direction draw (1 for undrawn kinds), the checkpoint
    epoch it is centred on (``None``: the final model)."""

    kind: str
    draw: int = 1
    epoch: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(
                f"plane kind {self.kind!r} is unknown; choose one of {', '.join(KINDS)}"
            )
        if self.kind not in DRAWN and self.draw != 1:
            raise ValueError(f"plane kind {self.kind!r} has one draw; found draw {self.draw}")
        if self.epoch is not None and self.kind != "narrow":
            raise ValueError(
                f"only narrow planes are mapped around earlier checkpoints; found {self.kind!r} "
                f"at epoch {self.epoch}"
            )

    def __str__(self) -> str:
        name = self.kind
        if self.kind in DRAWN:
            name += f"_draw{self.draw}"
        if self.epoch is not None:
            name += f"_epoch{self.epoch}"
        return name

    @classmethod
    def parse(cls, name: str) -> "PlaneName":
        """The plane a name stands for; ValueError for a name outside the grammar above. A
        drawn kind alone (``random``) means its first draw, as on the command line; the
        workflow's paths always carry the draw."""
        if name in DRAWN:
            return cls(name)
        match = _NAME.match(name)
        kind = match and match["kind"]
        valid = kind in KINDS and (kind in DRAWN) == (match["draw"] is not None)
        if not valid or (match["epoch"] is not None and kind != "narrow"):
            single = ", ".join(k for k in KINDS if k not in DRAWN)
            raise ValueError(
                f"plane name {name!r} is not one of: a kind ({single}), <kind>_draw<k> for "
                f"{', '.join(DRAWN)}, narrow_draw<k>_epoch<e>"
            )
        return cls(
            kind,
            int(match["draw"] or 1),
            None if match["epoch"] is None else int(match["epoch"]),
        )

    @property
    def directions_kind(self) -> str:
        """The kind of directions the plane is spanned by."""
        return DIRECTIONS_OF.get(self.kind, self.kind)


def run_plane_names(
    kinds: list[str],
    draws: int,
    seed: int,
    three_seeds: list[int],
    narrow_epochs: list[int],
) -> list[PlaneName]:
    """The planes mapped in the folder of ``seed``.

    Drawn kinds once per draw; narrow planes also around each of ``narrow_epochs`` (first
    draw only: width over training); ``three_seed`` only in the folder of the first of
    ``three_seeds``.
    """
    names = []
    for kind in kinds:
        if kind in DRAWN:
            names += [PlaneName(kind, draw) for draw in range(1, draws + 1)]
            if kind == "narrow":
                names += [PlaneName(kind, 1, epoch) for epoch in narrow_epochs]
        elif kind == "three_seed":
            if seed == three_seeds[0]:
                names.append(PlaneName(kind))
        else:
            names.append(PlaneName(kind))
    return names
