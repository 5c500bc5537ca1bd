"""Data set archives: the real readers on archives in the official layouts, downloads."""

import hashlib
import http.server
import pickle
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from losslandscape.data.archives import ARCHIVES, download, file_md5, read_cifar, read_idx
from losslandscape.data.datasets import prepare_dataset
from tests.fabricated import make_cifar10, make_cifar100, make_idx_dataset


def _checksums(folder, name):
    return {a.filename: file_md5(folder / a.filename) for a in ARCHIVES[name]}


def test_cifar10_reader_matches_the_pickles(tmp_path):
    archive = make_cifar10(tmp_path / "cifar-10-python.tar.gz", per_batch=4, n_test=3)
    arrays = read_cifar(archive)
    assert arrays["x_train"].shape == (20, 3, 32, 32) and arrays["x_test"].shape == (3, 3, 32, 32)
    with tarfile.open(archive) as tar:
        batch = pickle.load(tar.extractfile("cifar-10-batches-py/data_batch_2"), encoding="bytes")
    np.testing.assert_array_equal(arrays["x_train"][4], batch[b"data"][0].reshape(3, 32, 32))
    assert arrays["y_train"][4] == batch[b"labels"][0]


def test_cifar100_reads_fine_or_coarse_labels(tmp_path):
    archive = make_cifar100(tmp_path / "cifar-100-python.tar.gz", n_train=30, n_test=10)
    fine, coarse = read_cifar(archive, "fine"), read_cifar(archive, "coarse")
    np.testing.assert_array_equal(fine["y_train"] // 5, coarse["y_train"])
    np.testing.assert_array_equal(fine["x_test"], coarse["x_test"])


def test_idx_reader_and_its_errors(tmp_path):
    folder = make_idx_dataset(tmp_path / "mnist", n_train=7, n_test=5)
    images = read_idx(folder / "train-images-idx3-ubyte.gz")
    assert images.shape == (7, 28, 28) and images.dtype == np.uint8
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="bad.idx: bad magic number"):
        read_idx(tmp_path / "bad.idx")
    (tmp_path / "short.idx").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 9, 1, 2]))
    with pytest.raises(ValueError, match="2 data bytes, expected 9"):
        read_idx(tmp_path / "short.idx")


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "mnist", "fashion_mnist"])
def test_prepare_is_identical_across_runs_and_normalized_on_the_training_set(name, tmp_path):
    if name == "cifar10":
        make_cifar10(tmp_path / "cifar-10-python.tar.gz")
    elif name == "cifar100":
        make_cifar100(tmp_path / "cifar-100-python.tar.gz")
    else:
        make_idx_dataset(tmp_path)
    sums = _checksums(tmp_path, name)
    first = prepare_dataset(name, tmp_path, checksums=sums)
    second = prepare_dataset(name, tmp_path, checksums=sums)
    assert first["sha256"] == second["sha256"]
    for key in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(first[key], second[key])
    assert first["n_classes"] == (100 if name == "cifar100" else 10)
    dims = (0, 2, 3) if name.startswith("cifar") else None
    mean = first["x_train"].double().mean(dim=dims)
    assert torch.allclose(mean, torch.zeros_like(mean), atol=1e-6)


def test_a_corrupt_or_unofficial_archive_is_named(tmp_path):
    make_cifar10(tmp_path / "cifar-10-python.tar.gz")
    with pytest.raises(ValueError, match=r"cifar-10-python.tar.gz: md5 .* expected c58f3010"):
        prepare_dataset("cifar10", tmp_path)
    with pytest.raises(FileNotFoundError, match="cifar-100-python.tar.gz of data set 'cifar100'"):
        prepare_dataset("cifar100", tmp_path)


def test_download_from_a_mirror_checks_the_md5(tmp_path):
    source = make_idx_dataset(tmp_path / "mirror")
    name = "t10k-labels-idx1-ubyte.gz"
    md5 = file_md5(source / name)
    download(f"file://{source}/{name}", tmp_path / "got" / name, md5)
    assert file_md5(tmp_path / "got" / name) == md5
    with pytest.raises(ValueError, match="md5 .* expected 0{32}; the file was removed"):
        download(f"file://{source}/{name}", tmp_path / "bad" / name, "0" * 32)
    assert not list((tmp_path / "bad").glob("*"))


def test_offline_download_fails_fast_naming_the_url(tmp_path):
    url = "http://127.0.0.1:9/cifar-10-python.tar.gz"  # discard port: refused at once
    with pytest.raises(ConnectionError, match=f"cannot download {url}.*place it at"):
        download(url, tmp_path / "cifar-10-python.tar.gz", "0" * 32, timeout=5)


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``payload`` with HTTP Range support and records the ranges asked for."""

    payload = b""
    ranges: list[str] = []

    def do_GET(self):  # noqa: N802 (the http.server name)
        asked = self.headers.get("Range")
        start = int(asked.split("=")[1].rstrip("-")) if asked else 0
        type(self).ranges.append(asked)
        body = self.payload[start:]
        self.send_response(206 if asked else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_cut_download_resumes_from_its_partial_file(tmp_path):
    payload = bytes(range(256)) * 400
    _RangeHandler.payload, _RangeHandler.ranges = payload, []
    server = http.server.HTTPServer(("127.0.0.1", 0), _RangeHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = tmp_path / "archive.bin"
        (tmp_path / "archive.bin.part").write_bytes(payload[:40_000])  # a cut transfer
        url = f"http://127.0.0.1:{server.server_port}/archive.bin"
        download(url, out, hashlib.md5(payload).hexdigest())
    finally:
        server.shutdown()
    assert out.read_bytes() == payload
    assert _RangeHandler.ranges == ["bytes=40000-"]


@pytest.mark.workflow
@pytest.mark.parametrize("name", sorted(ARCHIVES))
def test_the_workflow_downloads_exactly_the_official_archives(name):
    """workflow/rules/common.smk repeats the archive file names (planning must not import
    the package); the download jobs it plans are the files of losslandscape.data.archives."""
    repo = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [str(Path(sys.executable).with_name("snakemake")), "-n", "--config"]
        + [f"dataset={{name: {name}}}", "model={name: mlp}", "study=archive-plan"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    planned = {
        line.split("output:")[1].strip()
        for line in (result.stdout + result.stderr).splitlines()
        if "output: resources/datasets/" in line
    }
    assert planned == {f"resources/datasets/{name}/{a.filename}" for a in ARCHIVES[name]}


def test_an_archive_with_labels_past_its_classes_is_refused_naming_it(tmp_path):
    make_idx_dataset(tmp_path, classes=13)
    with pytest.raises(
        ValueError, match=r"data set 'mnist' in .*: \d+ train labels lie outside the 10 classes"
    ):
        prepare_dataset("mnist", tmp_path, checksums=_checksums(tmp_path, "mnist"))
