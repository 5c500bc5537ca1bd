"""Stages that analyse landscapes without torch: per-landscape metrics and study tables."""

import logging
from pathlib import Path

import pandas as pd
import xarray as xr

from losslandscape import datamodel, summary
from losslandscape.metrics import landscape_metrics
from losslandscape.provenance import provenance_attrs

log = logging.getLogger(__name__)


def run_compute_metrics(
    landscape: str,
    out: str,
    variable: str = "train_loss",
    tolerance_absolute: float = 1e-6,
    tolerance_relative: float = 1e-4,
    rule: str = "compute_metrics",
) -> None:
    """Metrics of one landscape file → metrics netCDF (see :mod:`losslandscape.metrics`)."""
    source = datamodel.read_landscape(landscape)
    metrics = landscape_metrics(source, variable, tolerance_absolute, tolerance_relative)
    parameters = {
        "landscape": str(landscape),
        "variable": variable,
        "tolerance_absolute": tolerance_absolute,
        "tolerance_relative": tolerance_relative,
    }
    keep = ("activation", "seed", "model", "dataset", "plane")
    metrics.attrs |= {key: source.attrs[key] for key in keep} | provenance_attrs(rule, parameters)
    datamodel.write_netcdf(metrics, out)
    log.info(
        "metrics of %s: %d local minima, roughness %.4g",
        landscape,
        int(metrics.n_local_minima),
        float(metrics.roughness),
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
    histories: list[str],
    runs: list[tuple[str, int]],
    out: str,
    out_by_activation: str,
) -> None:
    """One row per (run, plane) → ``out``; means and sds over seeds → ``out_by_activation``."""
    by_run = {run: pd.read_csv(path) for run, path in zip(runs, histories, strict=True)}
    rows = []
    for path in metrics:
        with xr.open_dataset(path) as ds:
            rows.append(
                summary.run_row(ds.load(), by_run[(ds.attrs["activation"], int(ds.attrs["seed"]))])
            )
    table = summary.study_summary(rows)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False, float_format="%.6g")
    summary.activation_summary(table).to_csv(out_by_activation, index=False, float_format="%.6g")
