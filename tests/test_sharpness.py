"""Sharpness measures against a dense Hessian on a tiny model."""

import numpy as np
import pytest
import torch
from torch.func import functional_call
from torch.nn import functional as F

from losslandscape.models import build_model
from losslandscape.parameters import ParameterLayout
from losslandscape.sharpness import (
    HessianOperator,
    epsilon_sharpness,
    hessian_extreme_eigenvalues,
    hessian_extreme_eigenvectors,
    hutchinson_trace,
    sharpness_subset,
)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = build_model("mlp", "tanh", n_inputs=4, n_classes=3, hidden=[5])
    inputs, labels = torch.randn(64, 4), torch.randint(0, 3, (64,))
    layout = ParameterLayout.of(model)
    flat = layout.flatten(dict(model.named_parameters())).detach()

    def loss_of(vector):
        return F.cross_entropy(functional_call(model, layout.unflatten(vector), (inputs,)), labels)

    dense = torch.autograd.functional.hessian(loss_of, flat).double().numpy()
    return model, inputs, labels, dense


def test_hvp_equals_the_dense_hessian(tiny):
    model, inputs, labels, dense = tiny
    hvp = HessianOperator(model, inputs, labels)
    v = torch.randn(hvp.n_params)
    np.testing.assert_allclose(
        hvp(v).double().numpy(), dense @ v.double().numpy(), rtol=1e-4, atol=1e-5
    )


def test_extreme_eigenvalues_match_the_dense_hessian(tiny):
    model, inputs, labels, dense = tiny
    largest, smallest = hessian_extreme_eigenvalues(HessianOperator(model, inputs, labels))
    eigenvalues = np.linalg.eigvalsh(dense)
    assert largest == pytest.approx(eigenvalues[-1], rel=1e-4)
    assert smallest == pytest.approx(eigenvalues[0], rel=1e-3, abs=1e-5)


def test_hutchinson_trace_is_within_three_standard_errors(tiny):
    model, inputs, labels, dense = tiny
    estimate, error = hutchinson_trace(
        HessianOperator(model, inputs, labels), n_samples=400, seed=1
    )
    assert abs(estimate - np.trace(dense)) < 3 * error
    assert error > 0


def test_epsilon_sharpness_grows_with_epsilon_and_is_zero_at_zero(tiny):
    model, inputs, labels, _ = tiny
    values = [epsilon_sharpness(model, inputs, labels, eps) for eps in (0.0, 1e-3, 1e-2)]
    assert values[0] == pytest.approx(0.0, abs=1e-6)
    assert 0 < values[1] < values[2]


def test_subset_is_seeded_and_clipped():
    assert torch.equal(sharpness_subset(100, 10, 3), sharpness_subset(100, 10, 3))
    assert not torch.equal(sharpness_subset(100, 10, 3), sharpness_subset(100, 10, 4))
    assert len(sharpness_subset(5, 10, 0)) == 5


def test_hessian_directions_are_the_dense_hessians_extreme_eigenvectors(tiny):
    model, inputs, labels, dense = tiny
    top, bottom, largest, smallest = hessian_extreme_eigenvectors(
        HessianOperator(model, inputs, labels)
    )
    eigenvalues, eigenvectors = np.linalg.eigh(dense)
    assert largest == pytest.approx(eigenvalues[-1], rel=1e-4)
    assert smallest == pytest.approx(eigenvalues[0], rel=1e-3, abs=1e-5)
    assert abs(float(np.dot(top.double().numpy(), eigenvectors[:, -1]))) == pytest.approx(
        1, abs=1e-4
    )
    assert abs(float(np.dot(bottom.double().numpy(), eigenvectors[:, 0]))) == pytest.approx(
        1, abs=1e-3
    )
    assert abs(float(torch.dot(top, bottom))) < 1e-3
