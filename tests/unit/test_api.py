"""The public API (losslandscape.api): the README's example runs as written, and its grid
equals a plain per-point loop's to float32 rounding, for cross-entropy and MSE, on a model
with BatchNorm and a frozen layer (issue 19, item 1)."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import losslandscape as ll
from losslandscape.parameters import ParameterLayout

ROOT = Path(__file__).resolve().parents[2]


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    (code,) = re.findall(r"<!-- api example -->\n```python\n(.*?)```", text, re.DOTALL)
    return code


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> dict:
    """The README's example, run as written in a fresh folder: its namespace."""
    folder = tmp_path_factory.mktemp("api")
    namespace = {"__name__": "__main__"}
    cwd = Path.cwd()
    try:
        import os

        os.chdir(folder)
        exec(compile(_readme_example(), "README.md", "exec"), namespace)
    finally:
        os.chdir(cwd)
    namespace["folder"] = folder
    return namespace


def _plain_loop(model, plane, inputs, targets, xs, ys, loss):
    """Each point's weights copied into the module, the whole split in one pass."""
    model = __import__("copy").deepcopy(model).eval()
    layout = ParameterLayout.of(model)
    origin, u, v = (layout.flatten(part) for part in (plane.origin, plane.u, plane.v))
    params = dict(model.named_parameters())
    out = np.empty((len(ys), len(xs)))
    with torch.no_grad():
        for iy, y in enumerate(ys):
            for ix, x in enumerate(xs):
                for name, tensor in layout.unflatten(origin + x * u + y * v).items():
                    params[name].copy_(tensor)
                out[iy, ix] = float(loss(model(inputs), targets))
    return out


def test_the_readme_example_equals_a_plain_loop(example):
    model, plane = example["model"], example["plane"]
    inputs, targets = example["inputs"], example["targets"]
    grid, mse = example["grid"], example["mse"]
    xs, ys = grid["x"].values, grid["y"].values
    expected = _plain_loop(model, plane, inputs, targets, xs, ys, F.cross_entropy)
    np.testing.assert_allclose(grid["train_loss"].values, expected, rtol=2e-6, atol=1e-7)

    def one_hot_mse(outputs, labels):  # Li et al.'s evaluation.py
        return nn.MSELoss()(F.softmax(outputs, dim=1), F.one_hot(labels, 2).float())

    expected = _plain_loop(model, plane, inputs, targets, xs, ys, one_hot_mse)
    np.testing.assert_allclose(mse["train_loss"].values, expected, rtol=2e-6, atol=1e-7)
    # the trained model at the centre; accuracy where the loss defines it
    assert float(grid["train_loss"].sel(x=0, y=0)) < 0.5
    assert float(grid["train_accuracy"].sel(x=0, y=0)) > 0.8
    assert grid.attrs["loss_units"] == "nats" and mse.attrs["loss"] == "mse"


def test_the_frozen_layer_and_the_buffers_stay_put(example):
    model, plane = example["model"], example["plane"]
    assert plane.u["embed.weight"].abs().sum() == 0 and plane.v["embed.weight"].abs().sum() == 0
    assert plane.u["head.weight"].abs().sum() > 0
    assert not model.embed.weight.requires_grad  # the caller's module is untouched
    assert "norm.running_mean" not in plane.u  # buffers are not directions


def test_the_example_writes_its_metrics_and_figures(example):
    measured = example["measured"]
    assert int(measured.n_local_minima) >= 1 and float(measured.roughness) >= 0
    for name in ("moons_mse.png", "moons_analysis.png"):
        path = example["folder"] / name
        assert path.read_bytes()[:4] == b"\x89PNG" and path.stat().st_size > 20_000


def test_data_may_be_a_dataset_a_loader_or_named_splits(example):
    from torch.utils.data import DataLoader, TensorDataset

    model, plane = example["model"], example["plane"]
    inputs, targets = example["inputs"], example["targets"]
    pair = ll.evaluate(model, plane, (inputs, targets), resolution=5, strategy="point")
    dataset = TensorDataset(inputs, targets)
    for data in (dataset, DataLoader(dataset, batch_size=64)):
        other = ll.evaluate(model, plane, data, resolution=5, strategy="point")
        np.testing.assert_allclose(other["train_loss"], pair["train_loss"], rtol=1e-6)
    named = ll.evaluate(
        model, plane, {"train": dataset, "test": (inputs[:50], targets[:50])}, resolution=5
    )
    assert {"train_loss", "test_loss", "test_accuracy"} <= set(named.data_vars)
    with pytest.raises(ValueError, match="expected an \\(inputs, targets\\) pair"):
        ll.evaluate(model, plane, [1, 2, 3], resolution=5)


