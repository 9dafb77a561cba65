"""`moosplit validate`: an exported plan checked against its model and its prediction.

:func:`validate` reads a plan directory (plan.json, edge.onnx, cloud.onnx, as `moosplit
export` writes them), loads the model the manifest names (as export did: the profile's
batch and rows, the manifest's ``seed``) and, on input samples (the profiler's calibration
inputs, or a folder of images, with a seed other than export's), reports three things:

- **equivalence** (:func:`check_equivalence`): the same plan re-exported with every bit
  at the reference 16 into a temporary folder; edge.onnx then cloud.onnx against the full
  model (the profiler's run, no quantisation), the cut tensors handed over as float32
  and through frames as raw float16 (each cut tensor and the result rounded to float16).
  Differences are relative to the largest magnitude of each model output:
  :data:`FLOAT32_TOLERANCE` and :data:`FLOAT16_TOLERANCE`.
- **quantised** (:func:`check_quantised`): the exported halves at the plan's bits, the cut
  tensors through frames at the plan's bits (quantised and packed as a sender does),
  against the full-precision model: output MSE, and top-1 agreement when the model has
  one output that is a class vector: the task-level number the profile's error column
  stands for.
- **a real run** (:func:`measure_run`): `moosplit serve` started as a subprocess on
  127.0.0.1 (port 0, bounded by request count and duration), edge.onnx run here, the cut
  tensors quantised and packed into a frame, sent through a :class:`PacedSender` at the
  problem's bandwidth and rtt, the answer read; per run the edge, pack, transmit (with the
  rtt), cloud (the server's own ``cloud_ms`` from its request log), unpack (decoding and
  dequantising the frame, measured here on the same bytes; part of the server's cloud
  time), return (waiting for the answer beyond the server's cloud time) and end-to-end
  times; medians over the runs after the warm-up ones, beside the
  manifest's ``predicted`` parts. Each part that differs from its prediction by more than
  :data:`MARGIN` gets a note saying why, derived from the profile's metadata
  (:func:`explain`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DeployError, OptionError
from ..profiles.profile import Profile
from ..validation import Number
from .client import Connection, PacedSender
from .cloud import onnx_session, read_plan_directory
from .frames import Frame, FrameKind, TensorEntry, decode_frame, encode_frame
from .manifest import CutTensor, Manifest
from .packing import RAW_BITS

FLOAT32_TOLERANCE = 1e-4
"""Equivalence with float32 hand-over: the largest difference to the full model, relative
to the output's largest magnitude (float32 kernels of a cut graph may sum in another
order and fuse differently; nothing more)."""
FLOAT16_TOLERANCE = 1e-2
"""Equivalence through frames at 16 bits: cut tensors and results rounded to float16
(a relative step of 2^-11 per value, which the cloud's layers may grow)."""
MARGIN = 0.25
"""A measured part that differs from its prediction by more than this share (and more
than :data:`MARGIN_MS`) gets a note saying why."""
MARGIN_MS = 0.5
"""...and by more than this many milliseconds (timer and scheduler noise)."""
SERVER_START_SECONDS = 120.0
"""How long the server subprocess may take to say where it listens."""

_SAMPLES = Number(whole=True, at_least=1)
_RUNS = Number(whole=True, at_least=1)
_WARMUP = Number(whole=True, at_least=0)
_LOG_CLOUD = re.compile(r" ok tensors=\S+ in=\d+ out=\d+ ms=[\d.]+ cloud_ms=([\d.]+)")


# ------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class Equivalence:
    """Edge then cloud at reference precision against the full model, over `samples`
    inputs: largest absolute difference and largest difference relative to each output's
    largest magnitude, handing the cut tensors over as float32 and through frames as
    float16."""

    samples: int
    max_abs: float
    max_rel: float
    max_abs_float16: float
    max_rel_float16: float
    tolerance: float = FLOAT32_TOLERANCE
    tolerance_float16: float = FLOAT16_TOLERANCE

    @property
    def passed(self) -> bool:
        """Whether both relative differences are within their tolerances."""
        return self.max_rel <= self.tolerance and self.max_rel_float16 <= self.tolerance_float16


@dataclass(frozen=True)
class Quantised:
    """The plan at its bits against the full-precision model over `samples` inputs:
    output MSE (per element), the MSE relative to the mean square of the model's output,
    and the share of samples whose top-1 class agrees (None when the output is not a
    class vector; `note` says why)."""

    samples: int
    mse: float
    relative_mse: float
    top1_agreement: float | None
    note: str = ""


@dataclass(frozen=True)
class Part:
    """One part of the latency: predicted and measured milliseconds (None where there is
    no such number) and a note on why they differ.

    Example:
        >>> Part("edge", predicted_ms=2.0, measured_ms=3.0).ratio
        1.5
        >>> Part("pack", None, 0.4).ratio is None
        True
    """

    name: str
    predicted_ms: float | None
    measured_ms: float | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """measured / predicted, None unless both are known and predicted > 0."""
        if self.predicted_ms is None or self.measured_ms is None or self.predicted_ms <= 0:
            return None
        return self.measured_ms / self.predicted_ms


@dataclass(frozen=True)
class Run:
    """The real run: its parts (medians of `runs` runs after `warmup`), the frame's bytes,
    the plan's predicted ``tx_bytes``, the answer's bytes, and the host's load average
    (over a minute, None where unknown) and cores when it started."""

    parts: tuple[Part, ...]
    runs: int
    warmup: int
    frame_bytes: int
    tx_bytes: float
    answer_bytes: int = 0
    load_average: float | None = None
    cores: int = 1

    def part(self, name: str) -> Part:
        """The part called `name`."""
        return next(p for p in self.parts if p.name == name)


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate` found for one plan directory; `inputs` says what the
    checks ran on, `skipped` why the real run was left out (empty if it ran)."""

    directory: str
    manifest: Manifest
    inputs: str
    equivalence: Equivalence
    quantised: Quantised
    run: Run | None
    skipped: str = ""

    def table(self) -> str:
        """The report as text: the checks, then the parts, predicted beside measured."""
        e, q = self.equivalence, self.quantised
        lines = [f"inputs: {self.inputs}",
                 f"equivalence ({e.samples} samples, every bit at 16): "
                 f"{'pass' if e.passed else 'FAIL'}; float32 hand-over max abs "
                 f"{e.max_abs:.3g}, max rel {e.max_rel:.3g} (tolerance {e.tolerance:g}); "
                 f"float16 frames max abs {e.max_abs_float16:.3g}, max rel "
                 f"{e.max_rel_float16:.3g} (tolerance {e.tolerance_float16:g})",
                 f"quantised ({q.samples} samples, the plan's bits, frames as sent): output "
                 f"MSE {q.mse:.4g} ({q.relative_mse:.3g} of the output's mean square); "
                 + (f"top-1 agreement {q.top1_agreement:.0%}" if q.top1_agreement is not None
                    else f"no top-1: {q.note}")]
        if self.run is None:
            lines.append(f"real run: skipped ({self.skipped})")
            return "\n".join(lines)
        r = self.run
        load = "" if r.load_average is None else \
            f"; load average {r.load_average:.2f} on {r.cores} cores"
        lines.append(f"real run: medians of {r.runs} runs after {r.warmup} warm-up; frame "
                     f"{r.frame_bytes} bytes (predicted tx_bytes {r.tx_bytes:.0f}), answer "
                     f"{r.answer_bytes} bytes{load}")
        lines.append(f"{'part':<14}{'predicted ms':>14}{'measured ms':>14}{'ratio':>8}")
        for p in r.parts:
            lines.append(f"{p.name:<14}{_ms(p.predicted_ms):>14}{_ms(p.measured_ms):>14}"
                         f"{'' if p.ratio is None else f'{p.ratio:.2f}':>8}")
        notes = [f"  {p.name}: {p.note}" for p in r.parts if p.note]
        return "\n".join(lines + (["notes:"] + notes if notes else []))

    def csv_rows(self) -> list[list[str]]:
        """One CSV row per part of the real run (none without one): part, predicted_ms,
        measured_ms, ratio, note; empty cells where there is no number."""
        parts = self.run.parts if self.run is not None else ()
        return [[p.name, _cell(p.predicted_ms), _cell(p.measured_ms), _cell(p.ratio), p.note]
                for p in parts]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


# ------------------------------------------------------------------------------ the halves
class Halves:
    """edge.onnx and cloud.onnx of a plan directory as onnxruntime sessions, run as the
    manifest wires them."""

    def __init__(self, directory: str | os.PathLike, manifest: Manifest) -> None:
        directory = Path(directory)
        self.manifest = manifest
        self.edge = onnx_session(directory / manifest.edge.file) if manifest.edge.file \
            else None
        self.cloud = onnx_session(directory / manifest.cloud.file) if manifest.cloud.file \
            else None

    def edge_values(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The input and edge.onnx's outputs by name."""
        m = self.manifest
        values = {m.input.name: x}
        if self.edge is not None:
            values.update(zip(m.edge.outputs, self.edge.run(m.edge.outputs, {m.input.name: x}),
                              strict=True))
        return values

    def outputs(self, x: np.ndarray,
                hand_over: Callable[[Sequence[CutTensor], dict[str, np.ndarray]],
                                    dict[str, np.ndarray]] | None = None) -> list[np.ndarray]:
        """The model outputs of the split for input `x`: the cut tensors go from edge to
        cloud through `hand_over` (cut tensors, edge values -> cloud feeds by
        ``cloud_name``; None: as they are)."""
        m = self.manifest
        values = self.edge_values(x)
        if self.cloud is None:
            return [values[name] for name in m.edge.outputs]
        feeds = hand_over(m.cut_tensors, values) if hand_over is not None else {
            t.cloud_name: values[t.edge_name] for t in m.cut_tensors}
        return self.cloud.run([o.name for o in m.cloud.outputs], feeds)


def through_frames(bits: int | None) -> Callable[[Sequence[CutTensor], dict[str, np.ndarray]],
                                                  dict[str, np.ndarray]]:
    """A hand-over that sends the cut tensors through an encoded and decoded tensors frame,
    each at `bits` (None: at the manifest's bits, as a sender does)."""

    def hand_over(cuts: Sequence[CutTensor], values: dict[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
        data = pack_frame(cuts, values, bits)
        frame = decode_frame(data, max_bytes=len(data))
        return {t.cloud_name: entry.values().astype(values[t.edge_name].dtype, copy=False)
                for t, entry in zip(cuts, frame.tensors, strict=True)}

    return hand_over


def pack_frame(cuts: Sequence[CutTensor], values: dict[str, np.ndarray],
               bits: int | None = None) -> bytes:
    """The encoded tensors frame of the cut tensors' values, each quantised to `bits`
    (None: its manifest bits) and packed."""
    entries = tuple(TensorEntry.from_values(t.row, values[t.edge_name],
                                            t.bits if bits is None else bits) for t in cuts)
    return encode_frame(Frame(FrameKind.TENSORS, entries))


def _float16(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Arrays rounded to float16, as a result frame carries them."""
    return [np.asarray(a, np.float32).astype(np.float16).astype(np.float32) for a in arrays]


# ------------------------------------------------------------------------------ the model
@dataclass(frozen=True)
class Setting:
    """What the checks need besides the plan directory: the manifest, the plan's problem
    (for re-exporting), the loaded model (a profiler ModelRunner), the input samples and
    where they come from."""

    directory: Path
    manifest: Manifest
    problem: Any
    runner: Any
    samples: np.ndarray
    origin: str

    def batches(self) -> list[np.ndarray]:
        """The samples in batches of the files' batch."""
        b = self.manifest.batch
        return [self.samples[k:k + b] for k in range(0, len(self.samples), b)]

    @functools.cached_property
    def full(self) -> list[list[np.ndarray]]:
        """Per batch, the full model's outputs at reference precision (the profiler's run,
        no quantisation), in the manifest's order of model outputs; computed once."""
        profile = self.problem.profile
        sinks = [profile.names[t] for t in np.flatnonzero(profile.sinks)]
        out = []
        for x in self.batches():
            values = self.runner.run(x)
            out.append([np.asarray(a) for row in sinks for a in values[row]])
        return out


def load_setting(directory: str | os.PathLike, *, samples: int,
                 calibration: str | os.PathLike | None, seed: int,
                 profile: str | Profile | None = None, model: str | Any = None) -> Setting:
    """Read the plan directory, load its profile and model (`profile`, `model`: instead
    of the manifest's: a path or name, or a loaded Profile and profiler ModelRunner;
    relative paths in the manifest are tried from the working directory, then from the
    plan directory's parent and the plan directory) and make `samples` input samples."""
    from ..problems.network import Network
    from ..problems.problem import SplitProblem
    from ..profiles.bundled import load_profile
    from .export import input_samples, load_runner

    directory = Path(directory)
    manifest = read_plan_directory(directory)
    table = profile if isinstance(profile, Profile) else load_profile(
        profile or _located(manifest.profile, directory))
    problem = SplitProblem(table, Network(**manifest.network),
                           bits=tuple(sorted({*manifest.bits, RAW_BITS})),
                           mode="prefix" if manifest.plan.split is not None else "cut")
    name = model or _located(manifest.model, directory)
    runner, _ = load_runner(name, table, tuple(manifest.input.shape), manifest.seed)
    from ..profilers.loading import default_normalisation

    # the model's own normalisation of image crops, as export used (a loaded model's by
    # the name the manifest recorded for it)
    normalisation = default_normalisation(name if isinstance(name, str) else manifest.model)
    x, origin = input_samples(runner, calibration, samples, seed, True, normalisation)
    return Setting(directory, manifest, problem, runner, x, origin)


def _located(name: str, directory: Path) -> str:
    """`name` as given, or relative to the plan directory's parent or the plan directory
    when that names an existing file and the name as given does not (a bundled profile's
    or built-in model's name stays as it is)."""
    if Path(name).is_file() or os.path.isabs(name):
        return name
    directory = directory.resolve()
    for base in (directory.parent, directory):
        if (base / name).is_file():
            return str(base / name)
    return name


# ------------------------------------------------------------------------------ (a), (b)
def check_equivalence(setting: Setting) -> Equivalence:
    """Re-export the plan with every bit at 16 into a temporary folder and compare the
    split with the full model (see the module docstring)."""
    from ..plans import Plan
    from .export import export_plan

    m, profile = setting.manifest, setting.problem.profile
    nodes = tuple(m.plan.edge_nodes)
    plan = Plan(m.plan.split if m.plan.split is not None else -1, nodes,
                tuple(RAW_BITS if profile.has_weights[profile.index[n]] else None
                      for n in nodes), (RAW_BITS,) * len(nodes))
    with tempfile.TemporaryDirectory(prefix="moosplit-validate-") as folder:
        reference = export_plan(setting.problem, plan, setting.runner, folder,
                                seed=m.seed)
        halves = Halves(folder, reference)
        diffs = {"float32": [], "float16": []}
        for x, full in zip(setting.batches(), setting.full, strict=True):
            diffs["float32"].append(_differences(halves.outputs(x), full))
            diffs["float16"].append(_differences(
                _float16(halves.outputs(x, through_frames(RAW_BITS))), full))
    (a32, r32), (a16, r16) = (np.max(np.array(d), axis=0) for d in diffs.values())
    return Equivalence(len(setting.samples), float(a32), float(r32), float(a16), float(r16))


def _differences(got: list[np.ndarray], full: list[np.ndarray]) -> tuple[float, float]:
    """Largest absolute difference over the outputs, and largest relative to each
    output's largest magnitude."""
    if len(got) != len(full):
        raise DeployError(f"the split gives {len(got)} outputs, the model {len(full)}")
    worst_abs = worst_rel = 0.0
    for a, b in zip(got, full, strict=True):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        if a.shape != b.shape:
            raise DeployError(f"an output of the split has shape {a.shape}, the model's "
                              f"{b.shape}")
        diff = float(np.max(np.abs(a - b), initial=0.0))
        if not math.isfinite(diff):
            diff = math.inf
        worst_abs = max(worst_abs, diff)
        worst_rel = max(worst_rel, diff / max(float(np.max(np.abs(b), initial=0.0)), 1e-30))
    return worst_abs, worst_rel


def check_quantised(setting: Setting) -> Quantised:
    """The exported plan at its bits, the cut tensors through frames at the manifest's
    bits, against the full-precision model (see the module docstring)."""
    halves = Halves(setting.directory, setting.manifest)
    got = [_float16(halves.outputs(x, through_frames(None))) for x in setting.batches()]
    full = setting.full
    squared = [np.mean((np.asarray(g, np.float64) - f) ** 2) for run_g, run_f in
               zip(got, full, strict=True) for g, f in zip(run_g, run_f, strict=True)]
    power = [np.mean(np.asarray(f, np.float64) ** 2) for run in full for f in run]
    mse = float(np.mean(squared))
    classes, why = _class_vector(full[0])
    top1 = None
    if classes:
        agree = [np.argmax(g[0], axis=-1) == np.argmax(f[0], axis=-1)
                 for g, f in zip(got, full, strict=True)]
        top1 = float(np.mean(np.concatenate(agree)))
    return Quantised(len(setting.samples), mse, mse / max(float(np.mean(power)), 1e-30),
                     top1, why)


def _class_vector(outputs: list[np.ndarray]) -> tuple[bool, str]:
    """Whether the model's outputs are one class vector per sample, or why not."""
    if len(outputs) != 1:
        return False, f"the model has {len(outputs)} outputs, not one class vector"
    shape = np.shape(outputs[0])
    if len(shape) != 2 or shape[1] < 2:
        return False, (f"the output has shape {'x'.join(map(str, shape[1:])) or 'scalar'} "
                       "per sample, not a vector of class scores")
    return True, ""


# ------------------------------------------------------------------------------ (c)
def measure_run(setting: Setting, *, runs: int, warmup: int, margin: float = MARGIN,
                timeout: float = 60.0) -> Run:
    """Serve the plan's cloud half in a `moosplit serve` subprocess on 127.0.0.1 and time
    `warmup` + `runs` inferences through a link paced at the problem's network (see the
    module docstring); the parts are medians of the last `runs`. DeployError for an
    edge-only plan (nothing to serve) or a server that does not start."""
    m = setting.manifest
    if m.cloud.file is None:
        raise DeployError("an edge-only plan: there is no cloud half to serve")
    halves = Halves(setting.directory, m)
    network = m.network
    sender = PacedSender(float(network["bandwidth_mbps"]), float(network.get("rtt_ms") or 0))
    total = warmup + runs
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    process, (host, port) = start_server(setting.directory, total, timeout)
    try:
        with Connection(host, port, timeout=timeout, sender=sender) as link:
            times, sizes = _time_runs(link, halves, setting.batches()[0], total)
        times["cloud"] = _server_cloud_ms(process, total, timeout)
    finally:
        process.kill()
        process.wait()
    times["return"] = [w - c for w, c in zip(times.pop("wait"), times["cloud"], strict=True)]
    measured = {name: float(np.median(v[warmup:])) for name, v in times.items()}
    if m.edge.file is None:
        measured["edge"] = 0.0  # the input is sent as received
    parts = _parts(m, measured)
    run = Run(parts, runs, warmup, sizes[0], float(m.predicted.get("tx_bytes") or 0),
              sizes[1], load, os.cpu_count() or 1)
    notes = explain(run, setting, margin)
    return dataclasses.replace(run, parts=tuple(
        dataclasses.replace(p, note=notes.get(p.name, "")) for p in parts))


def _time_runs(link: Connection, halves: Halves, x: np.ndarray, total: int
               ) -> tuple[dict[str, list[float]], tuple[int, int]]:
    """`total` inferences of `x` on the connection: per run, milliseconds of the edge
    half, packing, sending (paced), waiting for the answer, reading it and unpacking the
    frame sent (measured apart, on its bytes); and the bytes of the frame and answer."""
    m = halves.manifest
    times: dict[str, list[float]] = {k: [] for k in ("edge", "pack", "transmit", "wait",
                                                     "unpack", "end-to-end")}
    for _ in range(total):
        clock = [time.perf_counter()]
        values = halves.edge_values(x)
        clock.append(time.perf_counter())
        data = pack_frame(m.cut_tensors, values)
        clock.append(time.perf_counter())
        link.send(data)
        clock.append(time.perf_counter())
        answer = link.receive()
        clock.append(time.perf_counter())
        if answer.kind != FrameKind.RESULT:
            raise DeployError(f"the server refused the frame: {answer.message}")
        _ = [entry.values() for entry in answer.tensors]
        clock.append(time.perf_counter())
        _ = [e.values() for e in decode_frame(data, max_bytes=len(data)).tensors]
        clock.append(time.perf_counter())
        ms = 1000 * np.diff(clock)
        for name, value in zip(("edge", "pack", "transmit", "wait"), ms, strict=False):
            times[name].append(float(value))
        times["unpack"].append(float(ms[5]))
        times["end-to-end"].append(1000 * (clock[4] - clock[0]))
    return times, (len(data), len(encode_frame(answer)))


def _parts(m: Manifest, measured: dict[str, float]) -> tuple[Part, ...]:
    p = m.predicted
    transmit = None if p.get("transmit_ms") is None else \
        float(p["transmit_ms"]) + float(p.get("rtt_ms") or 0)
    return (Part("edge", p.get("edge_ms"), measured["edge"]),
            Part("pack", _packing(p, "pack_ms"), measured["pack"]),
            Part("transmit+rtt", transmit, measured["transmit"]),
            Part("cloud", p.get("cloud_ms"), measured["cloud"]),
            Part("unpack", _packing(p, "unpack_ms"), measured["unpack"]),
            Part("return", None, measured["return"]),
            Part("end-to-end", p.get("latency_ms"), measured["end-to-end"]))


def _packing(predicted: dict, key: str) -> float | None:
    """A packing part of the prediction: None where the profile states no packing times
    (a manifest written before they were modelled has no such key; 0 means not modelled)."""
    value = predicted.get(key)
    return float(value) if value else None


def start_server(directory: Path, requests: int, timeout: float
                 ) -> tuple[subprocess.Popen, tuple[str, int]]:
    """`moosplit serve directory` as a subprocess on 127.0.0.1, port 0, stopping by
    itself after `requests` requests or `SERVER_START_SECONDS` + `requests` x `timeout`
    seconds; the process and the address it printed. DeployError if it does not start."""
    duration = SERVER_START_SECONDS + requests * timeout
    package = str(Path(__file__).resolve().parents[2])  # this copy of moosplit
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [package, *filter(None, [os.environ.get("PYTHONPATH")])])}
    process = subprocess.Popen(
        [sys.executable, "-m", "moosplit", "serve", str(directory), "--host", "127.0.0.1",
         "--port", "0", "--max-requests", str(requests), "--duration", f"{duration:g}",
         "--idle-timeout", f"{timeout:g}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready, _, _ = select.select([process.stdout], [], [], SERVER_START_SECONDS)
        line = process.stdout.readline() if ready else ""
        found = re.match(r"listening on (\S+):(\d+)$", line.strip())
        if not found:
            process.kill()
            _, err = process.communicate(timeout=10)
            raise DeployError(f"moosplit serve {directory} did not start: "
                              f"{' '.join((err or line or 'no answer').split())[:300]}")
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process, (found.group(1), int(found.group(2)))


def _server_cloud_ms(process: subprocess.Popen, requests: int, timeout: float) -> list[float]:
    """The ``cloud_ms`` of each request from the server's log, once it stopped by itself
    after `requests` requests."""
    _, err = process.communicate(timeout=timeout)
    cloud = [float(found.group(1)) for found in map(_LOG_CLOUD.search, err.splitlines())
             if found]
    if len(cloud) != requests:
        raise DeployError(f"the server logged {len(cloud)} answered requests, expected "
                          f"{requests}: {' '.join(err.split())[:300]}")
    return cloud


# ------------------------------------------------------------------------------ item 5
def explain(run: Run, setting: Setting, margin: float = MARGIN) -> dict[str, str]:
    """A note per part of `run` whose measurement differs from its prediction by more
    than `margin` (relative) and :data:`MARGIN_MS`, or that the latency model does not
    predict, saying why from what is known: the profile's device metadata, this host and
    its load, the frames sent and received."""
    from ..profilers.builder import host_description

    meta = setting.problem.profile.metadata
    m = setting.manifest
    load = "" if run.load_average is None else \
        f"; load average {run.load_average:.2f} on {run.cores} cores when the run started"
    host = f"{host_description()}, {run.cores} cores{load}"
    measured = {p.name: p.measured_ms for p in run.parts}
    predicted = {p.name: p.predicted_ms for p in run.parts}
    packing = _first_clause(meta.get("packing", "no metadata"))
    notes = {
        "pack": ("not in the prediction: the profile states no packing time "
                 "(pack_ns_per_element)" if predicted["pack"] is None else
                 f"predicted from the profile's pack_ns_per_element ({packing})"),
        "unpack": ("not in the prediction: decoding and dequantising the frame, measured "
                   "here on its bytes; the server does it inside its cloud time"
                   if predicted["unpack"] is None else
                   f"predicted from the profile's unpack_ns_per_element ({packing}); the "
                   "server does it inside its cloud time"),
        "return": f"not in the prediction: waiting for the answer beyond the server's cloud "
                  f"time: the server reading the frame's end, the {run.answer_bytes}-byte "
                  f"result's way back (unpaced) and scheduling"
                  + ("; below 0: the server had begun before the sender's clock stopped "
                     "(this process was scheduled out between its last send and reading "
                     "the clock), so the parts overlap" if measured["return"] < 0 else ""),
    }
    differs = {p.name for p in run.parts if p.ratio is not None
               and abs(p.ratio - 1) > margin and abs(p.measured_ms - p.predicted_ms) > MARGIN_MS}
    if "edge" in differs:
        notes["edge"] = (f"predicted for edge device {meta.get('edge_device', 'unknown')} "
                         f"({_first_clause(meta.get('edge_ms', 'no metadata'))}); measured "
                         f"here: edge.onnx in one onnxruntime session on this host ({host})")
    if "cloud" in differs:
        notes["cloud"] = (f"predicted as the sum of per-row times "
                          f"({_first_clause(meta.get('cloud_ms', 'no metadata'))}); measured:"
                          f" the server's one onnxruntime session of cloud.onnx (graph "
                          f"optimisations fuse nodes; onnxruntime's default threads) on this "
                          f"host ({host}), including checking, unpacking and encoding")
    if "transmit+rtt" in differs:
        bandwidth, rtt = float(m.network["bandwidth_mbps"]), float(m.network.get("rtt_ms") or 0)
        floor = rtt + 8 * run.frame_bytes / (bandwidth * 1e3)
        notes["transmit+rtt"] = (
            f"the frame is {run.frame_bytes} bytes against {run.tx_bytes:.0f} predicted "
            f"(header, names, scales, rounding to whole bytes), so the paced minimum is "
            f"{floor:.3f} ms; the {measured['transmit+rtt'] - floor:.3f} ms above it are the "
            f"sender's sleeps ending late and its socket sends, on this host ({host})")
    if "end-to-end" in differs:
        culprits = [n for n in ("edge", "transmit+rtt", "cloud") if n in differs]
        notes["end-to-end"] = (
            (f"follows {', '.join(culprits)} (above); " if culprits else "")
            + f"it also holds packing ({measured['pack']:.3f} ms) and the answer's return "
            f"({measured['return']:.3f} ms), which the model does not predict")
    return notes


def _first_clause(text: str) -> str:
    """The first clause of a metadata text (up to its first ';'), "this host" being the
    one the profile was made on."""
    return text.split(";")[0].strip().replace("on this host", "on the profiling host")


# ------------------------------------------------------------------------------ all of it
def validate(directory: str | os.PathLike, *, samples: int = 8, runs: int = 10,
             warmup: int = 2, calibration: str | os.PathLike | None = None, seed: int = 1,
             profile: str | Profile | None = None, model: str | Any = None,
             margin: float = MARGIN, timeout: float = 60.0) -> ValidationReport:
    """Check the plan directory `directory` against its model and its prediction.

    samples: input samples for the equivalence and quantised checks (the profiler's
    calibration inputs with `seed`, by default 1 where export calibrated with the
    manifest's seed, or crops of the images in folder `calibration`). runs, warmup: timed
    and untimed inferences of the real run. profile, model: instead of the manifest's
    (for a profile or model moved since the export; or a loaded Profile and profiler
    ModelRunner). margin: a part differing from its
    prediction by more than this share gets a note. timeout: seconds any one send or
    receive may wait.

    Returns a :class:`ValidationReport`; an edge-only plan gets no real run
    (``report.skipped`` says so). DeployError for a directory that is not a plan
    directory or a server that does not start; OptionError for a bad option.
    """
    samples, runs = _SAMPLES("samples", samples), _RUNS("runs", runs)
    warmup = _WARMUP("warmup", warmup)
    if not 0 < margin < 10:
        raise OptionError("margin", "a share > 0 and < 10", margin)
    setting = load_setting(directory, samples=samples, calibration=calibration, seed=seed,
                           profile=profile, model=model)
    equivalence = check_equivalence(setting)
    quantised = check_quantised(setting)
    run, skipped = None, ""
    if setting.manifest.cloud.file is None:
        skipped = "an edge-only plan: no cloud half to serve"
    else:
        run = measure_run(setting, runs=runs, warmup=warmup, margin=margin, timeout=timeout)
    return ValidationReport(str(directory), setting.manifest, setting.origin, equivalence,
                            quantised, run, skipped)
