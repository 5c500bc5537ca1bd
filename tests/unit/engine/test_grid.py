import math

from losslandscape.engine.evaluation import evaluate
from losslandscape.engine.grid import evaluate_grid, symmetric_axis
from losslandscape.parameters import ParameterLayout
from losslandscape.planes.directions import random_directions
from losslandscape.training.checkpoints import model_from_checkpoints


def _plane(toy_run, seed=0):
    checkpoints, _ = toy_run
    model = model_from_checkpoints(checkpoints)
    layout = ParameterLayout.of(model)
    final = {n: checkpoints["state_dicts"][-1][n] for n in layout.names}
    u, v, _ = random_directions(final, seed=seed)
    return model, layout.flatten(final), layout.flatten(u), layout.flatten(v)


def _splits(dataset):
    return {
        "train": (dataset["x_train"], dataset["y_train"]),
        "test": (dataset["x_test"], dataset["y_test"]),
    }


def test_grid_centre_is_the_trained_models_loss(toy_run, toy_dataset):
    model, origin, u, v = _plane(toy_run)
    axis = symmetric_axis(1.0, 0.0, 5)
    grid = evaluate_grid(model, origin, u, v, axis, axis, _splits(toy_dataset))
    loss, accuracy = evaluate(
        model_from_checkpoints(toy_run[0]), toy_dataset["x_train"], toy_dataset["y_train"]
    )
    assert math.isclose(grid["train_loss"][2, 2], loss, rel_tol=1e-6)
    assert grid["train_accuracy"][2, 2] == accuracy
    assert grid["train_loss"].min() <= loss + 1e-6 or grid["train_loss"][2, 2] == loss


def test_symmetric_axis_has_the_origin_for_odd_resolutions():
    axis = symmetric_axis(2.0, 0.5, 7)
    assert axis[3] == 0 and axis[0] == -3 and axis[-1] == 3
