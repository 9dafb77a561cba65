"""plan.json, the manifest of an exported plan (SPEC section 8), as plain data.

`moosplit export` writes it next to ``edge.onnx`` and ``cloud.onnx``; `serve` and
`validate` read it back with :meth:`Manifest.read`. The keys are a contract between them:
new keys may be added, existing ones are never renamed. Readers ignore keys they do not
know, so a newer file still reads.

Conventions (docs/deployment.md has the full description):

- Shapes are per sample (the batch dimension left out); the ONNX files fix the batch to
  ``batch``.
- A cut tensor whose ``edge_name`` is ``input.name`` is the model input itself, sent as
  the edge received it (a cloud-only plan, or a cut plan whose cloud side reads the input).
- An edge-only plan has no cloud file and no cut tensors; ``edge.outputs`` are then the
  model outputs.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import DeployError

FORMAT = "moosplit-plan"
"""The value of the manifest's ``format`` key."""

VERSION = 1
"""The manifest version this module writes and reads."""

FLOAT16 = "float16"
"""Packing of a cut tensor sent at 16 bits: raw float16 values."""

DENSE = "lsb-dense"
"""Packing of a cut tensor sent at fewer than 16 bits: b-bit codes, least significant bit
first (:mod:`moosplit.deploy.packing`)."""


@dataclass(frozen=True)
class PlanSpec:
    """The plan: split n (None in cut mode), edge nodes, bits per edge node (``bits_w``
    only for nodes with weights), codec (None for no codec)."""

    split: int | None
    edge_nodes: list[str]
    bits_w: dict[str, int]
    bits_a: dict[str, int]
    codec: str | None


@dataclass(frozen=True)
class InputSpec:
    """The model input: its tensor name in the first file that runs, shape per sample."""

    name: str
    shape: list[int]
    dtype: str = "float32"


@dataclass(frozen=True)
class TensorSpec:
    """A named tensor and its shape per sample."""

    name: str
    shape: list[int]


@dataclass(frozen=True)
class EdgeSpec:
    """The edge side: its file (None for a cloud-only plan) and its outputs, the cut
    tensors in cut order (an edge-only plan: the model outputs)."""

    file: str | None
    outputs: list[str]


@dataclass(frozen=True)
class CloudSpec:
    """The cloud side: its file (None for an edge-only plan) and the model outputs it
    computes, which travel back in the result frame at 16 bits."""

    file: str | None
    outputs: list[TensorSpec]


@dataclass(frozen=True)
class CutTensor:
    """One cut tensor C(S): its profile row (the name it travels under in frames), its
    names in edge.onnx (an output, or the model input) and cloud.onnx (an input), shape per
    sample, bits (16 = raw float16) and packing (:data:`DENSE` or :data:`FLOAT16`)."""

    row: str
    edge_name: str
    cloud_name: str
    shape: list[int]
    bits: int
    packing: str


@dataclass(frozen=True)
class Manifest:
    """Everything plan.json holds. Keys after ``predicted`` were added to the contract:
    ``batch`` (samples per inference the files are fixed to), ``weights`` (how bits_w
    were applied), ``calibration`` (where the activation scales come from) and ``seed``
    (of a built-in architecture's random weights and of the calibration crops, so that
    `validate` loads the same model)."""

    model: str
    profile: str
    network: dict[str, Any]
    bits: list[int]
    plan: PlanSpec
    input: InputSpec
    edge: EdgeSpec
    cloud: CloudSpec
    cut_tensors: list[CutTensor]
    activations: str
    predicted: dict[str, float | None]
    batch: int = 1
    weights: str = ""
    calibration: str = ""
    seed: int = 0
    format: str = FORMAT
    version: int = VERSION
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, ``format`` and ``version`` first."""
        data = dataclasses.asdict(self)
        extra = data.pop("extra")
        head = {"format": data.pop("format"), "version": data.pop("version")}
        return {**head, **data, **extra}

    def to_json(self) -> str:
        """The manifest as UTF-8 JSON text (non-finite numbers as null)."""
        return json.dumps(_finite(self.to_dict()), indent=2, ensure_ascii=False,
                          allow_nan=False) + "\n"

    def write(self, path: str | os.PathLike) -> None:
        """Write the manifest to `path`."""
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "plan.json") -> Manifest:
        """Read a manifest object; DeployError naming `source` and the key if it is not
        one (wrong format or version, a missing key, a value of the wrong kind)."""
        if not isinstance(data, dict):
            raise DeployError(f"{source}: not a JSON object")
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise DeployError(f"{source}: not a {FORMAT} manifest of version {VERSION} "
                               f"(format {data.get('format')!r}, version "
                               f"{data.get('version')!r})")
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        try:
            return cls(
                model=str(data["model"]), profile=str(data["profile"]),
                network=dict(data["network"]), bits=[int(b) for b in data["bits"]],
                plan=PlanSpec(**data["plan"]), input=InputSpec(**data["input"]),
                edge=EdgeSpec(**data["edge"]),
                cloud=CloudSpec(data["cloud"]["file"],
                                [TensorSpec(**t) for t in data["cloud"]["outputs"]]),
                cut_tensors=[CutTensor(**t) for t in data["cut_tensors"]],
                activations=str(data["activations"]), predicted=dict(data["predicted"]),
                batch=int(data.get("batch", 1)), weights=str(data.get("weights", "")),
                calibration=str(data.get("calibration", "")),
                seed=int(data.get("seed", 0)),
                extra={k: v for k, v in data.items() if k not in known})
        except KeyError as exc:
            raise DeployError(f"{source}: missing key {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise DeployError(f"{source}: malformed manifest ({exc})") from None

    @classmethod
    def read(cls, path: str | os.PathLike) -> Manifest:
        """Read plan.json; DeployError if it cannot be read as JSON or is not a manifest
        (OSError if it cannot be opened)."""
        with open(path, encoding="utf-8") as handle:
            try:
                data = json.loads(handle.read())
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise DeployError(f"{path}: cannot be read as JSON: {exc}") from None
        return cls.from_dict(data, str(path))


def _finite(value: Any) -> Any:
    """`value` with every non-finite float replaced by None (JSON has no inf or NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
