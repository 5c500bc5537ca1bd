import numpy as np
import pytest
import xarray as xr

from losslandscape.io import cf
from losslandscape.io.datamodel import (
    GRID_VARIABLES,
    build_landscape,
    read_landscape,
    validate_landscape,
    write_landscape,
    write_netcdf,
)
from losslandscape.io.provenance import provenance_attrs


def make_landscape(nx: int = 6, ny: int = 5) -> xr.Dataset:
    xs, ys = np.linspace(-1, 1, nx), np.linspace(-2, 2, ny)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    loss = xx**2 + 0.5 * yy**2 + 0.1
    grid = {
        "train_loss": loss,
        "test_loss": loss + 0.2,
        "train_accuracy": np.exp(-loss),
        "test_accuracy": np.exp(-loss - 0.2),
        "train_loss_sem": 0.01 * loss,
        "test_loss_sem": 0.02 * loss,
    }
    trajectory = {
        "trajectory_x": [-1.0, -0.5, 0.0],
        "trajectory_y": [0.5, 0.1, 0.0],
        "trajectory_loss": [2.0, 1.0, 0.1],
        "trajectory_residual": [0.1, 0.05, 0.0],
    }
    attrs = {
        "activation": "relu",
        "seed": 42,
        "model": "mlp",
        "dataset": "toy",
        "plane": "pca",
        "normalization": "unit",
        "explained_variance_ratio": [0.8, 0.1],
        **provenance_attrs("test", {"resolution": nx}),
    }
    return build_landscape(xs, ys, grid, [0, 1, 2], trajectory, attrs)


def test_netcdf_round_trip_is_identical(tmp_path):
    landscape = make_landscape()
    write_landscape(landscape, tmp_path / "l.nc")
    loaded = read_landscape(tmp_path / "l.nc")
    xr.testing.assert_identical(loaded.drop_attrs(), landscape.drop_attrs())
    for key, value in landscape.attrs.items():
        np.testing.assert_array_equal(loaded.attrs[key], value)
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away


def test_every_variable_has_long_name_and_units():
    landscape = make_landscape()
    validate_landscape(landscape)
    assert all({"long_name", "units"} <= set(v.attrs) for v in landscape.variables.values())
    # cross-entropy is dimensionless: CF units "1", the nats in the long name (CF §3.1)
    assert landscape["train_loss"].attrs["units"] == "1"
    assert landscape["train_loss"].attrs["long_name"].endswith(", in nats")


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda ds: ds.drop_vars("test_loss"), "variable 'test_loss' is missing"),
        (lambda ds: ds.drop_attrs(deep=False), "attribute 'activation' is missing"),
        (lambda ds: ds.assign_attrs(flag=True), "attribute 'flag' has type bool"),
        (
            lambda ds: ds.isel(x=slice(None, None, -1)),
            "coordinate 'x' must hold at least 2 strictly increasing",
        ),
        (
            lambda ds: ds.assign(train_accuracy=ds.train_accuracy + 2),
            "train_accuracy has values outside",
        ),
        (lambda ds: ds.assign(train_loss=ds.train_loss.T), "train_loss has dims ('x', 'y')"),
    ],
)
def test_validation_names_what_is_wrong(breakage, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_landscape(breakage(make_landscape()))


def test_reading_a_corrupt_file_names_it(tmp_path):
    path = tmp_path / "bad.nc"
    path.write_bytes(b"\x89HDF garbage")
    with pytest.raises(ValueError, match=r"landscape file .*bad.nc: cannot be read"):
        read_landscape(path)
    assert set(GRID_VARIABLES) == {
        f"{split}_{quantity}"
        for split in ("train", "test")
        for quantity in ("loss", "loss_sem", "accuracy")
    }


def test_files_carry_the_cf_globals_and_coordinates_without_fill_values(tmp_path):
    """CF §2.6 (Conventions, history) and §5 (no missing values in coordinate variables),
    on a landscape and a file of another kind (issue 21: the CF checker had found none of
    the globals and a NaN _FillValue on x and y)."""
    import netCDF4

    write_landscape(make_landscape(), tmp_path / "l.nc")
    other = xr.Dataset({"v": ("k", [1.0, 2.0])}, coords={"k": [0.5, 1.5]})
    write_netcdf(other, tmp_path / "o.nc")
    for name in ("l.nc", "o.nc"):
        with netCDF4.Dataset(tmp_path / name) as ds:
            assert ds.getncattr("Conventions") == cf.CONVENTIONS
            assert "losslandscape" in ds.getncattr("history")
            for coordinate in ("x", "y") if name == "l.nc" else ("k",):
                assert "_FillValue" not in ds.variables[coordinate].ncattrs()
