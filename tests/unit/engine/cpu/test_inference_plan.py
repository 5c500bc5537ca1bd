"""The engine's graph rewrite (a Conv1d stack with the batch innermost) against the plain
model, on random inputs and weights."""

import copy

import pytest
import torch
from torch import nn

from losslandscape.engine.cpu.channels_last import convert_convolutions
from losslandscape.engine.cpu.inference_plan import plan_inference
from losslandscape.engine.cpu.inplace_activations import make_activations_inplace
from losslandscape.engine.loss import LossSums
from losslandscape.engine.model_copy import evaluation_copy
from losslandscape.models.registry import build_model
from losslandscape.parameters import ParameterLayout


@pytest.fixture(params=[False, True], ids=["torch-gemm", "c-kernel"])
def native(request) -> bool:
    """Each batch-innermost test runs with torch's GEMM and with the C kernel."""
    if request.param:
        request.getfixturevalue("c_kernel")  # skips, or fails in CI, where it is not built
    return request.param


def _rewrite(native: bool, convs: str, head: str) -> tuple[str]:
    products = "C kernel" if native else "torch GEMM"
    return (f"batch innermost ({products}): {convs} → {head}",)


def _engine_copy(model: nn.Module) -> nn.Module:
    """The model as the engine runs it before planning: channels-last, in-place."""
    twin = copy.deepcopy(model).eval()
    convert_convolutions(twin)
    make_activations_inplace(twin)
    return twin


def _assert_planned_equals_model(plan, model, inputs):
    with torch.inference_mode():
        got, expected = plan.forward(plan.prepare(inputs)), model(inputs)
    # float32 sums in another order: differences scale with the logits' size
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6 * expected.abs().max())


def _moved_far(model: nn.Module) -> nn.Module:
    """The model's weights moved far from initialisation, as grid points are."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter))
    return model.eval()


@pytest.mark.parametrize(
    "activation", ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "silu"]
)
def test_planned_mnist1d_cnn_equals_the_model(activation, native):
    torch.manual_seed(1)
    model = _moved_far(build_model("mnist1d_cnn", activation, input_length=40, n_classes=10))
    inputs = torch.randn(33, 40)
    plan = plan_inference(_engine_copy(model), inputs[:1], native)
    assert plan.rewrites == _rewrite(native, "features.0, features.2, features.4", "classifier")
    _assert_planned_equals_model(plan, model, inputs)


class _Stack(nn.Module):
    """Convolutions of every geometry the stack takes: 3 input channels, kernels 3/4/1,
    strides 1/3/1, paddings 0/2/0, a convolution with no bias, two with no activation
    between them, a head with no bias, and 7 output channels (the C kernel holds 5 at a
    time, so a remainder too)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(3, 4, 3),
            nn.ReLU(),
            nn.Conv1d(4, 6, 4, stride=3, padding=2, bias=False),
            nn.Conv1d(6, 7, 1),
            nn.LeakyReLU(0.3),
        )
        self.head = nn.Linear(7 * 6, 4, bias=False)  # 19 → 17 → 6 → 6 positions

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def test_stack_of_any_geometry_equals_the_model_for_changing_batch_sizes(native):
    torch.manual_seed(2)
    model = _moved_far(_Stack())
    plan = plan_inference(_engine_copy(model), torch.randn(1, 3, 19), native)
    assert plan.rewrites == _rewrite(native, "features.0, features.2, features.3", "head")
    # workspaces are kept per batch size, their padding stays zero; a batch of one has
    # dimensions of size 1, whose strides a contiguous tensor may report as anything; the
    # kernel's rows are whole vectors of 16 lanes, of 64 at a time: 80 and 81 take every
    # kind of block
    for batch in (7, 1, 5, 7, 80, 81, 16):
        _assert_planned_equals_model(plan, model, torch.randn(batch, 3, 19))


def test_kernel_stack_takes_inputs_not_laid_out_by_prepare_and_returns_fresh_logits(native):
    torch.manual_seed(6)
    model = _moved_far(_Stack())
    plan = plan_inference(_engine_copy(model), torch.randn(1, 3, 19), native)
    first, second = torch.randn(20, 3, 19), torch.randn(20, 3, 19)
    with torch.inference_mode():
        # the plain (length, channels, batch) layout, contiguous: rows not whole vectors
        contiguous = plan.prepare(first).contiguous()
        got_first = plan.forward(contiguous)
        kept = got_first.clone()
        plan.forward(plan.prepare(second))
        torch.testing.assert_close(got_first, kept, rtol=0, atol=0)  # not overwritten
        expected = model(first)
    torch.testing.assert_close(got_first, expected, rtol=1e-5, atol=1e-6 * expected.abs().max())


def test_plan_keeps_the_models_parameters(native):
    model = build_model("mnist1d_cnn", "relu", input_length=40, n_classes=10)
    twin = _engine_copy(model)
    plan = plan_inference(twin, torch.randn(1, 40), native)
    assert {id(p) for p in plan.forward.parameters()} == {id(p) for p in twin.parameters()}
    with torch.no_grad():
        twin.classifier.bias.add_(1.0)  # the engine moves the twin; the plan must follow
        twin.features[2].weight.mul_(2.0)
    _assert_planned_equals_model(plan, twin, torch.randn(4, 40))


