"""Loading a model for profiling: an ONNX file, a built-in architecture, or a torch factory."""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import ProfileError, ProfileOptionError
from .calibration import IMAGENET, Normalisation
from .graph import ModelRunner


def load_model(model: str, *, batch: int, shape: tuple[int, ...] | None = None,
               seed: int = 0, fuse: bool = True, vocab: int | None = None
               ) -> tuple[ModelRunner, str]:
    """Load a model as a ModelRunner, and say where its weights come from.

    `model` is an ONNX file (``.onnx``), the name of a built-in architecture (random
    weights from `seed`, or the trained ones it names), or ``package.module:factory``
    naming a function that returns a torch.nn.Module. `shape` is the input shape per
    sample (needed where the model leaves it open); `batch` the samples per inference. With
    `fuse` (the default) rows are the kernels a deployment runs (BatchNorm folded,
    activations fused into their producers); without, one row per node. `vocab` says a
    ``module:factory`` model reads token ids in ``[0, vocab)`` (built-in architectures and
    ONNX files know their inputs). Bad input raises ProfileError.
    """
    if vocab is not None and (model.lower().endswith(".onnx") or ":" not in model):
        raise ProfileOptionError("vocab", "given only for a module:factory model (ONNX "
                                 "files and built-in architectures know their inputs)",
                                 vocab, owner=model)
    if model.lower().endswith(".onnx"):
        from .onnx_model import load_onnx

        if not Path(model).is_file():
            raise ProfileError(f"{model}: no such ONNX file")
        return (load_onnx(model, batch=batch, input_shape=shape, fuse=fuse),
                f"as stored in {model}")
    from .architectures import ARCHITECTURES, build_architecture

    if model in ARCHITECTURES:
        from .torch_model import trace_module

        info = ARCHITECTURES[model]
        per_sample = tuple(shape or info.input_shape)
        try:
            module = build_architecture(model, seed=seed, input_shape=per_sample)
        except ValueError as exc:  # an input shape the architecture cannot take
            raise ProfileOptionError("input_shape", str(exc), per_sample, owner=model) from None
        origin = info.weights or (
            f"random ({'the model' if info.vocab else 'torchvision'}'s initialisation, seed "
            f"{seed}): latencies and sizes are honest, quantisation errors are not those of "
            "trained weights")
        return trace_module(module, (batch, *per_sample), name=model, vocab=info.vocab,
                            fuse=fuse), origin
    if ":" in model:
        from .torch_model import trace_module

        if shape is None:
            raise ProfileOptionError("input_shape", "given for a torch factory (the shape per "
                                     "sample, such as (3, 224, 224))", None, owner=model)
        module_name, _, attr = model.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ProfileError(f"{model}: cannot import {attr} from {module_name}: {exc}") from exc
        try:
            module = factory() if callable(factory) else factory
        except TypeError as exc:
            raise ProfileError(f"{model}: calling {attr}() failed ({exc}); give a function "
                               "that takes no arguments and returns a torch.nn.Module") from None
        import torch

        if not isinstance(module, torch.nn.Module):
            raise ProfileError(f"{model}: {attr} gave a {type(module).__name__}, not a "
                               "torch.nn.Module")
        return (trace_module(module, (batch, *shape), name=model, vocab=vocab, fuse=fuse),
                f"from {model}")
    raise ProfileError(f"{model}: not an .onnx file, a built-in architecture "
                       f"({', '.join(sorted(ARCHITECTURES))}), nor module:factory")


def default_normalisation(model: str) -> Normalisation:
    """How calibration images are normalised for `model` unless told otherwise: a built-in
    architecture's own normalisation, ImageNet's for any other model."""
    from .architectures import ARCHITECTURES

    info = ARCHITECTURES.get(model)
    return info.normalisation if info is not None else IMAGENET
