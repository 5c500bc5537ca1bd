"""``metrics`` on grids made by other tools (losslandscape.io.foreign): Li et al.'s HDF5
surface files, NumPy grids and bare netCDF grids give the metrics of the same surface as a
landscape file of this package, and our own files stay strictly validated."""

import h5py
import numpy as np
import pytest

from losslandscape.cli import main
from losslandscape.io.datamodel import open_netcdf
from losslandscape.io.foreign import read_grid
from tests.unit.metrics.test_known_answers import metrics_of

# an anisotropic bowl on a non-square grid: its basin is wider along x than along y, so a
# grid read transposed or reshaped in the wrong order changes the x and y extents
XS = np.linspace(-1.0, 1.0, 41)
YS = np.linspace(-0.6, 0.6, 25)
YY, XX = np.meshgrid(YS, XS, indexing="ij")
LOSS = 0.2 + 1.0 * XX**2 + 8.0 * YY**2  # (ny, nx)
COMPARED = ("loss_min", "basin_width", "basin_extent_x", "basin_extent_y", "roughness")


def measured(tmp_path, path, *options: str):
    out = tmp_path / f"{path.name}.metrics.nc"
    main(["metrics", str(path), "--out", str(out), *options])
    return open_netcdf(out)


def assert_same_metrics(foreign, reference):
    for name in COMPARED:
        np.testing.assert_allclose(foreign[name].values, reference[name].values, err_msg=name)


def write_li_surface(path, xs, ys, loss, unfilled=()):
    """A surface file as Li et al.'s plot_surface.py leaves it: arrays declared
    (len(x), len(y)), initialised to -1, filled at flat indices of np.meshgrid(x, y)."""
    declared = -np.ones((len(xs), len(ys)))
    flat = declared.ravel()  # a view: their losses.ravel()[ind] = value
    xm, ym = np.meshgrid(xs, ys)
    for index, (x, y) in enumerate(zip(xm.ravel(), ym.ravel(), strict=True)):
        if index not in unfilled:
            flat[index] = 0.2 + 1.0 * x**2 + 8.0 * y**2
    with h5py.File(path, "w") as f:
        f["xcoordinates"], f["ycoordinates"] = xs, ys
        f["train_loss"], f["test_loss"] = declared, declared
        f["train_acc"] = f["test_acc"] = np.full(declared.shape, 50.0)


def test_li_et_al_surface_file_gives_the_metrics_of_the_same_surface(tmp_path):
    path = tmp_path / "surface.h5"
    write_li_surface(path, XS, YS, LOSS)
    foreign = measured(tmp_path, path)
    reference = metrics_of(tmp_path, LOSS, XS, YS)
    assert_same_metrics(foreign, reference)
    assert float(foreign.basin_extent_x[-1]) > 2 * float(foreign.basin_extent_y[-1])
    assert foreign.attrs["missing_attributes"] == "activation seed model dataset plane"
    assert "Li et al." in foreign.attrs["source"]
    assert foreign.basin_height.attrs["long_name"].endswith("in the source's loss units")


def test_points_li_et_al_had_not_evaluated_are_walls(tmp_path):
    path = tmp_path / "partial.h5"
    corner = [0, 1, len(XS)]  # -1 in the file: not yet computed
    write_li_surface(path, XS, YS, LOSS, unfilled=corner)
    foreign = measured(tmp_path, path)
    assert int(foreign.n_nonfinite) == 3 and int(foreign.n_local_minima) == 1
    np.testing.assert_allclose(float(foreign.loss_min), LOSS.min())


def test_a_li_et_al_1d_surface_is_a_slice(tmp_path):
    path = tmp_path / "line.h5"
    with h5py.File(path, "w") as f:
        f["xcoordinates"] = XS
        f["train_loss"] = 0.2 + XS**2
    foreign = measured(tmp_path, path)
    reference = metrics_of(tmp_path, (0.2 + XS**2)[None, :], XS, np.zeros(1))
    assert_same_metrics(foreign, reference)


def test_numpy_grids_with_and_without_coordinates(tmp_path):
    reference = metrics_of(tmp_path, LOSS, XS, YS)
    np.savez(tmp_path / "grid.npz", loss=LOSS, x=XS, y=YS)
    assert_same_metrics(measured(tmp_path, tmp_path / "grid.npz"), reference)
    np.save(tmp_path / "bare.npy", LOSS)
    coordinates = ["--coordinates", "-1", "1", "-0.6", "0.6"]
    assert_same_metrics(measured(tmp_path, tmp_path / "bare.npy", *coordinates), reference)
    with pytest.raises(ValueError, match=r"bare.npy holds a bare grid: give its coordinates"):
        measured(tmp_path, tmp_path / "bare.npy")


def test_a_netcdf_grid_with_just_a_loss(tmp_path):
    import xarray as xr

    path = tmp_path / "other_tool.nc"
    xr.Dataset({"train_loss": (("y", "x"), LOSS)}, {"x": XS, "y": YS}).to_netcdf(path)
    assert_same_metrics(measured(tmp_path, path), metrics_of(tmp_path, LOSS, XS, YS))


@pytest.mark.parametrize(
    "write, message",
    [
        (lambda p: np.savez(p, values=LOSS, other=LOSS), r"expected the loss .* found \['values'"),
        (lambda p: np.savez(p, loss=LOSS, x=XS[::-1], y=YS), "x is not strictly increasing"),
        (lambda p: np.savez(p, loss=LOSS.T, x=XS, y=YS), r"shape \(41, 25\) but .* \(25, 41\)"),
    ],
)
def test_a_grid_that_cannot_be_measured_is_refused_by_name(tmp_path, write, message):
    path = tmp_path / "bad.npz"
    write(path)
    with pytest.raises(ValueError, match=message):
        measured(tmp_path, path)


def test_our_own_landscape_files_stay_strictly_validated(tmp_path):
    import xarray as xr

    path = tmp_path / "ours.nc"
    ds = xr.Dataset({"train_loss": (("y", "x"), LOSS)}, {"x": XS, "y": YS})
    ds.attrs["data_model_version"] = 4  # claims to be ours, lacks the rest
    ds.to_netcdf(path)
    with pytest.raises(ValueError, match="does not follow docs/data-model.md"):
        measured(tmp_path, path)


def test_a_netcdf_grid_keeps_what_it_says_of_itself(tmp_path):
    """A grid of the Python API (losslandscape.evaluate) names its plane and its loss's
    units: the reader keeps them, and lists only the attributes that are missing."""
    from losslandscape.api import grid_dataset as api_grid

    xs = np.linspace(-1, 1, 7)
    loss = xs[None, :] ** 2 + xs[:, None] ** 2
    api_grid(xs, xs, {"train_loss": loss}, "mse", "squared units", "random").to_netcdf(
        tmp_path / "api.nc"
    )
    grid = read_grid(tmp_path / "api.nc")
    assert grid.attrs["plane"] == "random" and grid.attrs["loss_units"] == "squared units"
    assert grid.attrs["missing_attributes"] == "activation seed model dataset"
