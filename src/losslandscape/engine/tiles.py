"""Tiles: a grid split into pieces that are evaluated, saved and resumed independently.

The grid's points are numbered in row-major order (``y`` outer, see
:func:`losslandscape.engine.grid.grid_coordinates`); tile ``k`` of ``n`` holds the ``k``-th of
``n`` near-equal consecutive ranges of that numbering. A tile file is a netCDF with one
dimension ``point`` (the global point numbers) and the engine's quantities
(``{split}_loss``, ``{split}_loss_sem``, ``{split}_accuracy``), plus a ``key`` attribute: a
digest of the inputs' contents and every setting that affects the values. Merging checks
the keys agree and that every point is present exactly once.

While a tile runs, the points done so far sit in ``<tile>.partial.nc`` beside it; a restarted
job with the same key continues after them, and a different key starts afresh.
"""

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import xarray as xr

from losslandscape.io.datamodel import GRID_VARIABLES, described, open_netcdf, write_netcdf
from losslandscape.io.files import file_digest

log = logging.getLogger(__name__)


def tile_points(n_points: int, tiles: int, tile: int) -> np.ndarray:
    """Global point numbers ``(n,)`` of tile ``tile`` (0-based) of ``tiles``."""
    if not 1 <= tiles <= n_points:
        raise ValueError(f"tiles = {tiles}: expected between 1 and the {n_points} grid points")
    if not 0 <= tile < tiles:
        raise ValueError(f"tile {tile}: expected 0 ≤ tile < {tiles}")
    return np.array_split(np.arange(n_points), tiles)[tile]


def tile_key(inputs: list[str | Path], settings: dict) -> str:
    """Digest identifying what a tile's values depend on: input contents and settings."""
    payload = {"inputs": [file_digest(p) for p in inputs], "settings": settings}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def partial_path(tile_file: str | Path) -> Path:
    return Path(f"{tile_file}.partial.nc")


def tile_dataset(points: np.ndarray, values: dict[str, np.ndarray], attrs: dict) -> xr.Dataset:
    """A tile (or partial tile) as a Dataset on dim ``point`` ``(n,)``."""
    data_vars = {
        name: (("point",), np.asarray(values[name], np.float64), described(spec, attrs))
        for name, spec in GRID_VARIABLES.items()
    }
    point = (
        "point",
        np.asarray(points, np.int64),
        {"long_name": "flat index y * nx + x of the grid point", "units": "1"},
    )
    return xr.Dataset(data_vars, {"point": point}, attrs=attrs)


def read_tile(path: str | Path) -> xr.Dataset:
    """Load a tile file; errors name the file and what is wrong."""
    try:
        tile = open_netcdf(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"tile file {path}: no such file") from None
    except Exception as error:  # netCDF4 raises OSError/RuntimeError variants for bad files
        raise ValueError(
            f"tile file {path}: cannot be read ({type(error).__name__}: {error})"
        ) from None
    missing = [n for n in GRID_VARIABLES if n not in tile] + [
        a for a in ("key", "tile", "tiles") if a not in tile.attrs
    ]
    if missing:
        raise ValueError(f"tile file {path}: {', '.join(missing)} missing; not a tile file")
    return tile


def resume_partial(tile_file: str | Path, key: str, points: np.ndarray) -> dict[str, np.ndarray]:
    """Values of the points a previous, interrupted run of this tile finished.

    Returns ``{variable: (k,)}`` for the first ``k`` points of ``points`` (k may be 0). A
    partial file from other inputs or settings, or one that cannot be read, is set aside
    with a log line and the tile starts afresh.
    """
    path = partial_path(tile_file)
    empty = {name: np.empty(0) for name in GRID_VARIABLES}
    if not path.exists():
        return empty
    try:
        partial = open_netcdf(path)
    except Exception as error:  # a partial file is a cache: unreadable means recompute
        log.warning("partial tile %s unreadable (%s); starting afresh", path, error)
        return empty
    done = partial["point"].values
    if partial.attrs.get("key") != key or not np.array_equal(done, points[: len(done)]):
        log.warning("partial tile %s is from other inputs or settings; starting afresh", path)
        return empty
    log.info("resuming tile from %s: %d of %d points already done", path, len(done), len(points))
    return {name: partial[name].values for name in GRID_VARIABLES}


def save_partial(tile_file: str | Path, points: np.ndarray, values: dict, attrs: dict) -> None:
    write_netcdf(tile_dataset(points, values, attrs), partial_path(tile_file))


def merge_tiles(paths: list[str | Path], n_points: int) -> tuple[dict[str, np.ndarray], dict]:
    """Assemble tiles into ``{variable: (n_points,)}``; returns the values and the first
    tile's attributes. Raises when keys differ or a point is missing or repeated."""
    tiles = [read_tile(p) for p in paths]
    keys = {t.attrs["key"] for t in tiles}
    if len(keys) != 1:
        raise ValueError(
            f"tiles {[str(p) for p in paths]} come from different inputs or settings "
            f"({len(keys)} keys); rerun them"
        )
    merged = {name: np.full(n_points, np.nan) for name in GRID_VARIABLES}
    seen = np.zeros(n_points, dtype=int)
    for path, tile in zip(paths, tiles, strict=True):
        points = tile["point"].values
        if points.size and (points.min() < 0 or points.max() >= n_points):
            raise ValueError(f"tile file {path}: point numbers outside 0..{n_points - 1}")
        np.add.at(seen, points, 1)
        for name in GRID_VARIABLES:
            merged[name][points] = tile[name].values
    if not np.all(seen == 1):
        missing, repeated = np.flatnonzero(seen == 0), np.flatnonzero(seen > 1)
        raise ValueError(
            f"tiles {[str(p) for p in paths]} do not cover the {n_points} grid points once: "
            f"{len(missing)} missing, {len(repeated)} repeated"
        )
    return merged, dict(tiles[0].attrs)
