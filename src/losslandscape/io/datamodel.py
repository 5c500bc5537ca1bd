"""The landscape netCDF contract (docs/data-model.md), enforced at write time and in tests.

A landscape is an ``xarray.Dataset`` with

- dims ``y`` (along direction v) and ``x`` (along direction u), with coordinates of the same
  names (float, strictly increasing), and ``epoch`` (saved checkpoints, int coordinate);
- variables ``train_loss``, ``test_loss`` (nats), their standard errors ``train_loss_sem``,
  ``test_loss_sem`` (nats), ``train_accuracy``, ``test_accuracy`` (fraction) on ``(y, x)``;
  a 1-D slice (plane ``interpolation`` or ``line``) has one ``y`` value, 0;
- ``trajectory_x``, ``trajectory_y`` (plane coordinates of each checkpoint),
  ``trajectory_loss`` (train loss of the checkpoint's own weights, nats) and
  ``trajectory_residual`` (relative off-plane distance) on ``(epoch,)``;
- every variable with ``long_name`` and ``units``: all are dimensionless, so CF ``units``
  ``"1"`` with the nats in ``long_name`` (:mod:`losslandscape.io.cf`);
- attributes listed in :data:`REQUIRED_ATTRS` (str, int, float or lists of them).
"""

from pathlib import Path

import numpy as np
import xarray as xr

from losslandscape.io import cf
from losslandscape.io.files import atomic_write

# 2: standard errors of the mean losses; 1-D slices; 3: metrics in loss units; 4: CF units
# ("1", the nats in long_name) and string labels as d_label coordinates (io/cf.py)
DATA_MODEL_VERSION = 4

# the default loss's unit: cross-entropy with the natural logarithm. Dimensionless, so CF
# units "1" with the nats in the long name (losslandscape.io.cf.quantity)
LOSS_UNITS = "nats"
# Long names and units as templates of the file's loss (attribute ``loss``: {loss}, as
# "cross-entropy" or "mse") and its units (``loss_units``: {units}); :func:`described`
GRID_VARIABLES = {
    "train_loss": ("training-set mean {loss}", "{units}"),
    "train_loss_sem": ("standard error of the training-set mean {loss}", "{units}"),
    "train_accuracy": ("training-set accuracy", "1"),
    "test_loss": ("test-set mean {loss}", "{units}"),
    "test_loss_sem": ("standard error of the test-set mean {loss}", "{units}"),
    "test_accuracy": ("test-set accuracy", "1"),
}
# The loss grids, train then test: those the metrics may describe (config metrics.variable)
LOSS_VARIABLES = ("train_loss", "test_loss")
TRAJECTORY_VARIABLES = {
    "trajectory_x": ("checkpoint coordinate along u", "1"),
    "trajectory_y": ("checkpoint coordinate along v", "1"),
    "trajectory_loss": ("training-set mean {loss} of the checkpoint's own weights", "{units}"),
    "trajectory_residual": ("relative distance of the checkpoint from the plane", "1"),
}
REQUIRED_ATTRS = (
    "data_model_version",
    "activation",
    "seed",
    "model",
    "dataset",
    "plane",
    "normalization",
    "created",
    "losslandscape_version",
    "torch_version",
    "git_commit",
    "rule",
    "parameters",
)
ATTR_TYPES = (str, int, float, np.integer, np.floating, list, tuple, np.ndarray)


def described(spec: tuple[str, str], attrs: dict) -> dict[str, str]:
    """A variable's CF ``long_name`` and ``units`` (:func:`losslandscape.io.cf.quantity`)
    from its template ``spec`` and the file's ``attrs``: the loss they name (``loss``,
    default cross-entropy) in its units (``loss_units``, default nats)."""
    loss = str(attrs.get("loss", "cross_entropy")).replace("_", "-")
    units = str(attrs.get("loss_units", LOSS_UNITS))
    long_name, unit = spec
    return cf.quantity(long_name.format(loss=loss), unit.format(units=units))


def build_landscape(
    xs: np.ndarray,
    ys: np.ndarray,
    grid: dict[str, np.ndarray],
    epochs: list[int],
    trajectory: dict[str, np.ndarray],
    attrs: dict,
) -> xr.Dataset:
    """Assemble a landscape Dataset from evaluated grids and the projected trajectory.

    Args:
        xs: ``(nx,)``; ys: ``(ny,)`` grid coordinates.
        grid: the four :data:`GRID_VARIABLES`, each ``(ny, nx)``.
        trajectory: the four :data:`TRAJECTORY_VARIABLES`, each ``(n_epochs,)``.
        attrs: provenance and run description (see :data:`REQUIRED_ATTRS`); ``loss`` and
            ``loss_units`` name the loss the long names and units state (:func:`described`).
    """
    data_vars = {
        name: (("y", "x"), np.asarray(grid[name], dtype=np.float64), described(spec, attrs))
        for name, spec in GRID_VARIABLES.items()
    }
    data_vars |= {
        name: (("epoch",), np.asarray(trajectory[name], dtype=np.float64), described(spec, attrs))
        for name, spec in TRAJECTORY_VARIABLES.items()
    }
    coords = {
        "x": (
            "x",
            np.asarray(xs, dtype=np.float64),
            {"long_name": "coordinate along direction u", "units": "1"},
        ),
        "y": (
            "y",
            np.asarray(ys, dtype=np.float64),
            {"long_name": "coordinate along direction v", "units": "1"},
        ),
        "epoch": (
            "epoch",
            np.asarray(epochs, dtype=np.int64),
            {"long_name": "training epoch of the checkpoint", "units": "1"},
        ),
    }
    return xr.Dataset(data_vars, coords, attrs={"data_model_version": DATA_MODEL_VERSION, **attrs})


