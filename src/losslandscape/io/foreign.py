"""Loss grids made by other tools, read so that ``metrics`` can measure them.

Three kinds of file, each turned into a Dataset with one loss grid on ``(y, x)`` and
strictly increasing ``x``/``y`` coordinates (the study's attributes absent, and named in
``missing_attributes``):

- **netCDF** (``.nc``) without this package's ``data_model_version``: any variable on
  dimensions ``(y, x)`` with coordinates ``x`` and ``y`` (our own landscapes are read and
  validated strictly by :func:`losslandscape.io.datamodel.read_landscape` instead).
- **NumPy**: ``.npz`` with the loss array ``(ny, nx)`` under the requested variable's name
  (or ``loss``, or its only 2-D array) and 1-D ``x`` and ``y``; ``.npy`` with the bare
  ``(ny, nx)`` array, its coordinates given as ``coordinates = (x_min, x_max, y_min,
  y_max)`` (evenly spaced, ``np.linspace``).
- **Li et al. (2018) surface files** (HDF5, ``.h5``; their ``plot_surface.py``):
  ``xcoordinates``, optionally ``ycoordinates`` (absent: a 1-D slice), and ``train_loss``,
  ``train_acc``, ``test_loss``, ``test_acc``. Their loss array is declared
  ``(len(x), len(y))`` but filled in ``np.meshgrid(x, y)`` order (flat index
  ``iy * nx + ix``; their ``scheduler.get_unplotted_indices``), so the flat values are
  reshaped to ``(ny, nx)``; points they had not evaluated hold −1 and become NaN (which
  the metrics treat as walls). Their accuracies are percentages.

The loss's units are unknown: metrics of such a grid are in "the source's loss units".
"""

from pathlib import Path

import numpy as np
import xarray as xr

from losslandscape.io import cf

STUDY_ATTRIBUTES = ("activation", "seed", "model", "dataset", "plane")
SOURCE_UNITS = "the source's loss units"
LI_UNFILLED = -1.0


def is_foreign(path: str | Path) -> bool:
    """Whether ``path`` is not one of this package's landscape files (which carry a
    ``data_model_version`` attribute and are validated strictly)."""
    path = Path(path)
    if path.suffix != ".nc":
        return True
    import netCDF4

    try:
        with netCDF4.Dataset(path) as raw:
            return "data_model_version" not in raw.ncattrs()
    except OSError:
        return False  # unreadable: the strict reader names the problem


