"""The commands that make the data set: ``prepare-dataset`` and ``download``."""

import argparse

from losslandscape.cli.options import Command, config_option
from losslandscape.data.archives import ARCHIVES
from losslandscape.data.datasets import DATASETS
from losslandscape.settings import Dataset
from losslandscape.stages import data


def add_prepare_dataset(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--name",
        required=True,
        choices=DATASETS,
        help="the data set (config dataset.name); file: your own, from --path",
    )
    p.add_argument("--archive-folder", default=None, help="official archives (CIFAR, MNIST)")
    config_option(p, "--labels", Dataset, "labels")
    config_option(p, "--path", Dataset, "path")
    p.add_argument("--out", required=True)


def run_prepare_dataset(args: dict) -> None:
    data.run_prepare_dataset(**args)


def add_download(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, choices=sorted(ARCHIVES))
    p.add_argument("--folder", required=True)
    config_option(p, "--mirror", Dataset, "mirror")


def run_download(args: dict) -> None:
    """Every archive of data set ``name`` into ``folder`` (md5 checked)."""
    for archive in ARCHIVES[args["name"]]:
        data.run_download_archive(
            args["name"],
            archive.filename,
            f"{args['folder']}/{archive.filename}",
            args["mirror"],
        )


COMMANDS = {
    "prepare-dataset": Command(
        "build a data set as tensors", add_prepare_dataset, run_prepare_dataset
    ),
    "download": Command(
        "fetch a data set's official archives (md5 checked)", add_download, run_download
    ),
}
