"""Tiles: partition, exact merge, refusal of mismatched pieces, and resume after a kill."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

from losslandscape.data.datasets import save_dataset
from losslandscape.engine import autotune, tiles
from losslandscape.engine.tiles import merge_tiles, partial_path, read_tile, tile_points
from losslandscape.io.datamodel import read_landscape
from losslandscape.stages.directions import run_compute_directions
from losslandscape.stages.landscape import (
    LandscapeSettings,
    run_evaluate_landscape,
    run_evaluate_tile,
    run_merge_landscape,
)
from losslandscape.training.checkpoints import save_checkpoints


@pytest.fixture(scope="module")
def run_files(tmp_path_factory, toy_dataset, toy_run):
    """A prepared data set, checkpoints and random directions on disk."""
    folder = tmp_path_factory.mktemp("run")
    files = {k: str(folder / f"{k}.pt") for k in ("dataset", "checkpoints", "directions")}
    save_dataset(toy_dataset, files["dataset"])
    save_checkpoints(toy_run[0], files["checkpoints"])
    run_compute_directions(files["checkpoints"], files["directions"], "random", seed=3)
    return files


SETTINGS = {"resolution": 7, "strategy": "point", "device": "cpu", "save_every_seconds": 0}


def test_tiles_partition_the_points_in_order():
    pieces = [tile_points(50, 4, k) for k in range(4)]
    np.testing.assert_array_equal(np.concatenate(pieces), np.arange(50))
    assert {len(p) for p in pieces} == {12, 13}
    with pytest.raises(ValueError, match="tiles = 60: expected between 1 and the 50 grid points"):
        tile_points(50, 60, 0)


def test_merged_tiles_equal_a_one_piece_evaluation(run_files, tmp_path):
    one_piece = tmp_path / "one.nc"
    run_evaluate_landscape(**run_files, out=str(one_piece), settings=SETTINGS)
    tiled = {**SETTINGS, "tiles": 3}
    tile_files = [str(tmp_path / f"tile_{k}.nc") for k in range(3)]
    for k, tile_file in enumerate(tile_files):
        run_evaluate_tile(**run_files, out=tile_file, tile=k, settings=tiled)
    merged = tmp_path / "merged.nc"
    run_merge_landscape(**run_files, tiles=tile_files, out=str(merged), settings=tiled)
    a, b = read_landscape(one_piece), read_landscape(merged)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    assert not list(tmp_path.glob("one.nc.tile_*"))  # the one-piece run cleans its tiles


def test_auto_records_its_choice_in_the_tiles_and_the_landscape(run_files, tmp_path, monkeypatch):
    """strategy auto: each tile measures and records what it chose (strategy, layout, batch,
    every rate, the seconds spent); the landscape takes the first tile's, validates, and
    its values equal the plain point strategy's to float32 rounding."""
    monkeypatch.setattr(autotune, "_CHOICES", {})  # measured here, not remembered
    auto = {**SETTINGS, "strategy": "auto", "tiles": 2}
    tile_files = [str(tmp_path / f"tile_{k}.nc") for k in range(2)]
    for k, tile_file in enumerate(tile_files):
        run_evaluate_tile(**run_files, out=tile_file, tile=k, settings=auto)
    first = read_tile(tile_files[0]).attrs
    assert first["strategy"] in ("point", "vmap")
    assert first["layout"] in ("channels_last", "default")
    rates = json.loads(first["auto_rates"])
    label = f"{first['strategy']}/{first['layout']}/{first['batch_size']}"
    assert rates[label] == max(rates.values()) and first["auto_seconds"] > 0
    merged = tmp_path / "auto.nc"
    run_merge_landscape(**run_files, tiles=tile_files, out=str(merged), settings=auto)
    landscape = read_landscape(merged)
    for key in ("strategy", "layout", "batch_size", "auto_rates", "auto_seconds"):
        assert landscape.attrs[key] == first[key], key
    point = tmp_path / "point.nc"
    run_evaluate_landscape(**run_files, out=str(point), settings=SETTINGS)
    assert read_landscape(point).attrs["layout"] == "channels_last"  # the toy CNN on CPU
    for name in ("train_loss", "test_loss", "train_accuracy", "test_accuracy"):
        np.testing.assert_allclose(
            landscape[name].values, read_landscape(point)[name].values, rtol=1e-5, err_msg=name
        )


