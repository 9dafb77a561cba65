"""The classic CNNs that split-computing papers evaluate, built locally in plain PyTorch.

Each architecture reproduces torchvision's definition exactly: the same layers, parameter
counts and initialisation scheme, and the same qualified module names (``layer4.0.conv3``,
``features.0``, ``classifier.6``, ...), so profiles built from them carry the layer names
users know, without torchvision or a download. Weights are random (torchvision's
initialisation, seeded): fine for profiling sizes and latencies, not for accuracy.

This module imports without torch; building a model needs ``pip install 'moosplit[torch]'``.

>>> sorted(ARCHITECTURES)  # doctest: +NORMALIZE_WHITESPACE
['alexnet', 'densenet121', 'googlenet', 'mobilenet_v2', 'resnet50', 'squeezenet1_0',
 'squeezenet1_1', 'vgg16', 'vgg19']
>>> ARCHITECTURES["resnet50"].input_shape
(3, 224, 224)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

__all__ = ["ARCHITECTURES", "ArchitectureInfo", "build_architecture"]


def _torch_architectures() -> ModuleType:
    """The private module of PyTorch definitions, after checking torch is importable."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ImportError(
            "building a model architecture needs PyTorch: pip install 'moosplit[torch]'"
        ) from None
    from . import _torch_architectures

    return _torch_architectures


def _builder(name: str) -> Callable[[], Any]:
    def build() -> Any:
        return getattr(_torch_architectures(), name)()

    build.__name__ = name
    build.__qualname__ = name
    build.__doc__ = (
        f"A fresh ``{name}`` as torchvision's builder makes it: training mode, weights drawn "
        "from torch's global RNG."
    )
    return build


@dataclass(frozen=True)
class ArchitectureInfo:
    """An architecture: its builder, per-sample input shape, description and paper.

    ``builder()`` returns a fresh model exactly as torchvision's builder would (training
    mode, random weights drawn from torch's global RNG); :func:`build_architecture` wraps it
    with a seed and eval mode.
    """

    builder: Callable[[], Any]
    input_shape: tuple[int, ...]
    description: str
    reference: str


_VGG_PAPER = (
    'K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for Large-Scale '
    'Image Recognition", ICLR 2015, arXiv:1409.1556'
)
_SQUEEZENET_PAPER = (
    "F. N. Iandola, S. Han, M. W. Moskewicz, K. Ashraf, W. J. Dally and K. Keutzer, "
    '"SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size", '
    "arXiv:1602.07360, 2016"
)
_IMAGE = (3, 224, 224)

ARCHITECTURES: dict[str, ArchitectureInfo] = {
    "resnet50": ArchitectureInfo(
        _builder("resnet50"),
        _IMAGE,
        "ResNet-50 (torchvision v1.5 bottlenecks, stride on the 3x3 conv), 25,557,032 params",
        'K. He, X. Zhang, S. Ren and J. Sun, "Deep Residual Learning for Image '
        'Recognition", CVPR 2016, arXiv:1512.03385',
    ),
    "vgg16": ArchitectureInfo(
        _builder("vgg16"),
        _IMAGE,
        "VGG-16 (configuration D, no batch norm), 138,357,544 params",
        _VGG_PAPER,
    ),
    "vgg19": ArchitectureInfo(
        _builder("vgg19"),
        _IMAGE,
        "VGG-19 (configuration E, no batch norm), 143,667,240 params",
        _VGG_PAPER,
    ),
    "alexnet": ArchitectureInfo(
        _builder("alexnet"),
        _IMAGE,
        "AlexNet, torchvision's single-tower variant (64-192-384-256-256 filters), "
        "61,100,840 params",
        'A. Krizhevsky, "One weird trick for parallelizing convolutional neural networks", '
        "arXiv:1404.5997, 2014 (the variant torchvision implements); original: A. Krizhevsky, "
        'I. Sutskever and G. E. Hinton, "ImageNet Classification with Deep Convolutional '
        'Neural Networks", NeurIPS 2012',
    ),
    "mobilenet_v2": ArchitectureInfo(
        _builder("mobilenet_v2"),
        _IMAGE,
        "MobileNetV2 (width 1.0, inverted residuals with ReLU6), 3,504,872 params",
        'M. Sandler, A. Howard, M. Zhu, A. Zhmoginov and L.-C. Chen, "MobileNetV2: '
        'Inverted Residuals and Linear Bottlenecks", CVPR 2018, arXiv:1801.04381',
    ),
    "googlenet": ArchitectureInfo(
        _builder("googlenet"),
        _IMAGE,
        "GoogLeNet / Inception v1 (batch-normalised, no auxiliary classifiers), 6,624,904 params",
        "C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan, "
        'V. Vanhoucke and A. Rabinovich, "Going Deeper with Convolutions", CVPR 2015, '
        "arXiv:1409.4842",
    ),
    "squeezenet1_0": ArchitectureInfo(
        _builder("squeezenet1_0"),
        _IMAGE,
        "SqueezeNet 1.0 (Fire modules, 7x7 stem), 1,248,424 params",
        _SQUEEZENET_PAPER,
    ),
    "squeezenet1_1": ArchitectureInfo(
        _builder("squeezenet1_1"),
        _IMAGE,
        "SqueezeNet 1.1 (3x3 stem, earlier pooling: ~2.4x fewer MACs than 1.0), 1,235,496 params",
        _SQUEEZENET_PAPER + " (v1.1 from the authors' SqueezeNet repository)",
    ),
    "densenet121": ArchitectureInfo(
        _builder("densenet121"),
        _IMAGE,
        "DenseNet-121 (growth rate 32, blocks 6-12-24-16), 7,978,856 params",
        'G. Huang, Z. Liu, L. van der Maaten and K. Q. Weinberger, "Densely Connected '
        'Convolutional Networks", CVPR 2017, arXiv:1608.06993',
    ),
}


def build_architecture(name: str, *, seed: int = 0) -> torch.nn.Module:
    """Build architecture ``name`` in eval mode with RANDOM weights (not pretrained).

    Weights follow torchvision's initialisation scheme for that model, drawn after
    ``torch.manual_seed(seed)`` inside a forked RNG state (the global RNG is left as it
    was): the same seed gives identical weights. Unknown names raise ValueError.

    >>> build_architecture("lenet")
    Traceback (most recent call last):
    ...
    ValueError: unknown architecture 'lenet'; available: alexnet, densenet121, googlenet, \
mobilenet_v2, resnet50, squeezenet1_0, squeezenet1_1, vgg16, vgg19
    """
    if name not in ARCHITECTURES:
        available = ", ".join(sorted(ARCHITECTURES))
        raise ValueError(f"unknown architecture {name!r}; available: {available}")
    _torch_architectures()
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ARCHITECTURES[name].builder()
    return model.eval()
