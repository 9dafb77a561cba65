"""Turn a loaded model into a profile: structure, latencies (measured or modelled), errors."""

from __future__ import annotations

import math
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..profiles.profile import Profile
from ..profiles.schema import (
    REFERENCE_BITS,
    activation_error_column,
    bit_latency_column,
    weight_error_column,
)
from ..progress import ProgressCallback
from .fusion import fused_metadata
from .graph import LayerGraph, ModelRunner

HOST = "host"
"""Device name meaning 'measure on this machine' rather than a device model."""


@dataclass(frozen=True)
class Measurement:
    """How host latencies are measured: untimed warm-up runs, then the median of `runs`."""

    warmup: int = 3
    runs: int = 10

    def __post_init__(self) -> None:
        if self.warmup < 0 or self.runs < 1:
            raise ValueError(f"Measurement needs warmup >= 0 and runs >= 1, got "
                             f"warmup={self.warmup}, runs={self.runs}")


def cpu_model() -> str:
    """This machine's CPU model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                name = line.split(":", 1)[1].strip() if line.startswith("model name") else ""
                if name:
                    return name
    except OSError:
        pass
    return platform.processor() or platform.machine()


def host_description() -> str:
    """The CPU model and OS of this machine, for the metadata of measured latencies."""
    return f"{cpu_model()} ({platform.system()})"


class _Latencies:
    """Edge and cloud latency columns of one graph, measuring the host at most once."""

    def __init__(self, runner: ModelRunner, batch: np.ndarray, measurement: Measurement,
                 progress: ProgressCallback | None) -> None:
        self.runner = runner
        self.batch = batch
        self.measurement = measurement
        self.progress = progress
        self._host: np.ndarray | None = None

    def host(self) -> np.ndarray:
        if self._host is None:
            self._host = self.runner.time_nodes(
                self.batch, warmup=self.measurement.warmup, runs=self.measurement.runs,
                progress=self.progress)
        return self._host

    def column(self, device: object) -> tuple[np.ndarray, str]:
        """Reference-precision latency per row, and how it was obtained."""
        if device == HOST:
            m = self.measurement
            return self.host(), (
                f"measured on this host, {host_description()}: {self.runner.timing}, "
                f"median of {m.runs} runs after {m.warmup} warm-up runs, "
                f"batch {self.runner.graph.batch}")
        ms = np.asarray(device.latency_ms(self.runner.graph, REFERENCE_BITS, REFERENCE_BITS))
        return ms, f"modelled: {device.describe()}"


def _resolve_device(device: object) -> object:
    if isinstance(device, str) and device != HOST:
        from .devices import get_device

        return get_device(device)
    return device


def build_profile(
    runner: ModelRunner,
    *,
    edge: object = HOST,
    cloud: object = HOST,
    bits: Sequence[int] = (2, 4, 6, 8),
    errors: str | None = "mse",
    calibration: np.ndarray | None = None,
    calibration_origin: str = "",
    timing_batch: np.ndarray | None = None,
    measurement: Measurement = Measurement(),
    input_bits: int | None = None,
    metadata: Mapping[str, str] | None = None,
    progress: ProgressCallback | None = None,
) -> Profile:
    """Build a validated profile from a loaded model.

    `edge` and `cloud` are ``"host"`` (measure on this machine with
    :meth:`ModelRunner.time_nodes`), a device preset name, or a device model from
    :mod:`moosplit.profilers.devices`. A device model whose latency depends on bit-widths
    (a roofline) adds the ``edge_ms_w{bw}a{ba}`` columns, and one with a power figure adds
    ``edge_mj``. `errors` is ``"mse"`` or ``"output"`` (see
    :func:`moosplit.profilers.quant_error.estimate_errors`, run on `calibration`) or None
    for a reference-precision profile without error columns. `metadata` is added to what
    the builder records (model, batch, devices, how each column was obtained).
    `input_bits` is the input row's ``out_bits``: by default 8 for a real-valued input
    (8-bit pixels), and the bits a token id needs, ``ceil(log2(vocab))``, for token ids.
    `timing_batch` defaults to seeded standard normal values, or random token ids.
    """
    graph = runner.graph
    edge, cloud = _resolve_device(edge), _resolve_device(cloud)
    bits = tuple(sorted({int(b) for b in bits} - {REFERENCE_BITS}))
    vocab = graph.input_vocab
    if input_bits is None:
        input_bits = 8 if vocab is None else max(1, math.ceil(math.log2(vocab)))
    if timing_batch is None:
        rng = np.random.default_rng(0)
        timing_batch = (rng.standard_normal(graph.input_shape).astype(np.float32)
                        if vocab is None else rng.integers(0, vocab, graph.input_shape))
    latencies = _Latencies(runner, timing_batch, measurement, progress)
    edge_ms, edge_how = latencies.column(edge)
    cloud_ms, cloud_how = latencies.column(cloud)
    columns: dict[str, object] = _structure_columns(graph)
    columns["edge_ms"] = edge_ms
    columns["cloud_ms"] = cloud_ms
    info: dict[str, str] = {
        "model": graph.model,
        "batch": str(graph.batch),
        "input_shape": "x".join(str(d) for d in graph.input_shape[1:]),
        **({} if vocab is None else {"input": TOKEN_INPUT.format(vocab=vocab)}),
        "edge_device": HOST if edge == HOST else edge.name,
        "cloud_device": HOST if cloud == HOST else cloud.name,
        "edge_ms": edge_how,
        "cloud_ms": cloud_how,
        "structure": f"read from the model graph by moosplit ({_runner_kind(runner)}): "
                     "out_elems per sample from shape inference, weight_elems from its "
                     "float parameters, macs from one formula per operator",
    }
    with_errors = errors is not None and bool(bits)
    if edge != HOST:
        if with_errors:  # a bit-width exists in a profile only with its error columns
            columns.update(_bit_latency_columns(edge, graph, bits, edge_ms))
        energy = edge.energy_mj(graph, REFERENCE_BITS, REFERENCE_BITS)
        if energy is not None:
            columns["edge_mj"] = np.asarray(energy, float)
            info["edge_mj"] = (f"modelled: compute power x latency of {edge.name} at the "
                               "reference 16 bits (the format has one energy column, so "
                               "quantised plans are charged the 16-bit energy)")
    if with_errors:
        if calibration is None:
            raise ValueError("errors need calibration inputs (see "
                             "moosplit.profilers.calibration.calibration_batch)")
        from .quant_error import estimate_errors

        # runs in batches of the profile's own batch: fixed-batch graphs need it, and the
        # output mode quantises a batch as one tensor, as deployment would
        if len(calibration) == 0 or len(calibration) % graph.batch:
            raise ValueError(f"calibration has {len(calibration)} samples: give a positive "
                             f"multiple of the profile's batch ({graph.batch})")
        table = estimate_errors(runner, calibration, bits, mode=errors,
                                batch_size=graph.batch, progress=progress)
        for b in bits:
            columns[weight_error_column(b)] = table.weight[b]
            columns[activation_error_column(b)] = table.activation[b]
        info["errors"] = table.method
        info["calibration"] = calibration_origin or f"{len(calibration)} samples"
    else:
        info["errors"] = "none: reference precision only (no werr/aerr columns)"
    info["reference_dtype"] = reference_dtype(runner, timing_batch)
    fused = fused_metadata(graph)
    info["fused"] = fused or "none: every row is one node of the model graph"
    if graph.notes:
        info["notes"] = "; ".join(graph.notes)
    info.update(metadata or {})
    frame = pd.DataFrame(columns)
    frame["out_bits"] = [input_bits] + [""] * (graph.n_rows - 1)
    return Profile.from_frame(frame, info, source=graph.model)


TOKEN_INPUT = "token ids in [0, {vocab}), int64"
"""The ``input`` metadata of a profile whose model reads token ids."""


def input_vocab(metadata: Mapping[str, str]) -> int | None:
    """The vocabulary a profile's ``input`` metadata gives (None: not token ids)."""
    pattern = re.escape(TOKEN_INPUT).replace(re.escape("{vocab}"), r"(\d+)")
    found = re.fullmatch(pattern, metadata.get("input", ""))
    return int(found.group(1)) if found else None