def read_grid(
    path: str | Path,
    variable: str = "train_loss",
    coordinates: tuple[float, float, float, float] | None = None,
) -> xr.Dataset:
    """A foreign loss grid as a Dataset with ``variable`` on ``(y, x)`` (see the module).

    Args:
        path: a ``.nc``, ``.npz``, ``.npy`` or ``.h5``/``.hdf5`` file.
        variable: the loss variable to read (and the name it gets).
        coordinates: ``(x_min, x_max, y_min, y_max)`` of a bare ``.npy`` grid (ignored for
            the other kinds, which carry their coordinates).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file's kind is unknown, or it lacks the loss grid or coordinates, or
            their shapes disagree (the message names the file and what it found).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"grid file {path}: no such file")
    readers = {".nc": _netcdf, ".npz": _npz, ".npy": _npy, ".h5": _li, ".hdf5": _li}
    if path.suffix not in readers:
        raise ValueError(
            f"grid file {path}: unknown kind {path.suffix!r}; expected one of {sorted(readers)}"
        )
    loss, xs, ys, source_format = readers[path.suffix](path, variable, coordinates)
    grid = grid_dataset(loss, xs, ys, variable, f"{source_format} file {path.name}")
    if path.suffix == ".nc":  # what a netCDF says of itself (the Python API's grids do)
        with xr.open_dataset(path) as source:
            said = (*STUDY_ATTRIBUTES, "loss", "loss_units")
            kept = {k: source.attrs[k] for k in said if k in source.attrs}
        missing = " ".join(k for k in STUDY_ATTRIBUTES if k not in kept)
        grid.attrs |= kept | {"missing_attributes": missing}
    return grid


def grid_dataset(loss, xs, ys, variable: str, source: str) -> xr.Dataset:
    """``loss`` ``(ny, nx)`` on coordinates ``xs``, ``ys`` as a metrics-ready Dataset.

    Raises:
        ValueError: shapes disagree, or a coordinate is not strictly increasing.
    """
    loss = np.asarray(loss, dtype=np.float64)
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if loss.ndim == 1:  # a 1-D slice along x
        loss = loss[None, :]
    if xs.ndim != 1 or ys.ndim != 1 or loss.shape != (len(ys), len(xs)):
        raise ValueError(
            f"{source}: the loss grid has shape {loss.shape} but the coordinates give "
            f"(len(y), len(x)) = ({ys.size}, {xs.size})"
        )
    for name, values in (("x", xs), ("y", ys)):
        if not np.all(np.diff(values) > 0):
            raise ValueError(f"{source}: coordinate {name} is not strictly increasing")
    return xr.Dataset(
        {variable: (("y", "x"), loss, cf.quantity(f"{variable} of {source}", SOURCE_UNITS))},
        coords={
            "x": ("x", xs, {"long_name": "coordinate along direction u", "units": "1"}),
            "y": ("y", ys, {"long_name": "coordinate along direction v", "units": "1"}),
        },
        attrs={
            "source": source,
            "loss_units": SOURCE_UNITS,
            "missing_attributes": " ".join(STUDY_ATTRIBUTES),
        },
    )


def _netcdf(path: Path, variable: str, _coordinates):
    with xr.open_dataset(path) as ds:
        grids = [n for n, v in ds.data_vars.items() if v.dims == ("y", "x")]
        if variable not in grids:
            raise ValueError(
                f"netCDF file {path}: no variable {variable!r} on dimensions (y, x); "
                f"found {grids or 'none'} among {list(ds.data_vars)}"
            )
        missing = [axis for axis in ("x", "y") if axis not in ds.coords]
        if missing:
            raise ValueError(f"netCDF file {path}: coordinate(s) {missing} missing")
        return ds[variable].values, ds["x"].values, ds["y"].values, "netCDF"


def _npz(path: Path, variable: str, _coordinates):
    with np.load(path) as arrays:
        names = list(arrays.files)
        planes = [n for n in names if arrays[n].ndim == 2]
        name = next((n for n in (variable, "loss") if n in names), None)
        if name is None and len(planes) == 1:
            name = planes[0]
        if name is None or "x" not in names or "y" not in names:
            raise ValueError(
                f"NumPy file {path}: expected the loss (ny, nx) as {variable!r} or 'loss' (or "
                f"the only 2-D array) and 1-D 'x' and 'y'; found {names}"
            )
        return arrays[name], arrays["x"], arrays["y"], "NumPy"


def _npy(path: Path, _variable: str, coordinates):
    loss = np.load(path)
    if loss.ndim != 2:
        raise ValueError(f"NumPy file {path}: expected a (ny, nx) array, found shape {loss.shape}")
    if coordinates is None:
        raise ValueError(
            f"NumPy file {path} holds a bare grid: give its coordinates as "
            "--coordinates X_MIN X_MAX Y_MIN Y_MAX (or save x and y beside it in a .npz)"
        )
    x_min, x_max, y_min, y_max = coordinates
    ny, nx = loss.shape
    return loss, np.linspace(x_min, x_max, nx), np.linspace(y_min, y_max, ny), "NumPy"


def _li(path: Path, variable: str, _coordinates):
    import h5py  # only for this kind of file

    with h5py.File(path, "r") as f:
        names = sorted(f.keys())
        if "xcoordinates" not in f or variable not in f:
            raise ValueError(
                f"HDF5 file {path}: expected Li et al.'s surface layout ('xcoordinates', "
                f"'ycoordinates', {variable!r}); found {names}"
            )
        xs = np.asarray(f["xcoordinates"][:], dtype=np.float64)
        ys = np.asarray(f["ycoordinates"][:], dtype=np.float64) if "ycoordinates" in f else None
        flat = np.asarray(f[variable][:], dtype=np.float64).ravel()
    ny = 1 if ys is None else len(ys)
    if flat.size != ny * len(xs):
        raise ValueError(
            f"HDF5 file {path}: {variable} has {flat.size} values for {len(xs)} x and {ny} y"
        )
    # filled in np.meshgrid(x, y) order whatever the declared shape: row iy holds y[iy]
    loss = np.where(flat == LI_UNFILLED, np.nan, flat).reshape(ny, len(xs))
    return loss, xs, (np.zeros(1) if ys is None else ys), "Li et al. HDF5"