class _FunctionalActivation(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(8, 4, 5)
        self.head = nn.Linear(4 * 12, 3)

    def forward(self, x):
        return self.head(torch.flatten(self.conv(x).relu(), 1))


class _InputReusedLater(nn.Module):
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


class _FeaturesThenHead(nn.Module):
    """``features`` over signals ``(batch, length)`` as one channel, flattened into a
    3-class head of ``flat`` inputs."""

    def __init__(self, features: nn.Module, flat: int):
        super().__init__()
        self.features = features
        self.head = nn.Linear(flat, 3)

    def forward(self, x):
        return self.head(self.features(x.unsqueeze(1)).flatten(1))


def _pooled() -> nn.Module:
    return _FeaturesThenHead(nn.Sequential(nn.Conv1d(1, 2, 3), nn.ReLU(), nn.MaxPool1d(2)), 2 * 4)


def _dilated() -> nn.Module:
    return _FeaturesThenHead(nn.Conv1d(1, 2, 3, dilation=2), 2 * 6)


@pytest.mark.parametrize(
    "model, inputs",
    [
        (_FunctionalActivation(), torch.randn(6, 8, 16)),
        (_InputReusedLater(), torch.randn(6, 10)),
        (_Branching(), torch.randn(6, 10)),
        (_pooled(), torch.randn(6, 10)),
        (_dilated(), torch.randn(6, 10)),
    ],
    ids=["functional-activation", "input-reused", "untraceable", "pooled", "dilated"],
)
def test_models_that_are_not_such_a_stack_keep_their_forward_pass(model, inputs):
    torch.manual_seed(3)
    twin = _engine_copy(model)
    plan = plan_inference(twin, inputs[:1])
    assert plan.rewrites == ()
    assert plan.forward is twin
    _assert_planned_equals_model(plan, model.eval(), inputs)


def test_engine_copy_stores_conv_weights_as_the_plan_reads_them_and_follows_its_flat_vector(
    native,
):
    torch.manual_seed(5)
    model = _moved_far(build_model("mnist1d_cnn", "elu", input_length=40, n_classes=10))
    inputs = torch.randn(9, 40)
    twin, flat, plan, index = evaluation_copy(model, inputs[:1], native=native)
    assert set(plan.storage_orders) == {f"features.{i}.weight" for i in (0, 2, 4)}
    assert twin.features[2].weight.permute(0, 2, 1).is_contiguous()  # memory (out, k, in)
    _assert_planned_equals_model(plan, model, inputs)
    steps = next(iter(plan.forward._steps.values()))
    steps = steps if native else steps[0]
    assert all(step.weight is not None for step in steps)  # views made once, no copies
    # another point, written in the flat vector's order, is the point the plan evaluates
    layout = ParameterLayout.of(model)
    point = layout.flatten(dict(model.named_parameters())).detach() + torch.randn(flat.shape)
    flat.copy_(point[index])
    moved = copy.deepcopy(model)
    with torch.no_grad():
        for name, value in layout.unflatten(point).items():
            moved.get_parameter(name).copy_(value)
    _assert_planned_equals_model(plan, moved, inputs)


def test_kernel_plan_adds_the_loss_sums_the_engine_computes_from_logits(native):
    torch.manual_seed(8)
    model = _moved_far(build_model("mnist1d_cnn", "sigmoid", input_length=40, n_classes=10))
    inputs, labels = torch.randn(1003, 40), torch.randint(0, 10, (1003,))
    plan = plan_inference(_engine_copy(model), inputs[:1], native)
    if not native:  # torch's GEMM: the engine reduces the logits itself
        assert plan.add_loss_sums is None
        return
    sums = torch.zeros(3, dtype=torch.float64)
    with torch.inference_mode():
        plan.add_loss_sums(plan.prepare(inputs), labels, sums)
        reference = LossSums(1, "cpu")  # the engine's reduction in Python
        reference.add(0, model(inputs), labels)
    expected = reference.sums[:, 0]
    torch.testing.assert_close(sums[0], expected[0], rtol=1e-5, atol=0)
    torch.testing.assert_close(sums[1], expected[1], rtol=1e-5, atol=0)
    assert sums[2] == expected[2]
    labels[5] = -1
    with pytest.raises(ValueError, match="label -1 of sample 5 .* 10 \\(expected 0 to 9\\)"):
        plan.add_loss_sums(plan.prepare(inputs), labels, sums)
    with pytest.raises(ValueError, match="labels must be \\(1003,\\).*found \\(1002,\\)"):
        plan.add_loss_sums(plan.prepare(inputs), labels[1:], sums)
    with pytest.raises(ValueError, match="sums must be \\(3,\\) float64 on CPU"):
        plan.add_loss_sums(plan.prepare(inputs), labels, sums.float())
