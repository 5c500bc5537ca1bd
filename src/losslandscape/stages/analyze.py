"""Stages that analyse landscapes without torch: per-landscape metrics and study tables."""

import logging

import numpy as np
import pandas as pd
import xarray as xr

from losslandscape.io import datamodel, foreign
from losslandscape.io.datamodel import LOSS_UNITS
from losslandscape.io.files import write_csv, write_text
from losslandscape.io.provenance import PYTHON_CALL, provenance_attrs
from losslandscape.metrics.barriers import plane_barriers
from losslandscape.metrics.landscape import landscape_metrics
from losslandscape.metrics.variables import BARRIER_METRICS
from losslandscape.statistics import answer, summary
from losslandscape.statistics import study as study_statistics
from losslandscape.units import in_loss_units

log = logging.getLogger(__name__)


def run_compute_metrics(
    landscape: str,
    out: str,
    rule: str = PYTHON_CALL,
    coordinates: tuple[float, float, float, float] | None = None,
    **options,
) -> None:
    """Metrics of one landscape file → metrics netCDF.

    ``landscape`` is one of this package's landscapes (validated strictly), or a grid made
    by another tool (:mod:`losslandscape.io.foreign`: a netCDF with a loss on ``(y, x)``, a
    NumPy ``.npz``/``.npy`` — ``coordinates`` for a bare ``.npy`` — or Li et al.'s HDF5
    surface file), whose metrics carry no study attributes and name them as missing.
    ``options`` are the keyword arguments of
    :func:`losslandscape.metrics.landscape.landscape_metrics`
    (variable, tolerances, edge rule, basin levels and mode, region height, roughness
    scale, shape smoothing).
    """
    if foreign.is_foreign(landscape):
        source = foreign.read_grid(landscape, options.get("variable", "train_loss"), coordinates)
        log.warning(
            "%s is not a losslandscape landscape: measuring it without the study's attributes "
            "(%s), its loss in %s",
            landscape,
            source.attrs["missing_attributes"],
            source.attrs["loss_units"],
        )
    else:
        source = datamodel.read_landscape(landscape)
    metrics = landscape_metrics(source, **options)
    if "three_point_x" in source.attrs:
        metrics = metrics.assign(model_barriers(source, options.get("variable", "train_loss")))
    keep = ("activation", "seed", "model", "dataset", "plane", "source", "missing_attributes")
    keep += ("plane_name", "draw", "centre_epoch", "plane_seeds", "extent", "loss", "loss_units")
    parameters = {"landscape": str(landscape), **options}
    if coordinates is not None:
        parameters["coordinates"] = list(coordinates)
    metrics.attrs |= {key: source.attrs[key] for key in keep if key in source.attrs}
    metrics.attrs |= provenance_attrs(rule, parameters)
    datamodel.write_netcdf(metrics, out)
    units = source.attrs.get("loss_units", LOSS_UNITS)
    log.info(
        "metrics of %s: %d local minima in the window, %d in the low-loss region; "
        "roughness %.4g %s, steepness %.4g %s per unit; basin widths %s at %s %s above the "
        "minimum (touching the edge: %s)",
        landscape,
        int(metrics.n_local_minima),
        int(metrics.n_local_minima_region),
        float(metrics.roughness),
        units,
        float(metrics.steepness),
        units,
        metrics.basin_width.values.round(4).tolist(),
        metrics.basin_height.values.round(4).tolist(),
        units if metrics.attrs["basin_level_mode"] == "absolute" else "x the loss range",
        metrics.basin_touches_edge.values.tolist(),
    )