def test_a_callers_loss_and_the_other_planes(example):
    model, inputs, targets = example["model"], example["inputs"], example["targets"]

    def margin(outputs, labels):
        return F.relu(1 - outputs.gather(1, labels[:, None])[:, 0] + outputs.min(1).values)

    plane = example["plane"]
    own = ll.evaluate(model, plane, (inputs, targets), loss=margin, resolution=5)
    assert "train_accuracy" not in own and own.attrs["loss"] == "margin"
    assert np.isfinite(own["train_loss"]).all()
    hessian = ll.hessian_plane(model, (inputs, targets), subset_size=200)
    largest, smallest = hessian.metadata["eigenvalues"]
    assert largest >= smallest and hessian.u["embed.weight"].abs().sum() == 0
    # u is the top eigenvector of the Hessian over the trainable parameters: H u = λmax u
    from losslandscape.metrics.sharpness import HessianOperator
    from losslandscape.seeding import seeded_subset

    keep = seeded_subset(len(inputs), 200, 0, "hessian_subset")
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    hvp = HessianOperator(model, inputs[keep], targets[keep], trainable_only=True)
    u = torch.cat([hessian.u[name].reshape(-1) for name in trainable])
    torch.testing.assert_close(hvp(u), largest * u, rtol=0, atol=1e-3 * abs(largest))
    generator = torch.Generator().manual_seed(0)
    states = []
    for _ in range(3):  # three models near the trained one, in general position
        state = dict(model.state_dict())
        state["head.weight"] = state["head.weight"] + 0.1 * torch.randn(
            state["head.weight"].shape, generator=generator
        )
        states.append(state)
    through = ll.three_point_plane(*states, model=model)
    assert through.points == ([0.0, 1.0, through.points[0][2]], [0.0, 0.0, 1.0])
    grid = ll.evaluate(model, through, (inputs, targets), resolution=5, strategy="point")
    assert grid["x"].values[0] < 0 < 1 < grid["x"].values[-1]
    with pytest.raises(ValueError, match="need model=<the nn.Module>"):
        ll.three_point_plane(*states)
    assert grid.attrs["three_point_x"] == through.points[0]
    figure = ll.plot(grid)
    labels = {text.get_text() for ax in figure.axes for text in ax.texts}
    assert {"w1", "w2", "w3"} <= labels  # the three models, marked where they lie


def test_a_pca_plane_covers_the_training_trajectory(toy_run, toy_dataset):
    """The study's PCA plane from a list of state dicts (the training run's checkpoints):
    centred on the last, its window covering every checkpoint's projection."""
    from losslandscape.training.checkpoints import model_from_checkpoints

    checkpoints = toy_run[0]
    model = model_from_checkpoints(checkpoints)
    plane = ll.pca_plane(checkpoints["state_dicts"], model=model)
    assert plane.kind == "pca" and len(plane.metadata["explained_variance_ratio"]) == 2
    xs, ys = plane.points
    assert (xs[-1], ys[-1]) == (0.0, 0.0)  # the final model is the origin
    data = {"train": (toy_dataset["x_train"], toy_dataset["y_train"])}
    grid = ll.evaluate(model, plane, data, resolution=5, strategy="point")
    assert grid["x"].min() < min(xs) and grid["x"].max() > max(xs)
    assert grid["y"].min() < min(ys) and grid["y"].max() > max(ys)
    # the checkpoints are in the grid, on the plane (PCA of 2 axes of a short run: near it)
    np.testing.assert_allclose(grid.trajectory_x, xs)
    assert grid.sizes["epoch"] == len(checkpoints["state_dicts"])
    assert (grid.trajectory_residual >= 0).all() and float(grid.trajectory_residual[-1]) == 0
    figure = ll.plot(grid)
    legends = [
        text.get_text()
        for ax in figure.axes
        if ax.get_legend()
        for text in ax.get_legend().get_texts()
    ]
    assert "training trajectory" in legends
    with pytest.raises(ValueError, match="PCA directions need at least 4 checkpoints"):
        ll.pca_plane(checkpoints["state_dicts"][:3], model=model)


def test_the_api_imports_no_torch_until_used_and_metrics_stays_callable(example):
    """``import losslandscape`` stays torch-free; ``ll.metrics`` is callable however often,
    also once the ``losslandscape.metrics`` subpackage (which Python binds to the same
    name) is imported."""
    import subprocess
    import sys

    probe = "import sys, losslandscape; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
    import losslandscape.metrics.landscape  # noqa: F401 (binds the subpackage)

    first, again = ll.metrics(example["grid"]), ll.metrics(example["grid"])
    assert int(first.n_local_minima) == int(again.n_local_minima)


def test_a_shuffled_loader_and_integer_regression_targets(example):
    from torch.utils.data import DataLoader, TensorDataset

    model, plane = example["model"], example["plane"]
    inputs, targets = example["inputs"], example["targets"]
    pair = ll.evaluate(model, plane, (inputs, targets), resolution=3, strategy="point")
    shuffled = DataLoader(TensorDataset(inputs, targets), batch_size=50, shuffle=True)
    other = ll.evaluate(model, plane, shuffled, resolution=3, strategy="point")
    np.testing.assert_allclose(other["train_loss"], pair["train_loss"], rtol=1e-6)
    # integer targets of shape (n, k) are values, not class indices
    values = torch.stack([targets, 1 - targets], dim=1)  # int64 (n, 2)
    mse = ll.evaluate(model, plane, (inputs, values), loss="mse", resolution=3, strategy="point")
    with torch.no_grad():
        expected = ((model(inputs) - values.float()) ** 2).mean()
    assert float(mse["train_loss"].sel(x=0, y=0)) == pytest.approx(float(expected), rel=1e-5)
    assert "train_accuracy" not in mse


