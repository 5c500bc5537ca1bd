"""Flat parameter vectors: storing some parameters with their dimensions permuted."""

import pytest
import torch
from torch import nn

from losslandscape.engine.model_copy import model_on_flat_vector
from losslandscape.parameters import ParameterLayout, store_permuted


def _model() -> nn.Module:
    torch.manual_seed(4)
    return nn.Sequential(nn.Conv1d(3, 5, 4), nn.Conv1d(5, 2, 3), nn.Flatten(), nn.Linear(2, 7))


def test_permuted_storage_keeps_every_value_and_moves_vectors_by_its_index():
    model = _model()
    layout = ParameterLayout.of(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    twin, flat = model_on_flat_vector(model)
    old_flat = flat.clone()
    index = store_permuted(twin, flat, {"0.weight": (0, 2, 1), "3.weight": (1, 0)})
    torch.testing.assert_close(flat, old_flat[index], rtol=0, atol=0)
    for name, parameter in twin.named_parameters():
        torch.testing.assert_close(parameter, before[name], rtol=0, atol=0)
    assert twin[0].weight.permute(0, 2, 1).is_contiguous()  # memory (out, k, in)
    assert twin[3].weight.t().is_contiguous()
    assert twin[1].weight.is_contiguous()  # not named: stored as it was
    # a point in layout order, moved by the index, is what the parameters then read
    point = torch.randn(layout.n_params)
    flat.copy_(point[index])
    for name, expected in layout.unflatten(point).items():
        torch.testing.assert_close(dict(twin.named_parameters())[name], expected, rtol=0, atol=0)


def test_permuted_storage_names_an_unknown_parameter():
    twin, flat = model_on_flat_vector(_model())
    with pytest.raises(ValueError, match=r"\['4.weight'\] are not in the model"):
        store_permuted(twin, flat, {"4.weight": (1, 0)})
