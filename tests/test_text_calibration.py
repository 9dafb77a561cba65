"""Calibration images of rendered text (issue 13: PP-OCR's detector needs text to read)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution

import numpy as np
import pytest

import moosplit
from moosplit.cli import main
from moosplit.profilers.calibration import Normalisation, _font_paths, _text_image, text_batch

pytest.importorskip("matplotlib")

LUMA = np.array([0.299, 0.587, 0.114])
HALF = Normalisation((0.5,), (0.5,))


def test_text_batch_is_deterministic_for_a_seed_and_differs_across_seeds():
    a, origin = text_batch((3, 64, 128), 3, seed=4)
    b, _ = text_batch((3, 64, 128), 3, seed=4)
    c, _ = text_batch((3, 64, 128), 3, seed=5)
    assert a.shape == (3, 3, 64, 128) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a[0], a[1])  # samples of one batch differ too
    assert "rendered text (seed 4)" in origin and "ImageNet" in origin


def test_text_batch_normalises_like_the_photograph_batches():
    x, origin = text_batch((3, 32, 64), 2, seed=0, normalisation=HALF)
    pixels = x * 0.5 + 0.5  # back to [0, 1]
    assert pixels.min() >= -1e-6 and pixels.max() <= 1 + 1e-6
    assert "mean 0.5, std 0.5" in origin
    gray, gray_origin = text_batch((1, 32, 64), 2, seed=0, normalisation=HALF)
    assert gray.shape == (2, 1, 32, 64) and "grayscale" in gray_origin
    # one channel is the luma of the same rendered images
    assert np.allclose(gray[:, 0], np.tensordot(x, LUMA, axes=([1], [0])), atol=1e-5)


def test_text_batch_rejects_a_shape_that_is_not_an_image():
    with pytest.raises(ValueError, match="CxHxW"):
        text_batch((128,), 2)
    with pytest.raises(ValueError, match="count"):
        text_batch((3, 32, 32), 0)


@pytest.mark.parametrize("seed", range(4))
def test_text_images_hold_text_like_contrast(seed):
    image, boxes = _text_image(np.random.default_rng(seed), 160, 320, _font_paths())
    assert image.shape == (160, 320, 3) and image.dtype == np.uint8
    assert boxes.shape == (160, 320) and 0.05 < boxes.mean() < 0.8
    luma = image @ LUMA
    assert 0.02 < (luma < 128).mean() < 0.8  # dark ink and bands on a light page
    # glyph strokes: sharp changes along each line, not in the page between lines
    steps = np.abs(np.diff(luma, axis=1))
    inside = boxes[:, 1:] & boxes[:, :-1]
    outside = ~(boxes[:, 1:] | boxes[:, :-1])
    assert steps[inside].mean() > 3 * steps[outside].mean()


def test_ppocr_detector_finds_the_rendered_text():
    """The trained detector's probability map is high inside the rendered lines' boxes and
    near zero elsewhere, so the images exercise it as text does."""
    try:
        dist = distribution("rapidocr-onnxruntime")
    except PackageNotFoundError:
        pytest.skip("rapidocr-onnxruntime (ships the PP-OCR models) is not installed")
    ort = pytest.importorskip("onnxruntime")
    path = dist.locate_file("rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    rng, fonts = np.random.default_rng(0), _font_paths()
    for _ in range(2):
        image, boxes = _text_image(rng, 160, 320, fonts)
        x = ((image.transpose(2, 0, 1)[None] / 255.0 - 0.5) / 0.5).astype(np.float32)
        probability = session.run(None, {session.get_inputs()[0].name: x})[0][0, 0]
        assert probability.shape == boxes.shape
        assert probability[boxes].mean() > 0.2
        assert probability[~boxes].mean() < 0.02


def test_a_short_image_is_one_line_that_ppocrs_recogniser_reads():
    """At most LINE_HEIGHT pixels high, an image is one cropped line of text, as PP-OCR's
    recogniser and direction classifier take it; the trained recogniser reads words of
    the list back from it, confidently."""
    try:
        distribution("rapidocr-onnxruntime")
    except PackageNotFoundError:
        pytest.skip("rapidocr-onnxruntime (ships the PP-OCR models) is not installed")
    from rapidocr_onnxruntime import RapidOCR

    from moosplit.profilers.calibration import TEXT_WORDS

    engine = RapidOCR()
    rng, fonts = np.random.default_rng(0), _font_paths()
    words = {w.lower() for w in TEXT_WORDS}
    for _ in range(4):
        image, boxes = _text_image(rng, 48, 320, fonts)
        rows = np.flatnonzero(boxes.any(axis=1))
        assert rows.size >= 24 and np.ptp(rows) + 1 == rows.size  # one line, >= half high
        (text, confidence), = engine(image[:, :, ::-1].copy(), use_det=False, use_cls=False,
                                     use_rec=True)[0]
        assert confidence > 0.8
        assert words & {w.lower() for w in text.split()}, text


def test_profile_command_calibrates_on_rendered_text(tmp_path):
    """`--text-calibration` reaches the profile: its metadata says the calibration images
    are rendered text, and the error columns are filled."""
    try:
        dist = distribution("rapidocr-onnxruntime")
    except PackageNotFoundError:
        pytest.skip("rapidocr-onnxruntime (ships the PP-OCR models) is not installed")
    pytest.importorskip("onnxruntime")
    model = dist.locate_file("rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx")
    out = tmp_path / "cls.csv"
    assert main(["profile", str(model), "--input-shape", "3x48x192", "--out", str(out),
                 "--samples", "2", "--runs", "1", "--warmup", "0", "--text-calibration",
                 "--mean", "0.5", "--std", "0.5", "--quiet"]) == 0
    profile = moosplit.read_profile(out)
    assert profile.metadata["calibration"].startswith("2 images of rendered text (seed 0)")
    assert "mean 0.5, std 0.5" in profile.metadata["calibration"]
    assert np.isfinite(profile.activation_error[8][1:]).all()
