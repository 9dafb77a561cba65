"""Calibration inputs for quantisation error estimates: real images, no download.

Without a folder of the user's own images, the calibration set is made of random crops of
the real photographs that ship inside installed packages. Of matplotlib's sample data
(``mpl-data/sample_data``) only ``grace_hopper.jpg`` is a photograph (Grace Hopper's
official US Navy portrait, 512x600 RGB); ``Minduka_Present_Blue_Pack.png`` is clip art,
``logo2.png`` the matplotlib logo, and ``s1045.ima.gz`` a raw 16-bit MRI slice (a real
scan but not a photograph, and not a file Pillow reads), so none of those is used. One
photograph gives limited variety: for error columns that reflect a deployment, pass a
folder of images from the model's own domain.

Images are scaled to [0, 1] and normalised per channel as ``(x - mean) / std`` with a
:class:`Normalisation`: by default ImageNet's mean and standard deviation (the convention of
torchvision's pretrained classifiers), or a model's own (EfficientNet-Lite's, for instance);
for one channel (grayscale, converted with Pillow's ITU-R 601 luma), the means of three
per-channel values.

A language model reads token ids, not images: its calibration inputs are random token ids
(:func:`token_batch`), uniform over the vocabulary from a seed, with no text behind them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

from ..errors import ProfileOptionError
from .graph import LayerGraph

IMAGENET_MEAN = (0.485, 0.456, 0.406)
"""Per-channel (RGB) mean of ImageNet pixels in [0, 1]."""

IMAGENET_STD = (0.229, 0.224, 0.225)
"""Per-channel (RGB) standard deviation of ImageNet pixels in [0, 1]."""



@dataclass(frozen=True)
class Normalisation:
    """Per-channel ``(x - mean) / std`` of pixels scaled to [0, 1], and where the values come
    from (`source`, for the profile metadata). One value stands for every channel.

    Example:
        >>> Normalisation((0.5,), (0.25,)).describe()
        'mean 0.5, std 0.25'
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: str = ""

    def __post_init__(self) -> None:
        for what in ("mean", "std"):
            values = getattr(self, what)
            expected = f"one or more finite numbers{' > 0' if what == 'std' else ''}"
            try:
                numbers = tuple(float(v) for v in np.atleast_1d(values))
            except (TypeError, ValueError):
                raise ProfileOptionError(what, expected, values) from None
            if not numbers or not all(np.isfinite(numbers)) or (
                    what == "std" and min(numbers) <= 0):
                raise ProfileOptionError(what, expected, values)
            object.__setattr__(self, what, numbers)

    def describe(self) -> str:
        """The values and their source in one line."""
        text = (f"mean {','.join(f'{v:.4g}' for v in self.mean)}, "
                f"std {','.join(f'{v:.4g}' for v in self.std)}")
        return f"{text} ({self.source})" if self.source else text


IMAGENET = Normalisation(IMAGENET_MEAN, IMAGENET_STD, "ImageNet's, torchvision's convention")
"""The default normalisation: ImageNet's mean and standard deviation."""

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
"""Files of a user's folder that are read as images (case-insensitive)."""

SAMPLE_PHOTOS = ("grace_hopper.jpg",)
"""The files of matplotlib's sample data that are real photographs."""

MIN_AREA = 0.25
"""Smallest fraction of an image's area that a random crop covers."""


def _pillow() -> ModuleType:
    """The PIL.Image module."""
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow comes with matplotlib
        raise ImportError("calibration images need Pillow: pip install pillow") from exc
    return Image


def sample_images() -> list[Path]:
    """The real photographs shipped with installed packages (matplotlib's sample data).

    Example:
        >>> [p.name for p in sample_images()]
        ['grace_hopper.jpg']
    """
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("the bundled calibration photographs come with matplotlib: "
                          "pip install matplotlib (or pip install 'moosplit[dev]'), or give "
                          "a folder of images") from exc
    folder = Path(matplotlib.get_data_path()) / "sample_data"
    paths = [folder / name for name in SAMPLE_PHOTOS if (folder / name).is_file()]
    if not paths:
        raise FileNotFoundError(f"no sample photographs ({', '.join(SAMPLE_PHOTOS)}) in "
                                f"{folder}; give a folder of images instead")
    return paths


