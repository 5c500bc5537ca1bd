"""The config checks a JSON schema cannot state: those across keys.

:func:`check_config` runs after the schema validation (which fills in the defaults), at
the workflow's start (``workflow/rules/common.smk``) and in the tests. This module imports
only the standard library: common.smk loads it by path, so that planning a run imports
neither torch nor an installed copy of the package.
"""

from collections.abc import Collection


def saved_epochs(epochs: int, every: int) -> list[int]:
    """The epochs whose checkpoints training keeps: 0, every ``every``-th, and the last."""
    return sorted({0, epochs, *range(every, epochs + 1, every)})


def check_config(config: dict, slices: Collection[str] | None = None) -> None:
    """Refuse a config whose keys disagree with each other, naming the key, what was
    expected and what was found.

    ``config`` is a schema-validated config with its defaults filled in; ``slices`` are the
    1-D plane kinds (default :data:`losslandscape.planes.kinds.SLICES`; common.smk passes
    those of the plane-kind module it loads by path).

    Raises:
        ValueError: an activation without a learning rate; more than one learning-rate
            schedule; three_seed planes through seeds not in the study; lines between seeds
            with fewer than 2 seeds; PCA planes with fewer than 4 saved checkpoints;
            narrow, three-point or interpolation epochs that are not saved; more tiles than
            the smallest grid has points.
    """
    if slices is None:
        from losslandscape.planes.kinds import SLICES as slices
    _check_training(config["activations"], config["training"])
    _check_seeds(config)
    _check_epochs(config["directions"], config["training"])
    _check_tiles(config["landscape"], config["directions"]["planes"], slices)


def _check_training(activations: list[str], training: dict) -> None:
    missing_rates = [a for a in activations if a not in training["learning_rate"]]
    if missing_rates:
        raise ValueError(
            f"config training.learning_rate: no learning rate for activation(s) "
            f"{missing_rates}; found rates for {sorted(training['learning_rate'])}"
        )
    schedules = {
        key: training.get(key) for key in ("plateau", "milestones", "cosine") if training.get(key)
    }
    if len(schedules) > 1:
        raise ValueError(f"config training: choose one learning-rate schedule; found {schedules}")


def _check_seeds(config: dict) -> None:
    seeds = [int(s) for s in config["seeds"]]
    directions = config["directions"]
    three_seeds = directions.get("three_seed", {}).get("seeds") or seeds[:3]
    if "three_seed" in directions["planes"]:
        if len(seeds) < 3 or not set(three_seeds) <= set(seeds):
            raise ValueError(
                "config directions.planes has three_seed, which needs three of the study's "
                f"seeds {seeds}; found directions.three_seed.seeds "
                f"{directions.get('three_seed', {}).get('seeds')} (null: the first three)"
            )
    if config["across_seeds"]["interpolations"] and len(seeds) < 2:
        raise ValueError(
            "config across_seeds.interpolations is true, which needs at least 2 seeds; "
            f"found seeds {seeds}"
        )


def _check_epochs(directions: dict, training: dict) -> None:
    planes, epochs = directions["planes"], training["epochs"]
    saved = saved_epochs(epochs, training["checkpoint_every"])
    if "pca" in planes and len(saved) < 4:
        raise ValueError(
            "config directions.planes has pca, which needs at least 4 saved checkpoints; "
            f"training.epochs {epochs} with checkpoint_every "
            f"{training['checkpoint_every']} saves {saved}"
        )
    if "narrow" in planes:
        narrow_epochs = directions.get("narrow", {}).get("epochs", [])
        early = [e for e in narrow_epochs if e not in saved or e >= epochs]
        if early:
            raise ValueError(
                "config directions.narrow.epochs: expected saved epochs before the last "
                f"({saved[:-1]}); found {narrow_epochs}, of which {early} are not"
            )
    for plane, count in (("three_point", 3), ("interpolation", 2)):
        chosen = directions[plane]["epochs"]
        if plane in planes and chosen is not None:
            unsaved = [e for e in chosen if e not in saved]
            if unsaved:
                raise ValueError(
                    f"config directions.{plane}.epochs: expected {count} saved epochs "
                    f"(saved: {saved}); found {chosen}, of which {unsaved} are not saved"
                )


def _check_tiles(landscape: dict, planes: list[str], slices: Collection[str]) -> None:
    n_grid_points = landscape["resolution"] ** (1 if set(planes) & set(slices) else 2)
    if landscape["tiles"] > n_grid_points:
        raise ValueError(
            f"config landscape.tiles: expected at most the {n_grid_points} points of the "
            f"smallest grid; found {landscape['tiles']}"
        )
