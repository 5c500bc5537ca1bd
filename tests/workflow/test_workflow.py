"""The tiny test study (config/test.yaml) through Snakemake, as a user runs it.

The workflow files are copied to a temporary folder so the run starts from a clean state.
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr
import yaml

from losslandscape.io.datamodel import read_landscape
from losslandscape.planes.directions import load_directions
from losslandscape.planes.kinds import ACROSS_SEEDS, SLICES
from losslandscape.training.checkpoints import load_checkpoints
from tests.dry_run import SNAKEMAKE, job_counts
from tests.study import (
    COMPUTED,
    assert_same_results,
    copy_workflow,
    plane_names,
    snakemake,
    study_config,
)


def test_every_run_and_plane_has_a_valid_landscape_and_figure(finished_study):
    results = finished_study / "results" / "test"
    config = study_config(finished_study)
    summary_rows = 0
    for activation in config["activations"]:
        for seed in config["seeds"]:
            folder = f"{activation}/seed_{seed}"
            for plane in plane_names(config, seed):
                landscape = read_landscape(results / "landscape" / folder / f"{plane}.nc")
                assert landscape.sizes["x"] == 5
                assert landscape.sizes["y"] == (1 if plane.kind in SLICES else 5)
                assert landscape.attrs["activation"] == activation
                assert landscape.attrs["plane"] == plane.kind
                assert landscape.attrs["plane_name"] == str(plane)
                assert landscape.attrs["draw"] == plane.draw
                assert landscape.sizes["epoch"] == 4  # epochs 0..3
                with xr.open_dataset(results / "metrics" / folder / f"{plane}.nc") as metrics:
                    # the global minimum counts when the surface rises by the tolerance at
                    # all (the test study's 3-epoch sigmoid has planes flatter than 1e-3)
                    discernible = float(metrics.loss_range) >= float(metrics.minima_tolerance)
                    assert (int(metrics.n_local_minima) >= 1) == discernible
                figure = results / "report" / "landscape" / folder / f"{plane}.png"
                drawn = plane.draw == 1 and plane.epoch is None
                assert figure.exists() == drawn
                if drawn:
                    assert figure.stat().st_size > 10_000
                summary_rows += plane.epoch is None and plane.kind not in ACROSS_SEEDS
            with xr.open_dataset(results / "metrics" / folder / "sharpness.nc") as sharp:
                assert float(sharp.hessian_max_eigenvalue) >= float(sharp.hessian_min_eigenvalue)
    summary = pd.read_csv(results / "metrics" / "summary.csv")
    expected = {
        "draw",
        "n_local_minima",
        "n_local_minima_region",
        "roughness",
        "steepness",
        "nonconvex_fraction",
        "final_test_accuracy",
        "hessian_trace",
        "hessian_max_eigenvalue_adaptive",
        "basin_width_level_0.3",
        "basin_touches_edge_level_0.3",
        "shape_class_fraction_shape_class_cup",
        "headline_stable_headline_roughness",
        "target_epoch",
        "reached_target",
    }
    assert len(summary) == summary_rows and expected <= set(summary.columns)
    assert set(summary.loc[summary["plane"] == "random", "draw"]) == {1, 2}
    # every relu run reaches the 2.29-nat target in 3 epochs, not every sigmoid run
    # (config/test.yaml)
    reached = summary.groupby("activation")["reached_target"].min()
    assert reached["relu"] == 1 and reached["sigmoid"] == 0
    by_activation = pd.read_csv(results / "metrics" / "summary_by_activation.csv")
    assert set(by_activation["activation"]) == {"relu", "sigmoid"}
    split = pd.read_csv(results / "statistics" / "variance_split.csv")
    assert {"random", "narrow", "line"} == set(split["plane"])
    # two draws per run where both are finite (n0 is lower where some draw's value is NaN,
    # e.g. the shape index of a flat grid)
    assert (split["n_draws"].dropna() <= 2).all() and (split["n_draws"] == 2).any()
    answer = (results / "statistics" / "answer.rst").read_text()
    assert "did not reach the training-loss target of 2.29 nats: sigmoid seed 42" in answer
    assert "**Across seeds.**" in answer and "**The answer in words.**" in answer
    assert (
        "epoch 3/3"
        in (finished_study / "logs" / "test" / "train_model" / "relu" / "seed_42.log").read_text()
    )


def test_width_over_training_has_a_row_per_run_and_chosen_epoch(finished_study):
    results = finished_study / "results" / "test"
    table = pd.read_csv(results / "metrics" / "width_over_training.csv")
    # narrow planes around epoch 1 (directions.narrow.epochs) and the final model, epoch 3
    assert len(table) == 2 * 3 * 2 and set(table["epoch"]) == {1, 3}
    history = pd.read_csv(results / "train" / "relu" / "seed_42" / "history.csv")
    row = table[(table["activation"] == "relu") & (table["seed"] == 42) & (table["epoch"] == 1)]
    # the table keeps 6 significant digits
    assert float(row["train_loss"].iloc[0]) == pytest.approx(history["train_loss"][1], rel=1e-5)
    assert (results / "report" / "width_over_training.png").stat().st_size > 10_000


def test_three_seed_plane_passes_through_the_three_final_models(finished_study):
    """Seeds 42, 250 and 300 (the first three) at (0, 0), (1, 0) and (a, 1) of the plane."""
    results = finished_study / "results" / "test"
    directions = load_directions(results / "directions" / "relu" / "seed_42" / "three_seed.pt")
    meta = directions["metadata"]
    assert meta["seeds"] == [42, 250, 300]
    for seed, x, y in zip(meta["seeds"], meta["point_x"], meta["point_y"], strict=True):
        final = load_checkpoints(results / "train" / "relu" / f"seed_{seed}" / "checkpoints.pt")
        for name, origin in directions["origin"].items():
            point = origin + x * directions["u"][name] + y * directions["v"][name]
            torch.testing.assert_close(point, final["state_dicts"][-1][name], atol=1e-5, rtol=0)
    landscape = read_landscape(results / "landscape" / "relu" / "seed_42" / "three_seed.nc")
    assert list(landscape.attrs["plane_seeds"]) == [42, 250, 300]
    table = pd.read_csv(results / "metrics" / "across_seeds.csv")
    planes = table[table["kind"] == "three_seed"]
    assert sorted(planes["activation"]) == ["relu", "sigmoid"]
    assert (planes["barrier_height_max"] >= planes["barrier_height"]).all()


def test_seed_barriers_run_between_every_pair_of_final_models(finished_study):
    results = finished_study / "results" / "test"
    with xr.open_dataset(results / "metrics" / "relu" / "seed_barriers.nc") as lines:
        pairs = list(zip(lines.seed_a.values.tolist(), lines.seed_b.values.tolist(), strict=True))
        assert pairs == [(42, 250), (42, 300), (250, 300)]
        for pair, (a, b) in enumerate(pairs):
            for seed, alpha in ((a, 0), (b, -1)):
                history = pd.read_csv(results / "train" / "relu" / f"seed_{seed}" / "history.csv")
                end = float(lines.train_loss[pair, alpha])
                assert end == pytest.approx(float(history["train_loss"].iloc[-1]), rel=1e-5)
            assert float(lines.barrier_height[pair]) >= 0
    table = pd.read_csv(results / "metrics" / "across_seeds.csv")
    assert len(table[table["kind"] == "line"]) == 2 * 3


def test_three_point_plane_passes_through_its_checkpoints(finished_study):
    """Epochs 0, 1 and 3 (config/test.yaml) lie on the plane at (0, 0), (1, 0) and (a, 1)."""
    path = finished_study / "results/test/landscape/relu/seed_42/three_point.nc"
    landscape = read_landscape(path)
    assert list(landscape.attrs["three_point_epochs"]) == [0, 1, 3]
    on_plane = landscape.sel(epoch=[0, 1, 3])
    np.testing.assert_allclose(on_plane.trajectory_x, landscape.attrs["three_point_x"], atol=1e-5)
    np.testing.assert_allclose(on_plane.trajectory_y, [0, 0, 1], atol=1e-5)
    assert float(on_plane.trajectory_residual.max()) < 1e-4
    assert float(landscape.x.min()) < 0 < 1 < float(landscape.x.max())


def test_interpolation_slice_runs_between_its_checkpoints(finished_study):
    """Epochs 0 and 3 (config/test.yaml) sit at x = 0 and x = 1 on the slice's line."""
    path = finished_study / "results/test/landscape/relu/seed_42/interpolation.nc"
    landscape = read_landscape(path)
    assert landscape.attrs["dimensions"] == 1 and list(landscape.y.values) == [0.0]
    ends = landscape.sel(epoch=[0, 3])
    np.testing.assert_allclose(ends.trajectory_x, [0, 1], atol=1e-6)
    assert float(ends.trajectory_residual.max()) < 1e-5
    assert list(landscape.attrs["interpolation_epochs"]) == [0, 3]
    assert float(landscape.x.min()) < 0 and float(landscape.x.max()) > 1


