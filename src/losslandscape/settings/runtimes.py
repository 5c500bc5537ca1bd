"""The wall time each heavy job asks its scheduler for (Snakemake's ``runtime`` resource, in
minutes), from the work the config sets and measured per-sample costs of the model.

A job's estimate is its count of sample passes times the model's seconds per sample on one
CPU thread for the config's data-set shape (:data:`COSTS_FILE`, measured by
``benchmarks/model_costs.py``: the fastest forward pass of the layouts and batches the
engine's ``auto`` tries for evaluations, a training step for training, two training steps
for a Hessian-vector product). The request is
:data:`SAFETY` times that, at least :data:`FLOOR_MINUTES`, times the attempt, so a job a
scheduler killed for time asks for more on each retry (Snakemake ``--retries``). A model
missing from the table (a model given by the user) is charged the costliest model measured
on that shape; a shape missing from it (a data set given by file) the costliest rate per
input element measured. The rates are one CPU thread's, so with several threads or a GPU
the request is generous, never short; they assume the models' default sizes. Where a
request is longer than a cluster allows (a CIFAR study's training on a GPU partition), set
the rule's ``runtime`` in the profile's ``set-resources`` (profiles/slurm/README.md).

Torch-free: the workflow loads this file by path while planning. Errors name the key.
"""

import functools
import importlib.util
import json
import math
from pathlib import Path

COSTS_FILE = Path(__file__).with_name("model_costs.json")
# requests are this many times the estimate: a slower CPU, file I/O, Python start-up
SAFETY = 2.0
FLOOR_MINUTES = 10
# the shipped data sets: input shape, training and test samples (losslandscape.data)
DATASETS = {
    "mnist1d": ((40,), 4000, 1000),
    "digits": ((8, 8), 1438, 359),
    "mnist": ((28, 28), 60000, 10000),
    "fashion_mnist": ((28, 28), 60000, 10000),
    "cifar10": ((3, 32, 32), 50000, 10000),
    "cifar100": ((3, 32, 32), 50000, 10000),
}
# the shapes the costs are measured on, named as in the table
SHAPES = {"x".join(map(str, shape)): shape for shape, _, _ in DATASETS.values()}


@functools.cache
def _datafile():
    """settings/datafile.py, loaded by its path as this module is (no package import)."""
    spec = importlib.util.spec_from_file_location(
        "losslandscape_datafile", Path(__file__).with_name("datafile.py")
    )
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


@functools.cache
def _file_summary(path: str, mtime_ns: int, size: int) -> tuple[tuple[int, ...], int, int]:
    return _datafile().file_summary(path)


def dataset_summary(dataset: dict) -> tuple[tuple[int, ...], int, int]:
    """``(input shape, training samples, test samples)`` of the config's ``dataset``
    section: the shipped data sets' from :data:`DATASETS`, a file's (``name: file``) read
    from its headers (``settings/datafile.py``) without loading the data.

    Raises:
        ValueError, FileNotFoundError: the file is missing or unreadable (naming it).
    """
    if dataset["name"] != "file":
        return DATASETS[dataset["name"]]
    path = Path(dataset["path"])
    if not path.is_file():
        raise FileNotFoundError(
            f"config dataset.path: expected a data set file (dataset.name: file); found no "
            f"file {path} (relative to the working directory {Path.cwd()})"
        )
    stat = path.stat()
    return _file_summary(str(path), stat.st_mtime_ns, stat.st_size)


# Lanczos steps for λmax (21 on the default CNN, benchmarks/curvature.py), for λmin (81
# there; counted twice, for the restarts of models whose Lanczos basis the memory caps)
# and for the adaptive λmax
LAMBDA_MAX_PRODUCTS = 21
LAMBDA_MIN_PRODUCTS = 2 * 81


def _table() -> dict:
    return json.loads(COSTS_FILE.read_text())


def _costs() -> dict:
    return _table()["seconds_per_sample"]


def has_batchnorm(model: str) -> bool:
    """Whether shipped model ``model`` has BatchNorm layers (an unknown model may)."""
    table = _table()
    return model in table["batchnorm_models"] or model not in table["seconds_per_sample"]


def sample_cost(model: str, dataset: str | tuple[int, ...]) -> dict[str, float]:
    """``{"forward", "train"}``: seconds per sample of ``model`` on the inputs of
    ``dataset`` (a shipped data set's name, or an input shape), one thread. An unmeasured
    model is charged the costliest measured model on that shape; an unmeasured shape (a
    user's data set) the costliest measured rate per input element, times its elements."""
    shape = DATASETS[dataset][0] if isinstance(dataset, str) else tuple(dataset)
    key = "x".join(map(str, shape))
    costs = _costs()
    if key in costs.get(model, {}):
        return costs[model][key]
    on_shape = [by_shape[key] for by_shape in costs.values() if key in by_shape]
    if on_shape:
        return {kind: max(cost[kind] for cost in on_shape) for kind in ("forward", "train")}
    elements = math.prod(shape)
    return {
        kind: elements
        * max(
            cost[kind] / math.prod(SHAPES[measured])
            for by_shape in costs.values()
            for measured, cost in by_shape.items()
            if measured in SHAPES
        )
        for kind in ("forward", "train")
    }


