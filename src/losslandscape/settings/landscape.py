"""The config's keys of the landscapes: the planes mapped for each run (``directions``,
with the options of each plane kind) and the grid evaluation over them (``landscape``)."""

from dataclasses import dataclass

from losslandscape.settings.keys import AUTO_DEVICE, DEVICE_CHOICES, Registry, key, section


@dataclass(frozen=True)
class Random:
    """Random directions (also those of narrow planes and line slices)."""

    normalization: str = key(
        "filter",
        "scaling of each random direction: `filter` (per output channel or row, Li et al.), "
        "`layer` (per tensor) or `none`",
        choices=Registry("losslandscape.planes.directions", "NORMALIZATIONS"),
    )
    ignore_biasbn: bool = key(
        True, "zero random directions on biases and BatchNorm parameters (as Li et al.)"
    )


@dataclass(frozen=True)
class Narrow:
    """Narrow planes: the random plane's directions over a small window."""

    extent: float = key(
        0.25,
        "narrow planes span `[-extent, extent]²` in the random directions' filter-normalized "
        "units (the same for every activation, so widths are in the same units)",
        exclusive_minimum=0,
    )
    epochs: list[int] = key(
        [10, 20],
        "saved epochs before the last around which the first draw's narrow plane is also "
        "mapped: basin width over training (`metrics/width_over_training.csv`, "
        "`report/width_over_training.png`)",
        minimum=0,
        unique=True,
    )


@dataclass(frozen=True)
class ThreeSeed:
    """The plane through the final models of three seeds of one activation."""

    seeds: list[int] | None = key(
        None,
        "three of `seeds` whose final models span the `three_seed` plane; `null`: the first three",
        minimum=0,
        min_items=3,
        max_items=3,
        unique=True,
    )


@dataclass(frozen=True)
class ThreePoint:
    """The plane through three checkpoints of a run."""

    epochs: list[int] = key(
        [0, 20, 40],
        "three saved epochs spanning the `three_point` plane (`w1 + x·(w2 − w1) + y·v`, v the "
        "part of w3 − w1 orthogonal to w2 − w1); used when `three_point` is in `planes`",
        minimum=0,
        min_items=3,
        max_items=3,
        unique=True,
    )


@dataclass(frozen=True)
class Interpolation:
    """The 1-D slice between two checkpoints of a run (Goodfellow et al. 2015)."""

    epochs: list[int] | None = key(
        None,
        "two saved epochs `[a, b]`; the slice is `w_a + x·(w_b − w_a)`, x from `−margin` to "
        "`1 + margin`; `null`: the first and last saved epochs",
        minimum=0,
        min_items=2,
        max_items=2,
        unique=True,
    )


@dataclass(frozen=True)
class Hessian:
    """Hessian planes: the eigenvectors of the Hessian's extreme eigenvalues."""

    subset_size: int = key(
        500,
        "training samples (fixed, seeded subset) for the Hessian of `hessian` planes",
        minimum=1,
    )


@dataclass(frozen=True)
class Directions:
    """The planes mapped for each run and the options of each kind."""

    planes: list[str] = key(
        ["pca", "random", "narrow", "three_seed"],
        "plane kinds: trajectory PCA (Li et al. §7), filter-normalized `random` (Li et al. §4; "
        "wide, `landscape.extent`), `narrow` (the random plane's directions over "
        "`directions.narrow.extent`: width and curvature), `three_point` (the plane through "
        "three checkpoints), `hessian` (the Hessian's extreme eigenvectors at the trained "
        "model), `three_seed` (the plane through the final models of three seeds of one "
        "activation, Garipov et al. 2018); 1-D slices `interpolation` (between two "
        "checkpoints) and `line` (along the random plane's first direction through the trained "
        "model). Plane names in paths: `docs/data-model.md`",
        required=True,
        choices=Registry("losslandscape.planes.kinds", "KINDS"),
        min_items=1,
        unique=True,
    )
    draws: int = key(
        2,
        "independent direction draws per run of each `random`, `narrow` and `line` plane "
        "(`random_draw1`, `random_draw2`, …); statistics use each run's mean over its draws "
        "and split the variance between draws from that between seeds "
        "(`statistics/variance_split.csv`)",
        minimum=1,
    )
    random: Random = section(Random)
    narrow: Narrow = section(Narrow)
    three_seed: ThreeSeed = section(ThreeSeed)
    three_point: ThreePoint = section(ThreePoint)
    interpolation: Interpolation = section(Interpolation)
    hessian: Hessian = section(Hessian)


