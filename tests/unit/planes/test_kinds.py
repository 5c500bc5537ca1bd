"""Plane kinds: every registered kind answers every question the stages, rules and figures
ask, the config schema offers exactly the registry, and plane names round-trip."""

import inspect
import types
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import yaml

from losslandscape.planes.kinds import (
    ACROSS_SEEDS,
    DRAWN,
    KINDS,
    PLANE_KINDS,
    SLICES,
    WINDOWS,
    PlaneKind,
    PlaneName,
    checkpoint_epochs,
    plane_kind,
    plane_seeds,
    run_plane_names,
)
from losslandscape.stages.directions import DIRECTION_METHODS, run_compute_directions

SCHEMA = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"


def _is(value, annotation) -> bool:
    """Whether ``value`` fits a field's type annotation (the ones PlaneKind uses)."""
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if isinstance(annotation, types.UnionType):  # X | None
        return any(_is(value, option) for option in annotation.__args__)
    if annotation is type(None):
        return value is None
    if getattr(annotation, "__origin__", None) is tuple:
        items = annotation.__args__
        if not isinstance(value, tuple):
            return False
        if len(items) == 2 and items[1] is Ellipsis:
            return all(_is(item, items[0]) for item in value)
        return len(value) == len(items) and all(map(_is, value, items))
    if annotation is float:
        return isinstance(value, float)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if annotation is type:
        return isinstance(value, type)
    raise AssertionError(f"no check for {annotation}")


@pytest.mark.parametrize("name", KINDS)
def test_every_kind_answers_every_question(name):
    kind = PLANE_KINDS[name]
    assert kind.name == name and kind.description.strip()
    for field in fields(PlaneKind):
        assert _is(getattr(kind, field.name), field.type), (name, field.name)
    # its directions: a method that exists, another kind's directions and config section
    assert kind.directions in DIRECTION_METHODS
    assert PLANE_KINDS[kind.directions_of].directions_of == kind.directions_of
    keywords = inspect.signature(run_compute_directions).parameters
    assert all(keyword in keywords for _, keyword in kind.option_kwargs)
    # its window, and where the points of a window through given models come from
    assert kind.window in WINDOWS
    if kind.points is not None:
        assert kind.window == "points" and len(kind.points[0]) == len(kind.points[1])
    # what its attrs record, and the labels and title that figures read from them
    assert all(convert in (int, float) for _, _, convert in kind.attrs)
    if kind.model_labels is not None:
        assert kind.model_labels[1] in {attr for attr, _, _ in kind.attrs}
    attrs = {attr: np.array([0.25, 0.5]) for attr, _, _ in kind.attrs}
    assert isinstance(kind.title_note.format_map(attrs), str)


def test_what_kinds_need_from_the_config_reads_their_own_sections():
    """The seeds a kind across seeds passes through, and the epochs a kind mapped around
    checkpoints is centred on, come from that kind's config section, else the defaults."""
    seeds = [42, 250, 300, 400]
    assert plane_seeds({}, seeds) == [42, 250, 300]
    assert plane_seeds({"three_seed": {"seeds": [400, 42, 250]}}, seeds) == [400, 42, 250]
    assert checkpoint_epochs({}) == []
    assert checkpoint_epochs({"narrow": {"epochs": [10, 20]}}) == [10, 20]
    assert PLANE_KINDS["pca"].min_checkpoints == 4
    assert {k.name: k.chosen_epochs for k in PLANE_KINDS.values() if k.chosen_epochs} == {
        "three_point": 3,
        "interpolation": 2,
    }


def test_the_views_of_the_registry_follow_its_kinds():
    assert KINDS == tuple(PLANE_KINDS)
    assert DRAWN == ("random", "narrow", "line")
    assert ACROSS_SEEDS == ("three_seed",)
    assert SLICES == ("interpolation", "line")
    assert plane_kind("narrow_draw1_epoch10") is PLANE_KINDS["narrow"]
    assert plane_kind("pca").window == "trajectory"


def test_a_pca_title_reads_as_before():
    """The registry's title note gives the explained variance as the figure wrote it."""
    for ratio in np.random.default_rng(0).random((200, 2)):
        note = PLANE_KINDS["pca"].title_note.format_map({"explained_variance_ratio": ratio})
        assert note == f"explained variance {100 * ratio[0]:.1f}% + {100 * ratio[1]:.1f}%"


def test_an_unknown_window_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="window 'disc' is unknown; choose one of extent"):
        PlaneKind("disc", "a disc", "random_gaussian", window="disc")


def test_the_config_schema_offers_exactly_the_registered_kinds():
    schema = yaml.safe_load(SCHEMA.read_text())
    planes = schema["properties"]["directions"]["properties"]["planes"]
    assert planes["items"]["enum"] == list(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_s_plane_names_round_trip(kind):
    spec = PLANE_KINDS[kind]
    names = [PlaneName(kind, draw) for draw in ((1, 2, 12) if spec.drawn else (1,))]
    if spec.around_checkpoints:
        names += [PlaneName(kind, 1, 0), PlaneName(kind, 3, 40)]
    for name in names:
        assert PlaneName.parse(str(name)) == name
        assert plane_kind(str(name)) is spec


@pytest.mark.parametrize(
    "name, kind, draw, epoch",
    [
        ("pca", "pca", 1, None),
        ("random_draw1", "random", 1, None),
        ("narrow_draw2", "narrow", 2, None),
        ("narrow_draw1_epoch10", "narrow", 1, 10),
        ("line_draw3", "line", 3, None),
        ("three_point", "three_point", 1, None),
        ("three_seed", "three_seed", 1, None),
    ],
)
def test_a_plane_name_round_trips_through_its_parts(name, kind, draw, epoch):
    parsed = PlaneName.parse(name)
    assert (parsed.kind, parsed.draw, parsed.epoch) == (kind, draw, epoch)
    assert str(parsed) == name


@pytest.mark.parametrize(
    "name", ["pca_draw1", "narrow_epoch3", "random_draw0", "hessian_epoch2", "foo", "random_"]
)
def test_names_outside_the_grammar_are_refused_with_the_grammar(name):
    with pytest.raises(ValueError, match="not one of"):
        PlaneName.parse(name)


def test_a_drawn_kind_alone_is_its_first_draw():
    assert PlaneName.parse("random") == PlaneName("random", 1)
    assert str(PlaneName.parse("narrow")) == "narrow_draw1"


def test_only_narrow_planes_sit_on_earlier_checkpoints():
    with pytest.raises(ValueError, match="only narrow planes"):
        PlaneName("random", 1, 5)
    assert PlaneName.parse("narrow_draw1").directions_kind == "random"
    assert set(KINDS) >= {"pca", "random", "narrow", "three_seed"}


def test_run_planes_draw_each_random_kind_and_put_three_seed_in_the_first_folder():
    kinds = ["pca", "random", "narrow", "three_seed"]
    first = [str(p) for p in run_plane_names(kinds, 2, 42, [42, 250, 300], [5, 10])]
    assert first == [
        "pca",
        "random_draw1",
        "random_draw2",
        "narrow_draw1",
        "narrow_draw2",
        "narrow_draw1_epoch5",
        "narrow_draw1_epoch10",
        "three_seed",
    ]
    other = [str(p) for p in run_plane_names(kinds, 2, 250, [42, 250, 300], [5, 10])]
    assert other == first[:-1]