def _runner_kind(runner: ModelRunner) -> str:
    inner = getattr(runner, "inner", None)  # a FusedModel's front end
    return f"{type(inner).__name__}, fused" if inner is not None else type(runner).__name__


def reference_dtype(runner: ModelRunner, batch: np.ndarray) -> str:
    """The float type of the tensors the model passes between rows, at reference
    precision: the widest over the float outputs of rows 1..N in one run on `batch`
    (``float32`` for an fp32 ONNX model or torch module). A deployment sends cut tensors
    in this type unless told otherwise; the cost model charges reference-precision
    tensors 16 bits (SPEC section 4) whatever it is."""
    outputs = runner.run(batch)
    widths = {np.dtype(a.dtype) for name in runner.graph.names[1:] for a in outputs[name]
              if np.issubdtype(a.dtype, np.floating)}
    return str(max(widths, key=lambda d: d.itemsize)) if widths else "none"


def _structure_columns(graph: LayerGraph) -> dict[str, object]:
    return {
        "name": list(graph.names),
        "op": list(graph.ops),
        "inputs": [" ".join(preds) for preds in graph.inputs],
        "out_elems": graph.out_elems,
        "weight_elems": graph.weight_elems,
        "macs": graph.macs,
    }


def _bit_latency_columns(device: object, graph: LayerGraph, bits: Sequence[int],
                         edge_ms: np.ndarray) -> dict[str, np.ndarray]:
    """`edge_ms_w{bw}a{ba}` columns, or none when the device ignores bit-widths."""
    from .devices import bit_latency_columns

    table = bit_latency_columns(device, graph, (*bits, REFERENCE_BITS))
    if all(np.allclose(v, edge_ms, rtol=0, atol=0) for v in table.values()):
        return {}
    return {bit_latency_column(bw, ba): np.asarray(v, float) for (bw, ba), v in table.items()}
