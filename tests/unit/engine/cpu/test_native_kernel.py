"""The C kernels of the batch-innermost stack: their products and loss against torch on
random inputs, and how they are built, cached and declined."""

import logging

import pytest
import torch
from torch.nn import functional as F

from losslandscape.engine.cpu import native_kernel
from losslandscape.engine.cpu.native_kernel import (
    IDENTITY,
    LEAKY_RELU,
    RELU,
    SIGMOID,
    batch_last_kernels,
)
from losslandscape.engine.loss import LossSums


@pytest.fixture
def fresh_build(monkeypatch, tmp_path):
    """``batch_last_kernel`` built anew, into an empty cache; the process's own kernel is
    looked up again afterwards."""
    monkeypatch.setenv("LOSSLANDSCAPE_CACHE", str(tmp_path))
    monkeypatch.delenv("LOSSLANDSCAPE_NATIVE", raising=False)
    batch_last_kernels.cache_clear()
    yield tmp_path
    batch_last_kernels.cache_clear()


def _reference(source, weight, bias, positions, step, kind, slope):
    """``(positions, out, pitch)``: position j is ``weight @ rows [j·step, j·step + K)``
    of ``source`` ``(rows, pitch)``, plus bias, then the activation."""
    rows = weight.shape[1]
    out = torch.stack([weight @ source[j * step : j * step + rows] for j in range(positions)])
    if bias is not None:
        out += bias[:, None]
    if kind == RELU:
        return F.relu(out)
    if kind == LEAKY_RELU:
        return F.leaky_relu(out, slope)
    if kind == SIGMOID:
        return torch.sigmoid(out)
    return out


@pytest.mark.parametrize(
    "kind, slope", [(IDENTITY, 0.0), (RELU, 0.0), (LEAKY_RELU, 0.2), (SIGMOID, 0.0)]
)
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize(
    "positions, rows, out, step, pitch",
    # pitches of 16, 64 and 80 lanes: one-vector blocks, four-vector blocks and both;
    # 25 output channels (five blocks of 5), 7 (one block and two single rows), 3
    [(10, 75, 25, 50, 1008), (4, 6, 7, 3, 80), (1, 125, 3, 0, 16), (3, 5, 25, 2, 64)],
)
def test_kernel_equals_torch_on_random_inputs(
    c_kernel, kind, slope, with_bias, positions, rows, out, step, pitch
):
    torch.manual_seed(positions * 1000 + rows)
    source = torch.randn((positions - 1) * step + rows, pitch)
    weight = torch.randn(out, rows)
    bias = torch.randn(out) if with_bias else None
    # written into every other channel of a larger buffer: the target's strides are free
    target = torch.full((positions, 2 * out, pitch), float("nan"))
    view = target[:, ::2]
    c_kernel.conv(
        source.data_ptr(),
        weight.data_ptr(),
        bias.data_ptr() if bias is not None else None,
        view.data_ptr(),
        positions,
        rows,
        out,
        pitch,
        step * pitch,
        view.stride(0),
        view.stride(1),
        kind,
        slope,
    )
    expected = _reference(source, weight, bias, positions, step, kind, slope)
    torch.testing.assert_close(view, expected, rtol=1e-5, atol=1e-5)
    assert target[:, 1::2].isnan().all()  # nothing written between the target's rows


def test_kernel_is_compiled_once_into_the_cache_and_then_reused(c_kernel, fresh_build):
    assert batch_last_kernels() is not None
    (library,) = fresh_build.glob("batch_last_kernel-*.so")
    built = library.stat().st_mtime_ns
    batch_last_kernels.cache_clear()
    assert batch_last_kernels() is not None
    assert library.stat().st_mtime_ns == built
    assert [p.name for p in fresh_build.iterdir()] == [library.name]  # no partial files


def test_kernel_off_by_environment(fresh_build, monkeypatch):
    monkeypatch.setenv("LOSSLANDSCAPE_NATIVE", "0")
    assert batch_last_kernels() is None
    assert not any(fresh_build.iterdir())


def test_no_compiler_means_torch_gemm(fresh_build, monkeypatch, caplog):
    monkeypatch.setenv("CC", "no-such-compiler-here")
    with caplog.at_level(logging.INFO, logger=native_kernel.__name__):
        assert batch_last_kernels() is None
    assert "no C compiler" in caplog.text


