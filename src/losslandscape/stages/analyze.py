"""Stages that analyse landscapes without torch: per-landscape metrics and study tables."""

import logging
from pathlib import Path

import pandas as pd
import xarray as xr

from losslandscape import datamodel, summary
from losslandscape.metrics import landscape_metrics
from losslandscape.provenance import provenance_attrs

log = logging.getLogger(__name__)


def run_compute_metrics(landscape: str, out: str, rule: str = "compute_metrics", **options) -> None:
    """Metrics of one landscape file → metrics netCDF.

    ``options`` are the keyword arguments of :func:`losslandscape.metrics.landscape_metrics`
    (variable, tolerances, edge rule, basin levels and mode, shape smoothing and level).
    """
    source = datamodel.read_landscape(landscape)
    metrics = landscape_metrics(source, **options)
    keep = ("activation", "seed", "model", "dataset", "plane")
    parameters = {"landscape": str(landscape), **options}
    metrics.attrs |= {key: source.attrs[key] for key in keep} | provenance_attrs(rule, parameters)
    datamodel.write_netcdf(metrics, out)
    log.info(
        "metrics of %s: %d local minima, roughness %.4g, basin diameters %s",
        landscape,
        int(metrics.n_local_minima),
        float(metrics.roughness),
        metrics.basin_equivalent_diameter.values.round(4).tolist(),
    )


def load_histories(histories: list[str], runs: list[tuple[str, int]]) -> pd.DataFrame:
    """Concatenate history CSVs into one long table with ``activation`` and ``seed`` columns."""
    tables = [
        pd.read_csv(path).assign(activation=activation, seed=seed)
        for path, (activation, seed) in zip(histories, runs, strict=True)
    ]
    return pd.concat(tables, ignore_index=True)


def run_summarize_study(
    metrics: list[str],
    sharpness: list[str],
    histories: list[str],
    runs: list[tuple[str, int]],
    out: str,
    out_by_activation: str,
) -> None:
    """One row per (run, plane) → ``out``; means and sds over seeds → ``out_by_activation``.

    ``sharpness`` and ``histories`` hold one file per run, in the order of ``runs``.
    """
    by_run = {}
    for run, history, sharp in zip(runs, histories, sharpness, strict=True):
        with xr.open_dataset(sharp) as ds:
            by_run[run] = (pd.read_csv(history), ds.load())
    rows = []
    for path in metrics:
        with xr.open_dataset(path) as ds:
            history, sharp = by_run[(ds.attrs["activation"], int(ds.attrs["seed"]))]
            rows.append(summary.run_row(ds.load(), history, sharp))
    table = summary.study_summary(rows)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False, float_format="%.6g")
    summary.activation_summary(table).to_csv(out_by_activation, index=False, float_format="%.6g")
