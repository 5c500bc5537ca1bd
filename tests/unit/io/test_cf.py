"""CF conventions of every file write_netcdf writes (losslandscape.io.cf): UDUNITS units with
dimensionless units in the long name, string labels as auxiliary coordinates that read back
as dimension coordinates. The CF checker itself runs on the test study's files
(tests/workflow/test_cf_checker.py)."""

import netCDF4
import numpy as np
import pytest
import xarray as xr

from losslandscape.io import cf
from losslandscape.io.datamodel import open_netcdf, write_netcdf


def test_a_dimensionless_unit_goes_into_the_long_name():
    assert cf.quantity("mean cross-entropy", "nats") == {
        "long_name": "mean cross-entropy, in nats",
        "units": "1",
    }
    assert cf.quantity("accuracy", "1") == {"long_name": "accuracy", "units": "1"}
    assert cf.quantity("epsilon-sharpness", "percent")["units"] == "percent"


def labelled() -> xr.Dataset:
    return xr.Dataset(
        {"value": (("activation", "level"), np.arange(6.0).reshape(2, 3), cf.quantity("v", "1"))},
        coords={
            "activation": ("activation", ["relu", "leaky_relu"], {"long_name": "activation"}),
            "level": ("level", [0.1, 0.2, 0.3], cf.quantity("level", "nats")),
        },
        attrs={"created": "2026-12-01T00:00:00+00:00", "rule": "test"},
    )


def test_string_labels_are_char_array_auxiliary_coordinates_and_read_back(tmp_path):
    path = tmp_path / "labelled.nc"
    write_netcdf(labelled(), path)
    with netCDF4.Dataset(path) as raw:
        # CF §1.3/§5: a coordinate variable (named after its dimension) is numeric; labels
        # are an auxiliary coordinate of another name, a char array (§2.2, §6.1)
        assert "activation" not in raw.variables
        label = raw.variables["activation_label"]
        assert label.dimensions[0] == "activation" and label.dtype == np.dtype("S1")
        assert "activation_label" in raw.variables["value"].coordinates.split()
        assert raw.Conventions == cf.CONVENTIONS
        assert not hasattr(raw.variables["level"], "_FillValue")
    loaded = open_netcdf(path)
    xr.testing.assert_identical(loaded.drop_attrs(), labelled().drop_attrs())
    assert float(loaded.value.sel(activation="leaky_relu", level=0.2)) == 4.0


def test_a_unit_that_is_not_udunits_is_refused_before_anything_is_written(tmp_path):
    ds = labelled()
    ds["value"].attrs["units"] = "nats"
    path = tmp_path / "refused.nc"
    with pytest.raises(ValueError, match=r"refused.nc.*'value': 'nats'"):
        write_netcdf(ds, path)
    assert not path.exists()


def test_labels_of_every_string_dtype_are_char_arrays(tmp_path):
    """object, fixed-width and numpy's StringDType labels (xr.concat over a pandas 3 Index
    gives the last: study.nc's shape classes) all become char arrays."""
    import pandas as pd

    values = [xr.DataArray([1.0]), xr.DataArray([2.0])]
    for kind, labels in (
        ("object", np.array(["cup", "cap"], dtype=object)),
        ("fixed", np.array(["cup", "cap"])),
        ("StringDType", pd.Index(["cup", "cap"], name="shape_class")),
    ):
        stacked = xr.concat(values, dim=pd.Index(labels, name="shape_class"))
        ds = xr.Dataset({"value": stacked.assign_attrs(cf.quantity("v", "1"))})
        path = tmp_path / f"{kind}.nc"
        write_netcdf(ds, path)
        with netCDF4.Dataset(path) as raw:
            assert all(var.dtype != str for var in raw.variables.values()), kind
            assert raw.variables["shape_class_label"].dtype == np.dtype("S1"), kind
        assert open_netcdf(path).value.sel(shape_class="cap").values.ravel().tolist() == [2.0]
