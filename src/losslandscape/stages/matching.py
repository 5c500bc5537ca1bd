"""Checks that the files a stage is given belong together: a data set the model can take
(its inputs' shape, its classes within the model's outputs) and directions of the model's
parameters. The workflow always gives matching files; the command line takes any, and a
mismatch had surfaced as torch's bare ``index 10 is out of bounds`` or ``parameters [...]
are missing`` naming no file (issue 21, case 8's kind)."""

import torch
from torch import nn

from losslandscape.parameters import ParameterLayout


def tensor_differences(expected: dict, tensors: dict, extra: str = "extra") -> str:
    """How ``tensors`` (tensors by name) differ from ``expected`` (shapes by name): the first
    three names that are missing, that are not expected (called ``extra``) and whose shape
    differs (``name [found] (model: [expected])``), e.g. ``missing ['fc.bias']; reshaped
    ['fc.weight [3, 4] (model: [4, 4])']``; ``""`` when they fit name for name and shape for
    shape."""
    missing = [name for name in expected if name not in tensors]
    unexpected = [name for name in tensors if name not in expected]
    reshaped = [
        f"{name} {list(tensors[name].shape)} (model: {list(shape)})"
        for name, shape in expected.items()
        if name in tensors and tuple(tensors[name].shape) != tuple(shape)
    ]
    return "; ".join(
        f"{what} {names[:3]}{' …' if len(names) > 3 else ''}"
        for what, names in (("missing", missing), (extra, unexpected), ("reshaped", reshaped))
        if names
    )


def check_data_fits_model(
    model: nn.Module, data: dict, checkpoints: str, dataset: str, trained_on: str | None = None
) -> None:
    """Refuse a prepared data set (``dataset``, its dict ``data``) that the model of
    ``checkpoints`` was not trained on or cannot evaluate: its name must be ``trained_on``
    (the checkpoints' ``dataset``; None: not checked), and one training input passed
    through the model in eval mode must give at least ``data["n_classes"]`` outputs.

    Raises:
        ValueError: naming both files, the data set's name, input shape and classes, and
            what the model was trained on or did with them (the error it raised, or how
            many outputs it gives).
    """
    shape, n_classes = list(data["x_train"].shape[1:]), int(data["n_classes"])
    found = f"data set {dataset} ({data.get('name', '?')}: inputs {shape}, {n_classes} classes)"
    if trained_on is not None and data.get("name") != trained_on:
        raise ValueError(
            f"checkpoints {checkpoints} were trained on data set {trained_on!r}; found "
            f"{found}: give the data set the run was trained on"
        )
    training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            outputs = model(data["x_train"][:1])
    except (RuntimeError, ValueError, IndexError) as error:
        first = str(error).splitlines()[0]
        raise ValueError(
            f"the model of checkpoints {checkpoints} cannot take the inputs of {found}: "
            f"{first}; give the data set the run was trained on"
        ) from None
    finally:
        model.train(training)
    if outputs.dim() != 2 or outputs.shape[1] < n_classes:
        raise ValueError(
            f"the model of checkpoints {checkpoints} gives outputs of shape "
            f"{list(outputs.shape[1:])} per input; {found} needs {n_classes} class scores: "
            f"give the data set the run was trained on"
        )


def check_directions_fit_model(
    model: nn.Module, directions: dict, path: str, checkpoints: str, states: list[dict]
) -> None:
    """Refuse directions (``directions``, read from ``path``) that are not of the run of
    ``checkpoints``: their origin, ``u`` and ``v`` must be tensors of every parameter of
    its model, shape for shape, and the origin one of the run's saved weights ``states``
    (every plane is centred on one; another seed of the same architecture is not).

    Raises:
        ValueError: naming both files and the first parameters that are missing, extra or
            of another shape, or that the origin is none of the run's checkpoints.
    """
    layout = ParameterLayout.of(model)
    expected = dict(zip(layout.names, layout.shapes, strict=True))
    for key in ("origin", "u", "v"):
        found = tensor_differences(expected, directions[key])
        if found:
            raise ValueError(
                f"directions file {path} does not fit the model of checkpoints {checkpoints}: "
                f"its {key} has parameters {found}; compute the directions from these "
                f"checkpoints"
            )
    origin = directions["origin"]
    if not any(
        all(torch.equal(origin[name], state[name].to(origin[name].dtype)) for name in expected)
        for state in states
    ):
        raise ValueError(
            f"directions file {path} is centred on none of the {len(states)} saved weights "
            f"of checkpoints {checkpoints}: it was computed from another run (another seed or "
            f"training); compute the directions from these checkpoints"
        )


def check_landscape_of_plane(
    grid,
    path: str,
    checkpoints: dict,
    checkpoints_path: str,
    directions: dict,
    directions_path: str,
) -> None:
    """Refuse a landscape (``grid``, read from ``path``) of another run or plane than the
    checkpoints and directions it is given with (the hessian map samples its grid).

    Raises:
        ValueError: naming the three files and the run or plane each belongs to.
    """
    # the plane's full name: a kind alone does not tell draw 2 or a narrow plane around an
    # earlier epoch (another centre) from the plane of these directions
    name = directions.get("plane_name", directions["plane"])
    ours = (checkpoints["activation"], int(checkpoints["seed"]), name)
    found = (
        grid.attrs.get("activation"),
        int(grid.attrs.get("seed", -1)),
        grid.attrs.get("plane_name", grid.attrs.get("plane")),
    )
    if found != ours:
        raise ValueError(
            f"landscape {path} is of {found[0]} seed {found[1]}, plane {found[2]}; checkpoints "
            f"{checkpoints_path} and directions {directions_path} are of {ours[0]} seed "
            f"{ours[1]}, plane {ours[2]}: give the landscape of that run and plane"
        )