def _image_paths(paths_or_folder: str | Path | Sequence[str | Path]) -> list[Path]:
    if isinstance(paths_or_folder, str | Path):
        folder = Path(paths_or_folder)
        if not folder.is_dir():
            raise ValueError(f"calibration folder {str(folder)!r} does not exist or is not a "
                             "folder")
        try:
            paths = sorted(p for p in folder.iterdir()
                           if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        except OSError as exc:
            raise ValueError(f"cannot read calibration folder {str(folder)!r}: {exc}") from exc
        if not paths:
            raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in calibration folder "
                             f"{str(folder)!r}")
        return paths
    paths = [Path(p) for p in paths_or_folder]
    if not paths:
        raise ValueError("no calibration images given (empty list of paths)")
    return paths


def _check_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    """`shape` as (C, H, W), or a ValueError telling a command-line user what to do."""
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        shape = None
    if shape is None or len(shape) != 3 or shape[0] not in (1, 3) or min(shape) < 1:
        raise ValueError(
            "quantisation errors need calibration images, so an input of one image per "
            "sample (CxHxW, C = 1 or 3); this model's input shape per sample is "
            f"{'x'.join(map(str, shape)) if shape else repr(shape)}. Profile it without error "
            "columns (errors none): a calibration folder cannot help, it holds images")
    return shape  # type: ignore[return-value]


def _channel_stats(values: float | Sequence[float] | None, default: Sequence[float],
                   channels: int, what: str) -> np.ndarray:
    """`values` (or the default) as a (C, 1, 1) float32 array."""
    if values is None:
        stats = np.asarray(default, np.float64)
        if channels == 1:
            stats = np.array([stats.mean()])
    else:
        stats = np.asarray(values, np.float64).ravel()
        if stats.size == 1:
            stats = np.repeat(stats, channels)
        if stats.size != channels:
            raise ValueError(f"{what} must be one value or {channels} (one per channel), "
                             f"got {values!r}")
    if not np.all(np.isfinite(stats)) or (what == "std" and np.any(stats <= 0)):
        raise ValueError(f"{what} must be finite{' and > 0' if what == 'std' else ''}, "
                         f"got {values!r}")
    return stats.astype(np.float32).reshape(channels, 1, 1)


def load_images(
    paths_or_folder: str | Path | Sequence[str | Path],
    shape: Sequence[int],
    count: int,
    *,
    seed: int = 0,
    mean: float | Sequence[float] | None = None,
    std: float | Sequence[float] | None = None,
) -> np.ndarray:
    """`count` calibration samples, shape ``(count, C, H, W)`` float32, from real images.

    `paths_or_folder` is a list of image files or a folder (all its .jpg/.jpeg/.png/.bmp
    files, sorted by name). Sample k is a crop of image ``k mod len(images)``: a random
    box (seeded by `seed`) covering 25-100 % of the image's area with the aspect ratio of
    ``H x W`` (as far as the image allows), resized to ``H x W`` with Pillow (bilinear),
    flipped left-right with probability 1/2, converted to RGB (C = 3) or luma (C = 1),
    scaled to [0, 1] and normalised as ``(x - mean) / std`` per channel. `mean`/`std`
    default to ImageNet's (the mean of its three values for C = 1).

    Example:
        >>> x = load_images(sample_images(), (3, 32, 32), 4, seed=1)
        >>> x.shape, x.dtype
        ((4, 3, 32, 32), dtype('float32'))
    """
    channels, height, width = _check_shape(shape)
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
        raise ValueError(f"count must be an integer >= 1, got {count!r}")
    mean_array = _channel_stats(mean, IMAGENET_MEAN, channels, "mean")
    std_array = _channel_stats(std, IMAGENET_STD, channels, "std")
    Image = _pillow()
    paths = _image_paths(paths_or_folder)
    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                images.append(image.convert("RGB" if channels == 3 else "L"))
        except Exception as exc:  # Pillow's decoders raise OSError, SyntaxError, ...
            raise ValueError(f"cannot read calibration image {str(path)!r}: {exc}") from exc
    rng = np.random.default_rng(seed)
    target_ratio = width / height
    out = np.empty((count, channels, height, width), np.float32)
    for k in range(count):
        image = images[k % len(images)]
        iw, ih = image.size
        area = iw * ih * rng.uniform(MIN_AREA, 1.0)
        box_w = min(float(iw), np.sqrt(area * target_ratio))
        box_h = min(float(ih), box_w / target_ratio)
        box_w = min(float(iw), box_h * target_ratio)
        left = rng.uniform(0.0, iw - box_w)
        top = rng.uniform(0.0, ih - box_h)
        crop = image.resize((width, height), Image.Resampling.BILINEAR,
                            box=(left, top, left + box_w, top + box_h))
        pixels = np.asarray(crop, np.float32).reshape(height, width, channels)
        if rng.random() < 0.5:
            pixels = pixels[:, ::-1]
        out[k] = pixels.transpose(2, 0, 1) / 255.0
    return (out - mean_array) / std_array