def test_hessian_plane_records_its_eigenvalues(finished_study):
    landscape = read_landscape(finished_study / "results/test/landscape/relu/seed_42/hessian.nc")
    largest, smallest = landscape.attrs["hessian_eigenvalues"]
    assert largest > 0 and largest >= smallest
    assert landscape.attrs["normalization"] == "unit"


def test_a_second_run_has_nothing_to_do(finished_study):
    result = snakemake(finished_study, "--cores", "2", "--dry-run")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Nothing to be done" in result.stdout + result.stderr


def test_report_is_written(finished_study):
    result = snakemake(finished_study, "--report", "report.html")
    assert result.returncode == 0, result.stderr[-4000:]
    html = (finished_study / "report.html").read_text(errors="replace")
    assert len(html) > 100_000 and "Test study" in html


def _rules_to_run(workdir: Path, config: dict) -> set[str]:
    """The rules a dry run would execute with ``config`` (the test study, changed)."""
    (workdir / "config" / "changed.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [SNAKEMAKE, "-n", "--quiet", "rules", "--configfile", "config/changed.yaml"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return set(job_counts(result.stdout + result.stderr))


# what follows the per-run metrics: the study tables, their statistics and figures
STUDY_TABLES = {
    "summarize_study",
    "study_statistics",
    "plot_study_statistics",
    "plot_width_over_training",
    "all",
}
# a run's own planes (one job each per run) and the three-seed plane (per-plane rules)
RUN_PLANES = {"map_run_planes", "compute_run_metrics", "plot_landscape"}
THREE_SEED = {"compute_directions", "evaluate_landscape", "compute_metrics", "plot_landscape"}
AFTER_TRAINING = (
    RUN_PLANES
    | THREE_SEED
    | STUDY_TABLES
    | {"compute_sharpness", "plot_plane_comparison", "plot_training_curves"}
    | {"interpolate_seeds", "plot_seed_barriers"}
)


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda c: c["training"].update(batch_size=25), {"train_model"} | AFTER_TRAINING),
        (
            lambda c: c["landscape"].update(resolution=7),
            # the three-seed plane's directions do not depend on the grid
            RUN_PLANES
            | THREE_SEED - {"compute_directions"}
            | STUDY_TABLES
            | {"plot_plane_comparison"},
        ),
        (
            lambda c: c["metrics"].update(basin_levels=[0.03, 0.3]),
            {"compute_run_metrics", "compute_metrics", "plot_landscape"} | STUDY_TABLES,
        ),
        (lambda c: c["report"].update(title="Another title"), set()),
        (
            lambda c: c.update(seeds=[42, 250, 300, 7]),
            # the new seed's runs (their figures too); not the plane through the first three
            {"train_model", "plot_landscape"} | AFTER_TRAINING - THREE_SEED,
        ),
        (
            lambda c: c["directions"]["narrow"].update(extent=0.5),
            RUN_PLANES | STUDY_TABLES | {"plot_plane_comparison"},
        ),
        # what only recomputed BatchNorm statistics use, where none are (batchnorm: keep)
        (lambda c: c["landscape"].update(batchnorm_samples=50, batchnorm_batch_size=10), set()),
    ],
    ids=[
        "training",
        "resolution",
        "metric",
        "report-title",
        "added-seed",
        "narrow-extent",
        "batchnorm-kept",
    ],
)
def test_a_config_change_reruns_exactly_what_depends_on_it(finished_study, change, expected):
    config = study_config(finished_study)
    change(config)
    assert _rules_to_run(finished_study, config) == expected


