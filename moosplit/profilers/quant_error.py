"""Quantisation error columns (``werr_b{b}``, ``aerr_b{b}`` of SPEC section 2) of a model.

Two estimates, both built on the one fake quantiser :func:`moosplit.profilers.quantise.quantise`
(uniform, max-abs scale, symmetric except that a tensor without negative values uses all
``2**b - 1`` levels on ``[0, max]``; weights per output channel, activations per tensor):

- ``"mse"`` (:func:`weight_mse`, :func:`activation_mse`): the plain mean squared error, per
  element, that quantisation introduces into the row's own tensors. Cheap (one float run per
  calibration batch), in the units of each row's weights and activations squared.
- ``"output"`` (:func:`output_sensitivity`): the mean squared error, per element, of the
  *model's output* when only that row's weights (or only its output activation) are
  quantised. One run per row, bit-width and calibration batch; in output units squared.

The two modes' numbers are **not comparable with each other** (different tensors, different
units); a profile's error columns come from one mode, recorded in its metadata. Under both,
the problem's error (the sum over edge rows of werr + aerr, SPEC section 4) is an additive
proxy, as in Auto-Split. Bits must lie in 2..15: 16 is the reference precision, whose errors
are 0 and are added by the profile code, not computed here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..profiles.schema import REFERENCE_BITS, activation_error_column, weight_error_column
from ..progress import ProgressCallback, Reporter
from .graph import ModelRunner
from .quantise import activation_squared_error, quantise

MODES = ("mse", "output")
"""Accepted values of `mode` in :func:`estimate_errors`."""

QUANTISER = ("moosplit quantise(): uniform max-abs scale, symmetric (unsigned [0, max] for "
             "non-negative tensors), weights per output channel (axis 0), activations per tensor")
"""How the fake quantiser works, for `method` strings."""


def _frozen_table(table: Mapping[int, np.ndarray], n_rows: int | None, what: str
                  ) -> Mapping[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    for b, values in sorted(table.items()):
        array = np.array(values, dtype=np.float64)
        if array.ndim != 1 or (n_rows is not None and len(array) != n_rows):
            raise ValueError(f"{what}[{b}] must be a 1-D array of {n_rows} rows, "
                             f"got shape {array.shape}")
        bad = np.flatnonzero(~np.isfinite(array) | (array < 0))
        if bad.size:
            raise ValueError(f"{what}[{b}] must be finite and >= 0, got {array[bad[0]]} "
                             f"in row {bad[0]}")
        array.setflags(write=False)
        out[int(b)] = array
    return MappingProxyType(out)


@dataclass(frozen=True, eq=False)
class ErrorColumns:
    """Per-row quantisation errors of one model at each computed bit-width.

    ``weight[b]`` and ``activation[b]`` hold one value per profile row (row 0, the input,
    is 0; so is ``weight[b]`` of a row without weights). Arrays are float64, finite,
    >= 0 and read-only. `method` is one line for the profile metadata saying how they were
    obtained. 16 bits (the reference) is never included.

    Example:
        >>> cols = ErrorColumns({4: [0.0, 0.5]}, {4: [0.0, 0.25]}, "example")
        >>> sorted(cols.columns())
        ['aerr_b4', 'werr_b4']
    """

    weight: Mapping[int, np.ndarray]
    activation: Mapping[int, np.ndarray]
    method: str

    def __post_init__(self) -> None:
        if set(self.weight) != set(self.activation):
            raise ValueError(f"weight and activation errors must cover the same bits, got "
                             f"{sorted(self.weight)} and {sorted(self.activation)}")
        _check_bits(self.weight)
        lengths = {len(np.asarray(v)) for v in (*self.weight.values(),
                                                *self.activation.values())}
        if len(lengths) > 1:
            raise ValueError(f"error columns differ in length: {sorted(lengths)}")
        n_rows = lengths.pop() if lengths else None
        object.__setattr__(self, "weight", _frozen_table(self.weight, n_rows, "weight"))
        object.__setattr__(self, "activation",
                           _frozen_table(self.activation, n_rows, "activation"))
        if "\n" in self.method:
            raise ValueError("method must be one line (it goes into the profile metadata)")

    @property
    def bits(self) -> tuple[int, ...]:
        """The bit-widths covered, ascending."""
        return tuple(self.weight)

    def columns(self) -> dict[str, np.ndarray]:
        """The profile columns: ``werr_b{b}`` and ``aerr_b{b}`` for every bit-width."""
        out: dict[str, np.ndarray] = {}
        for b in self.bits:
            out[weight_error_column(b)] = self.weight[b]
            out[activation_error_column(b)] = self.activation[b]
        return out


def _check_bits(bits: Sequence[int] | Mapping[int, object]) -> tuple[int, ...]:
    """`bits` as a sorted tuple of distinct ints, each in 2..15 (ValueError otherwise)."""
    out = set()
    for b in bits:
        if isinstance(b, bool) or not isinstance(b, int | np.integer):
            raise ValueError(f"bits must be integers in 2..{REFERENCE_BITS - 1}, got {b!r}")
        if not 2 <= b < REFERENCE_BITS:
            raise ValueError(
                f"bits must be in 2..{REFERENCE_BITS - 1}, got {b} ({REFERENCE_BITS} is the "
                "reference precision: its errors are 0 and not computed)" if b == REFERENCE_BITS
                else f"bits must be in 2..{REFERENCE_BITS - 1}, got {b}")
        out.add(int(b))
    return tuple(sorted(out))


def _check_calibration(calibration: np.ndarray, batch_size: int) -> np.ndarray:
    calibration = np.asarray(calibration)
    if calibration.ndim < 1 or len(calibration) < 1:
        raise ValueError(f"calibration must hold at least one sample (first axis), got shape "
                         f"{calibration.shape}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return calibration


def _batches(calibration: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(calibration), batch_size):
        yield calibration[start:start + batch_size]


def _is_float(x: np.ndarray) -> bool:
    return np.issubdtype(np.asarray(x).dtype, np.floating)


def _output(outputs: Mapping[str, Sequence[np.ndarray]], name: str) -> list[np.ndarray]:
    """Row `name`'s output tensors (see ``ModelRunner.run``)."""
    try:
        value = outputs[name]
    except KeyError:
        raise ValueError(f"the runner's run() returned no output for row {name!r}") from None
    if isinstance(value, np.ndarray):
        raise ValueError(f"the runner's run() returned an array for row {name!r}: it must "
                         "return a tuple of the row's output tensors")
    return [np.asarray(t) for t in value]


