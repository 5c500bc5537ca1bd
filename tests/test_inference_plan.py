"""The engine's graph rewrites against the plain model, on random inputs and weights."""

import copy

import pytest
import torch
from torch import nn

from losslandscape.channels_last import convert_convolutions
from losslandscape.inference_plan import (
    FlattenLinear,
    PatchConv1d,
    conv1d_patches,
    plan_inference,
)
from losslandscape.inplace_activations import make_activations_inplace
from losslandscape.models import build_model

PATCH_SETTINGS = [
    {"in_channels": 1, "out_channels": 25, "kernel_size": 5, "stride": 2, "padding": 1},
    {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "padding": 2, "dilation": 2},
    {"in_channels": 2, "out_channels": 5, "kernel_size": 4, "stride": 3, "bias": False},
]


def _engine_copy(model: nn.Module) -> nn.Module:
    """The model as the engine runs it before planning: channels-last, in-place."""
    twin = copy.deepcopy(model).eval()
    convert_convolutions(twin)
    make_activations_inplace(twin)
    return twin


def _planned_output(model: nn.Module, inputs: torch.Tensor):
    plan = plan_inference(_engine_copy(model), inputs[:1])
    with torch.inference_mode():
        return plan, plan.forward(plan.prepare(inputs))


@pytest.mark.parametrize("settings", PATCH_SETTINGS, ids=str)
def test_patch_convolution_equals_conv1d(settings):
    torch.manual_seed(0)
    conv = nn.Conv1d(**settings)
    inputs = torch.randn(6, settings["in_channels"], 23)
    with torch.inference_mode():
        expected = conv(inputs)
        got = PatchConv1d(conv)(conv1d_patches(conv, inputs))
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    _, channels, length = got.shape
    assert got.stride() == (
        length * channels,
        1,
        channels,
    )  # channels-last, as the layers after expect


@pytest.mark.parametrize(
    "layout", [torch.contiguous_format, torch.channels_last], ids=["default", "channels_last"]
)
def test_flatten_linear_equals_linear_of_flatten_in_either_layout(layout):
    torch.manual_seed(0)
    head = nn.Linear(6 * 3 * 4, 7)
    hidden = torch.randn(5, 6, 3, 4).contiguous(memory_format=layout)
    with torch.inference_mode():
        torch.testing.assert_close(
            FlattenLinear(head)(hidden), head(hidden.flatten(1)), rtol=1e-5, atol=1e-6
        )
        signals = torch.randn(5, 6, 12).transpose(1, 2).contiguous().transpose(1, 2)  # 3-D
        torch.testing.assert_close(
            FlattenLinear(head)(signals), head(signals.flatten(1)), rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "leaky_relu", "gelu", "elu"])
def test_planned_mnist1d_cnn_equals_the_model(activation):
    torch.manual_seed(1)
    model = build_model("mnist1d_cnn", activation, input_length=40, n_classes=10).eval()
    for parameter in model.parameters():  # far from initialisation, as grid points are
        parameter.data.add_(torch.randn_like(parameter))
    inputs = torch.randn(33, 40)
    plan, got = _planned_output(model, inputs)
    fused = ("features.1 fused into it",) if activation != "elu" else ()  # oneDNN has no ELU
    assert plan.rewrites == ("patches for features.0", *fused, "flatten into classifier")
    with torch.inference_mode():
        expected = model(inputs)
    # float32 sums in another order: differences scale with the logits' size
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6 * expected.abs().max())


def test_plan_keeps_the_models_parameters():
    model = build_model("mnist1d_cnn", "relu", input_length=40, n_classes=10)
    twin = _engine_copy(model)
    plan = plan_inference(twin, torch.randn(1, 40))
    ours = {id(p) for p in plan.forward.parameters()}
    assert ours == {id(p) for p in twin.parameters()}
    with torch.no_grad():
        twin.classifier.bias.add_(1.0)  # the engine moves the twin; the plan must follow
    inputs = torch.randn(4, 40)
    with torch.inference_mode():
        torch.testing.assert_close(plan.forward(plan.prepare(inputs)), twin(inputs))


class _WideFirstLayer(nn.Module):
    """A first convolution too thick for patches (8 channels × 5 taps)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(8, 4, 5)
        self.head = nn.Linear(4 * 12, 3)

    def forward(self, x):
        return self.head(torch.flatten(self.conv(x).relu(), 1))


class _InputReusedLater(nn.Module):
    """The input reaches the output past the first convolution: no patches."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 3, padding=1)
        self.head = nn.Linear(2 * 10, 3)

    def forward(self, x):
        hidden = self.conv(x.unsqueeze(1)) + x.unsqueeze(1)
        return self.head(hidden.flatten(1))


class _Branching(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 3)
        self.head = nn.Linear(2 * 8, 3)

    def forward(self, x):
        if x.sum() > 0:
            x = -x
        return self.head(self.conv(x.unsqueeze(1)).flatten(1))


@pytest.mark.parametrize(
    "model, inputs, rewrites",
    [
        (_WideFirstLayer(), torch.randn(6, 8, 16), ("flatten into head",)),
        (_InputReusedLater(), torch.randn(6, 10), ("flatten into head",)),
        (_Branching(), torch.randn(6, 10), ()),
    ],
    ids=["wide-first-layer", "input-reused", "untraceable"],
)
def test_rewrites_apply_only_where_their_pattern_holds(model, inputs, rewrites):
    torch.manual_seed(2)
    plan, got = _planned_output(model.eval(), inputs)
    assert plan.rewrites == rewrites
    with torch.inference_mode():
        torch.testing.assert_close(got, model(inputs), rtol=1e-5, atol=1e-6)
