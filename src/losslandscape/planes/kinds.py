"""Plane kinds, and the names of the planes a run maps: the one home of both.

A study maps several kinds of plane (and 1-D slice) per run. Each kind is one
:class:`PlaneKind` in :data:`PLANE_KINDS`, holding everything the stages, rules and figures
ask about it; they ask :func:`plane_kind` instead of comparing names. A new kind is one
entry here plus its direction method (:mod:`losslandscape.stages.directions`).

A plane name, the ``{plane}`` part of a landscape's path, says which plane in one
path-safe word (:class:`PlaneName`):

- an undrawn kind (``pca``, ``three_point``, ``hessian``, ``interpolation``, ``three_seed``):
  one plane of that kind per run;
- ``<kind>_draw<k>`` for drawn kinds (``random_draw2``; ``k`` = 1 … draws): independent draws
  of filter-normalized random directions;
- ``<kind>_draw<k>_epoch<e>`` for kinds mapped around earlier checkpoints
  (``narrow_draw1_epoch10``): around the checkpoint of epoch ``e`` instead of the final model.

(The straight lines between every pair of seeds' final models are not planes of a run:
rule interpolate_seeds evaluates them per activation, :mod:`losslandscape.stages.seed_barriers`.)

Standard library only, and no package imports: workflow/rules/common.smk loads this file by
path when planning, without torch or an installed copy of the package.
"""

import re
from dataclasses import dataclass

# How a kind's grid window is chosen (landscape.extent and landscape.margin)
WINDOWS = {
    "extent": "[-extent, extent] on both axes (a kind with its own extent: that one)",
    "trajectory": "symmetric about the model, over the projected trajectory plus the margin",
    "points": "over the models the plane passes through plus the margin of their span",
}


@dataclass(frozen=True)
class PlaneKind:
    """One kind of plane: what the stages, rules and figures ask about it.

    Attributes:
        name: the kind's name (config ``directions.planes``, a landscape's ``plane`` attr).
        description: one line for people: what the plane is.
        directions: the direction method of :mod:`losslandscape.stages.directions` that
            computes its origin and two vectors.
        directions_of: the kind whose directions and config section (``directions.<kind>``)
            it uses: its own name, or ``random`` for narrow planes and line slices.
        option_kwargs: ``(config key, keyword)`` pairs: the keyword arguments of
            ``run_compute_directions`` taken from that config section (lists as tuples).
        drawn: mapped once per direction draw (names ``<kind>_draw<k>``).
        one_dimensional: a 1-D slice: v = 0 and the grid has the single row y = 0.
        across_seeds: through the final models of several seeds of one activation, mapped
            in the folder of the first of them, not part of the per-run summary.
        around_checkpoints: also mapped around earlier checkpoints (``_epoch<e>``, config
            ``directions.narrow.epochs``): basin width over training.
        needs_dataset: its directions need the prepared data set.
        window: how its grid window is chosen, one of :data:`WINDOWS`.
        own_extent: spans its own half-width (config ``directions.<kind>.extent``, recorded
            in the directions' metadata) instead of ``landscape.extent``.
        points: for window ``points``: the plane coordinates ``(xs, ys)`` of the models it
            passes through, where fixed; otherwise the directions' metadata has them
            (``point_x``, ``point_y``).
        model_labels: ``(word, attr)``: how figures label the models it passes through
            (``epoch 3``, ``seed 42``), ``attr`` being the landscape attr with their values;
            None where it passes through no marked models.
        attrs: ``(attr, metadata key, type)``: what the landscape's attrs record from its
            directions' metadata.
        title_note: what the landscape figure's title adds, a format string over the
            landscape's attrs (lists as arrays); empty for nothing.
        min_checkpoints: the saved checkpoints its directions need at least (0: none).
        chosen_epochs: how many checkpoint epochs its config section's ``epochs`` names
            (0: it has no such key).
        seeds_needed: for a kind across seeds, how many seeds' models it passes through;
            its config section's ``seeds`` names them (null: the study's first ones).
    """

    name: str
    description: str
    directions: str
    directions_of: str = ""
    option_kwargs: tuple[tuple[str, str], ...] = ()
    drawn: bool = False
    one_dimensional: bool = False
    across_seeds: bool = False
    around_checkpoints: bool = False
    needs_dataset: bool = False
    window: str = "extent"
    own_extent: bool = False
    points: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    model_labels: tuple[str, str] | None = None
    attrs: tuple[tuple[str, str, type], ...] = ()
    title_note: str = ""
    min_checkpoints: int = 0
    chosen_epochs: int = 0
    seeds_needed: int = 0

    def __post_init__(self):
        if not self.directions_of:
            object.__setattr__(self, "directions_of", self.name)
        if self.window not in WINDOWS:
            raise ValueError(
                f"plane kind {self.name!r}: window {self.window!r} is unknown; choose one of "
                f"{', '.join(WINDOWS)}"
            )


