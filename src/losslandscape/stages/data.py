"""Stages download_archive and prepare_dataset: official archives → the data set as tensors."""

import logging
from pathlib import Path

from losslandscape.data.archives import archive_of, download
from losslandscape.data.datasets import prepare_dataset, save_dataset

log = logging.getLogger(__name__)


def run_download_archive(
    dataset: str,
    filename: str,
    out: str,
    mirror: str | None = None,
    checksums: dict[str, str] | None = None,
) -> None:
    """Fetch one official archive of ``dataset`` to ``out``, md5 checked, resuming a cut
    transfer. ``mirror`` replaces the official base URL (``https://…/`` or ``file:///…/``);
    ``checksums`` (file name → md5) replaces the official md5s for such a mirror."""
    archive = archive_of(dataset, filename)
    base = mirror if mirror else archive.base_url
    md5 = (checksums or {}).get(filename, archive.md5)
    download(f"{base.rstrip('/')}/{filename}", out, md5)


def run_prepare_dataset(
    name: str,
    out: str,
    archive_folder: str | None = None,
    labels: str = "fine",
    checksums: dict[str, str] | None = None,
    path: str | None = None,
) -> None:
    """Build data set ``name`` (from the archives in ``archive_folder`` where it has some,
    from the data set file ``path`` for ``file``) and write it to ``out`` (.pt)."""
    if path is not None:
        log.info("%s: reading the data set file %s", name, Path(path))
    dataset = prepare_dataset(name, archive_folder, labels, checksums, path)
    save_dataset(dataset, out)
    log.info(
        "%s: %d train / %d test samples, %d classes, input %s → %s",
        f"{name} ({path})" if path is not None else name,
        len(dataset["y_train"]),
        len(dataset["y_test"]),
        dataset["n_classes"],
        dataset["input_shape"],
        Path(out),
    )
