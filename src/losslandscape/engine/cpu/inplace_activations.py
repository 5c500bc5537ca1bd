"""In-place activations for grid evaluation, where no other layer can see their input.

An activation that overwrites its input instead of writing a new tensor saves a pass of
memory traffic and an allocation per layer; measured on the mnist1d CNN (one core, batch
1000, channels-last convolutions), the three ReLUs cost 5–8 % less of a point's time in
place, the three Sigmoids 7 %.

Writing over the input is only safe where nothing else holds it. Inside an
``nn.Sequential`` the output of one entry is passed to the next and to nothing else, so an
activation right after a convolution, linear layer or normalization (each of which returns
a new tensor) may overwrite it. Activations elsewhere, e.g. ResNet blocks' functional
``relu`` after a skip connection, are left as they are.
"""

import torch
from torch import nn


class _InplaceSigmoid(nn.Sigmoid):
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.sigmoid_()


class _InplaceTanh(nn.Tanh):
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.tanh_()


# layers whose output is always a tensor of their own
_FRESH_OUTPUT = (nn.modules.conv._ConvNd, nn.Linear, nn.modules.batchnorm._BatchNorm)
INPLACE_CLASSES = {nn.Sigmoid: _InplaceSigmoid, nn.Tanh: _InplaceTanh}


def make_activations_inplace(model: nn.Module) -> int:
    """Make every activation of ``model`` that directly follows a convolution, linear layer
    or BatchNorm inside an ``nn.Sequential`` compute in place; returns how many changed.

    Modules with an ``inplace`` flag (ReLU, LeakyReLU, ELU, SiLU, …) get it set; Sigmoid
    and Tanh get an in-place subclass (``__class__`` swapped so that the module keeps its
    place and name). Other activations (GELU has no in-place form) stay as they are. Only
    for models used under ``torch.inference_mode``: autograd needs the inputs kept."""
    changed = 0
    for sequence in model.modules():
        if not isinstance(sequence, nn.Sequential):
            continue
        entries = list(sequence)
        for previous, module in zip(entries, entries[1:], strict=False):
            if not isinstance(previous, _FRESH_OUTPUT):
                continue
            if type(module) in INPLACE_CLASSES:
                module.__class__ = INPLACE_CLASSES[type(module)]
                changed += 1
            elif type(module).__module__ == nn.modules.activation.__name__ and not getattr(
                module, "inplace", True
            ):
                module.inplace = True
                changed += 1
    return changed