def request_minutes(seconds: float, attempt: int = 1) -> int:
    """The runtime request for an estimate of ``seconds``: ``SAFETY`` times it, in whole
    minutes, at least ``FLOOR_MINUTES``, times ``attempt`` (1 on the first try)."""
    return max(FLOOR_MINUTES, math.ceil(SAFETY * seconds / 60)) * max(1, int(attempt))


def resource(seconds):
    """Snakemake's ``runtime`` resource for a job estimated at ``seconds`` (a number, or a
    callable of the job's wildcards): a callable of the wildcards and attempt giving
    :func:`request_minutes`."""
    if callable(seconds):
        return lambda wildcards, attempt: request_minutes(seconds(wildcards), attempt)
    return lambda wildcards, attempt: request_minutes(seconds, attempt)


def fixed(minutes: int):
    """Snakemake's ``runtime`` resource for a light job: ``minutes`` times the attempt."""
    return lambda wildcards, attempt: minutes * max(1, int(attempt))


def _sizes(config: dict) -> tuple[int, int]:
    _, n_train, n_test = dataset_summary(config["dataset"])
    return n_train, n_test


def _evaluation_samples(config: dict) -> int:
    """Samples one evaluation of the training and test losses passes through."""
    subset = config["landscape"]["subset_size"]
    return sum(min(n, subset) if subset else n for n in _sizes(config))


def _cost(config: dict) -> dict[str, float]:
    return sample_cost(config["model"]["name"], dataset_summary(config["dataset"])[0])


def training_seconds(config: dict) -> float:
    """One run: every epoch trains on the training set, and the initial model and every
    epoch's are evaluated on both splits."""
    n_train, n_test = _sizes(config)
    cost = _cost(config)
    epochs = config["training"]["epochs"]
    return epochs * n_train * cost["train"] + (epochs + 1) * (n_train + n_test) * cost["forward"]


def import_seconds(config: dict) -> float:
    """A model trained elsewhere: evaluated once on both splits."""
    return sum(_sizes(config)) * _cost(config)["forward"]


def saved_checkpoints(config: dict) -> int:
    """Checkpoints a run keeps: epoch 0, every ``checkpoint_every``-th and the last."""
    epochs, every = config["training"]["epochs"], config["training"]["checkpoint_every"]
    return len(set(range(0, epochs + 1, every)) | {epochs})


def trajectory_seconds(config: dict) -> float:
    """A plane's trajectory: every saved checkpoint's loss on the whole training split."""
    return saved_checkpoints(config) * _sizes(config)[0] * _cost(config)["forward"]


def grid_seconds(config: dict, points: int) -> float:
    """``points`` grid points, each a forward pass over the evaluation samples (and, with
    ``batchnorm: recompute`` on a model with BatchNorm, over ``batchnorm_samples`` for the
    statistics), plus auto's measuring share."""
    landscape = config["landscape"]
    samples = _evaluation_samples(config)
    if landscape.get("batchnorm") == "recompute" and has_batchnorm(config["model"]["name"]):
        samples += min(landscape["batchnorm_samples"], _sizes(config)[0])
    seconds = points * samples * _cost(config)["forward"]
    return seconds * 1.25  # strategy auto measures for at most a quarter of the job


def plane_points(config: dict) -> int:
    """Points of one 2-D grid (a 1-D slice has fewer: the estimate is an upper bound)."""
    return int(config["landscape"]["resolution"]) ** 2


def tile_seconds(config: dict) -> float:
    return grid_seconds(config, math.ceil(plane_points(config) / config["landscape"]["tiles"]))


def hessian_seconds(config: dict, subset_size: int, products: int) -> float:
    """``products`` Hessian-vector products on ``subset_size`` training samples."""
    return products * min(subset_size, _sizes(config)[0]) * 2 * _cost(config)["train"]


def sharpness_seconds(config: dict) -> float:
    """λmax, λmin, the adaptive λmax, Hutch++'s products and the ε-sharpness ascent (each
    L-BFGS-B iteration a loss and gradient, a few evaluations each)."""
    sharp = config["sharpness"]
    products = 2 * LAMBDA_MAX_PRODUCTS + LAMBDA_MIN_PRODUCTS + sharp["trace_products"]
    products += 4 * sharp["ascent_iterations"]
    return hessian_seconds(config, sharp["subset_size"], products)


def hessian_directions_seconds(config: dict) -> float:
    """The hessian plane's two eigenvectors (Lanczos); PCA and random directions are cheap."""
    products = LAMBDA_MAX_PRODUCTS + LAMBDA_MIN_PRODUCTS
    return hessian_seconds(config, config["directions"]["hessian"]["subset_size"], products)


def interpolation_seconds(config: dict, n_seeds: int) -> float:
    """Every pair of seeds' line of ``across_seeds.points`` evaluations."""
    pairs = n_seeds * (n_seeds - 1) // 2
    points = pairs * config["across_seeds"]["points"]
    return points * _evaluation_samples(config) * _cost(config)["forward"]