def _image_stats(norm: Normalisation, channels: int
                 ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """`norm`'s mean and std for images of `channels` channels (their means for one)."""
    mean, std = norm.mean, norm.std
    for what, values in (("mean", mean), ("std", std)):
        if len(values) not in (1, 3):
            raise ProfileOptionError(what, "one value or three (one per RGB channel)", values)
    if channels == 1:
        mean, std = (float(np.mean(mean)),), (float(np.mean(std)),)
    return mean, std


def calibration_batch(
    shape: Sequence[int],
    count: int,
    *,
    folder: str | Path | None = None,
    seed: int = 0,
    normalisation: Normalisation | None = None,
) -> tuple[np.ndarray, str]:
    """`count` calibration samples of shape `shape` (C, H, W) and a one-line origin.

    From the images in `folder`, or from the bundled real photographs of
    :func:`sample_images` when `folder` is None; see :func:`load_images`. Pixels are
    normalised with `normalisation` (default :data:`IMAGENET`; for one channel, the means
    of its values). The description, normalisation included, goes into the profile
    metadata (``calibration``).

    Example:
        >>> x, origin = calibration_batch((1, 16, 16), 2)
        >>> x.shape, origin.split(":")[0]
        ((2, 1, 16, 16), '2 random crops (seed 0) of 1 image(s)')
    """
    c, h, w = _check_shape(shape)
    if folder is None:
        paths = sample_images()
        source = (f"the photograph(s) shipped with matplotlib "
                  f"({', '.join(p.name for p in paths)})")
    else:
        paths = _image_paths(folder)
        source = f"folder {str(folder)!r}"
    norm = normalisation or IMAGENET
    mean, std = _image_stats(norm, c)
    batch = load_images(paths, shape, count, seed=seed, mean=mean, std=std)
    origin = (f"{count} random crops (seed {seed}) of {len(paths)} image(s): {source}, "
              f"resized to {c}x{h}x{w} ({'RGB' if c == 3 else 'grayscale'}), scaled to [0, 1], "
              f"normalised as (x - mean) / std with {norm.describe()}"
              f"{', averaged over channels' if c == 1 and len(norm.mean) > 1 else ''}")
    return batch, origin


TEXT_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf",
              "DejaVuSansMono.ttf", "DejaVuSans-Oblique.ttf")
"""The fonts matplotlib ships (``mpl-data/fonts/ttf``) that text images are set in."""

TEXT_WORDS = (
    "the quick brown fox jumps over lazy dog invoice total amount date name address "
    "phone number street city order price tax paid receipt page chapter section table "
    "figure report summary value result model layer split edge cloud network bandwidth "
    "latency energy error profile front open close north south east west station "
    "2024 2025 17.50 42 No. 0x1F EUR USD kg km TEL: ID: ref# A-113 B7 #204"
).split()
"""The words text images are made of (upper and title case are drawn too)."""


