"""`python -m losslandscape` works on files not made by the workflow."""

import subprocess
import sys

import xarray as xr

from losslandscape.io.datamodel import write_landscape
from tests.unit.io.test_datamodel import make_landscape


def test_metrics_and_plot_commands_on_a_hand_built_landscape(tmp_path):
    write_landscape(make_landscape(21, 17), tmp_path / "bowl.nc")
    for args in (
        ["metrics", str(tmp_path / "bowl.nc"), "--out", str(tmp_path / "m.nc")],
        ["plot-landscape", str(tmp_path / "bowl.nc"), "--out", str(tmp_path / "bowl.png")],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "losslandscape", *args], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
    with xr.open_dataset(tmp_path / "m.nc") as metrics:
        assert int(metrics.n_local_minima) == 1
        assert metrics.attrs["rule"] == "compute_metrics"
    assert (tmp_path / "bowl.png").stat().st_size > 10_000


def test_a_missing_input_is_named(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "losslandscape",
            "metrics",
            str(tmp_path / "nope.nc"),
            "--out",
            str(tmp_path / "m.nc"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "landscape file" in result.stderr and "nope.nc: no such file" in result.stderr
