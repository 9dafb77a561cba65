"""The cloud half of an exported plan: `cloud.onnx` answering tensors frames (SPEC section 8).

:meth:`CloudHalf.load` reads a plan directory as `moosplit export` writes it (plan.json
through :class:`~moosplit.deploy.manifest.Manifest`, docs/deployment.md, and the
`cloud.onnx` it names), checks the manifest's fields the server relies on, and checks that
the ONNX file's inputs and outputs are the ones the manifest lists.
:meth:`CloudHalf.answer` takes a decoded tensors frame, checks it against the manifest's
cut tensors, dequantises them, runs `cloud.onnx` and returns the result frame: the
manifest's cloud outputs as raw float16.

What a frame must carry (docs/deployment.md, "Serving the cloud half"): each cut tensor
once, named by its profile row, of shape (N, *per-sample shape) with one N for the whole
frame, at 1 up to the manifest's bits. N is the batch of `cloud.onnx`'s inputs where it
is fixed (1 for an export at batch 1), any N >= 1 where it is dynamic.

Only the manifest's plain JSON and ONNX files are read; nothing from a frame is executed.
One onnxruntime session serves every request, one request at a time (a lock around
`run`): requests overlap in the network, not on the CPU.
"""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DeployError, OptionError
from .frames import (
    Expected,
    Frame,
    FrameError,
    FrameErrorCode,
    FrameKind,
    TensorEntry,
    encode_frame,
)
from .manifest import CutTensor, Manifest
from .packing import RAW_BITS, payload_length

MANIFEST = "plan.json"
"""The manifest's file name in a plan directory."""
FRAME_MARGIN = 4
"""The default frame size limit is this many times the manifest's frame (at its batch)..."""
MIN_FRAME_LIMIT = 1 << 16
"""...and at least this many bytes."""
INSTALL_HINT = "pip install 'moosplit[profile]'"

_INPUT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16,
                "tensor(double)": np.float64}
_MISSING = object()