def _font_paths() -> list[Path]:
    """The TEXT_FONTS files in matplotlib's data folder."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("text calibration images are set in matplotlib's fonts: pip "
                          "install matplotlib") from exc
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    paths = [folder / name for name in TEXT_FONTS if (folder / name).is_file()]
    if not paths:
        raise FileNotFoundError(f"no fonts ({', '.join(TEXT_FONTS)}) in {folder}")
    return paths


LINE_HEIGHT = 64
"""Text images at most this many pixels high hold one cropped line (see `text_batch`)."""


def _text_image(rng: np.random.Generator, height: int, width: int, fonts: Sequence[Path]
                ) -> tuple[np.ndarray, np.ndarray]:
    """One image of text lines, ``(H, W, 3)`` uint8 RGB, and a ``(H, W)`` bool mask of the
    lines' boxes (the bounding box of each line's drawn glyphs, after rotation).

    Lines run top to bottom at random sizes (1/40 to 1/10 of the height, at least 8 px),
    fonts, offsets and slight rotations (up to 4 degrees); most are dark on the light page,
    about one in three light on a dark band. The page has a faint gradient and noise. An
    image at most :data:`LINE_HEIGHT` pixels high is one cropped line of text, as a text
    recogniser or direction classifier reads it: one line at half to three quarters of the
    height, centred."""
    from PIL import Image, ImageDraw, ImageFont

    light = rng.uniform(180, 250)
    ramp = np.linspace(0.0, rng.uniform(-30, 30), width)[None, :, None]
    page = light + ramp + rng.normal(0.0, 4.0, (height, width, 1))
    page = np.clip(page * rng.uniform(0.9, 1.0, 3), 0, 255).astype(np.uint8)
    image = Image.fromarray(page, "RGB")
    mask = np.zeros((height, width), bool)
    one_line = height <= LINE_HEIGHT
    top = int(rng.integers(0, max(1, height // 10)))
    while True:
        size = max(8, int(height * (rng.uniform(0.5, 0.75) if one_line
                                    else rng.uniform(1 / 40, 1 / 10))))
        font = ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), size)
        words = rng.choice(TEXT_WORDS, int(rng.integers(1, 7)))
        words = [w.upper() if rng.random() < 0.2 else w.title() if rng.random() < 0.2 else w
                 for w in words]
        text = " ".join(words)
        left, upper, right, lower = font.getbbox(text)
        layer = Image.new("L", (right + 2, lower + 2), 0)
        ImageDraw.Draw(layer).text((1, 1), text, font=font, fill=255)
        layer = layer.rotate(float(rng.uniform(-4, 4)), Image.Resampling.BILINEAR, expand=True)
        glyphs = np.asarray(layer) > 0
        rows, cols = np.nonzero(glyphs.any(1))[0], np.nonzero(glyphs.any(0))[0]
        if not rows.size:
            continue
        layer = layer.crop((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
        line_w, line_h = layer.size
        if one_line:
            top = max(0, (height - line_h) // 2)
        if top + line_h > height:
            break
        x = int(rng.integers(0, max(1, width - min(line_w, width) + 1)))
        on_dark = rng.random() < 1 / 3
        if on_dark:
            band = tuple(int(v) for v in rng.integers(0, 70, 3))
            pad = max(2, line_h // 4)
            ImageDraw.Draw(image).rectangle(
                (0, max(0, top - pad), width, min(height, top + line_h + pad)), fill=band)
        ink = rng.integers(190, 256, 3) if on_dark else rng.integers(0, 80, 3)
        image.paste(tuple(int(v) for v in ink), (x, top), layer)
        mask[top:top + line_h, x:x + line_w] = True
        if one_line:
            break
        top += line_h + int(rng.integers(max(2, line_h // 3), line_h + 3)) + (
            2 * pad if on_dark else 0)
    return np.asarray(image), mask


def text_batch(
    shape: Sequence[int],
    count: int,
    *,
    seed: int = 0,
    normalisation: Normalisation | None = None,
) -> tuple[np.ndarray, str]:
    """`count` calibration images of rendered text, shape ``(count, C, H, W)`` float32, and a
    one-line origin: for models that read text (a text detector), whose activations on a
    photograph without text are not those of their use.

    Each image is rendered locally with Pillow in the DejaVu fonts matplotlib ships: lines
    of words from :data:`TEXT_WORDS` in varied sizes and fonts, slightly rotated, mostly
    dark on a light page, some light on a dark band, all drawn from `seed` (the same seed
    gives the same images); an image at most :data:`LINE_HEIGHT` pixels high is one
    cropped line (what a text recogniser reads). Pixels are converted to luma for C = 1,
    scaled to [0, 1] and normalised as in :func:`calibration_batch` (default
    :data:`IMAGENET`).

    Example:
        >>> x, origin = text_batch((3, 64, 128), 2, seed=1)
        >>> x.shape, x.dtype, origin.split(":")[0]
        ((2, 3, 64, 128), dtype('float32'), '2 images of rendered text (seed 1)')
    """
    c, h, w = _check_shape(shape)
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
        raise ValueError(f"count must be an integer >= 1, got {count!r}")
    norm = normalisation or IMAGENET
    mean, std = _image_stats(norm, c)
    fonts = _font_paths()
    rng = np.random.default_rng(seed)
    pixels = np.stack([_text_image(rng, h, w, fonts)[0] for _ in range(count)])
    if c == 1:  # ITU-R 601 luma, as Pillow's convert("L")
        pixels = pixels @ np.array([0.299, 0.587, 0.114])[:, None]
    batch = pixels.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    batch = (batch - _channel_stats(mean, IMAGENET_MEAN, c, "mean")) / _channel_stats(
        std, IMAGENET_STD, c, "std")
    what = "one cropped line of words" if h <= LINE_HEIGHT else "lines of words"
    origin = (f"{count} images of rendered text (seed {seed}): {what} in "
              f"matplotlib's DejaVu fonts, {c}x{h}x{w} ({'RGB' if c == 3 else 'grayscale'}), "
              f"scaled to [0, 1], normalised as (x - mean) / std with {norm.describe()}"
              f"{', averaged over channels' if c == 1 and len(norm.mean) > 1 else ''}")
    return batch, origin


def token_batch(shape: Sequence[int], count: int, vocab: int, *, seed: int = 0
                ) -> tuple[np.ndarray, str]:
    """`count` sequences of random token ids, shape ``(count, *shape)`` int64, and an origin.

    Ids are drawn uniformly from ``[0, vocab)`` with a generator seeded by `seed`: inputs
    of the right type and range for a language model, not text, so errors measured on them
    reflect random tokens, not a corpus.

    Example:
        >>> ids, origin = token_batch((4,), 2, 10, seed=1)
        >>> ids.shape, ids.dtype, bool(ids.max() < 10)
        ((2, 4), dtype('int64'), True)
    """
    shape = tuple(int(d) for d in shape)
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
        raise ValueError(f"count must be an integer >= 1, got {count!r}")
    if isinstance(vocab, bool) or not isinstance(vocab, int | np.integer) or vocab < 1:
        raise ValueError(f"vocab must be an integer >= 1, got {vocab!r}")
    ids = np.random.default_rng(seed).integers(0, vocab, (count, *shape), dtype=np.int64)
    origin = (f"{count} sequences of {'x'.join(map(str, shape))} random token ids, uniform "
              f"over [0, {vocab}) (seed {seed}): not text")
    return ids, origin


def calibration_inputs(
    graph: LayerGraph,
    count: int,
    *,
    folder: str | Path | None = None,
    seed: int = 0,
    normalisation: Normalisation | None = None,
    text: bool = False,
) -> tuple[np.ndarray, str]:
    """`count` calibration samples for the model `graph` describes, and their origin:
    random token ids (:func:`token_batch`) when it reads tokens, otherwise images of
    rendered text (:func:`text_batch`) with `text`, image crops (:func:`calibration_batch`)
    without."""
    shape = graph.input_shape[1:]
    if text and folder is not None:
        raise ValueError("calibration images come from a folder or are rendered text, "
                         "not both")
    if graph.input_vocab is None:
        if text:
            return text_batch(shape, count, seed=seed, normalisation=normalisation)
        return calibration_batch(shape, count, folder=folder, seed=seed,
                                 normalisation=normalisation)
    if folder is not None or text:
        raise ValueError(f"{graph.model} reads token ids: calibration images (a folder or "
                         "rendered text) cannot be its input (calibration uses random token "
                         "ids)")
    return token_batch(shape, count, graph.input_vocab, seed=seed)
