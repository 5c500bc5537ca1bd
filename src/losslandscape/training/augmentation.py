"""Training-data augmentation: none, or the CIFAR crop and flip (images only)."""

import torch
from torch.nn import functional as F

AUGMENTATIONS = ("none", "crop_flip")


def crop_flip(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random crop after zero padding and random horizontal flip, per image (the CIFAR
    training augmentation). ``images`` ``(n, c, h, w)``, or ``(n, h, w)`` grey-scale (as
    those data sets store them; returned in the same shape), already normalized, so the
    padding is the training set's mean colour. Offsets and flips come from ``generator``
    (CPU)."""
    if images.dim() == 3:
        return crop_flip(images.unsqueeze(1), generator, padding).squeeze(1)
    n, _, height, width = images.shape
    padded = F.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(images.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
    rows = (dy[:, None] + torch.arange(height, device=images.device))[:, None, :, None]
    cols = dx[:, None] + torch.arange(width, device=images.device)
    cols = torch.where(flip[:, None], cols.flip(-1), cols)[:, None, None, :]
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    channel = torch.arange(images.shape[1], device=images.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]
