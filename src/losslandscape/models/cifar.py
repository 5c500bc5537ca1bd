"""CIFAR-scale architectures: ResNet-20/56 with and without skip connections (Li et al.
2018) and ConvMLP-s (Li, Hassani et al. 2021), each with the study's activation at every
place the architecture has one.

Inputs ``(batch, channels, size, size)``, or ``(batch, size, size)`` for one channel (as
the grey-scale data sets store them): ``(batch, 3, 32, 32)`` for CIFAR, any square size the
strides allow; output ``(batch, n_classes)``.
"""

import torch
from torch import nn

from losslandscape.models.activations import Activation, make_activation


def channels_first(images: torch.Tensor) -> torch.Tensor:
    """``(batch, size, size)`` grey-scale images as ``(batch, 1, size, size)``; images that
    have their channel axis unchanged."""
    return images.unsqueeze(1) if images.dim() == 3 else images


class BasicBlock(nn.Module):
    """Two 3×3 conv–BN layers; with ``skip``, the input is added back (through a 1×1
    conv–BN where the shape changes) before the second activation, as in Li et al.'s
    ``cifar10/models/resnet.py``; without it, the plain two-layer block."""

    def __init__(
        self, activation: Activation, planes_in: int, planes: int, stride: int, skip: bool
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(planes_in, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.act1 = make_activation(activation)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.act2 = make_activation(activation)
        self.skip = skip
        self.shortcut = nn.Sequential()
        if skip and (stride != 1 or planes_in != planes):
            self.shortcut = nn.Sequential(
                nn.Conv2d(planes_in, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        if self.skip:
            out = out + self.shortcut(x)
        return self.act2(out)


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for CIFAR: a 3×3 conv (16) then three stages of ``n`` basic blocks
    (16, 32, 64 channels; stride 2 between stages), global average pooling, Linear.

    ``depth`` 20 (n = 3, 0.27M parameters with skips) or 56 (n = 9, 0.86M); ``skip=False``
    gives Li et al.'s ``noshort`` networks.
    """

    def __init__(
        self,
        activation: Activation,
        depth: int = 56,
        skip: bool = True,
        in_channels: int = 3,
        n_classes: int = 10,
    ):
        super().__init__()
        if (depth - 2) % 6 != 0:
            raise ValueError(f"ResNet depth {depth}: expected 6n + 2 (20, 32, 44, 56, 110)")
        blocks_per_stage = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.act1 = make_activation(activation)
        stages, planes_in = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for index in range(blocks_per_stage):
                blocks.append(
                    BasicBlock(activation, planes_in, planes, stride if index == 0 else 1, skip)
                )
                planes_in = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = nn.Linear(64, n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.act1(self.bn1(self.conv1(channels_first(images))))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.linear(out.mean(dim=(2, 3)))


class DropPath(nn.Module):
    """Stochastic depth: in training, zero a residual branch per sample with probability
    ``rate`` and scale the kept ones by 1/(1 − rate); the identity in eval mode."""

    def __init__(self, rate: float):
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        keep = 1 - self.rate
        mask = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), device=x.device).bernoulli_(keep)
        return x * mask / keep


class ConvTokenizer(nn.Module):
    """Three 3×3 conv–BN–activation layers (3→c/2 stride 2, c/2→c/2, c/2→c), 3×3 max-pool
    stride 2."""

    def __init__(self, activation: Activation, in_channels: int = 3, channels: int = 64):
        super().__init__()
        half = channels // 2
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, half, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(half),
            make_activation(activation),
            nn.Conv2d(half, half, 3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(half),
            make_activation(activation),
            nn.Conv2d(half, channels, 3, stride=1, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            make_activation(activation),
            nn.MaxPool2d(3, stride=2, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class ConvStage(nn.Module):
    """Residual bottlenecks (1×1 c→h, 3×3 h→h, 1×1 h→c, each conv–BN–activation), then a
    3×3 stride-2 conv c→out."""

    def __init__(self, activation: Activation, blocks: int, channels: int, hidden: int, out: int):
        super().__init__()
        self.conv_blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, hidden, 1, bias=False),
                nn.BatchNorm2d(hidden),
                make_activation(activation),
                nn.Conv2d(hidden, hidden, 3, padding=1, bias=False),
                nn.BatchNorm2d(hidden),
                make_activation(activation),
                nn.Conv2d(hidden, channels, 1, bias=False),
                nn.BatchNorm2d(channels),
                make_activation(activation),
            )
            for _ in range(blocks)
        )
        self.downsample = nn.Conv2d(channels, out, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.conv_blocks:
            x = x + block(x)
        return self.downsample(x)


class ChannelMLP(nn.Module):
    """Linear d→h, activation, Linear h→d, on the last (channel) dimension."""

    def __init__(self, activation: Activation, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = make_activation(activation)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class ConvMLPBlock(nn.Module):
    """Channel MLP, depth-wise 3×3 conv, channel MLP, on channels-last maps ``(B, H, W, d)``:
    ``x + drop(mlp1(norm1(x)))``, ``conv(connect_norm(x))``, ``x + drop(mlp2(norm2(x)))``."""

    def __init__(self, activation: Activation, dim: int, hidden: int, drop_rate: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.channel_mlp1 = ChannelMLP(activation, dim, hidden)
        self.norm2 = nn.LayerNorm(dim)
        self.connect = nn.Conv2d(dim, dim, 3, padding=1, groups=dim, bias=False)
        self.connect_norm = nn.LayerNorm(dim)
        self.channel_mlp2 = ChannelMLP(activation, dim, hidden)
        self.drop_path = DropPath(drop_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.channel_mlp1(self.norm1(x)))
        x = self.connect(self.connect_norm(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return x + self.drop_path(self.channel_mlp2(self.norm2(x)))


class ConvMLPStage(nn.Module):
    """``blocks`` ConvMLP blocks (stochastic depth rising linearly from 0 to ``drop_rate``),
    then, unless last, a 3×3 stride-2 conv to the next width (channels-last in and out)."""

    def __init__(
        self,
        activation: Activation,
        blocks: int,
        dim: int,
        dim_out: int | None,
        mlp_ratio: int,
        drop_rate: float,
    ):
        super().__init__()
        rates = torch.linspace(0, drop_rate, blocks).tolist()
        self.blocks = nn.ModuleList(
            ConvMLPBlock(activation, dim, dim * mlp_ratio, rate) for rate in rates
        )
        self.downsample = None
        if dim_out is not None:
            self.downsample = nn.Conv2d(dim, dim_out, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        if self.downsample is not None:
            x = self.downsample(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return x


class ConvMLP(nn.Module):
    """ConvMLP (Li, Hassani et al. 2021); defaults are ConvMLP-s: tokenizer 64 channels, 2
    conv bottlenecks (hidden 128), ConvMLP stages of 2, 4, 2 blocks at widths 128, 256, 512
    with MLP ratio 2, stochastic depth 0.1, LayerNorm, global average pooling, Linear.

    9,022,920 parameters for 1000 classes (the paper's 9.0M), 8,561,220 for 100. The study's
    activation replaces every activation, the channel MLPs' GELU included.
    """

    def __init__(
        self,
        activation: Activation,
        in_channels: int = 3,
        n_classes: int = 100,
        channels: int = 64,
        conv_blocks: int = 2,
        blocks: tuple[int, ...] | list[int] = (2, 4, 2),
        dims: tuple[int, ...] | list[int] = (128, 256, 512),
        mlp_ratio: int = 2,
        drop_rate: float = 0.1,
    ):
        super().__init__()
        self.tokenizer = ConvTokenizer(activation, in_channels, channels)
        self.conv_stages = ConvStage(activation, conv_blocks, channels, dims[0], dims[0])
        self.stages = nn.ModuleList(
            ConvMLPStage(
                activation,
                count,
                dims[i],
                dims[i + 1] if i + 1 < len(blocks) else None,
                mlp_ratio,
                drop_rate,
            )
            for i, count in enumerate(blocks)
        )
        self.norm = nn.LayerNorm(dims[-1])
        self.head = nn.Linear(dims[-1], n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.conv_stages(self.tokenizer(channels_first(images))).permute(0, 2, 3, 1)
        for stage in self.stages:
            x = stage(x)
        return self.head(self.norm(x).mean(dim=(1, 2)))
