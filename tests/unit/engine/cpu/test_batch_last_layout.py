"""The batch-innermost stack's layout: windows and weight matrices against ``conv1d``, and
the pitched rows the C kernel reads."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from losslandscape.engine.cpu import native_kernel
from losslandscape.engine.cpu.batch_last_layout import (
    WEIGHT_STORAGE_ORDER,
    Layer,
    is_pitched,
    pitch_for,
    pitched,
)


@pytest.mark.parametrize("kernel, stride", [(3, 1), (5, 2), (1, 1)])
def test_weight_matrix_times_windows_is_the_convolution(kernel, stride):
    torch.manual_seed(kernel + stride)
    conv = nn.Conv1d(3, 4, kernel, stride=stride)
    inputs = torch.randn(6, 3, 20)  # (batch, channels, length)
    length_out = (20 - kernel) // stride + 1
    layer = Layer(conv, None, 20, length_out)
    source = inputs.permute(2, 1, 0).contiguous()  # (length, channels, batch)
    products = layer.weight_matrix() @ layer.windows(source, 6)  # (length_out, out, batch)
    expected = F.conv1d(inputs, conv.weight, stride=stride)  # (batch, out, length_out)
    torch.testing.assert_close(products, expected.permute(2, 1, 0), rtol=1e-5, atol=1e-6)
    # stored (out, in, k): the matrix is a copy, but for one tap, where the orders agree
    assert (layer.stored_matrix() is None) == (kernel > 1)
    with torch.no_grad():
        stored = conv.weight.permute(*WEIGHT_STORAGE_ORDER).contiguous()
        conv.weight.data = stored.permute(*WEIGHT_STORAGE_ORDER)  # (out, k, in) in memory
    assert layer.stored_matrix() is not None  # now a view, made once
    torch.testing.assert_close(layer.stored_matrix(), layer.weight_matrix(), rtol=0, atol=0)


@pytest.mark.parametrize("batch", [1, 16, 37])
def test_pitched_rows_are_whole_vectors_and_keep_the_values(batch):
    values = torch.randn(5, 3, batch)
    laid_out = pitched(values)
    assert pitch_for(batch) % native_kernel.LANES == 0 and pitch_for(batch) >= batch
    assert laid_out.stride(1) == pitch_for(batch) and is_pitched(laid_out)
    assert torch.equal(laid_out, values)
    assert is_pitched(values) == (batch % native_kernel.LANES == 0)
    assert not is_pitched(values.permute(1, 0, 2))
