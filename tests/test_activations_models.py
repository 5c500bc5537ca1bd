import pytest
import torch
from torch import nn

from losslandscape.activations import ACTIVATIONS, make_activation
from losslandscape.models import build_model, data_kwargs


def test_unknown_activation_names_the_choices():
    with pytest.raises(
        ValueError, match=r"activation 'relu6' is unknown; choose one of sigmoid, relu"
    ):
        make_activation("relu6")


def test_leaky_relu_slope_is_the_studys():
    assert make_activation("leaky_relu").negative_slope == 0.01


def test_mnist1d_cnn_has_the_papers_parameter_count():
    """The mnist1d paper's CNN has 5,210 parameters for length-40 signals and 10 classes."""
    model = build_model("mnist1d_cnn", "relu", input_length=40, n_classes=10)
    assert sum(p.numel() for p in model.parameters()) == 5210


INPUT_SHAPES = {"mnist1d_cnn": [40], "mlp": [40], "small_cnn2d": [3, 32, 32]}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("name", sorted(INPUT_SHAPES))
def test_every_model_builds_with_every_activation_and_trains_a_step(name, activation):
    shape = INPUT_SHAPES[name]
    model = build_model(name, activation, **data_kwargs(name, shape, 10))
    kinds = {type(m) for m in model.modules()}
    assert type(make_activation(activation)) in kinds
    assert not kinds & (
        {type(make_activation(a)) for a in ACTIVATIONS} - {type(make_activation(activation))}
    )
    logits = model(torch.randn(8, *shape))
    assert logits.shape == (8, 10)
    nn.functional.cross_entropy(logits, torch.zeros(8, dtype=torch.long)).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_unknown_model_names_the_choices():
    with pytest.raises(
        ValueError, match="model 'resnet' is unknown; choose one of mnist1d_cnn, mlp"
    ):
        build_model("resnet", "relu")


def test_the_1d_cnn_rejects_image_inputs_by_name():
    expected = r"takes 1-D signals; .* shape \[8, 8\]; choose model 'mlp'"
    with pytest.raises(ValueError, match=expected):
        data_kwargs("mnist1d_cnn", [8, 8], 10)
    assert data_kwargs("mlp", [8, 8], 10) == {"n_inputs": 64, "n_classes": 10}
