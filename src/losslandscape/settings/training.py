"""The config's keys of what is trained: the data set (``dataset``), the model (``model``)
and its training (``training``, with its ``plateau`` and ``milestones`` schedules)."""

from dataclasses import dataclass
from typing import Any

from losslandscape.settings.keys import AUTO_DEVICE, DEVICE_CHOICES, Registry, key

# a model's import path, package.module:factory (losslandscape.models.import_path, which
# the tests hold equal: the settings import no package module)
IMPORT_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"


@dataclass(frozen=True)
class Dataset:
    """The data set the study trains on and maps the landscapes over."""

    name: str = key(
        "mnist1d",
        "`mnist1d` (Greydanus 2020: 4000/1000 signals of length 40, 10 classes, generated "
        "offline), `digits` (scikit-learn's 1797 8×8 images, fixed 80/20 split), or from their "
        "official archives, downloaded once into `resources/datasets/` by the "
        "`download_archive` rule: `cifar10`, `cifar100`, `mnist`, `fashion_mnist`; or `file`: "
        "your own, from `dataset.path`. Colour images are standardized per channel with "
        "training-set statistics, the rest with one scalar",
        required=True,
        choices=Registry("losslandscape.data.datasets", "DATASETS"),
    )
    path: str | None = key(
        None,
        "with `name: file`, your data set's file (relative to the working directory): "
        "`.pt` (a `torch.save`d dict of tensors `x_train`, `y_train`, `x_test`, `y_test`, "
        "optionally `n_classes`), `.npz` (the same arrays) or `.csv` (a header row, a `label` "
        "column of class indices, a `split` column of `train` or `test`, every other column "
        "one input feature); labels are class indices 0…n_classes − 1 "
        "(`losslandscape/data/files.py`). An input of the `prepare_dataset` rule: editing it "
        "reruns what depends on the data; `null` for the other data sets",
    )
    labels: str = key(
        "fine",
        "CIFAR-100 labels: `fine` (100 classes) or `coarse` (20 superclasses)",
        choices=Registry("losslandscape.data.archives", "CIFAR100_LABELS"),
    )
    mirror: str | None = key(
        None,
        "base URL replacing the official download location (`https://`, `http://`, "
        "`file://`), e.g. a lab mirror; the md5 is checked either way, and an unreachable URL "
        "fails at once naming the URL and where to put the file by hand; `null`: the official "
        "one",
        pattern="^(https?|file)://",
    )
    checksums: dict[str, str] | None = key(
        None,
        "archive file name → md5, replacing the official md5s (for a mirror of other files, "
        "such as the tests' small archives); `null`: the official md5s",
        pattern="^[0-9a-f]{32}$",
    )


@dataclass(frozen=True)
class Model:
    """The architecture trained for every (activation, seed) run."""

    name: str = key(
        "mnist1d_cnn",
        "`mnist1d_cnn` (the mnist1d paper's CNN, 5,210 parameters, 1-D signals), `mlp`, "
        "`small_cnn2d` (three 3×3 conv blocks, for images such as `digits`), `resnet20`, "
        "`resnet56` and `resnet20_noshort`, `resnet56_noshort` (Li et al.'s CIFAR ResNets with "
        "and without skip connections; 272,474 / 855,770 parameters), `convmlp_s` (ConvMLP-s: "
        "8,561,220 parameters for 100 classes, 9,022,920 for 1000; the activation replaces "
        "every activation, the channel MLPs' GELU included); or your own model as an import "
        "path `package.module:factory`, looked up under the working directory, then "
        "`PYTHONPATH` and site-packages, and called by keyword as `factory(activation=…, "
        "input_shape=…, n_classes=…, **kwargs)` (`activation()` gives a fresh activation "
        "module; it returns an `nn.Module` giving logits `(batch, n_classes)`; "
        "`losslandscape/models/import_path.py`). Its source and "
        "the modules of its folder it imports are inputs of training: editing them retrains",
        required=True,
        choices=Registry("losslandscape.models.registry", "MODELS", pattern=IMPORT_PATH),
    )
    kwargs: dict[str, Any] = key(
        {},
        "extra constructor arguments: `channels` for the CNN, `hidden` (list of widths, "
        "default `[100, 100]`) for the MLP; input size and class count come from the data set",
    )
    leaky_relu_slope: float = key(
        0.01, "negative slope of `leaky_relu`", minimum=0, exclusive_maximum=1
    )


@dataclass(frozen=True)
class Plateau:
    """ReduceLROnPlateau on the training loss: the rate is multiplied by ``factor`` after
    ``patience`` epochs without improvement (these defaults are the original study's)."""

    factor: float = key(
        0.1,
        "multiplies the rate after `patience` epochs without improvement",
        required=True,
        exclusive_minimum=0,
        exclusive_maximum=1,
    )
    patience: int = key(
        15, "epochs without improvement before the rate is lowered", required=True, minimum=0
    )