def test_an_added_seed_plans_jobs_for_the_new_runs_only(finished_study):
    config = study_config(finished_study)
    config["seeds"] = [42, 250, 300, 7]
    (finished_study / "config" / "changed.yaml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [SNAKEMAKE, "-n", "--configfile", "config/changed.yaml"],
        cwd=finished_study,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = [line for line in (result.stdout + result.stderr).splitlines() if "output:" in line]
    per_run = [line for line in outputs if re.search(r"/seed_\d+/", line)]
    assert per_run and all("seed_7" in line for line in per_run)
    gathers = [line for line in outputs if not re.search(r"/seed_\d+/", line)]
    gathered = (
        "metrics/summary",
        "training_curves",
        "statistics/",
        "report/metric_",
        "planes/",
        "seed_barriers",  # the new seed's lines to the others
        "width_over_training",
    )
    assert gathers and all(any(g in line for g in gathered) for line in gathers), gathers


@pytest.mark.parametrize(
    "module, expected",
    [
        ("metrics/landscape.py", {"compute_run_metrics", "summarize_study", "plot_landscape"}),
        ("engine/strategies.py", {"map_run_planes", "evaluate_landscape", "compute_run_metrics"}),
        ("training/loop.py", {"train_model"}),
    ],
)
def test_an_edited_package_module_reruns_the_rules_that_import_it(finished_study, module, expected):
    source = finished_study / "src" / "losslandscape" / module
    original = source.read_text()
    try:
        source.write_text(original + "\n# an edit\n")
        rules = _rules_to_run(finished_study, study_config(finished_study))
    finally:
        source.write_text(original)
    assert expected <= rules
    if module == "metrics/landscape.py":
        assert "train_model" not in rules and "map_run_planes" not in rules


def test_a_killed_run_restarted_with_rerun_incomplete_ends_identical(
    finished_study, tmp_path_factory
):
    """SIGKILL Snakemake and its jobs while landscapes are being evaluated; after
    ``--unlock``, a rerun with ``--rerun-incomplete`` completes, and every netCDF value
    and summary table equals the uninterrupted run's (reproducibility on CPU). Both runs
    target the study's tables (:data:`tests.study.COMPUTED`): every netCDF is made on the
    way, and the figures, which the shared run checks, are left out to save time."""
    workdir = copy_workflow(tmp_path_factory.mktemp("killed"))
    job = subprocess.Popen(
        [SNAKEMAKE, "--configfile", "config/test.yaml", "--cores", "2", *COMPUTED],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    results = workdir / "results" / "test"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and job.poll() is None:
        if list(results.glob("landscape/*/seed_42/*.nc*")):  # grids done or in progress
            break
        time.sleep(0.05)
    assert job.poll() is None, "the run ended before it could be killed"
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    assert not (results / "metrics" / "summary.csv").exists()

    assert snakemake(workdir, "--unlock").returncode == 0
    rerun = snakemake(workdir, "--cores", "2", "--rerun-incomplete", *COMPUTED)
    assert rerun.returncode == 0, rerun.stderr[-4000:]

    assert_same_results(finished_study / "results" / "test", results)


def test_every_file_records_the_rule_commit_versions_and_samples_that_made_it(finished_study):
    """Provenance end to end (issue 21, case 10): each netCDF file names the Snakemake rule
    that wrote it and a creation time within that job, as Snakemake's own job records
    (.snakemake/metadata) say; the commit of the code; the package and torch versions; its
    parameters; and for evaluations the samples each split really had."""
    import base64
    import json
    from datetime import datetime

    import losslandscape
    from losslandscape.data.datasets import load_dataset
    from losslandscape.io.provenance import git_commit

    records = finished_study / ".snakemake" / "metadata"
    files = sorted(finished_study.glob("results/test/**/*.nc"))
    assert len(files) > 40
    data = load_dataset(finished_study / "results" / "test" / "data" / "dataset.pt")
    samples = {"train": len(data["y_train"]), "test": len(data["y_test"])}
    commit = git_commit().removesuffix("?").removesuffix("-dirty")
    assert re.fullmatch(r"[0-9a-f]{40}", commit), commit  # the tests run in a checkout
    evaluations = 0
    for path in files:
        relative = str(path.relative_to(finished_study))
        name = base64.urlsafe_b64encode(relative.encode()).decode()
        record = json.loads((records / name).read_text())
        with xr.open_dataset(path) as ds:
            attrs = ds.attrs
        assert attrs["rule"] == record["rule"], relative
        created = datetime.fromisoformat(attrs["created"]).timestamp()  # whole seconds
        assert record["starttime"] - 1 <= created <= record["endtime"] + 1, relative
        assert attrs["git_commit"].removesuffix("?").removesuffix("-dirty") == commit, relative
        assert attrs["losslandscape_version"] == losslandscape.__version__
        assert attrs["torch_version"] == torch.__version__
        assert isinstance(json.loads(attrs["parameters"]), dict), relative
        assert attrs["history"].splitlines()[0].endswith(f" {attrs['rule']}"), relative
        if "evaluation_train_samples" in attrs:  # grids and lines: the whole splits here
            evaluations += 1
            assert int(attrs["evaluation_subset_size"]) == -1, relative
            for split, n in samples.items():
                assert int(attrs[f"evaluation_{split}_samples"]) == n, relative
    landscapes = len(list(finished_study.glob("results/test/landscape/*/*/*.nc")))
    barriers = len(list(finished_study.glob("results/test/metrics/*/seed_barriers.nc")))
    assert evaluations == landscapes + barriers > 0
