"""The trajectory's losses of a run's planes: computed once per run in a job that maps every
plane of the run, with the numbers a fresh computation gives (reference:
:func:`landscape_merge.trajectory_losses` called directly)."""

import numpy as np

from losslandscape.data.datasets import save_dataset
from losslandscape.io.datamodel import read_landscape
from losslandscape.stages import landscape_merge
from losslandscape.stages.directions import run_compute_directions
from losslandscape.stages.landscape import LandscapeSettings, run_evaluate_landscape
from losslandscape.stages.landscape_plane import load_plane
from losslandscape.training.checkpoints import save_checkpoints

SETTINGS = {"resolution": 3, "strategy": "point", "device": "cpu", "batch_size": 70}


def test_every_plane_of_a_run_shares_one_trajectory_evaluation(
    toy_dataset, toy_run, tmp_path, monkeypatch
):
    """Two planes of one run (as rule map_run_planes evaluates them): the checkpoints are
    evaluated once, both landscapes store exactly the reference's losses, and another batch
    size is evaluated anew."""
    files = {"dataset": str(tmp_path / "dataset.pt"), "checkpoints": str(tmp_path / "ckpt.pt")}
    save_dataset(toy_dataset, files["dataset"])
    save_checkpoints(toy_run[0], files["checkpoints"])
    reference, calls = landscape_merge.trajectory_losses, []

    def counted(plane, batch_size):
        calls.append(batch_size)
        return reference(plane, batch_size)

    monkeypatch.setattr(landscape_merge, "_TRAJECTORY_LOSSES", {})
    monkeypatch.setattr(landscape_merge, "trajectory_losses", counted)
    stored = {}
    for plane in ("random_draw1", "pca"):
        directions = str(tmp_path / f"{plane}.pt")
        run_compute_directions(files["checkpoints"], directions, plane, seed=5)
        out = str(tmp_path / f"{plane}.nc")
        run_evaluate_landscape(**files, directions=directions, out=out, settings=SETTINGS)
        stored[plane] = read_landscape(out).trajectory_loss.values
    assert calls == [70]
    plane = load_plane(**files, directions=directions, s=LandscapeSettings(**SETTINGS))
    expected = reference(plane, 70)
    for name, losses in stored.items():
        np.testing.assert_array_equal(losses, expected, err_msg=name)
    assert landscape_merge.cached_trajectory_losses(plane, files["checkpoints"], 70) == expected
    landscape_merge.cached_trajectory_losses(plane, files["checkpoints"], 50)
    assert calls == [70, 50]