_RANDOM_OPTIONS = (("normalization", "normalization"), ("ignore_biasbn", "ignore_biasbn"))
# The three models' plane coordinates, recorded under these (legacy) names for three-seed
# planes too (docs/data-model.md)
_MODEL_POINTS = (("three_point_x", "point_x", float), ("three_point_y", "point_y", float))

PLANE_KINDS = {
    kind.name: kind
    for kind in (
        PlaneKind(
            "pca",
            "the first two principal axes of the training trajectory (Li et al. 2018, §7)",
            directions="trajectory_pca",
            window="trajectory",
            attrs=(("explained_variance_ratio", "explained_variance_ratio", float),),
            title_note="explained variance {explained_variance_ratio[0]:.1%} + "
            "{explained_variance_ratio[1]:.1%}",
            min_checkpoints=4,
        ),
        PlaneKind(
            "random",
            "two filter-normalized Gaussian directions (Li et al. 2018, §4) over the wide "
            "window: the picture and the low-loss region",
            directions="random_gaussian",
            option_kwargs=_RANDOM_OPTIONS,
            drawn=True,
        ),
        PlaneKind(
            "narrow",
            "the random plane of the same draw over a smaller window: basin width and curvature",
            directions="random_gaussian",
            directions_of="random",
            option_kwargs=(*_RANDOM_OPTIONS, ("extent", "narrow_extent")),
            drawn=True,
            around_checkpoints=True,
            own_extent=True,
        ),
        PlaneKind(
            "three_point",
            "the plane through three checkpoints of the run, origin at the first",
            directions="through_checkpoints",
            option_kwargs=(("epochs", "three_point_epochs"),),
            window="points",
            model_labels=("epoch", "three_point_epochs"),
            attrs=(("three_point_epochs", "epochs", int), *_MODEL_POINTS),
            chosen_epochs=3,
        ),
        PlaneKind(
            "hessian",
            "the Hessian's eigenvectors of its largest and smallest eigenvalues at the model",
            directions="hessian_eigenvectors",
            option_kwargs=(("subset_size", "hessian_subset_size"),),
            needs_dataset=True,
            attrs=(("hessian_eigenvalues", "eigenvalues", float),),
        ),
        PlaneKind(
            "interpolation",
            "1-D: the straight line from one checkpoint (x = 0) to another (x = 1; "
            "Goodfellow et al. 2015)",
            directions="between_checkpoints",
            option_kwargs=(("epochs", "interpolation_epochs"),),
            one_dimensional=True,
            window="points",
            points=((0.0, 1.0), (0.0, 0.0)),
            model_labels=("epoch", "interpolation_epochs"),
            attrs=(("interpolation_epochs", "epochs", int),),
            chosen_epochs=2,
        ),
        PlaneKind(
            "line",
            "1-D: along the first direction of the random plane of the same draw",
            directions="random_gaussian",
            directions_of="random",
            option_kwargs=_RANDOM_OPTIONS,
            drawn=True,
            one_dimensional=True,
        ),
        PlaneKind(
            "three_seed",
            "the plane through the final models of three seeds of one activation (Garipov "
            "et al. 2018, §3), origin at the first",
            directions="through_seed_models",
            across_seeds=True,
            window="points",
            model_labels=("seed", "plane_seeds"),
            attrs=(("plane_seeds", "seeds", int), *_MODEL_POINTS),
            seeds_needed=3,
        ),
    )
}