def test_failed_compile_is_logged_and_leaves_no_file(fresh_build, monkeypatch, caplog, tmp_path):
    broken = tmp_path / "broken-cc"
    broken.write_text(  # answers --version, fails to compile
        '#!/bin/sh\n[ "$1" = --version ] && echo "broken 1.0" && exit 0\n'
        "echo 'cc: cannot compile here' >&2\nexit 1\n"
    )
    broken.chmod(0o755)
    monkeypatch.setenv("CC", str(broken))
    with caplog.at_level(logging.WARNING, logger=native_kernel.__name__):
        assert batch_last_kernels() is None
    assert "cannot compile here" in caplog.text
    assert [p.name for p in fresh_build.iterdir()] == ["broken-cc"]


def test_kernel_sigmoid_over_the_whole_float_range(c_kernel):
    """The kernel's own exp: within float32 rounding of torch's sigmoid where the result
    is a normal float, about 0 below, 1 above, and NaN for NaN (a diverged point must show)."""
    torch.manual_seed(7)
    special = [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 88.5, -88.5, 1e-30]
    values = torch.cat([torch.randn(4096) * 10, torch.linspace(-120, 120, 4088)])
    values = torch.cat([values, torch.tensor(special)])  # 8192: a whole number of vectors
    got = torch.empty_like(values)
    one = torch.ones(1, 1)  # a 1 × 1 product: the activation of the values themselves
    n = len(values)
    c_kernel.conv(
        values.data_ptr(), one.data_ptr(), None, got.data_ptr(), 1, 1, 1, n, 0, 0, n, SIGMOID, 0
    )
    expected = torch.sigmoid(values.double())
    normal = values > -87
    torch.testing.assert_close(got[normal].double(), expected[normal], rtol=3e-7, atol=0)
    assert (got[values <= -87] < 1e-37).all()
    assert got[-len(special)].isnan() and got[~values.isnan()].isfinite().all()


def _loss_sums(c_kernel, logits, labels, batch):
    """``cross_entropy_sums`` of the first ``batch`` lanes of ``logits`` ``(classes,
    pitch)``, added into column 1 of a ``(3, 4)`` float64 array (a strided view, as the
    engine's accumulator passes); returns that column and the kernel's answer."""
    sums = torch.zeros(3, 4, dtype=torch.float64)
    sums[:, 1] = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)  # added to, not replaced
    column = sums[:, 1]
    answer = c_kernel.cross_entropy_sums(
        logits.data_ptr(),
        labels.data_ptr(),
        logits.shape[0],
        batch,
        logits.shape[1],
        column.data_ptr(),
        column.stride(0),
    )
    assert sums[:, [0, 2, 3]].eq(0).all()  # nothing written beside the column
    return column - torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), answer


@pytest.mark.parametrize("classes, batch", [(10, 1000), (10, 1), (3, 37), (100, 16)])
def test_cross_entropy_sums_equal_the_engines_python_reduction(c_kernel, classes, batch):
    torch.manual_seed(classes + batch)
    pitch = -(-batch // 16) * 16
    logits = torch.randn(classes, pitch) * 5
    logits[:, batch:] = float("nan")  # padding lanes are never read into the sums
    labels = torch.randint(0, classes, (batch,))
    logits[1, :5] = logits[0, :5]  # ties: the first largest class is the prediction
    got, answer = _loss_sums(c_kernel, logits, labels, batch)
    reference = LossSums(1, "cpu")  # the engine's reduction in Python
    reference.add(0, logits[:, :batch].t(), labels)
    expected = reference.sums[:, 0]
    assert answer == 0
    torch.testing.assert_close(got[:2], expected[:2], rtol=1e-6, atol=0)
    assert got[2] == expected[2]


def test_cross_entropy_sums_keep_nan_and_name_a_label_out_of_range(c_kernel):
    logits = torch.randn(10, 32)
    labels = torch.randint(0, 10, (32,))
    logits[:, 3] = float("nan")  # a diverged point: its loss must not look finite
    got, answer = _loss_sums(c_kernel, logits, labels, 32)
    assert answer == 0 and got[0].isnan() and got[1].isnan()
    labels[7] = 10
    got, answer = _loss_sums(c_kernel, torch.randn(10, 32), labels, 32)
    assert answer == 8 and got.eq(0).all()  # the first bad sample, 1-based; nothing added
