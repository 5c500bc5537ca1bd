"""What the CF conventions ask of every netCDF file the workflow writes (docs/data-model.md).

- **Units** (CF §3.1) must be UDUNITS strings. A loss in nats, a plane coordinate and a
  weight-space coordinate are all dimensionless, and UDUNITS has no nat, so such a quantity
  carries ``units = "1"`` and says what it is measured in in its ``long_name``:
  :func:`quantity` builds both.
- **Coordinate variables** (CF §1.3, §5) are numeric and monotonic; labels such as the
  activations of ``study.nc`` are auxiliary coordinate variables of another name, stored
  as character arrays (CF §2.2, §6.1: netCDF-4 variable-length strings are not CF).
  :func:`encode` renames a string dimension coordinate ``d`` to ``d_label`` on writing and
  :func:`decode` turns it back on reading, so code and notebooks keep selecting by label.

Conventions are written as CF-1.8: the newest version the offline CF checker
(``cfchecker`` 4.1, the reference implementation) checks, and nothing the files use is newer.
"""

import xarray as xr

CONVENTIONS = "CF-1.8"
# the UDUNITS strings the files may carry (write_netcdf refuses any other)
UNITS = frozenset({"1", "percent"})
LABEL_SUFFIX = "_label"


def quantity(long_name: str, unit: str) -> dict[str, str]:
    """``long_name`` and ``units`` of a quantity measured in ``unit``.

    Args:
        long_name: what the quantity is, e.g. ``"training-set mean cross-entropy"``.
        unit: a UDUNITS string from :data:`UNITS` (kept), or the name of a dimensionless
            unit such as ``"nats"`` or ``"nats per unit coordinate^2"``, which goes into
            the long name (``"…, in nats"``) while ``units`` is ``"1"``.

    Returns:
        ``{"long_name": …, "units": …}``, CF §3.1.
    """
    if unit in UNITS:
        return {"long_name": long_name, "units": unit}
    return {"long_name": f"{long_name}, in {unit}", "units": "1"}


def check_units(ds: xr.Dataset, source: str) -> None:
    """Raise ValueError naming every variable of ``ds`` whose ``units`` is not in
    :data:`UNITS` (a writer that skipped :func:`quantity`)."""
    wrong = {
        name: var.attrs["units"]
        for name, var in ds.variables.items()
        if "units" in var.attrs and var.attrs["units"] not in UNITS
    }
    if wrong:
        raise ValueError(
            f"{source}: units must be UDUNITS strings ({sorted(UNITS)}; a dimensionless unit "
            f"such as nats goes into long_name, losslandscape.io.cf.quantity), found {wrong}"
        )


def encode(ds: xr.Dataset) -> tuple[xr.Dataset, dict]:
    """``ds`` with each string dimension coordinate ``d`` renamed ``d_label`` (an auxiliary
    coordinate on dimension ``d``), and the encoding that stores those labels as character
    arrays."""
    labels = [
        name for name in ds.dims if name in ds.coords and ds[name].dtype.kind in "OUST"
    ]  # T: numpy StringDType
    encoded = ds.drop_indexes(labels).rename_vars(
        {name: f"{name}{LABEL_SUFFIX}" for name in labels}
    )
    encoding = {f"{name}{LABEL_SUFFIX}": {"dtype": "S1"} for name in labels}
    return encoded, encoding


def decode(ds: xr.Dataset) -> xr.Dataset:
    """Undo :func:`encode`: each ``d_label`` coordinate on dimension ``d`` becomes the
    dimension coordinate ``d`` again (as str)."""
    labels = {
        name: name[: -len(LABEL_SUFFIX)]
        for name, var in ds.coords.items()
        if name.endswith(LABEL_SUFFIX) and var.dims == (name[: -len(LABEL_SUFFIX)],)
    }
    if not labels:
        return ds
    decoded = ds.rename_vars(labels)
    for dim in labels.values():
        decoded = decoded.assign_coords({dim: decoded[dim].astype(str)}).set_xindex(dim)
    return decoded