def model_barriers(landscape: xr.Dataset, variable: str) -> dict[str, xr.DataArray]:
    """Barriers between the three models a three-point or three-seed plane passes through
    (its ``three_point_x``/``three_point_y`` attrs): the lowest pass on the grid between
    each pair (:func:`losslandscape.metrics.barriers.plane_barriers`, nats), as a ``(model,
    model_to)`` matrix and its mean and maximum over the three pairs."""
    points = np.column_stack(
        [
            np.atleast_1d(landscape.attrs["three_point_x"]),
            np.atleast_1d(landscape.attrs["three_point_y"]),
        ]
    )
    matrix = plane_barriers(
        landscape["x"].values, landscape["y"].values, landscape[variable].values, points
    )
    pairs = matrix[np.triu_indices(len(points), k=1)]
    values = {"model_barrier": matrix, "model_barrier_mean": pairs.mean()}
    values["model_barrier_max"] = pairs.max()
    entries = {
        name: spec.entry(values[name], units=landscape.attrs.get("loss_units", LOSS_UNITS))
        for name, spec in BARRIER_METRICS.items()
    }
    return {
        name: xr.DataArray(data, dims=dims, attrs=attrs)
        for name, (dims, data, attrs) in entries.items()
    }


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
    across_seeds: list[str] = (),
    seed_barriers: list[str] = (),
    over_training: list[str] = (),
    out_across_seeds: str | None = None,
    out_over_training: str | None = None,
    target_loss: float | None = None,
) -> None:
    """One row per (run, plane) → ``out``; means and sds over seeds → ``out_by_activation``;
    the planes through several seeds' models (``across_seeds`` metrics) and the lines
    between them (``seed_barriers`` files) → ``out_across_seeds``; the narrow planes of the
    first draw around earlier checkpoints and the final model (``over_training`` metrics)
    → ``out_over_training``.

    ``sharpness`` and ``histories`` hold one file per run, in the order of ``runs``;
    ``target_loss`` is the study's training-loss target (nats), or None.
    """
    by_run = {}
    for run, history, sharp in zip(runs, histories, sharpness, strict=True):
        by_run[run] = (pd.read_csv(history), datamodel.open_netcdf(sharp))
    rows = []
    for path in metrics:
        ds = datamodel.open_netcdf(path)
        history, sharp = by_run[(ds.attrs["activation"], int(ds.attrs["seed"]))]
        rows.append(summary.run_row(ds, history, sharp, target_loss))
    table = summary.study_summary(rows)
    write_csv(table, out, float_format="%.6g")
    write_csv(summary.activation_summary(table), out_by_activation, float_format="%.6g")
    if out_across_seeds is not None:
        planes = [datamodel.open_netcdf(path) for path in across_seeds]
        lines = [datamodel.open_netcdf(path) for path in seed_barriers]
        write_csv(summary.across_seeds_table(planes, lines), out_across_seeds, float_format="%.6g")
    if out_over_training is not None:
        frames = [datamodel.open_netcdf(path) for path in over_training]
        histories_by_run = {run: history for run, (history, _) in by_run.items()}
        write_csv(
            summary.over_training_table(frames, histories_by_run),
            out_over_training,
            float_format="%.6g",
        )


def run_study_statistics(
    summary: str,
    activations: list[str],
    planes: list[str],
    outputs: dict[str, str],
    basin_level_mode: str = "absolute",
    across_seeds: str | None = None,
    rule: str = PYTHON_CALL,
    loss_units: str = LOSS_UNITS,
) -> None:
    """The per-run summary → statistics tables, the study netCDF and the front-page answer
    (``basin_level_mode``: the config's, for the basin levels' units; ``across_seeds``: the
    table of barriers between seeds, for the front page, if the study has one;
    ``loss_units``: the units of the study's loss, ``training.loss``, in which the netCDF
    and the answer state every loss and height: :data:`losslandscape.units.LOSS_UNITS`).

    Runs that did not reach the training-loss target are left out of every test, interval
    and correlation (:func:`losslandscape.statistics.study.converged_runs`) and listed on
    the front page; the variance split uses every run (it measures draw noise, not the
    activations). ``outputs`` names the files: ``by_activation``, ``comparisons``,
    ``correlations``, ``variance_split`` (CSV), ``dataset`` (netCDF over plane, activation
    and seed) and ``answer`` (reStructuredText).
    """
    table = pd.read_csv(summary)
    unknown = sorted(set(table["activation"]) - set(activations))
    if unknown:
        raise ValueError(f"{summary} has activations {unknown} that the config does not list")
    kept, left_out = study_statistics.converged_runs(table)
    # activations none of whose runs reached the target drop out of every table
    compared = [a for a in activations if a in set(kept["activation"])]
    if not compared:
        raise ValueError(
            f"{summary}: no run reached the training-loss target, so there is nothing to "
            f"compare; runs: {left_out.to_dict('records')}. Train longer, change the learning "
            "rates, or raise training.target_loss"
        )
    stats = study_statistics.by_activation(kept)
    tests = study_statistics.comparisons(kept, compared)
    correlations = study_statistics.correlations(kept)
    split = study_statistics.variance_split(table)
    for name, frame in (
        ("by_activation", stats),
        ("comparisons", tests),
        ("correlations", correlations),
        ("variance_split", split),
    ):
        write_csv(frame, outputs[name], float_format="%.6g")
    attrs = provenance_attrs(rule, {"summary": str(summary)})
    datamodel.write_netcdf(
        study_statistics.study_dataset(table, attrs, loss_units), outputs["dataset"]
    )
    barriers = pd.read_csv(across_seeds) if across_seeds else None
    text = answer.answer_rst(
        kept,
        stats,
        tests,
        correlations,
        compared,
        planes,
        basin_level_mode,
        variance=split,
        left_out=left_out,
        across_seeds=barriers,
    )
    write_text(outputs["answer"], in_loss_units(text, loss_units))
    log.info("statistics of %d runs → %s", table.groupby(["activation", "seed"]).ngroups, outputs)