def test_recomputed_batchnorm_and_a_plane_of_another_model(example):
    model, plane = example["model"], example["plane"]
    inputs, targets = example["inputs"], example["targets"]
    kept = ll.evaluate(model, plane, (inputs, targets), resolution=3, strategy="point")
    recomputed = ll.evaluate(
        model, plane, (inputs, targets), resolution=3, strategy="point", batchnorm="recompute"
    )
    assert np.abs(recomputed["train_loss"] - kept["train_loss"]).max() > 1e-6
    other = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="the plane does not fit the model"):
        ll.evaluate(other, plane, (inputs, targets), resolution=3)


def test_no_stage_depends_on_the_api():
    """What reruns a rule follows the stages' import statements
    (losslandscape.codehash): the API, which uses the stages' modules, must not become a
    dependency of them through the package's lazy exports or the callable metrics package
    (editing a metric had rerun training)."""
    from losslandscape import codehash

    package = ROOT / "src" / "losslandscape"
    for stage in sorted((package / "stages").glob("*.py")):
        files = codehash.dependencies(package, f"losslandscape.stages.{stage.stem}")
        assert package / "api.py" not in files, stage.name
    train = codehash.dependencies(package, "losslandscape.stages.train")
    assert package / "metrics" / "landscape.py" not in train


class _TwoInputs(nn.Module):
    """A model called with two inputs, ``model(signal, side)``, with BatchNorm."""

    def __init__(self):
        super().__init__()
        self.signal = nn.Linear(6, 8)
        self.side = nn.Linear(2, 8)
        self.norm = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 3)

    def forward(self, signal, side):
        return self.head(torch.tanh(self.norm(self.signal(signal) + self.side(side))))


def test_a_model_of_several_inputs_equals_a_plain_loop():
    torch.manual_seed(0)
    model = _TwoInputs()
    model.norm.running_mean.normal_()  # statistics of its own, kept on the plane
    model.eval()
    signal, side = torch.randn(90, 6), torch.randn(90, 2)
    targets = torch.randint(0, 3, (90,))
    plane = ll.random_plane(model, seed=1)
    grid = ll.evaluate(model, plane, ((signal, side), targets), resolution=5, batch_size=40)
    layout = ParameterLayout.of(model)
    origin, u, v = (layout.flatten(p) for p in (plane.origin, plane.u, plane.v))
    buffers = dict(model.named_buffers())
    for iy, y in enumerate(grid.y.values):
        for ix, x in enumerate(grid.x.values):
            weights = layout.unflatten(origin + float(x) * u + float(y) * v)
            with torch.no_grad():
                outputs = torch.func.functional_call(model, {**weights, **buffers}, (signal, side))
            expected = float(F.cross_entropy(outputs, targets))
            assert float(grid.train_loss[iy, ix]) == pytest.approx(expected, rel=2e-6)
    accuracy = grid.train_accuracy.values
    assert np.all((accuracy >= 0) & (accuracy <= 1))
    # the same data as a Dataset of ((signal, side), target) samples, through a loader
    samples = torch.utils.data.TensorDataset(signal, side, targets)
    pairs = [((a, b), t) for a, b, t in samples]
    loaded = ll.evaluate(model, plane, torch.utils.data.DataLoader(pairs, batch_size=32),
                         resolution=5)  # fmt: skip
    np.testing.assert_allclose(loaded.train_loss, grid.train_loss, rtol=2e-6)
    hessian = ll.hessian_plane(model, ((signal, side), targets), subset_size=50)
    assert hessian.metadata["eigenvalues"][0] >= hessian.metadata["eigenvalues"][1]
    with pytest.raises(ValueError, match="batchnorm='recompute' takes a model of one input"):
        ll.evaluate(model, plane, ((signal, side), targets), resolution=3, batchnorm="recompute")
    with pytest.raises(ValueError, match=r"inputs of \[80, 90\] samples but 90 targets"):
        ll.evaluate(model, plane, ((signal[:80], side), targets), resolution=3)


def test_metrics_of_another_loss_need_heights_in_its_units(example):
    grid = example["mse"]  # the README example's MSE grid
    assert grid.attrs["loss_units"] == "squared units"
    with pytest.raises(ValueError, match="metrics of a loss in squared units: expected "
                       "basin_levels and region_height in its units"):  # fmt: skip
        ll.metrics(grid)
    measured = ll.metrics(grid, basin_levels=[0.001, 0.01], region_height=0.05)
    assert "squared units" in measured["basin_height"].attrs["long_name"]
    relative = ll.metrics(grid, basin_level_mode="relative", basin_levels=[0.1], region_height=0.05)
    assert int(relative["n_local_minima"]) >= 0
