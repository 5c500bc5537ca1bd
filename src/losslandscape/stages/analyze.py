"""Stages that analyse landscapes without torch: per-landscape metrics and study tables."""

import logging

import pandas as pd
import xarray as xr

from losslandscape import answer, datamodel, study_statistics, summary
from losslandscape.files import write_csv, write_text
from losslandscape.metrics import landscape_metrics
from losslandscape.provenance import provenance_attrs

log = logging.getLogger(__name__)


def run_compute_metrics(landscape: str, out: str, rule: str = "compute_metrics", **options) -> None:
    """Metrics of one landscape file → metrics netCDF.

    ``options`` are the keyword arguments of :func:`losslandscape.metrics.landscape_metrics`
    (variable, tolerances, edge rule, basin levels and mode, region height, roughness
    scale, shape smoothing).
    """
    source = datamodel.read_landscape(landscape)
    metrics = landscape_metrics(source, **options)
    keep = ("activation", "seed", "model", "dataset", "plane")
    parameters = {"landscape": str(landscape), **options}
    metrics.attrs |= {key: source.attrs[key] for key in keep} | provenance_attrs(rule, parameters)
    datamodel.write_netcdf(metrics, out)
    log.info(
        "metrics of %s: %d local minima in the window, %d in the low-loss region; "
        "roughness %.4g %s, steepness %.4g %s per unit; basin widths %s at %s %s above the "
        "minimum (touching the edge: %s)",
        landscape,
        int(metrics.n_local_minima),
        int(metrics.n_local_minima_region),
        float(metrics.roughness),
        metrics.roughness.attrs["units"],
        float(metrics.steepness),
        metrics.roughness.attrs["units"],
        metrics.basin_width.values.round(4).tolist(),
        metrics.basin_height.values.round(4).tolist(),
        metrics.basin_height.attrs["units"],
        metrics.basin_touches_edge.values.tolist(),
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
    write_csv(table, out, float_format="%.6g")
    write_csv(summary.activation_summary(table), out_by_activation, float_format="%.6g")


def run_study_statistics(
    summary: str,
    activations: list[str],
    planes: list[str],
    outputs: dict[str, str],
    basin_level_mode: str = "absolute",
) -> None:
    """The per-run summary → statistics tables, the study netCDF and the front-page answer
    (``basin_level_mode``: the config's, for the basin levels' units).

    ``outputs`` names the files: ``by_activation``, ``comparisons``, ``correlations`` (CSV),
    ``dataset`` (netCDF over plane, activation and seed) and ``answer`` (reStructuredText).
    """
    table = pd.read_csv(summary)
    unknown = sorted(set(table["activation"]) - set(activations))
    if unknown:
        raise ValueError(f"{summary} has activations {unknown} that the config does not list")
    stats = study_statistics.by_activation(table)
    tests = study_statistics.comparisons(table, activations)
    correlations = study_statistics.correlations(table)
    for name, frame in (
        ("by_activation", stats),
        ("comparisons", tests),
        ("correlations", correlations),
    ):
        write_csv(frame, outputs[name], float_format="%.6g")
    attrs = provenance_attrs("study_statistics", {"summary": str(summary)})
    datamodel.write_netcdf(study_statistics.study_dataset(table, attrs), outputs["dataset"])
    text = answer.answer_rst(
        table, stats, tests, correlations, activations, planes, basin_level_mode
    )
    write_text(outputs["answer"], text)
    log.info("statistics of %d runs → %s", table.groupby(["activation", "seed"]).ngroups, outputs)