# Views of the registry, by kind name: every kind (the config's choices, in its order), the
# drawn ones, those through several seeds' models, the 1-D slices
KINDS = tuple(PLANE_KINDS)
DRAWN = tuple(k.name for k in PLANE_KINDS.values() if k.drawn)
ACROSS_SEEDS = tuple(k.name for k in PLANE_KINDS.values() if k.across_seeds)
SLICES = tuple(k.name for k in PLANE_KINDS.values() if k.one_dimensional)
_AROUND_CHECKPOINTS = tuple(k.name for k in PLANE_KINDS.values() if k.around_checkpoints)

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
        if self.kind not in PLANE_KINDS:
            raise ValueError(
                f"plane kind {self.kind!r} is unknown; choose one of {', '.join(KINDS)}"
            )
        if not self.plane_kind.drawn and self.draw != 1:
            raise ValueError(f"plane kind {self.kind!r} has one draw; found draw {self.draw}")
        if self.epoch is not None and not self.plane_kind.around_checkpoints:
            raise ValueError(
                f"only {', '.join(_AROUND_CHECKPOINTS)} planes are mapped around earlier "
                f"checkpoints; found {self.kind!r} at epoch {self.epoch}"
            )

    def __str__(self) -> str:
        name = self.kind
        if self.plane_kind.drawn:
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
        kind = PLANE_KINDS.get(match and match["kind"])
        valid = kind is not None and kind.drawn == (match["draw"] is not None)
        if not valid or (match["epoch"] is not None and not kind.around_checkpoints):
            single = ", ".join(k for k in KINDS if k not in DRAWN)
            around = ", ".join(
                f"{k}{'_draw<k>' if k in DRAWN else ''}_epoch<e>" for k in _AROUND_CHECKPOINTS
            )
            raise ValueError(
                f"plane name {name!r} is not one of: a kind ({single}), <kind>_draw<k> for "
                f"{', '.join(DRAWN)}, {around}"
            )
        return cls(
            kind.name,
            int(match["draw"] or 1),
            None if match["epoch"] is None else int(match["epoch"]),
        )

    @property
    def plane_kind(self) -> PlaneKind:
        """Everything the kind of this plane answers (:class:`PlaneKind`)."""
        return PLANE_KINDS[self.kind]

    @property
    def directions_kind(self) -> str:
        """The kind of directions the plane is spanned by."""
        return self.plane_kind.directions_of


def plane_kind(name: str) -> PlaneKind:
    """The kind of a plane kind's or plane's name (``narrow``, ``narrow_draw1_epoch10``);
    ValueError for a name outside the grammar (:class:`PlaneName`)."""
    return PlaneName.parse(name).plane_kind


def plane_seeds(directions: dict, seeds: list[int]) -> list[int]:
    """The seeds whose final models the kinds across seeds pass through: their config
    section's ``seeds`` (``directions.<kind>.seeds``), else the study's first
    ``seeds_needed``."""
    for kind in PLANE_KINDS.values():
        if kind.across_seeds:
            return directions.get(kind.name, {}).get("seeds") or seeds[: kind.seeds_needed]
    return []


def checkpoint_epochs(directions: dict) -> list[int]:
    """The epochs of the earlier checkpoints that kinds mapped around checkpoints are
    centred on (their config section's ``epochs``, ``directions.<kind>.epochs``)."""
    for kind in PLANE_KINDS.values():
        if kind.around_checkpoints:
            return directions.get(kind.name, {}).get("epochs", [])
    return []


def run_plane_names(
    kinds: list[str],
    draws: int,
    seed: int,
    seeds_through: list[int],
    epochs_around: list[int],
) -> list[PlaneName]:
    """The planes mapped in the folder of ``seed``.

    Drawn kinds once per draw; kinds mapped around checkpoints also around each of
    ``epochs_around`` (first draw only: width over training; :func:`checkpoint_epochs`);
    kinds across seeds only in the folder of the first of ``seeds_through``
    (:func:`plane_seeds`).
    """
    names = []
    for kind in (PLANE_KINDS[k] for k in kinds):
        if kind.drawn:
            names += [PlaneName(kind.name, draw) for draw in range(1, draws + 1)]
        elif not kind.across_seeds or seed == seeds_through[0]:
            names.append(PlaneName(kind.name))
        if kind.around_checkpoints:
            names += [PlaneName(kind.name, 1, epoch) for epoch in epochs_around]
    return names


# Where a plane's metrics go in the study's summary (summarize-study; the workflow gathers
# them by the same rules)


def is_run_plane(name: str) -> bool:
    """A plane described per run in the summary: not across seeds, not around an earlier
    checkpoint (those have tables of their own)."""
    parsed = PlaneName.parse(name)
    return not parsed.plane_kind.across_seeds and parsed.epoch is None


def is_across_seeds(name: str) -> bool:
    """A plane through several seeds' models (three_seed): the across-seeds table."""
    return plane_kind(name).across_seeds


def is_over_training(name: str) -> bool:
    """A plane of the first draw of a kind also mapped around earlier checkpoints (narrow),
    around those and the final model: the table of basin width over training."""
    parsed = PlaneName.parse(name)
    return parsed.plane_kind.around_checkpoints and parsed.draw == 1