def validate_landscape(ds: xr.Dataset, source: str = "landscape") -> None:
    """Check ``ds`` against the data model; raise one ValueError listing every problem."""
    problems = []
    for name in (*GRID_VARIABLES, *TRAJECTORY_VARIABLES):
        if name not in ds.data_vars:
            problems.append(f"variable {name!r} is missing")
    for name in GRID_VARIABLES:
        if name in ds and ds[name].dims != ("y", "x"):
            problems.append(f"{name} has dims {ds[name].dims}, expected ('y', 'x')")
    for name in TRAJECTORY_VARIABLES:
        if name in ds and ds[name].dims != ("epoch",):
            problems.append(f"{name} has dims {ds[name].dims}, expected ('epoch',)")
    for axis, least in (("x", 2), ("y", 1)):  # one y value: a 1-D slice along u
        if axis not in ds.coords:
            problems.append(f"coordinate {axis!r} is missing")
        elif ds.sizes[axis] < least or not np.all(np.diff(ds[axis].values) > 0):
            problems.append(
                f"coordinate {axis!r} must hold at least {least} strictly increasing values"
            )
    for name, var in ds.variables.items():
        for key in ("long_name", "units"):
            if key not in var.attrs:
                problems.append(f"{name} has no {key!r} attribute")
    for name in ("train_accuracy", "test_accuracy"):
        if name in ds and not bool(((ds[name] >= 0) & (ds[name] <= 1)).all()):
            problems.append(f"{name} has values outside [0, 1]")
    for key in REQUIRED_ATTRS:
        if key not in ds.attrs:
            problems.append(f"attribute {key!r} is missing")
    for key, value in ds.attrs.items():
        if isinstance(value, bool) or not isinstance(value, ATTR_TYPES):
            problems.append(
                f"attribute {key!r} has type {type(value).__name__}; use str, int, float or a list"
            )
    if problems:
        raise ValueError(f"{source} does not follow docs/data-model.md: " + "; ".join(problems))


def write_netcdf(ds: xr.Dataset, path: str | Path) -> None:
    """Write ``ds`` compressed (zlib) to a temporary name, then rename to ``path``, as the
    CF conventions ask (:mod:`losslandscape.io.cf`).

    Adds the global ``Conventions`` and ``history`` attributes (CF §2.6.1, §2.6.2:
    ``history`` from the provenance's ``created``, package version and ``rule`` where the
    file has them, newest line first), writes coordinates without a ``_FillValue`` (CF §5:
    coordinate variables must not have missing values; xarray gives float ones NaN) and
    string labels as auxiliary coordinates (:func:`losslandscape.io.cf.encode`; read them
    back with :func:`open_netcdf`).

    Raises:
        ValueError: a variable's ``units`` is not a UDUNITS string of
            :data:`losslandscape.io.cf.UNITS` (nothing is written).
    """
    cf.check_units(ds, f"netCDF file {path}")
    ds, encoding = cf.encode(ds.copy())
    ds.attrs.setdefault("Conventions", cf.CONVENTIONS)
    attrs = ds.attrs
    line = (
        f"{attrs.get('created', 'unknown time')}: losslandscape "
        f"{attrs.get('losslandscape_version', '')} {attrs.get('rule', '')}".rstrip()
    )
    earlier = str(attrs.get("history", ""))
    if line not in earlier.splitlines():  # CF §2.6.2: newest first, earlier lines kept
        attrs["history"] = line + ("\n" + earlier if earlier else "")
    encoding |= {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
    encoding |= {name: encoding.get(name, {}) | {"_FillValue": None} for name in ds.coords}
    atomic_write(
        path, lambda temporary: ds.to_netcdf(temporary, engine="netcdf4", encoding=encoding)
    )


def open_netcdf(path: str | Path) -> xr.Dataset:
    """A netCDF file written by :func:`write_netcdf`, loaded into memory with its string
    labels as dimension coordinates again (:func:`losslandscape.io.cf.decode`)."""
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return cf.decode(ds.load())


def write_landscape(ds: xr.Dataset, path: str | Path) -> None:
    """Validate, then write a landscape atomically."""
    validate_landscape(ds, source=f"landscape for {path}")
    write_netcdf(ds, path)


def read_landscape(path: str | Path) -> xr.Dataset:
    """Load a landscape into memory and validate it (errors name the file)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"landscape file {path}: no such file")
    try:
        loaded = open_netcdf(path)
    except Exception as error:  # netCDF4 raises OSError/RuntimeError variants for bad files
        raise ValueError(
            f"landscape file {path}: cannot be read ({type(error).__name__}: {error})"
        ) from None
    validate_landscape(loaded, source=f"landscape file {path}")
    return loaded
