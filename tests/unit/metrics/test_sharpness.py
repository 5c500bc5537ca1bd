"""Sharpness measures against a dense Hessian on a tiny model."""

import copy

import numpy as np
import pytest
import torch
import xarray as xr
from torch.func import functional_call
from torch.nn import functional as F

from losslandscape.data.datasets import save_dataset
from losslandscape.metrics.sharpness import (
    HESSIAN_TOLERANCE,
    HessianOperator,
    adaptive_hessian_max_eigenvalue,
    epsilon_sharpness,
    hessian_extreme_eigenvalues,
    hessian_extreme_eigenvectors,
    sharpness_subset,
)
from losslandscape.metrics.trace import hutchpp_trace
from losslandscape.models.registry import build_model
from losslandscape.parameters import ParameterLayout
from losslandscape.settings.analysis import Sharpness
from losslandscape.stages.sharpness import run_compute_sharpness
from losslandscape.statistics.summary import SHARPNESS_COLUMNS
from losslandscape.training.checkpoints import model_from_checkpoints, save_checkpoints


def _dense_hessian(model, inputs, labels) -> np.ndarray:
    layout = ParameterLayout.of(model)
    flat = layout.flatten(dict(model.named_parameters())).detach()

    def loss_of(vector):
        return F.cross_entropy(functional_call(model, layout.unflatten(vector), (inputs,)), labels)

    return torch.autograd.functional.hessian(loss_of, flat).double().numpy()


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = build_model("mlp", "tanh", n_inputs=4, n_classes=3, hidden=[5])
    inputs, labels = torch.randn(64, 4), torch.randint(0, 3, (64,))
    return model, inputs, labels, _dense_hessian(model, inputs, labels)


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


def test_trace_at_the_default_settings_is_the_dense_hessians_on_the_tiny_model(tiny):
    """The study's trace estimate (Hutch++ with ``sharpness.trace_products`` products) on
    the tiny model, whose 43 parameters are fewer than the products: exact. (Hutch++
    proper is held to 2 % on a network-like spectrum in test_trace.py, and measured on the
    trained default CNN by benchmarks/curvature.py.)"""
    model, inputs, labels, dense = tiny
    hvp = HessianOperator(model, inputs, labels)
    products = Sharpness().trace_products
    assert hvp.n_params < products
    estimate, error = hutchpp_trace(hvp, hvp.n_params, products, 0)
    assert estimate == pytest.approx(np.trace(dense), rel=1e-5) and error == 0.0


def test_hutchpp_through_the_hessian_operator_is_within_its_standard_errors(tiny):
    """Hutch++ proper (30 products, fewer than the 43 parameters) on the real Hessian-vector
    product: within three standard errors of the exact trace for each of five seeds."""
    model, inputs, labels, dense = tiny
    hvp = HessianOperator(model, inputs, labels)
    for seed in range(5):
        estimate, error = hutchpp_trace(hvp, hvp.n_params, 30, seed)
        assert 0 < error and abs(estimate - np.trace(dense)) < 3 * error


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