@dataclass(frozen=True)
class Milestones:
    """A step schedule: the rate is multiplied by ``factor`` after each of ``epochs`` (these
    defaults are Li et al.'s ResNet schedule)."""

    epochs: list[int] = key(
        [150, 225, 275],
        "epochs after which the rate is multiplied",
        required=True,
        minimum=1,
        min_items=1,
        unique=True,
    )
    factor: float = key(
        0.1,
        "multiplies the rate after each of `epochs`",
        required=True,
        exclusive_minimum=0,
        exclusive_maximum=1,
    )


@dataclass(frozen=True)
class Training:
    """Training of every (activation, seed) run."""

    epochs: int = key(
        40,
        "passes over the training set (PCA planes need 4 saved checkpoints, checked at start-up)",
        required=True,
        minimum=2,
    )
    batch_size: int = key(100, "samples per optimizer step", minimum=1)
    loss: str = key(
        "cross_entropy",
        "the loss trained on, and the one every landscape, line and Hessian measures (the "
        "checkpoints record it): `cross_entropy` (nats) or `mse`, the mean squared error of "
        "the softmax probabilities against one-hot labels (Li et al. 2018's `--loss_name "
        "mse`, in their `evaluation.py`), in squared units of probability. Every height in "
        "the config (`target_loss`, `metrics.basin_levels`, `region_height`, "
        "`minima_tolerance`, `roughness_scale`…) is in the loss's units: the defaults are "
        "for nats, so set them for `mse`",
        choices=Registry("losslandscape.engine.loss", "LOSSES"),
    )
    optimizer: str = key(
        "adam",
        "`adam` (the study's optimizer) or `sgd` (with `momentum`)",
        choices=Registry("losslandscape.training.optimizers", "OPTIMIZERS"),
    )
    learning_rate: dict[str, float] = key(
        {"sigmoid": 0.01, "tanh": 0.03, "relu": 0.03, "leaky_relu": 0.03},
        "learning rate per activation, from `benchmarks/learning_rate_sweep.py`; every "
        "activation needs one (checked at start-up)",
        required=True,
        exclusive_minimum=0,
    )
    momentum: float = key(0.9, "SGD momentum (ignored by Adam)", minimum=0, maximum=1)
    weight_decay: float = key(0.0, "L2 weight decay", minimum=0)
    plateau: Plateau | None = key(
        None,
        "ReduceLROnPlateau on the training loss, `{factor, patience}`: the rate is multiplied "
        "by `factor` after `patience` epochs without improvement (the original study: 0.1, "
        "15); `null`: off",
    )
    milestones: Milestones | None = key(
        None,
        "step schedule `{epochs: [...], factor: f}`: the rate is multiplied by `f` after each "
        "listed epoch (Li et al.'s ResNets: `[150, 225, 275]`, 0.1); `null`: off",
    )
    cosine: bool = key(
        True,
        "cosine annealing of the rate to 0 over the epochs (Loshchilov and Hutter 2017), so "
        "runs end at a minimum rather than on a noisy iterate; one schedule only (`plateau`, "
        "`milestones` or `cosine`, checked at start-up)",
    )
    target_loss: float | None = key(
        0.1,
        "training-loss target (in the loss's units: nats for cross-entropy); the history's "
        "`reached_target` column marks the epochs at or below it, the summary's "
        "`target_epoch` the first and `reached_target` whether "
        "the final model is at or below it; runs whose final model is not are listed on the "
        "front page and left out of every comparison; changing it retrains (the history "
        "records it); `null`: no target",
        exclusive_minimum=0,
    )
    checkpoint_every: int = key(
        1, "keep a checkpoint every k epochs (epoch 0 and the last are always kept)", minimum=1
    )
    augmentation: str = key(
        "none",
        "training-batch augmentation: `none`, or `crop_flip` (random crop after 4-pixel "
        "padding and horizontal flip; images only, as for CIFAR; padding is the mean colour, "
        "since images are already standardized); evaluation never augments",
        choices=Registry("losslandscape.training.augmentation", "AUGMENTATIONS"),
    )
    external_checkpoints: str | None = key(
        None,
        "models trained elsewhere instead of training: a path pattern with `{activation}` and "
        "`{seed}` naming a state dict per run (`model.state_dict()` saved with `torch.save`, "
        "plain or under a `state_dict`, `model_state_dict` or `model` key) of `model.name` "
        "built for the data set; each is loaded, checked and evaluated on both splits by rule "
        "`import_checkpoints`, and is an input of it (editing one redoes that run). A run then "
        "has one saved model, so planes that need a training trajectory (`pca`, planes around "
        "earlier epochs) are refused; `batch_size`, `loss`, `target_loss` and `device` apply, "
        "the other training keys are unused. The models must have been trained on the inputs "
        "as the workflow prepares them (standardized with the training set's mean and standard "
        "deviation, per channel for colour images): they are evaluated on those; `null`: train",
    )
    device: str = key(
        "auto",
        f"device to train on: {AUTO_DEVICE}. On CUDA, cuDNN runs with `deterministic = True` "
        "and `benchmark = False` (reproducible, somewhat slower); on CPU a run is bit-for-bit "
        "reproducible for a given seed and thread count",
        choices=DEVICE_CHOICES,
    )
