"""Every kind of netCDF file the workflow writes passes the CF checker (``cfchecker``, the CF
community's reference implementation) with no errors, offline.

The checker reads the CF standard-name, area-type and region tables from the web unless
given files; the files use no standard names, areas or regions, so empty tables (written
here) are exact. It needs the UDUNITS-2 C library (Debian ``libudunits2-0``): without it the
test skips, except under ``LOSSLANDSCAPE_CFCHECK_REQUIRED=1`` (CI installs it and sets that).
"""

import os
from pathlib import Path

import numpy as np
import pytest

from losslandscape.engine.tiles import tile_dataset
from losslandscape.io import cf
from losslandscape.io.datamodel import GRID_VARIABLES, write_netcdf

REQUIRED = os.environ.get("LOSSLANDSCAPE_CFCHECK_REQUIRED") == "1"
TABLES = {
    "cfStandardNamesXML": ("standard_name_table", "last_modified"),
    "cfAreaTypesXML": ("area_type_table", "date"),
    "cfRegionNamesXML": ("region_names", "date"),
}


def _checker_module():
    try:
        from cfchecker import cfchecks  # imports cfunits, which loads libudunits2
    except Exception as error:  # ImportError, or cfunits' OSError/FileNotFoundError
        if REQUIRED:
            pytest.fail(f"LOSSLANDSCAPE_CFCHECK_REQUIRED=1 but cfchecker cannot run: {error}")
        pytest.skip(f"cfchecker cannot run here ({error}); CI installs libudunits2-0")
    return cfchecks


def _errors(cfchecks, tables: dict, path: Path) -> list[str]:
    """The checker's ERROR and FATAL messages for ``path``, each naming its variable."""
    checker = cfchecks.CFChecker(
        version=cfchecks.CFVersion(cf.CONVENTIONS.removeprefix("CF-")), silent=True, **tables
    )
    results = checker.checker(str(path))
    found = [f"global: {m}" for c in ("FATAL", "ERROR") for m in results["global"][c]]
    for name, messages in results["variables"].items():
        found += [f"{name}: {m}" for c in ("FATAL", "ERROR") for m in messages[c]]
    return found


def _tables(folder: Path) -> dict:
    tables = {}
    for key, (root, date) in TABLES.items():
        path = folder / f"{root}.xml"
        path.write_text(
            f'<?xml version="1.0"?><{root}><version_number>0</version_number>'
            f"<{date}>2026-01-01</{date}></{root}>"
        )
        tables[key] = str(path)
    return tables


def test_every_kind_of_file_passes_the_cf_checker(finished_study, tmp_path):
    cfchecks = _checker_module()
    results = finished_study / "results" / "test"
    run = results / "landscape" / "relu" / "seed_42"
    files = sorted(run.glob("*.nc"))  # every plane kind
    files += sorted((results / "metrics" / "relu" / "seed_42").glob("*.nc"))  # + sharpness
    files += [results / "metrics" / "relu" / "seed_barriers.nc"]
    files += [results / "statistics" / "study.nc"]
    # tiles are temporary in the workflow: one written as the landscape stage writes it
    tile = tmp_path / "tile_0.nc"
    values = {name: np.linspace(0.1, 1.0, 5) for name in GRID_VARIABLES}
    write_netcdf(tile_dataset(np.arange(5), values, {"key": "0" * 64}), tile)
    files.append(tile)
    assert len(files) > 20 and all(path.exists() for path in files)
    tables = _tables(tmp_path)
    problems = {str(path): _errors(cfchecks, tables, path) for path in files}
    assert not {name: found for name, found in problems.items() if found}
