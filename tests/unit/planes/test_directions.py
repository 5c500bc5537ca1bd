import numpy as np
import pytest
import torch

from losslandscape.models.registry import build_model, data_kwargs
from losslandscape.parameters import ParameterLayout
from losslandscape.planes.directions import (
    pca_directions,
    project_onto_plane,
    random_directions,
    three_point_directions,
)


def test_pca_equals_a_centred_svd_up_to_sign():
    """Li et al. §7 rows (checkpoint − final), centred like sklearn's PCA: same axes and ratios."""
    gen = torch.Generator().manual_seed(0)
    trajectory = torch.cumsum(torch.randn(12, 300, generator=gen, dtype=torch.float64), dim=0)
    u, v, meta = pca_directions(trajectory)
    rows = (trajectory[:-1] - trajectory[-1]).numpy()
    centred = rows - rows.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    for ours, ref in zip((u, v), vt[:2], strict=True):
        assert abs(abs(float(np.dot(ours.double().numpy(), ref))) - 1) < 1e-6
    ratio = singular**2 / np.sum(singular**2)
    np.testing.assert_allclose(meta["explained_variance_ratio"], ratio[:2], rtol=1e-6)
    assert abs(float(torch.dot(u.double(), v.double()))) < 1e-6
    assert float(torch.dot(trajectory[0] - trajectory[-1], u.double())) < 0  # sign convention


def test_pca_needs_four_checkpoints_to_span_a_plane():
    with pytest.raises(ValueError, match="at least 4 checkpoints .* found 3"):
        pca_directions(torch.randn(3, 10))


@pytest.mark.parametrize("motion", ["none", "one line"])
def test_pca_of_weights_that_did_not_move_in_two_directions_is_refused(motion):
    """Weights that never changed (a learning rate of 1e-20) had given NaN directions that
    failed only later, in the landscape stage; a straight-line trajectory has no second
    axis either."""
    start = torch.randn(300, generator=torch.Generator().manual_seed(0))
    if motion == "none":
        trajectory = start.repeat(6, 1)
    else:
        trajectory = start + torch.linspace(0, 1, 6)[:, None] * torch.ones(300)
    with pytest.raises(ValueError, match="moves in two directions.*did training change"):
        pca_directions(trajectory)


@pytest.fixture(params=["mnist1d_cnn", "small_cnn2d"])
def weights(request):
    """Parameters of a 1-D CNN (3-D conv weights) and a 2-D CNN (4-D conv weights)."""
    shape = [40] if request.param == "mnist1d_cnn" else [3, 32, 32]
    model = build_model(request.param, "relu", **data_kwargs(request.param, shape, 10))
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_filter_normalized_directions_match_weight_norms_per_filter(weights):
    u, v, meta = random_directions(weights, seed=42)
    for direction in (u, v):
        for name, weight in weights.items():
            if weight.dim() <= 1:
                assert torch.count_nonzero(direction[name]) == 0, f"{name} should be zeroed"
            else:
                dims = tuple(range(1, weight.dim()))
                per_filter = torch.linalg.vector_norm(direction[name], dim=dims)
                expected = torch.linalg.vector_norm(weight, dim=dims)
                torch.testing.assert_close(per_filter, expected, rtol=1e-5, atol=1e-6)
    assert abs(meta["cosine_uv"]) < 0.2


def test_layer_normalization_and_keeping_biases(weights):
    u, _, _ = random_directions(weights, seed=1, normalization="layer", ignore_biasbn=False)
    for name, weight in weights.items():
        if weight.dim() <= 1:
            assert torch.equal(u[name], weight)
        else:
            assert abs(float(u[name].norm() / weight.norm()) - 1) < 1e-5


def test_random_directions_are_deterministic_per_seed(weights):
    first, _, _ = random_directions(weights, seed=42)
    again, _, _ = random_directions(weights, seed=42)
    other, _, _ = random_directions(weights, seed=43)
    layout = ParameterLayout(tuple(weights), tuple(w.shape for w in weights.values()))
    assert torch.equal(layout.flatten(first), layout.flatten(again))
    assert not torch.equal(layout.flatten(first), layout.flatten(other))


def test_projection_recovers_in_plane_points_and_reports_residual():
    gen = torch.Generator().manual_seed(3)
    u, v = torch.randn(50, generator=gen), torch.randn(50, generator=gen)
    points = torch.stack([2 * u - 0.5 * v, 0 * u, 3 * u + torch.randn(50, generator=gen)])
    x, y, residual = project_onto_plane(points, u, v)
    assert (
        abs(float(x[0]) - 2) < 1e-5 and abs(float(y[0]) + 0.5) < 1e-5 and float(residual[0]) < 1e-6
    )
    assert float(residual[1]) == 0 and float(residual[2]) > 0.1


def test_three_point_plane_passes_through_its_points_with_an_orthogonal_basis():
    gen = torch.Generator().manual_seed(5)
    w1, w2, w3 = (torch.randn(200, generator=gen, dtype=torch.float64) for _ in range(3))
    u, v, meta = three_point_directions(w1, w2, w3)
    assert abs(float(torch.dot(u.double(), v.double()))) < 1e-5 * float(u.norm() * v.norm())
    for x, y, point in zip(meta["point_x"], meta["point_y"], (w1, w2, w3), strict=True):
        torch.testing.assert_close((w1 + x * u.double() + y * v.double()), point, rtol=0, atol=1e-5)


def test_three_point_plane_rejects_collinear_points():
    w1, w2 = torch.zeros(10), torch.ones(10)
    with pytest.raises(ValueError, match="w3 lies on the line through w1 and w2"):
        three_point_directions(w1, w2, 2 * w2)
    with pytest.raises(ValueError, match="w1 and w2 coincide"):
        three_point_directions(w1, w1, w2)


@pytest.mark.parametrize(
    "plane, message",
    [
        ("pca", "moves in two directions"),
        ("interpolation", "slice needs two different models; the weights of epochs 0 and 4"),
        ("three_point", r"\(epochs \[0, 1, 2\]\): three-point plane: w1 and w2 coincide"),
    ],
)
def test_every_plane_through_checkpoints_refuses_weights_that_never_moved(
    toy_run, tmp_path, plane, message
):
    """A run whose weights never moved (a learning rate of 1e-20): every plane built from
    its checkpoints is refused by the directions stage, naming the file (issue 21, case 5's
    kind; the interpolation slice had passed with u = 0 and failed in the landscape stage)."""
    import copy

    from losslandscape.stages.directions import run_compute_directions
    from losslandscape.training.checkpoints import save_checkpoints

    frozen = copy.deepcopy(toy_run[0])
    frozen["state_dicts"] = [frozen["state_dicts"][0]] * len(frozen["state_dicts"])
    path = tmp_path / "frozen.pt"
    save_checkpoints(frozen, path)
    with pytest.raises(ValueError, match=message) as error:
        run_compute_directions(str(path), str(tmp_path / "d.pt"), plane, seed=1)
    assert "frozen.pt" in str(error.value)
    assert not (tmp_path / "d.pt").exists()
