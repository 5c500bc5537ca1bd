"""The optimizer and the learning-rate schedule of a training run."""

import torch


def _adam(params, learning_rate: float, momentum: float, weight_decay: float):
    # momentum is SGD's: Adam keeps its own running averages (betas)
    return torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay)


def _sgd(params, learning_rate: float, momentum: float, weight_decay: float):
    return torch.optim.SGD(params, lr=learning_rate, momentum=momentum, weight_decay=weight_decay)


# Optimizer name → constructor (config training.optimizer; the study's default first)
OPTIMIZERS = {"adam": _adam, "sgd": _sgd}


def make_optimizer(name: str, params, learning_rate: float, momentum: float, weight_decay: float):
    """The optimizer ``name`` of :data:`OPTIMIZERS`: Adam (the study's default) or SGD with
    momentum.

    Raises:
        ValueError: ``name`` is not in :data:`OPTIMIZERS`.
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer {name!r} is unknown; choose one of {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, learning_rate, momentum, weight_decay)


def make_scheduler(
    opt: torch.optim.Optimizer,
    epochs: int,
    plateau_factor: float | None,
    plateau_patience: int,
    milestones: list[int] | None,
    milestone_factor: float,
    cosine: bool,
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The one learning-rate schedule asked for, or None; stepped once per epoch.

    Raises:
        ValueError: more than one of a plateau, milestones and cosine annealing.
    """
    chosen = [
        name
        for name, on in (
            (f"a plateau (factor {plateau_factor})", plateau_factor is not None),
            (f"milestones {milestones}", bool(milestones)),
            ("cosine annealing", cosine),
        )
        if on
    ]
    if len(chosen) > 1:
        raise ValueError(
            "choose one learning-rate schedule: a plateau, milestones or cosine annealing; "
            f"found {' and '.join(chosen)}"
        )
    if plateau_factor is not None:
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=plateau_factor, patience=plateau_patience
        )
    if milestones:
        return torch.optim.lr_scheduler.MultiStepLR(opt, milestones, milestone_factor)
    if cosine:
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=0.0)
    return None
