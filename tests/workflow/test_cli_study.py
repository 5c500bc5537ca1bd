"""The command line is the whole pipeline (issue 19, item 4): its commands across runs and
its figures, run by hand on the test study's files, give the workflow's own results."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from losslandscape.planes.kinds import is_across_seeds
from tests.study import study_config


def _cli(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "losslandscape", *args], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]


def _png(path: Path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000, path


def test_the_commands_across_runs_reproduce_the_workflows_tables(finished_study, tmp_path):
    results = finished_study / "results" / "test"
    config = study_config(finished_study)
    activations, seeds = config["activations"], config["seeds"]
    dataset = str(results / "data" / "dataset.pt")

    # the lines between relu's seeds: the workflow's barriers
    lines = tmp_path / "relu_seed_barriers.nc"
    checkpoints = [str(results / "train" / "relu" / f"seed_{s}" / "checkpoints.pt") for s in seeds]
    _cli(
        *("interpolate-seeds", "--dataset", dataset, "--checkpoints", *checkpoints),
        *("--points", str(config["across_seeds"]["points"]), "--subset-size", "null"),
        *("--out", str(lines)),
    )
    with (
        xr.open_dataset(lines) as ours,
        xr.open_dataset(results / "metrics" / "relu" / "seed_barriers.nc") as theirs,
    ):
        np.testing.assert_allclose(ours.barrier_height, theirs.barrier_height, rtol=1e-6)

    # the summary from every metrics file, sorted into its tables by the command
    runs = []
    for activation in activations:
        for seed in seeds:
            folder = f"{activation}/seed_{seed}"
            sharpness = results / "metrics" / folder / "sharpness.nc"
            history = results / "train" / folder / "history.csv"
            runs += ["--run", activation, str(seed), str(sharpness), str(history)]
    metrics = sorted(
        str(path)
        for path in (results / "metrics").glob("*/seed_*/*.nc")
        if path.name != "sharpness.nc"
    )
    barriers = [str(results / "metrics" / a / "seed_barriers.nc") for a in activations]
    summary = tmp_path / "summary"
    _cli(
        *("summarize-study", *runs, "--metrics", *metrics, "--seed-barriers", *barriers),
        *("--target-loss", str(config["training"]["target_loss"]), "--out-folder", str(summary)),
    )
    for name in ("summary", "summary_by_activation", "across_seeds", "width_over_training"):
        ours = pd.read_csv(summary / f"{name}.csv")
        theirs = pd.read_csv(results / "metrics" / f"{name}.csv")
        pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-9, obj=name)

    # the statistics and the front page's answer from that summary
    statistics = tmp_path / "statistics"
    planes = [p for p in config["directions"]["planes"] if not is_across_seeds(p)]
    _cli(
        *("study-statistics", str(summary / "summary.csv"), "--activations", *activations),
        *("--planes", *planes, "--across-seeds", str(summary / "across_seeds.csv")),
        *("--basin-level-mode", config["metrics"]["basin_level_mode"]),
        *("--out-folder", str(statistics)),
    )
    for name in ("by_activation", "comparisons", "correlations", "variance_split"):
        ours = pd.read_csv(statistics / f"{name}.csv")
        theirs = pd.read_csv(results / "statistics" / f"{name}.csv")
        pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-9, obj=name)
    answer = (results / "statistics" / "answer.rst").read_text()
    assert (statistics / "answer.rst").read_text() == answer
    with xr.open_dataset(statistics / "study.nc") as study:
        assert set(study["activation_label"].values.astype(str)) == set(activations)


def test_every_figure_has_a_command(finished_study, tmp_path):
    results = finished_study / "results" / "test"
    config = study_config(finished_study)
    activations, seeds = config["activations"], config["seeds"]
    first = results / "landscape" / "relu" / f"seed_{seeds[0]}" / "random_draw1.nc"
    first_metrics = results / "metrics" / "relu" / f"seed_{seeds[0]}" / "random_draw1.nc"
    _cli("plot-landscape", str(first), "--out", str(tmp_path / "map.png"))
    _cli(
        *("plot-analysis", str(first), "--metrics", str(first_metrics)),
        *("--out", str(tmp_path / "analysis.png"), "--numbers", str(tmp_path / "n.rst")),
    )
    assert (tmp_path / "n.rst").read_text() == (
        results / "report" / "analysis" / "relu" / f"seed_{seeds[0]}" / "random_draw1.rst"
    ).read_text()
    runs = [
        arg
        for a in activations
        for s in seeds
        for arg in ("--run", a, str(s), str(results / "train" / a / f"seed_{s}" / "history.csv"))
    ]
    _cli(
        "plot-training-curves",
        *runs,
        *("--out", str(tmp_path / "curves.png"), "--out-per-seed", str(tmp_path / "seeds.png")),
    )
    landscapes = sorted(str(p) for p in (results / "landscape").glob("*/seed_*/random_draw1.nc"))
    _cli(
        *("plot-plane-comparison", *landscapes, "--activations", *activations),
        *("--out", str(tmp_path / "planes.png")),
    )
    barriers = [str(results / "metrics" / a / "seed_barriers.nc") for a in activations]
    _cli("plot-seed-barriers", *barriers, "--out", str(tmp_path / "barriers.png"))
    _cli(
        *("plot-width-over-training", str(results / "metrics" / "width_over_training.csv")),
        *("--out", str(tmp_path / "width.png")),
    )
    _cli(
        *("plot-study-statistics", "--summary", str(results / "metrics" / "summary.csv")),
        *("--correlations", str(results / "statistics" / "correlations.csv")),
        *("--out-comparison", str(tmp_path / "c.png"), "--out-accuracy", str(tmp_path / "a.png")),
    )
    for name in ("map", "analysis", "curves", "seeds", "planes", "barriers", "width", "c", "a"):
        _png(tmp_path / f"{name}.png")


def test_a_finished_study_opens_with_runs_as_dimensions(finished_study):
    """``losslandscape.open_study``: the study's numbers for a notebook (issue 19)."""
    import losslandscape as ll

    config = study_config(finished_study)
    study = ll.open_study(finished_study / "results" / "test")
    assert {"plane", "activation", "seed"} <= set(study.dims)
    assert set(study["activation"].values.astype(str)) == set(config["activations"])
    assert set(study["seed"].values.tolist()) == set(config["seeds"])
    assert all("long_name" in var.attrs for var in study.data_vars.values())