@dataclass(frozen=True)
class Landscape:
    """Grid evaluation: the grid of each plane and how its points are evaluated."""

    resolution: int = key(
        31,
        "grid points per axis (odd: the trained model is a grid point)",
        minimum=3,
        maximum=2001,
    )
    extent: float = key(
        1.0, "random and hessian planes span `[-extent, extent]²`", exclusive_minimum=0
    )
    margin: float = key(
        0.25,
        "PCA planes span the projected trajectory plus this fraction, symmetric about the "
        "model; three-point planes span their three points plus this fraction of their span",
        minimum=0,
    )
    batch_size: int = key(
        1000,
        "samples per forward pass in grid evaluation (measured fastest for the default CNN on "
        "one thread); lowered to fit `memory_budget_mb`; with `strategy: auto` the largest "
        "of the batch sizes tried (it and its halvings down to 100)",
        minimum=1,
    )
    tiles: int = key(
        1,
        "each grid is split into this many tiles, one `evaluate_landscape_tile` job each, "
        "assembled by `merge_landscape`; at most the number of grid points (checked at "
        "start-up); values do not depend on it. With 1, a run's own planes are mapped in one "
        "job (`map_run_planes`), which saves a Python and torch start per plane; a change to "
        "any `directions` option then maps all of a run's planes again",
        minimum=1,
    )
    threads: int = key(
        1,
        "threads of a tile job (Snakemake's `threads`); above 1 the `pool` strategy runs that "
        "many one-thread worker processes",
        minimum=1,
    )
    strategy: str = key(
        "auto",
        "`point` (one point at a time, big batches), `vmap` (stacked points through "
        "`torch.func`), `compile` (`torch.compile`; needs a C++ compiler), `pool` (worker "
        "processes); `auto` measures, on a few points of each job's plane, `point` in both "
        "memory layouts (PyTorch's default and the engine's channels-last rewrite) at several "
        "batch sizes, then `vmap` (and `pool` when `threads` > 1), and keeps the fastest. All "
        "agree with the reference loop to 1e-5 (tested); what ran is recorded in the "
        "landscape's `strategy`, `layout` and `batch_size` attributes (auto's measured rates "
        "in `auto_rates`)",
        choices=Registry("losslandscape.engine.strategies", "STRATEGIES", first=("auto",)),
    )
    batchnorm: str = key(
        "keep",
        "`keep` the trained BatchNorm running statistics at every grid point (Li et al.) or "
        "`recompute` them on `batchnorm_samples` fixed training samples (Garipov et al.: "
        "their pooled mean and variance over near-equal train-mode batches of at least "
        "`batchnorm_batch_size` samples each, or one batch of all where there are fewer, "
        "whatever `batch_size` and `memory_budget_mb`); no effect on models without BatchNorm",
        choices=Registry("losslandscape.engine.strategies", "BATCHNORM_MODES"),
    )
    batchnorm_samples: int = key(
        1000, "training samples (fixed, seeded subset) for `recompute`", minimum=1
    )
    batchnorm_batch_size: int | None = key(
        None,
        "samples per train-mode batch for `recompute`: each BatchNorm layer normalizes "
        "with its batch's statistics, so the deeper layers' recomputed statistics depend "
        "on this, as in training (a fixed setting, never lowered to fit memory); `null`: "
        "`training.batch_size`",
        minimum=2,
    )
    subset_size: int | None = key(
        1000,
        "evaluate on a fixed seeded subset of this many samples of each split (the same "
        "samples for every run of the study) instead of all of it; `null`: the whole splits; "
        "the stored `*_loss_sem` standard errors show the precision given up",
        minimum=2,
    )
    memory_budget_mb: float = key(
        2048.0,
        "bound on one forward pass's activation memory (MiB); evaluation batches shrink to "
        "fit (not the `batchnorm_batch_size` of recomputed statistics, which set the values); "
        "data "
        "prepared once for all grid points (the data laid out batch-innermost or "
        "channels-last) is kept only within half of it; also sets the tile jobs' `mem_mb` "
        "(+2000)",
        exclusive_minimum=0,
    )
    device: str = key("auto", f"device for grid evaluation: {AUTO_DEVICE}", choices=DEVICE_CHOICES)
    save_every_seconds: float = key(
        60.0,
        "how often a running tile saves the points done; a killed tile job rerun with the "
        "same inputs and settings continues from there",
        minimum=0,
    )
