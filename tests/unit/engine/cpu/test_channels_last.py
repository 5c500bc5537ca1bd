"""Channels-last convolutions against PyTorch's default layout, on random inputs."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from losslandscape.engine.cpu.channels_last import (
    SIGNAL_ROWS,
    ChannelsLastConv1d,
    as_channels_last,
    convert_convolutions,
    signal_rows,
)
from losslandscape.engine.grid import evaluate_grid, evaluate_grid_reference
from losslandscape.engine.strategies import STRATEGIES, EvaluationOptions
from losslandscape.models.registry import build_model
from tests.planes import random_plane

CONV1D_SETTINGS = [
    {"in_channels": 1, "out_channels": 25, "kernel_size": 5, "stride": 2, "padding": 1},
    {"in_channels": 25, "out_channels": 25, "kernel_size": 3, "stride": 2, "padding": 1},
    {"in_channels": 6, "out_channels": 4, "kernel_size": 3, "padding": "same", "dilation": 2},
    {"in_channels": 6, "out_channels": 9, "kernel_size": 1, "groups": 3, "bias": False},
]


@pytest.mark.parametrize("batch", [7, 53, 120], ids=lambda b: f"batch{b}")
@pytest.mark.parametrize("settings", CONV1D_SETTINGS, ids=str)
def test_channels_last_conv1d_equals_conv1d_with_channels_last_strides(settings, batch):
    """Batches stacked as 1 image of 7 rows, 53 images of 1 row (53 is prime) and 3 images
    of 40 rows (:func:`signal_rows`) all match nn.Conv1d."""
    torch.manual_seed(0)
    plain = nn.Conv1d(**settings)
    fast = copy.deepcopy(plain)
    fast.__class__ = ChannelsLastConv1d
    inputs = torch.randn(batch, settings["in_channels"], 19)
    with torch.inference_mode():
        expected, got = plain(inputs), fast(inputs)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
        _, channels, length = got.shape
        assert got.stride() == (length * channels, 1, channels)
        if settings["in_channels"] == settings["out_channels"]:
            # the next layer takes the channels-last output as it comes
            torch.testing.assert_close(
                fast(got.relu()), plain(expected.relu()), rtol=1e-5, atol=1e-6
            )


def test_signal_rows_is_the_largest_divisor_up_to_the_limit():
    assert signal_rows(1000) == 50
    assert signal_rows(120) == 40
    assert signal_rows(53) == 1
    assert signal_rows(7) == 7
    assert all(b % signal_rows(b) == 0 and signal_rows(b) <= SIGNAL_ROWS for b in range(1, 300))


@pytest.mark.parametrize("channels", [1, 3])
def test_as_channels_last_sets_exact_strides_and_keeps_values(channels):
    images = torch.randn(4, channels, 5, 6)
    laid_out = as_channels_last(images)
    assert laid_out.stride() == (5 * 6 * channels, 1, 6 * channels, channels)
    assert torch.equal(laid_out, images)
    assert as_channels_last(laid_out) is laid_out
    signals = torch.randn(4, 40)
    assert as_channels_last(signals) is signals


def test_convert_convolutions_keeps_parameters_and_their_names():
    model = build_model("mnist1d_cnn", "relu", input_length=40, n_classes=10)
    before = dict(model.named_parameters())
    assert convert_convolutions(model)
    assert dict(model.named_parameters()) == before  # the same tensors, by identity
    assert sum(isinstance(m, ChannelsLastConv1d) for m in model.modules()) == 3
    assert not convert_convolutions(build_model("mlp", "relu", n_inputs=40, n_classes=10))


@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if s != "compile"])
def test_strategies_match_the_reference_on_a_2d_network_with_batchnorm(strategy):
    """ResNet-20 (Conv2d, BatchNorm, skips) runs channels-last inside the engine; values
    must still be the reference loop's."""
    torch.manual_seed(0)
    model = build_model("resnet20", "relu", in_channels=3, n_classes=10).eval()
    plane = (model, *random_plane(model, seed=1))
    images = torch.randn(12, 3, 32, 32)
    splits = {"train": (images, torch.randint(0, 10, (12,)))}
    axis = np.array([-0.3, 0.4])
    options = EvaluationOptions(batch_size=5, workers=2, points_per_pass=2)
    ours = evaluate_grid(*plane, axis, axis, splits, strategy, options)
    reference = evaluate_grid_reference(*plane, axis, axis, splits)
    for key, expected in reference.items():
        np.testing.assert_allclose(ours[key], expected, rtol=1e-5, atol=1e-6, err_msg=key)
