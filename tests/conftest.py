"""Shared fixtures: a small synthetic data set, a short training run on it, and the
engine's C kernel."""

import os

import pytest
import torch

from losslandscape.data.datasets import tensor_checksum
from losslandscape.engine.cpu.native_kernel import batch_last_kernels
from losslandscape.training.loop import train_run


def make_dataset(
    n_train: int = 200, n_test: int = 80, length: int = 40, n_classes: int = 4, seed: int = 0
) -> dict:
    """A learnable toy problem in the prepared-data-set format: the class sets the mean."""
    gen = torch.Generator().manual_seed(seed)
    y_train = torch.randint(0, n_classes, (n_train,), generator=gen)
    y_test = torch.randint(0, n_classes, (n_test,), generator=gen)
    x_train = torch.randn(n_train, length, generator=gen) + y_train[:, None].float()
    x_test = torch.randn(n_test, length, generator=gen) + y_test[:, None].float()
    dataset = {
        "format_version": 1,
        "name": "toy",
        "x_train": x_train,
        "y_train": y_train,
        "x_test": x_test,
        "y_test": y_test,
        "n_classes": n_classes,
        "input_shape": [length],
        "normalization": {"kind": "none", "mean": 0.0, "std": 1.0},
    }
    dataset["sha256"] = tensor_checksum(dataset)
    return dataset


@pytest.fixture(scope="session")
def toy_dataset() -> dict:
    return make_dataset()


@pytest.fixture(scope="session")
def toy_run(toy_dataset) -> tuple[dict, object]:
    """(checkpoints, history) of a 4-epoch CNN run on the toy data set."""
    return train_run(
        toy_dataset, "mnist1d_cnn", "relu", seed=7, epochs=4, learning_rate=1e-2, batch_size=50
    )


@pytest.fixture(autouse=True)
def restore_torch_threads():
    """Stage functions set torch's thread count for their job; results of later tests in
    this process (training in particular) depend on it, so put it back after each test."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def c_kernel():
    """The engine's C kernels (``losslandscape.engine.cpu.native_kernel``); their tests skip
    where they
    do not build, except under ``LOSSLANDSCAPE_NATIVE_REQUIRED=1`` (CI), where they fail."""
    kernels = batch_last_kernels()
    if kernels is None:
        if os.environ.get("LOSSLANDSCAPE_NATIVE_REQUIRED") == "1":
            pytest.fail("LOSSLANDSCAPE_NATIVE_REQUIRED=1 but the C kernel was not built")
        pytest.skip("the C kernel is not built here (LOSSLANDSCAPE_NATIVE=0, or no C compiler)")
    return kernels