def _float_outputs(outputs: Mapping[str, Sequence[np.ndarray]], name: str) -> list[np.ndarray]:
    """Row `name`'s non-empty floating-point output tensors as float32; inf/NaN refused."""
    found = []
    for out in _output(outputs, name):
        if not _is_float(out) or out.size == 0:
            continue
        if not np.all(np.isfinite(out)):
            raise ValueError(f"row {name!r} outputs inf/NaN on the calibration data in a "
                             "float run: its quantisation error is undefined")
        found.append(out.astype(np.float32, copy=False))
    return found


def _finite(table: dict[int, np.ndarray], names: Sequence[str], what: str) -> None:
    for b, values in table.items():
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            rows = ", ".join(names[i] for i in bad[:5])
            raise ValueError(f"{what} error at {b} bits is not finite for row(s) {rows}: the "
                             "model produces inf/NaN on the calibration data")


def _bit_list(bits: Sequence[int]) -> str:
    return ",".join(str(b) for b in bits)


def weight_mse(runner: ModelRunner, bits: Sequence[int]) -> dict[int, np.ndarray]:
    """Per-row mean squared error of the row's weights under fake quantisation.

    For each row, the tensors of ``runner.weights(name)`` are quantised with
    ``quantise(w, b, axis=0)`` (one scale per output channel); the result is the mean over
    all their elements of the squared error (element-weighted across tensors), in weight
    units squared. A 1-D tensor (a bias the runner chose to quantise) has one element per
    channel and so adds (almost) no error, as in the runner. Rows without weights, and
    row 0, get 0. Not comparable with :func:`output_sensitivity`'s numbers.
    """
    bits = _check_bits(bits)
    names = runner.graph.names
    table = {b: np.zeros(len(names)) for b in bits}
    for i, name in enumerate(names):
        if i == 0:
            continue
        tensors = [np.asarray(w, dtype=np.float32) for w in runner.weights(name)]
        tensors = [w for w in tensors if w.size]
        size = sum(w.size for w in tensors)
        if not size:
            continue
        for b in bits:
            total = sum(float(np.sum((quantise(w, b, axis=0 if w.ndim else None)
                                      - w).astype(np.float64) ** 2)) for w in tensors)
            table[b][i] = total / size
    _finite(table, names, "weight")
    return table