class CloudHalf:
    """`cloud.onnx` of a plan directory, ready to answer tensors frames.

    Build it with :meth:`load`. Thread-safe: `answer` may be called from many threads
    (they take turns on the one session).
    """

    def __init__(self, session: Any, cut_tensors: tuple[CutTensor, ...],
                 output_names: tuple[str, ...], batch: int | None,
                 input_types: Mapping[str, np.dtype], feed_shapes: Mapping[str, bool]) -> None:
        self._session = session
        self.cut_tensors = cut_tensors
        """The manifest's cut tensors, in its order."""
        self.output_names = output_names
        """The names of the result frame's tensors (the manifest's cloud outputs)."""
        self.batch = batch
        """The batch frames must carry, or None if `cloud.onnx` takes any batch."""
        self._types = dict(input_types)
        self._batched = dict(feed_shapes)  # cloud_name -> whether the ONNX input has a batch
        self._lock = threading.Lock()

    @classmethod
    def load(cls, directory: str | Path) -> CloudHalf:
        """The cloud half of the plan directory `directory`.

        Raises :class:`~moosplit.errors.DeployError` if it is not a plan directory, the
        plan is edge-only (no `cloud.onnx`), or `cloud.onnx` does not match the manifest
        (inputs other than the cut tensors, a fixed dimension other than the manifest's,
        an output it lacks); ImportError without onnxruntime.
        """
        directory = Path(directory)
        manifest = read_plan_directory(directory)
        cloud_file, output_names = _cloud_entry(manifest, directory)
        cut_tensors = _cut_tensors(manifest, directory)
        path = directory / cloud_file
        session = onnx_session(path)
        inputs = {node.name: node for node in session.get_inputs()}
        fed = {cut.cloud_name for cut in cut_tensors}
        if set(inputs) != fed:
            raise DeployError(f"{path}: its inputs are {sorted(inputs)}, the manifest's cut "
                              f"tensors feed {sorted(fed)}")
        outputs = {node.name for node in session.get_outputs()}
        if not set(output_names) <= outputs:
            raise DeployError(f"{path}: no output {sorted(set(output_names) - outputs)[0]!r} "
                              f"(its outputs: {sorted(outputs)})")
        types, batched, batches = {}, {}, set()
        for cut in cut_tensors:
            node = inputs[cut.cloud_name]
            if node.type not in _INPUT_TYPES:
                raise DeployError(f"{path}: input {node.name!r} is {node.type}; the cloud "
                                  f"half takes float inputs ({', '.join(_INPUT_TYPES)})")
            types[node.name] = np.dtype(_INPUT_TYPES[node.type])
            batched[node.name], batch = _batch_of(cut, list(node.shape), path)
            batches.add(batch)
        fixed = batches - {None}
        if len(fixed) > 1:
            raise DeployError(f"{path}: its inputs have different fixed batches "
                              f"{sorted(fixed)}")
        return cls(session, cut_tensors, output_names, fixed.pop() if fixed else None, types,
                   batched)

    @property
    def expected(self) -> Expected:
        """What a sender sends at the manifest's bits and batch (1 if any batch is
        taken): row -> (shape, bits), as :func:`~moosplit.deploy.frames.decode_frame`'s
        `expected`."""
        batch = self.batch or 1
        return {cut.row: ((batch, *cut.shape), cut.bits) for cut in self.cut_tensors}

    def frame_bytes(self) -> int:
        """Bytes of a tensors frame at :attr:`expected` (length prefix included)."""
        entries = tuple(TensorEntry(row, bits, shape, 1.0, 0.0,
                                    bytes(payload_length(math.prod(shape), bits)))
                        for row, (shape, bits) in self.expected.items())
        return len(encode_frame(Frame(FrameKind.TENSORS, entries)))

    def default_frame_limit(self) -> int:
        """The frame size limit a server uses unless told: FRAME_MARGIN times
        :meth:`frame_bytes`, at least MIN_FRAME_LIMIT."""
        return max(FRAME_MARGIN * self.frame_bytes(), MIN_FRAME_LIMIT)

    def feeds(self, frame: Frame) -> dict[str, np.ndarray]:
        """The `cloud.onnx` inputs of a tensors frame, dequantised.

        FrameError with BAD_KIND for a frame of another kind, UNEXPECTED_TENSOR for a
        tensor the manifest does not list, one it lists missing, a shape other than
        (N, *per-sample shape) with N the batch (the same in the whole frame), or more bits
        than the manifest's.
        """
        if frame.kind != FrameKind.TENSORS:
            raise FrameError(FrameErrorCode.BAD_KIND, f"the cloud half takes tensors frames "
                             f"(kind 1), got kind {int(frame.kind)} ({frame.kind.name.lower()})")
        given = {entry.name: entry for entry in frame.tensors}
        rows = {cut.row for cut in self.cut_tensors}
        if set(given) != rows:
            unknown, missing = sorted(set(given) - rows), sorted(rows - set(given))
            raise FrameError(FrameErrorCode.UNEXPECTED_TENSOR, "; ".join(
                [f"not cut tensors of this plan: {', '.join(map(repr, unknown))}"] * bool(unknown)
                + [f"cut tensors missing: {', '.join(map(repr, missing))}"] * bool(missing)))
        batches = {given[cut.row].shape[:1] for cut in self.cut_tensors}
        feeds = {}
        for cut in self.cut_tensors:
            entry = given[cut.row]
            if (entry.shape[1:] != tuple(cut.shape) or len(entry.shape) != len(cut.shape) + 1
                    or entry.shape[0] < 1 or entry.bits > cut.bits or len(batches) > 1
                    or self.batch not in (None, entry.shape[0])):
                raise FrameError(FrameErrorCode.UNEXPECTED_TENSOR, f"{cut.row!r} is "
                                 f"{entry.shape} at {entry.bits} bits; this plan takes "
                                 f"{self._wanted(cut)} at 1..{cut.bits} bits")
            values = entry.values().astype(self._types[cut.cloud_name], copy=False)
            feeds[cut.cloud_name] = values if self._batched[cut.cloud_name] \
                else values.reshape(cut.shape)
        return feeds

    def answer(self, frame: Frame) -> Frame:
        """The result frame of a tensors frame: the cloud outputs as raw float16.

        FrameError as :meth:`feeds` says, or INTERNAL if `cloud.onnx` fails or an output
        is not finite within float16's range.
        """
        feeds = self.feeds(frame)
        with self._lock:
            try:
                outputs = self._session.run(list(self.output_names), feeds)
            except Exception as exc:  # onnxruntime's error types are not public API
                raise FrameError(FrameErrorCode.INTERNAL, f"cloud.onnx failed: {exc}") from exc
        entries = []
        for name, value in zip(self.output_names, outputs, strict=True):
            try:
                entries.append(TensorEntry.from_values(
                    name, np.asarray(value).astype(np.float32, copy=False), RAW_BITS))
            except (OptionError, FrameError) as exc:
                raise FrameError(FrameErrorCode.INTERNAL, f"output {name!r} cannot be sent "
                                 f"as float16: {exc}") from exc
        return Frame(FrameKind.RESULT, tuple(entries))

    def _wanted(self, cut: CutTensor) -> str:
        shape = f"({self.batch or 'N'}{''.join(f', {d}' for d in cut.shape)})"
        return shape if self.batch else f"{shape} (N >= 1, one N for the whole frame)"


