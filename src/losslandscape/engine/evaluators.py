"""The evaluators behind the strategies of :mod:`losslandscape.engine.strategies`: each
takes plane coordinates ``(n_points, 2)`` and returns every split's loss, its standard
error and (where the loss defines one) accuracy at those points
(:class:`~losslandscape.engine.loss.LossSums`)."""

import copy
from dataclasses import replace

import numpy as np
import torch

from losslandscape.engine import workers
from losslandscape.engine.budget import prepared, prepared_batches
from losslandscape.engine.loss import CROSS_ENTROPY, LossSums, Results
from losslandscape.engine.model_copy import evaluation_copy, has_batchnorm, recompute_batchnorm
from losslandscape.parameters import ParameterLayout

# split name → (inputs (n, …), labels (n,))
Splits = dict[str, tuple[torch.Tensor, torch.Tensor]]


def _results(sums: dict[str, LossSums], splits: Splits) -> Results:
    out: Results = {}
    for split, split_sums in sums.items():
        out |= split_sums.results(split, len(splits[split][1]))
    return out


def _flat_points(origin, u, v, coords: np.ndarray) -> torch.Tensor:
    """``(n_points, n_params)`` parameter vectors for ``coords`` ``(n_points, 2)``."""
    xs = torch.as_tensor(coords[:, 0], dtype=origin.dtype, device=origin.device)
    ys = torch.as_tensor(coords[:, 1], dtype=origin.dtype, device=origin.device)
    return origin + xs[:, None] * u + ys[:, None] * v


class Evaluator:
    """Evaluates batches of points for one model, plane and data; reusable across calls
    (a compiled graph or a worker pool is built once). Use as a context manager."""

    def __call__(self, coords: np.ndarray) -> Results:
        raise NotImplementedError

    def close(self) -> None:
        """Release workers or other resources."""

    def __enter__(self) -> "Evaluator":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class PointEvaluator(Evaluator):
    """``point`` (and, with ``compiled``, ``compile``): one point at a time through a model
    copy whose parameters are views of one flat vector
    (:func:`~losslandscape.engine.model_copy.evaluation_copy`)."""

    def __init__(self, model, origin, u, v, splits, options, compiled: bool = False):
        sample = next(iter(splits.values()))[0][:1]
        self.twin, self.flat, self.plan, index = evaluation_copy(
            model, sample, not compiled, layout=options.layout
        )
        if compiled:
            # dynamic=False: a split's last, shorter batch gets its own graph instead of
            # slower shape-generic code for every batch
            self.plan = replace(self.plan, forward=torch.compile(self.twin, dynamic=False))
        if index is not None:
            origin, u, v = origin[index], u[index], v[index]
        self.plane, self.splits, self.options = (origin, u, v), splits, options
        self.batches = {
            split: prepared_batches(
                self.plan.prepare, inputs, labels, options.batch_size, options.memory_budget_mb
            )
            for split, (inputs, labels) in splits.items()
        }
        self.recompute = options.batchnorm == "recompute" and has_batchnorm(self.twin)

    @torch.inference_mode()
    def __call__(self, coords: np.ndarray) -> Results:
        origin, u, v = self.plane
        sums = {
            split: LossSums(len(coords), origin.device, self.options.loss) for split in self.splits
        }
        for index, (x, y) in enumerate(coords):
            torch.add(origin, u, alpha=float(x), out=self.flat)
            self.flat.add_(v, alpha=float(y))
            if self.recompute:
                recompute_batchnorm(
                    self.twin, self.options.batchnorm_inputs, self.options.batchnorm_batch_size
                )
            for split, batches in self.batches.items():
                for inputs, labels in batches:
                    self._add(sums[split], index, prepared(inputs, self.plan.prepare), labels)
        return _results(sums, self.splits)

    def _add(self, sums: LossSums, index: int, inputs: torch.Tensor, labels: torch.Tensor):
        """Add one prepared batch at point ``index``: reduced by the C kernel where the
        plan has it, from the logits otherwise."""
        # equal, not identical: a pool worker holds an unpickled copy
        if self.plan.add_loss_sums is not None and sums.loss == CROSS_ENTROPY:
            self.plan.add_loss_sums(inputs, labels, sums.sums[:, index])
        else:
            sums.add(index, self.plan.forward(inputs), labels)


class VmapEvaluator(Evaluator):
    """``vmap``: ``functional_call`` under ``torch.vmap`` over ``points_per_pass`` points."""

    def __init__(self, model, origin, u, v, splits, options):
        if options.batchnorm == "recompute" and has_batchnorm(model):
            raise ValueError(
                "strategy 'vmap' cannot recompute BatchNorm statistics per point; "
                "use strategy point, compile or pool with batchnorm: recompute"
            )
        self.model = copy.deepcopy(model).eval()
        layout = ParameterLayout.of(self.model)
        buffers = dict(self.model.named_buffers())

        def logits_at(flat_point, inputs):
            return torch.func.functional_call(
                self.model, (layout.unflatten(flat_point), buffers), (inputs,)
            )

        self.batched = torch.vmap(logits_at, in_dims=(0, None))
        self.plane, self.splits, self.options = (origin, u, v), splits, options

    @torch.inference_mode()
    def __call__(self, coords: np.ndarray) -> Results:
        origin = self.plane[0]
        batch, step = self.options.batch_size, max(1, self.options.points_per_pass)
        sums = {
            split: LossSums(len(coords), origin.device, self.options.loss) for split in self.splits
        }
        for first in range(0, len(coords), step):
            chunk = slice(first, min(first + step, len(coords)))
            stacked = _flat_points(*self.plane, coords[chunk])
            for split, (inputs, labels) in self.splits.items():
                for start in range(0, len(inputs), batch):
                    logits = self.batched(stacked, inputs[start : start + batch])
                    sums[split].add(chunk, logits, labels[start : start + batch])
        return _results(sums, self.splits)


class PoolEvaluator(Evaluator):
    """``pool``: ``workers`` processes with one thread each, each a :class:`PointEvaluator`
    built once; every call shares its points out among them. The processes outlive the
    evaluator (:mod:`losslandscape.engine.workers`): the next ``pool`` evaluator of this
    process, a Python call's or a tile's, reuses them."""

    def __init__(self, model, origin, u, v, splits, options):
        self.splits, self.device, self.loss = splits, origin.device, options.loss
        self.group = workers.acquire(max(1, options.workers))
        try:
            # detached: autograd does not cross processes, and the plane needs no gradient
            plane = (origin.detach(), u.detach(), v.detach())
            self.group.setup(model, *plane, splits, options)
        except BaseException:
            self.close()
            raise

    def __call__(self, coords: np.ndarray) -> Results:
        if self.group is None:
            raise ValueError("this pool evaluator is closed; open a new one")
        if len(coords) == 0:  # as point answers: empty arrays
            empty = {s: LossSums(0, self.device, self.loss) for s in self.splits}
            return _results(empty, self.splits)
        pieces = np.array_split(np.arange(len(coords)), len(self.group) or 1)
        parts = self.group.evaluate([coords[piece] for piece in pieces if len(piece)])
        return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}

    def close(self) -> None:
        if self.group is not None:  # a second close must not hand back a group in use
            workers.release(self.group)
            self.group = None
