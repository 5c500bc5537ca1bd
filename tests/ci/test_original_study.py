"""The original study (config/studies/cifar100-convmlp.yaml) run shortened on a fabricated
CIFAR-100 archive in the official layout."""

import subprocess

import torch
import yaml

from losslandscape.data.archives import file_md5
from losslandscape.io.datamodel import read_landscape
from losslandscape.training.checkpoints import load_checkpoints, model_from_checkpoints
from tests.dry_run import SNAKEMAKE
from tests.fabricated import make_cifar100
from tests.study import copy_workflow


def test_the_original_study_shortened_runs_end_to_end(tmp_path):
    """ConvMLP-s on a 300+100-image CIFAR-100 archive (official layout, fetched from a
    file:// mirror), 3 epochs (PCA needs 4 checkpoints), two activations, one seed, 5×5
    grids."""
    workdir = tmp_path / "study"
    workdir.mkdir()
    copy_workflow(workdir)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    archive = make_cifar100(mirror / "cifar-100-python.tar.gz", n_train=300, n_test=100)
    short = {
        "study": "cifar100-short",
        "dataset": {
            "mirror": f"file://{mirror}",
            "checksums": {archive.name: file_md5(archive)},
        },
        "activations": ["relu", "sigmoid"],
        "seeds": [42],
        "training": {"epochs": 3, "checkpoint_every": 1, "device": "cpu"},
        "directions": {"planes": ["pca", "random", "interpolation"]},
        "landscape": {
            "resolution": 5,
            "tiles": 2,
            "strategy": "point",
            "device": "cpu",
            "memory_budget_mb": 1024,
        },
        "sharpness": {"subset_size": 40, "trace_products": 6, "ascent_iterations": 1},
    }
    (workdir / "config" / "short.yaml").write_text(yaml.safe_dump(short))
    result = subprocess.run(
        [SNAKEMAKE, "--cores", "2", "--configfile"]
        + ["config/studies/cifar100-convmlp.yaml", "config/short.yaml"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    results = workdir / "results" / "cifar100-short"
    checkpoints = load_checkpoints(results / "train" / "relu" / "seed_42" / "checkpoints.pt")
    model = model_from_checkpoints(checkpoints)
    assert checkpoints["model_name"] == "convmlp_s" and checkpoints["epochs"] == [0, 1, 2, 3]
    assert sum(p.numel() for p in model.parameters()) == 8_561_220
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 100)
    for activation in ("relu", "sigmoid"):
        for plane in ("pca", "random_draw1", "interpolation"):  # one draw in this study
            landscape = read_landscape(
                results / "landscape" / activation / "seed_42" / f"{plane}.nc"
            )
            assert landscape.attrs["model"] == "convmlp_s"
            assert landscape.attrs["dataset"] == "cifar100"
    assert (workdir / "resources" / "datasets" / "cifar100" / archive.name).exists()
    assert (results / "metrics" / "summary.csv").exists()