def activation_mse(runner: ModelRunner, calibration: np.ndarray, bits: Sequence[int], *,
                   batch_size: int = 8, progress: ProgressCallback | None = None
                   ) -> dict[int, np.ndarray]:
    """Per-row mean squared error of the row's float outputs under fake quantisation.

    One float run (``runner.run`` without quantisation) per calibration batch; each float
    output tensor of a row is quantised on its own scale with
    :func:`~moosplit.profilers.quantise.quantise_activation`: one scale per sample for a
    batch-first tensor (first axis the batch of the run, as in a batch-1 inference, so the
    result does not depend on `batch_size`), one for the whole tensor otherwise (a scalar,
    a tensor whose first axis is not the batch). The squared error is averaged over all
    elements of the row's float tensors over all calibration samples, in activation units
    squared. Row 0 (the input) and rows without float outputs get 0. Not comparable with
    :func:`output_sensitivity`'s numbers. `progress` gets a report after every batch.
    """
    bits = _check_bits(bits)
    calibration = _check_calibration(calibration, batch_size)
    names = runner.graph.names
    sums = {b: np.zeros(len(names)) for b in bits}
    counts = np.zeros(len(names))
    n_batches = -(-len(calibration) // batch_size)
    report = Reporter(progress, "profile", "batches")
    for done, batch in enumerate(_batches(calibration, batch_size), start=1):
        outputs = runner.run(batch)
        for i, name in enumerate(names[1:], start=1):
            for out in _float_outputs(outputs, name):
                counts[i] += out.size
                for b in bits:
                    sums[b][i] += activation_squared_error(out, b, len(batch))
        report(done, n_batches)
    table = {b: np.divide(s, counts, out=np.zeros_like(s), where=counts > 0)
             for b, s in sums.items()}
    _finite(table, names, "activation")
    return table


def sink_rows(runner: ModelRunner) -> list[int]:
    """Rows (after the input) whose output no other row reads: the model's outputs.

    A model output that other rows read too has a row of op ``output`` of its own (see
    :class:`~moosplit.profilers.graph.ModelRunner`), so every model output is a sink.
    """
    graph = runner.graph
    read = {name for preds in graph.inputs for name in preds}
    return [i for i in range(1, graph.n_rows) if graph.names[i] not in read]


def output_sensitivity(runner: ModelRunner, calibration: np.ndarray, bits: Sequence[int], *,
                       batch_size: int = 8, progress: ProgressCallback | None = None
                       ) -> ErrorColumns:
    """Per-row sensitivity of the model's output to quantising that row alone.

    For each row with weights and each `b`: the mean squared error, per element, between the
    model's float output and its output with only that row's weights quantised
    (``runner.run(batch, weight_bits={row: b})``); likewise for each row's output activation
    (``activation_bits={row: b}``; row 0 and non-float rows get 0). "The model's output" is
    every float output tensor of the sink rows (rows no other row reads: every model output,
    see :func:`sink_rows`), flattened and concatenated, so larger outputs weigh more.
    Averaged over all calibration samples, in output units squared. Activation scales are
    the runner's: per tensor, so one scale over a whole calibration batch (choose
    `batch_size` = the deployment batch to match it). Not comparable with the numbers of
    ``mode="mse"``. `progress` gets a report after every run.
    """
    bits = _check_bits(bits)
    calibration = _check_calibration(calibration, batch_size)
    graph = runner.graph
    names = graph.names
    n_batches = -(-len(calibration) // batch_size)
    weighted = [i for i in range(1, graph.n_rows) if any(
        np.asarray(w).size for w in runner.weights(names[i]))]
    weight_sums = {b: np.zeros(len(names)) for b in bits}
    act_sums = {b: np.zeros(len(names)) for b in bits}
    sinks = sink_rows(runner)
    quantised_rows: list[int] | None = None
    float_sinks: list[int] = []
    total = done = 0
    elements = 0

    def model_output(outputs: Mapping[str, Sequence[np.ndarray]]) -> np.ndarray:
        parts = [t.astype(np.float64).ravel() for i in float_sinks
                 for t in _output(outputs, names[i]) if _is_float(t)]
        return np.concatenate(parts)

    report = Reporter(progress, "profile", "runs")

    def tick() -> None:
        nonlocal done
        done += 1
        report(done, total)

    for batch in _batches(calibration, batch_size):
        outputs = runner.run(batch)
        if quantised_rows is None:  # first batch: which rows and outputs are float
            float_sinks = [i for i in sinks
                           if any(_is_float(t) for t in _output(outputs, names[i]))]
            if not float_sinks and bits:
                raise ValueError(f"model {graph.model!r} has no floating-point output to "
                                 "compare (sink rows: "
                                 f"{', '.join(names[i] for i in sinks) or 'none'})")
            quantised_rows = [i for i in range(1, graph.n_rows)
                              if any(_is_float(t) for t in _output(outputs, names[i]))]
            total = n_batches * (1 + len(bits) * (len(weighted) + len(quantised_rows)))
        tick()
        if not bits:
            continue
        for i in quantised_rows:
            _float_outputs(outputs, names[i])  # refuses inf/NaN
        reference = model_output(outputs)
        elements += reference.size
        for b in bits:
            for i in weighted:
                diff = model_output(runner.run(batch, weight_bits={names[i]: b})) - reference
                weight_sums[b][i] += float(np.sum(diff**2))
                tick()
            for i in quantised_rows:
                diff = model_output(runner.run(batch, activation_bits={names[i]: b})) \
                    - reference
                act_sums[b][i] += float(np.sum(diff**2))
                tick()
    scale = 1.0 / elements if elements else 0.0
    weight = {b: s * scale for b, s in weight_sums.items()}
    activation = {b: s * scale for b, s in act_sums.items()}
    _finite(weight, names, "weight")
    _finite(activation, names, "activation")
    method = (f"output: per-row sensitivity, MSE per element of the model output "
              f"({', '.join(names[i] for i in float_sinks)}) vs float when only that row's "
              f"weights or output activation are quantised, bits {_bit_list(bits)}, "
              f"{len(calibration)} calibration samples in batches of {batch_size} "
              f"(activation scale per batch tensor); {QUANTISER}; not comparable with mse mode")
    return ErrorColumns(weight, activation, method)


def estimate_errors(runner: ModelRunner, calibration: np.ndarray, bits: Sequence[int], *,
                    mode: str = "mse", batch_size: int = 8,
                    progress: ProgressCallback | None = None) -> ErrorColumns:
    """The error columns of `runner`'s model at `bits` (each in 2..15), by `mode`.

    ``"mse"``: :func:`weight_mse` and :func:`activation_mse` (per-element MSE of each row's
    own tensors; `progress` is called once per calibration batch). ``"output"``:
    :func:`output_sensitivity` (per-element MSE of the model output). The two modes'
    numbers are on different scales and are not comparable with each other.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    bits = _check_bits(bits)
    if mode == "output":
        return output_sensitivity(runner, calibration, bits, batch_size=batch_size,
                                  progress=progress)
    calibration = _check_calibration(calibration, batch_size)
    weight = weight_mse(runner, bits)
    activation = activation_mse(runner, calibration, bits, batch_size=batch_size,
                                progress=progress)
    method = (f"mse: per-row MSE per element of the row's own tensors under fake "
              f"quantisation at bits {_bit_list(bits)} (weights: exact; activations: float "
              f"outputs on {len(calibration)} calibration samples, scale per tensor and "
              f"sample where the tensor is batch-first, else per tensor); {QUANTISER}; not "
              f"comparable with output mode")
    return ErrorColumns(weight, activation, method)

