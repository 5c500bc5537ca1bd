import numpy as np
import pytest
import torch
from torch import nn

from losslandscape.engine.grid import evaluate_grid, evaluate_grid_reference
from losslandscape.engine.strategies import LAYOUTS, EvaluationOptions
from losslandscape.models.activations import ACTIVATIONS, make_activation
from losslandscape.models.registry import IMAGE_MODELS, build_model, data_kwargs
from tests.planes import random_plane


def test_unknown_activation_names_the_choices():
    with pytest.raises(
        ValueError, match=r"activation 'relu6' is unknown; choose one of sigmoid, relu"
    ):
        make_activation("relu6")


def test_leaky_relu_slope_is_the_studys_and_configurable():
    assert make_activation("leaky_relu").negative_slope == 0.01
    model = build_model("resnet20", "leaky_relu", leaky_relu_slope=0.2)
    slopes = {m.negative_slope for m in model.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.2}


def test_convmlp_s_has_the_papers_parameter_count_and_the_listed_layers():
    """9,022,920 parameters with 1000 classes (the ConvMLP paper's 9.0M); the layers the
    proposal's summary lists total 2,420,936, the eight ConvMLP blocks 6,601,984."""

    def count(module):
        return sum(p.numel() for p in module.parameters())

    imagenet = build_model("convmlp_s", "relu", n_classes=1000)
    assert count(imagenet) == 9_022_920
    blocks = [b for stage in imagenet.stages for b in stage.blocks]
    assert len(blocks) == 8 and sum(count(b) for b in blocks) == 6_601_984
    assert count(imagenet) - sum(count(b) for b in blocks) == 2_420_936
    listed = {
        "tokenizer": 28_768,
        "conv_stages.conv_blocks": 328_960,
        "conv_stages.downsample": 73_856,
        "stages.0.downsample": 295_168,
        "stages.1.downsample": 1_180_160,
        "norm": 1_024,
        "head": 513_000,
    }
    for name, expected in listed.items():
        assert count(imagenet.get_submodule(name)) == expected, name
    assert count(build_model("convmlp_s", "relu", n_classes=100)) == 8_561_220


def test_resnets_with_and_without_skip_connections():
    def count(model):
        return sum(p.numel() for p in model.parameters())

    # Li et al.'s CIFAR ResNets (1x1 projection shortcuts where the shape changes)
    assert count(build_model("resnet56", "relu")) == 855_770
    assert count(build_model("resnet20", "relu")) == 272_474
    plain = build_model("resnet56_noshort", "relu")
    assert count(plain) == 855_770 - (16 * 32 + 2 * 32 + 32 * 64 + 2 * 64)  # no projections
    assert not any(block.skip for block in plain.modules() if hasattr(block, "skip"))


def test_mnist1d_cnn_has_the_papers_parameter_count():
    """The mnist1d paper's CNN has 5,210 parameters for length-40 signals and 10 classes."""
    model = build_model("mnist1d_cnn", "relu", input_length=40, n_classes=10)
    assert sum(p.numel() for p in model.parameters()) == 5210


INPUT_SHAPES = {
    "mnist1d_cnn": [40],
    "mlp": [40],
    "small_cnn2d": [3, 32, 32],
    "resnet20": [3, 32, 32],
    "resnet20_noshort": [3, 32, 32],
    "resnet56": [3, 32, 32],
    "resnet56_noshort": [3, 32, 32],
    "convmlp_s": [3, 32, 32],
}


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
    logits = model(torch.randn(4, *shape))
    assert logits.shape == (4, 10)
    nn.functional.cross_entropy(logits, torch.zeros(4, dtype=torch.long)).backward()
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


# the image shapes of the study's data sets: digits and MNIST-like grey-scale images stored
# (n, size, size), CIFAR colour images (n, 3, 32, 32)
IMAGE_SHAPES = {"digits": [8, 8], "mnist": [28, 28], "cifar": [3, 32, 32]}
IMAGE_NAMES = [*IMAGE_MODELS, "convmlp_s"]


@pytest.mark.parametrize("data", sorted(IMAGE_SHAPES))
@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_every_image_model_takes_every_image_data_set_shape(name, data):
    """Grey-scale images stored without a channel axis reach every image model, which adds
    it (issue 21: ResNet-20 on digits had failed on its first forward pass)."""
    shape = IMAGE_SHAPES[data]
    model = build_model(name, "relu", **data_kwargs(name, shape, 10))
    logits = model(torch.randn(4, *shape))
    assert logits.shape == (4, 10)


@pytest.mark.parametrize("name", IMAGE_NAMES)
def test_the_engine_evaluates_every_image_model_on_grey_scale_images(name):
    """Every evaluation path (the point model copy in both memory layouts) equals the
    reference loop on (n, 8, 8) images."""
    torch.manual_seed(0)
    model = build_model(name, "relu", **data_kwargs(name, [8, 8], 10)).eval()
    origin, u, v = random_plane(model, seed=0)
    generator = torch.Generator().manual_seed(1)
    splits = {"train": (torch.randn(24, 8, 8, generator=generator), torch.arange(24) % 10)}
    xs, ys = np.array([-0.1, 0.2]), np.array([0.0])
    reference = evaluate_grid_reference(model, origin, u, v, xs, ys, splits)
    for layout in LAYOUTS:
        options = EvaluationOptions(batch_size=16, layout=layout)
        ours = evaluate_grid(model, origin, u, v, xs, ys, splits, "point", options)
        np.testing.assert_allclose(
            ours["train_loss"], reference["train_loss"], rtol=1e-4, err_msg=layout
        )
