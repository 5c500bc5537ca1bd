import pytest

from losslandscape.planes.names import KINDS, PlaneName, run_plane_names


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