def test_merge_refuses_missing_points_and_foreign_tiles(run_files, tmp_path):
    tiled = {**SETTINGS, "tiles": 2}
    files = [str(tmp_path / f"tile_{k}.nc") for k in range(2)]
    for k, tile_file in enumerate(files):
        run_evaluate_tile(**run_files, out=tile_file, tile=k, settings=tiled)
    with pytest.raises(ValueError, match="do not cover the 49 grid points once: 2[45] missing"):
        merge_tiles(files[:1], 49)
    other = str(tmp_path / "other_tile_1.nc")
    run_evaluate_tile(**run_files, out=other, tile=1, settings={**tiled, "extent": 2.0})
    with pytest.raises(ValueError, match="come from different inputs or settings"):
        merge_tiles([files[0], other], 49)
    with pytest.raises(ValueError, match="computed from other inputs or settings"):
        run_merge_landscape(
            **run_files, tiles=files, out=str(tmp_path / "x.nc"), settings={**tiled, "margin": 0.5}
        )
    (tmp_path / "broken.nc").write_bytes(b"CDF\x01 truncated")
    with pytest.raises(ValueError, match=r"tile file .*broken.nc: cannot be read"):
        read_tile(tmp_path / "broken.nc")


@pytest.mark.workflow
def test_a_killed_tile_resumes_where_it_stopped(run_files, tmp_path):
    """SIGKILL a tile job once it has saved progress; the rerun continues from there and
    ends with exactly the values of an uninterrupted run."""
    out = tmp_path / "tile_0.nc"
    args = [sys.executable, "-m", "losslandscape", "landscape", "--tile", "0", "--out", str(out)]
    for key in ("dataset", "checkpoints", "directions"):
        args += [f"--{key}", run_files[key]]
    args += ["--resolution", "61", "--strategy", "point", "--device", "cpu"]
    args += ["--save-every-seconds", "0"]
    job = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not partial_path(out).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert job.returncode == -signal.SIGKILL, "the tile finished before it could be killed"
    assert not out.exists() and partial_path(out).exists()
    with xr.open_dataset(partial_path(out)) as partial:
        done = partial.sizes["point"]
    assert 0 < done < 61 * 61

    rerun = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resuming tile from" in rerun.stderr and f"{61 * 61} points already done" in rerun.stderr
    assert not partial_path(out).exists()
    reference = tmp_path / "reference.nc"
    settings = {**SETTINGS, "resolution": 61}
    run_evaluate_tile(**run_files, out=str(reference), tile=0, settings=settings)
    resumed, uninterrupted = read_tile(out), read_tile(reference)
    for name in resumed.data_vars:
        np.testing.assert_array_equal(resumed[name].values, uninterrupted[name].values)
    assert resumed.attrs["key"] == uninterrupted.attrs["key"]


class _Interrupted(Exception):
    """Stands for the job being killed (the subprocess test above sends a real SIGKILL)."""


def test_an_interrupted_tile_resumes_where_it_stopped(run_files, tmp_path, monkeypatch, caplog):
    """In-process twin of the SIGKILL test: the tile stops right after its first save of
    partial progress; a second call continues from there and ends with exactly the values
    of an uninterrupted run."""
    out = tmp_path / "tile_0.nc"
    settings = {**SETTINGS, "resolution": 31}
    write = tiles.write_netcdf

    def write_then_stop(dataset, path, *args, **kwargs):
        write(dataset, path, *args, **kwargs)
        if str(path).endswith(".partial.nc"):
            raise _Interrupted

    with monkeypatch.context() as patch:
        patch.setattr(tiles, "write_netcdf", write_then_stop)
        with pytest.raises(_Interrupted):
            run_evaluate_tile(**run_files, out=str(out), tile=0, settings=settings)
    assert not out.exists() and partial_path(out).exists()
    with xr.open_dataset(partial_path(out)) as partial:
        done = partial.sizes["point"]
    assert 0 < done < 31 * 31

    with caplog.at_level("INFO"):
        run_evaluate_tile(**run_files, out=str(out), tile=0, settings=settings)
    assert f"{done} of {31 * 31} points already done" in caplog.text
    assert not partial_path(out).exists()
    reference = tmp_path / "reference.nc"
    run_evaluate_tile(**run_files, out=str(reference), tile=0, settings=settings)
    resumed, uninterrupted = read_tile(out), read_tile(reference)
    for name in resumed.data_vars:
        np.testing.assert_array_equal(resumed[name].values, uninterrupted[name].values)
    assert resumed.attrs["key"] == uninterrupted.attrs["key"]


def test_unknown_landscape_settings_are_named():
    with pytest.raises(ValueError, match=r"landscape settings \['resolutoin'\] are unknown"):
        LandscapeSettings.from_config({"resolutoin": 5})