def test_the_hessian_plane_and_the_sharpness_rule_share_one_solver_and_tolerance(
    tmp_path, toy_dataset, toy_run, monkeypatch
):
    """The hessian plane's eigenvectors and the sharpness rule's eigenvalues come from one
    Lanczos solver at :data:`HESSIAN_TOLERANCE` (the tighter of the 1e-4 and 1e-6 they
    used): on the same subset and seed, the eigenvalues recorded with the plane are the
    rule's, bit for bit, and every solver call of both runs at that tolerance."""
    from losslandscape.metrics import sharpness
    from losslandscape.planes.directions import load_directions
    from losslandscape.stages.directions import run_compute_directions

    tolerances = []
    solve = sharpness.lanczos_extremes

    def recorded(matvec, n, tol, *args, **kwargs):
        tolerances.append(tol)
        return solve(matvec, n, tol, *args, **kwargs)

    monkeypatch.setattr(sharpness, "lanczos_extremes", recorded)
    paths = {name: tmp_path / name for name in ("data.pt", "ckpt.pt", "h.pt", "sharp.nc")}
    save_dataset(toy_dataset, paths["data.pt"])
    save_checkpoints(toy_run[0], paths["ckpt.pt"])
    seed = toy_run[0]["seed"]
    torch.set_num_threads(1)  # as the sharpness stage runs: the same float32 sums
    run_compute_directions(
        str(paths["ckpt.pt"]), str(paths["h.pt"]), "hessian", seed,
        dataset=str(paths["data.pt"]), hessian_subset_size=100,
    )  # fmt: skip
    run_compute_sharpness(
        str(paths["data.pt"]), str(paths["ckpt.pt"]), str(paths["sharp.nc"]), 100,
        trace_products=6, ascent_iterations=1,
    )  # fmt: skip
    plane = load_directions(paths["h.pt"])
    with xr.open_dataset(paths["sharp.nc"]) as sharp:
        rule = [float(sharp.hessian_max_eigenvalue), float(sharp.hessian_min_eigenvalue)]
    assert plane["metadata"]["eigenvalues"] == rule
    assert HESSIAN_TOLERANCE == 1e-6
    assert len(tolerances) == 3 and set(tolerances) == {HESSIAN_TOLERANCE}  # 1 + 1 + adaptive


def test_adaptive_max_eigenvalue_matches_the_dense_scaled_hessian(tiny):
    model, inputs, labels, dense = tiny
    weights = ParameterLayout.of(model).flatten(dict(model.named_parameters())).detach()
    scale = np.abs(weights.double().numpy())
    expected = np.linalg.eigvalsh(scale[:, None] * dense * scale[None, :])[-1]
    hvp = HessianOperator(model, inputs, labels)
    assert adaptive_hessian_max_eigenvalue(hvp, weights) == pytest.approx(expected, rel=1e-4)
    assert adaptive_hessian_max_eigenvalue(hvp) == pytest.approx(expected, rel=1e-4)
    with pytest.raises(ValueError, match="flat weights"):
        adaptive_hessian_max_eigenvalue(hvp, weights[:-1])


def rescaled(model: torch.nn.Module, alpha: torch.Tensor) -> torch.nn.Module:
    """The same function: hidden layer 1's unit ``i`` (weights and bias) times ``alpha[i]``,
    layer 2's weights from that unit over ``alpha[i]`` (Dinh et al. 2017)."""
    copied = copy.deepcopy(model)
    first, second = copied.net[0], copied.net[2]
    with torch.no_grad():
        first.weight.mul_(alpha[:, None])
        first.bias.mul_(alpha)
        second.weight.div_(alpha[None, :])
    return copied


@pytest.mark.parametrize(
    ("activation", "per_neuron"),
    [("relu", False), ("relu", True), ("leaky_relu", True)],
)
def test_adaptive_max_eigenvalue_is_invariant_under_function_preserving_rescaling(
    activation, per_neuron
):
    torch.manual_seed(1)
    model = build_model("mlp", activation, n_inputs=6, n_classes=3, hidden=[12, 10])
    inputs, labels = torch.randn(128, 6), torch.randint(0, 3, (128,))
    if per_neuron:
        alpha = torch.linspace(2.0, 8.0, 12)
    else:
        alpha = torch.full((12,), 4.0)
    other = rescaled(model, alpha)
    torch.testing.assert_close(other(inputs), model(inputs), rtol=1e-5, atol=1e-5)
    before, after = (HessianOperator(m, inputs, labels) for m in (model, other))
    raw = [hessian_extreme_eigenvalues(h, tol=1e-6)[0] for h in (before, after)]
    adaptive = [adaptive_hessian_max_eigenvalue(h, tol=1e-6) for h in (before, after)]
    assert max(raw) / min(raw) > 2.5
    assert adaptive[1] == pytest.approx(adaptive[0], rel=1e-3)


