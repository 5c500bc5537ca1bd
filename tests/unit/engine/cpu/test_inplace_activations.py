"""In-place activations: only where nothing else sees their input, with unchanged values."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from losslandscape.engine.cpu.inplace_activations import make_activations_inplace
from losslandscape.engine.grid import evaluate_grid, evaluate_grid_reference
from losslandscape.models.registry import build_model
from tests.planes import random_plane


def test_only_activations_after_fresh_outputs_inside_sequentials_change():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.ReLU(),  # first entry: its input is the caller's tensor
        nn.Linear(6, 6),
        nn.Sigmoid(),
        nn.Tanh(),  # follows an activation, whose output it would overwrite
        nn.Linear(6, 6),
        nn.LeakyReLU(0.1),
        nn.Flatten(),
        nn.ELU(),  # after Flatten, which may return a view of its input
        nn.Linear(6, 6),
        nn.GELU(),  # no in-place form
    )
    reference = copy.deepcopy(model)
    assert make_activations_inplace(model) == 2
    assert not model[0].inplace and not model[7].inplace and model[5].inplace
    assert type(model[2]) is not nn.Sigmoid and type(model[3]) is nn.Tanh
    inputs = torch.randn(5, 6)
    kept = inputs.clone()
    with torch.inference_mode():
        torch.testing.assert_close(model(inputs), reference(inputs))
    assert torch.equal(inputs, kept)  # the caller's tensor is never overwritten


@pytest.mark.parametrize(
    ("name", "activation", "shape"),
    [
        ("mnist1d_cnn", "sigmoid", (40,)),
        ("mnist1d_cnn", "tanh", (40,)),
        ("mnist1d_cnn", "leaky_relu", (40,)),
        ("mlp", "elu", (40,)),
        ("convmlp_s", "relu", (3, 32, 32)),
    ],
)
def test_point_strategy_with_inplace_activations_matches_the_reference(name, activation, shape):
    torch.manual_seed(0)
    kwargs = {"n_classes": 10}
    if name == "mnist1d_cnn":
        kwargs["input_length"] = shape[0]
    elif name == "mlp":
        kwargs["n_inputs"] = shape[0]
    else:
        kwargs["in_channels"] = shape[0]
    model = build_model(name, activation, **kwargs).eval()
    plane = (model, *random_plane(model, seed=2))
    splits = {"test": (torch.randn(6, *shape), torch.randint(0, 10, (6,)))}
    axis = np.array([-0.2, 0.3])
    ours = evaluate_grid(*plane, axis, axis, splits, "point")
    reference = evaluate_grid_reference(*plane, axis, axis, splits)
    for key, expected in reference.items():
        np.testing.assert_allclose(ours[key], expected, rtol=1e-5, atol=1e-6, err_msg=key)