# ------------------------------------------------------------------- reading the manifest
def read_plan_directory(directory: Path) -> Manifest:
    """The manifest of the plan directory `directory`; DeployError if it is not a
    directory, has no plan.json, or its plan.json is not a manifest."""
    if not directory.is_dir():
        raise DeployError(f"{directory}: not a directory (a plan directory holds "
                          f"{MANIFEST} and the ONNX halves `moosplit export` wrote)")
    path = directory / MANIFEST
    if not path.is_file():
        raise DeployError(f"{directory}: no {MANIFEST} (not a plan directory)")
    return Manifest.read(path)


def _field(obj: Mapping[str, Any], key: str, check: Callable[[Any], bool], expected: str,
           where: str) -> Any:
    """obj[key] if `check` accepts it, else DeployError."""
    value = obj.get(key, _MISSING)
    if value is _MISSING or not check(value):
        got = "nothing" if value is _MISSING else f"{json.dumps(value)[:80]}"
        raise DeployError(f"{where}: {key} must be {expected}, got {got}")
    return value


def _is_name(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _is_dims(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value)


def _is_bits(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= RAW_BITS


def _cloud_entry(manifest: Manifest, directory: Path) -> tuple[str, tuple[str, ...]]:
    """The cloud file's name and output names; DeployError for an edge-only plan."""
    where = f"{directory / MANIFEST}: cloud"
    cloud = dataclasses.asdict(manifest.cloud)
    file = _field(cloud, "file", lambda v: v is None or _is_name(v), "a file name or null",
                  where)
    if file is None:
        raise DeployError(f"{directory}: an edge-only plan (cloud.file is null): it has no "
                          "cloud half to serve")
    _field(cloud, "outputs", lambda v: v != [], "a non-empty list", where)
    names = tuple(_field(out, "name", _is_name, "a tensor name", f"{where}.outputs[{i}]")
                  for i, out in enumerate(cloud["outputs"]))
    if len(set(names)) != len(names):
        raise DeployError(f"{where}.outputs: names repeat: {list(names)}")
    return file, names


def _cut_tensors(manifest: Manifest, directory: Path) -> tuple[CutTensor, ...]:
    """The manifest's cut tensors, each field checked for what the server relies on."""
    where = f"{directory / MANIFEST}: cut_tensors"
    if not manifest.cut_tensors:
        raise DeployError(f"{where} must be a non-empty list (a plan with a cloud half "
                          "receives tensors), got []")
    for i, cut in enumerate(manifest.cut_tensors):
        fields = dataclasses.asdict(cut)
        for key, check, expected in (("row", _is_name, "a row name"),
                                     ("cloud_name", _is_name, "a tensor name"),
                                     ("shape", _is_dims, "a list of sizes >= 0"),
                                     ("bits", _is_bits, f"a whole number in 1..{RAW_BITS}")):
            _field(fields, key, check, expected, f"{where}[{i}]")
    cuts = tuple(manifest.cut_tensors)
    for attribute in ("row", "cloud_name"):
        names = [getattr(cut, attribute) for cut in cuts]
        if len(set(names)) != len(names):
            raise DeployError(f"{where}: {attribute} names repeat: {names}")
    return cuts


# ------------------------------------------------------------------------------ cloud.onnx
def onnx_session(path: Path) -> Any:
    """An onnxruntime CPU session of the ONNX file `path` (its own log: errors only);
    DeployError if the file is missing or onnxruntime cannot load it."""
    try:
        import onnxruntime
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(f"serving needs the onnxruntime package: {INSTALL_HINT}") from error
    if not path.is_file():
        raise DeployError(f"{path}: no such file (the manifest's cloud.file)")
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: the server's log is its request lines
    try:
        return onnxruntime.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's error types are not public API
        raise DeployError(f"{path}: onnxruntime cannot load it: "
                          f"{' '.join(str(exc).split())}") from None


def _batch_of(cut: CutTensor, dims: list, path: Path) -> tuple[bool, int | None]:
    """Whether the ONNX input of `cut` (dimensions `dims`) has a batch dimension, and the
    batch it fixes (None if dynamic); DeployError if it disagrees with the manifest."""
    batched = len(dims) == len(cut.shape) + 1
    rest = dims[1:] if batched else dims
    if len(rest) != len(cut.shape) or any(
            isinstance(d, int) and d != size for d, size in zip(rest, cut.shape, strict=True)):
        raise DeployError(f"{path}: input {cut.cloud_name!r} has shape {dims}; the manifest "
                          f"says {list(cut.shape)} per sample for {cut.row!r}")
    if not batched:
        return False, 1
    return True, dims[0] if isinstance(dims[0], int) and dims[0] > 0 else None