def test_sharpness_stage_writes_the_adaptive_max_eigenvalue(tmp_path, toy_dataset, toy_run):
    dataset, checkpoints, out = (tmp_path / name for name in ("data.pt", "ckpt.pt", "sharp.nc"))
    save_dataset(toy_dataset, dataset)
    save_checkpoints(toy_run[0], checkpoints)
    run_compute_sharpness(
        str(dataset), str(checkpoints), str(out), 100, trace_products=6, ascent_iterations=2
    )
    with xr.open_dataset(out) as sharp:
        assert set(SHARPNESS_COLUMNS) <= set(sharp.data_vars)
        adaptive = sharp.hessian_max_eigenvalue_adaptive
        assert np.isfinite(float(adaptive)) and float(adaptive) > 0
        assert adaptive.attrs["units"] == "1" and adaptive.attrs["long_name"].endswith("in nats")
        assert float(sharp.hessian_max_eigenvalue) >= float(sharp.hessian_min_eigenvalue)


def test_hessian_map_on_a_coarse_sub_grid(tmp_path, toy_dataset, toy_run):
    """``python -m losslandscape hessian-map``: at the plane's origin it is the trained
    model's Hessian (the sharpness stage's numbers); the ratio is |λmin/λmax| everywhere."""
    from losslandscape.cli import main
    from losslandscape.io.datamodel import write_landscape
    from losslandscape.metrics.hessian_map import coarse_axis
    from losslandscape.stages.directions import run_compute_directions
    from tests.unit.io.test_datamodel import make_landscape

    paths = {name: tmp_path / name for name in ("data.pt", "ckpt.pt", "u.pt", "l.nc", "h.nc")}
    save_dataset(toy_dataset, paths["data.pt"])
    save_checkpoints(toy_run[0], paths["ckpt.pt"])
    run_compute_directions(str(paths["ckpt.pt"]), str(paths["u.pt"]), "random", seed=7)
    landscape = make_landscape(7, 5)  # x in [-1, 1], y in [-2, 2]
    landscape.attrs.update(seed=7, plane="random", plane_name="random_draw1")  # the run's
    write_landscape(landscape, paths["l.nc"])
    main(
        ["hessian-map", "--points", "3", "--subset-size", "100"]
        + [f"--{k}={paths[v]}" for k, v in (("dataset", "data.pt"), ("checkpoints", "ckpt.pt"))]
        + [
            f"--directions={paths['u.pt']}",
            f"--landscape={paths['l.nc']}",
            f"--out={paths['h.nc']}",
        ]
    )
    with xr.open_dataset(paths["h.nc"]) as hmap:
        assert hmap.eigenvalue_ratio.shape == (3, 3)
        np.testing.assert_array_equal(hmap.x, [-1, 0, 1])
        np.testing.assert_array_equal(hmap.y, [-2, 0, 2])
        np.testing.assert_allclose(
            hmap.eigenvalue_ratio, np.abs(hmap.hessian_min_eigenvalue / hmap.hessian_max_eigenvalue)
        )
        at_origin = hmap.sel(x=0, y=0)
        model = model_from_checkpoints(toy_run[0])
        subset = sharpness_subset(len(toy_dataset["y_train"]), 100, toy_run[0]["seed"])
        hvp = HessianOperator(model, toy_dataset["x_train"][subset], toy_dataset["y_train"][subset])
        largest, smallest = hessian_extreme_eigenvalues(hvp, seed=toy_run[0]["seed"])
        assert float(at_origin.hessian_max_eigenvalue) == pytest.approx(largest, rel=1e-3)
        assert float(at_origin.hessian_min_eigenvalue) == pytest.approx(
            smallest, rel=1e-2, abs=1e-4
        )
    assert coarse_axis(np.linspace(-1, 1, 33), 5).tolist() == [-1, -0.5, 0, 0.5, 1]
    assert coarse_axis(np.linspace(-1, 1, 31), 5)[[0, 2, 4]].tolist() == [-1, 0, 1]
    with pytest.raises(ValueError, match="at least 2 points per axis; found 1"):
        coarse_axis(np.linspace(-1, 1, 31), 1)
