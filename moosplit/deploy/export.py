"""From a plan and its model to a deployable split (SPEC section 8): `edge.onnx`,
`cloud.onnx` and `plan.json`.

:func:`export_plan` loads the model as the profiler does (an ONNX file, a built-in
architecture or ``module:factory``; row names are the profiler's), checks that the plan's
profile describes it, and cuts it along the plan's cut tensors C(S)
(:meth:`moosplit.plans.Plan.cut_tensors`):

- ONNX models are cut with ``onnx.utils.Extractor`` from the profiler's cleaned model,
  whose nodes are the rows one to one; torch models by splitting the traced fx graph
  (:mod:`moosplit.deploy.torch_split`), each half exported by ``torch.onnx.export``.
- Edge weights are fake-quantised to ``bits_w`` per output channel by the profiler's
  quantiser (:func:`moosplit.profilers.quantise.quantise`), stored as float initialisers on
  the quantiser's grid; the cloud half keeps float weights.
- Edge activations below 16 bits get a static quantiser
  (:mod:`moosplit.deploy.activations`) with scales from calibration data.

The manifest's ``predicted`` values come from the shared evaluator, the latency split by
:func:`moosplit.evaluator.latency_parts`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ExportError
from ..evaluator import evaluate, latency_parts
from ..plans import Plan, Plans
from ..problems.problem import SplitProblem
from ..profiles.profile import Profile
from ..profiles.schema import REFERENCE_BITS
from .activations import describe, grid, insert_quantisers, opset_of
from .manifest import (
    DENSE,
    FLOAT16,
    CloudSpec,
    CutTensor,
    EdgeSpec,
    InputSpec,
    Manifest,
    PlanSpec,
    TensorSpec,
)

EDGE_FILE = "edge.onnx"
CLOUD_FILE = "cloud.onnx"
MANIFEST_FILE = "plan.json"

CALIBRATION_SAMPLES = 8
"""Calibration samples for activation scales by default (rounded up to the batch)."""


def export_plan(
    problem: SplitProblem,
    plan: Plan,
    model: str | Any,
    out_dir: str | os.PathLike,
    *,
    input_shape: tuple[int, ...] | None = None,
    seed: int = 0,
    calibration: np.ndarray | str | os.PathLike | None = None,
    calibration_samples: int = CALIBRATION_SAMPLES,
    profile_name: str | None = None,
) -> Manifest:
    """Write `plan` of `problem` as a deployable split of `model` into `out_dir`.

    `model` is what the profile was made from: an ONNX file, a built-in architecture
    (random weights from `seed`, as ``moosplit profile`` made them) or
    ``package.module:factory``, loaded at the profile's batch and input shape (metadata
    ``input_shape``, or `input_shape`); or a loaded profiler model (a ModelRunner).
    `calibration` (samples of the input, a multiple of the batch, or a folder of images)
    sets the activation scales; by default `calibration_samples` crops of the bundled
    photographs (an image input) or standard normal samples (any other input). Writes
    ``edge.onnx`` (unless cloud-only), ``cloud.onnx`` (unless edge-only) and ``plan.json``;
    returns the manifest.

    Raises ExportError if the plan's profile does not describe the model (a row missing,
    or sizes differ: the first mismatch is named) or a cut tensor cannot be sent, and
    ProblemError if the plan is not one of `problem`.

    Example (linear, ReLU, linear: two rows once the ReLU is fused; cut between them):
        >>> import tempfile, torch, moosplit
        >>> from moosplit.profilers.torch_model import trace_module
        >>> from moosplit.profilers.builder import build_profile
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
        ...                           torch.nn.Linear(8, 2))
        >>> runner = trace_module(net, (1, 4))
        >>> profile = build_profile(runner, errors=None)
        >>> problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=10))
        >>> folder = tempfile.TemporaryDirectory()
        >>> manifest = export_plan(problem, Plan(1, ("0",), (16,), (16,)), runner, folder.name)
        >>> [(t.row, t.edge_name, t.shape) for t in manifest.cut_tensors]  # the ReLU's output
        [('0', '1', [8])]
        >>> manifest.cloud.outputs[0].shape
        [2]
        >>> folder.cleanup()
    """
    profile = problem.profile
    runner, model_name = load_runner(model, profile, input_shape, seed)
    normalisation = None
    if isinstance(model, str | os.PathLike):
        from ..profilers.loading import default_normalisation

        normalisation = default_normalisation(str(model))  # the profiler's for this model
    check_model(profile, runner.graph)
    plans = Plans.from_plans(problem, [plan])
    for node, bw, ba in zip(plan.edge_nodes, plan.bits_w, plan.bits_a, strict=True):
        if ba < 2 or (bw is not None and bw < 2):
            raise ExportError(f"node {node!r} runs at {min(ba, bw or ba)} bit(s); the "
                              "quantiser needs at least 2")
    runner, members = _unfused(runner)
    cut = _Cut.of(problem, plan, members)
    source = _Source.of(runner, cut)
    samples, origin = input_samples(runner, calibration, calibration_samples, seed,
                                    bool(cut.activation_bits), normalisation)
    calibrated = _calibrate(runner, source, cut, profile, samples)
    halves = _halves(runner, source, cut, calibrated, profile.names)
    _write_halves(halves, Path(out_dir))
    names, batch = profile.names, profile.batch
    tensors, first, arrays = calibrated.tensors, calibrated.first, calibrated.arrays
    manifest = Manifest(
        model=model_name, profile=profile_name or profile.source,
        network=dataclasses.asdict(problem.network), bits=list(problem.bit_set),
        plan=PlanSpec(plan.split if problem.mode == "prefix" else None, list(plan.edge_nodes),
                      {n: b for n, b in zip(plan.edge_nodes, plan.bits_w, strict=True)
                       if b is not None},
                      dict(zip(plan.edge_nodes, plan.bits_a, strict=True)),
                      None if plan.codec == "none" else plan.codec),
        input=InputSpec(halves.input_name, _per_sample(names[0], first[names[0]][0], batch),
                        str(first[names[0]][0].dtype)),
        edge=EdgeSpec(EDGE_FILE if halves.edge is not None else None,
                      [n for row in cut.sent for n in tensors[row]] if cut.edge else []),
        cloud=CloudSpec(CLOUD_FILE if halves.cloud is not None else None,
                        [TensorSpec(n, _per_sample(row, arrays[n], batch))
                         for row in cut.outputs for n in tensors[row]]
                        if not cut.edge_only else []),
        cut_tensors=[_cut_tensor(row, tensors, halves.input_name, first, plan, profile)
                     for row in cut.cut],
        activations=halves.activations, predicted=predicted(problem, plans), batch=batch,
        weights=_weights_text(cut.weight_bits),
        calibration=origin if cut.activation_bits else "none: no activation below 16 bits",
        seed=seed)
    manifest.write(Path(out_dir) / MANIFEST_FILE)
    return manifest


@dataclass(frozen=True)
class _Cut:
    """What a plan does to the model's nodes. A fused row is several nodes: its weights
    are those of the node it is named after, its output (quantised, sent) its last
    node's (`tail`)."""

    tail: dict[str, str]           # row -> the node whose output is the row's
    edge: set[str]                 # the nodes on the edge
    weight_bits: dict[str, int]    # node -> weight bits, below 16
    activation_bits: dict[str, int]  # node -> activation bits, below 16
    outputs: list[str]             # the model's outputs (sink rows)
    cut: list[str]                 # the cut tensors' rows (empty: edge-only)
    sent: list[str]                # the rows the edge half returns
    edge_only: bool

    @classmethod
    def of(cls, problem: SplitProblem, plan: Plan, members: Mapping[str, tuple[str, ...]]
           ) -> _Cut:
        """The plan's cut of the model whose rows hold `members` (nodes, in order)."""
        profile = problem.profile
        names = profile.names
        tail = {row: nodes[-1] for row, nodes in members.items()}
        outputs = [names[t] for t in np.flatnonzero(profile.sinks)]
        edge_only = len(plan.edge_nodes) == profile.n_nodes
        cut = [] if edge_only else list(plan.cut_tensors(problem))
        return cls(
            tail, {node for row in plan.edge_nodes for node in members[row]},
            {n: b for n, b in zip(plan.edge_nodes, plan.bits_w, strict=True)
             if b is not None and b < REFERENCE_BITS},
            {tail[n]: b for n, b in zip(plan.edge_nodes, plan.bits_a, strict=True)
             if b < REFERENCE_BITS},
            outputs, cut, outputs if edge_only else [row for row in cut if row != names[0]],
            edge_only)


@dataclass
class _Source:
    """The model to cut, with the edge weights quantised: an ONNX model (`quantised`), or
    a traced torch module (`gm`, `node_values`); each node's tensor names, and the nodes
    whose value a later in-place operator changes."""

    node_tensors: dict[str, tuple[str, ...]]
    modified: set[str]
    quantised: Any = None
    gm: Any = None
    node_values: Any = None

    @classmethod
    def of(cls, runner: Any, cut: _Cut) -> _Source:
        """`runner`'s model with `cut`'s weight bits."""
        if hasattr(runner, "to_onnx"):
            quantised, node_tensors = runner.to_onnx(cut.weight_bits)
            return cls(node_tensors, set(), quantised=quantised)
        from .torch_split import tensor_names

        gm, node_values = runner.export_module(cut.weight_bits)
        return cls(tensor_names(node_values),
                   {node for node, value in node_values.items() if value.modified},
                   gm=gm, node_values=node_values)


@dataclass(frozen=True)
class _Calibrated:
    """Activation grids by tensor name, and per row its tensor names (`tensors`) and
    values on the first calibration batch (`first`); `arrays` those values by tensor."""

    grids: dict[str, Any]
    tensors: dict[str, tuple[str, ...]]
    first: dict[str, tuple[np.ndarray, ...]]
    arrays: dict[str, np.ndarray]


def _calibrate(runner: Any, source: _Source, cut: _Cut, profile: Profile,
               samples: np.ndarray) -> _Calibrated:
    """Run the calibration samples through the model (edge weights quantised) for the
    activation grids and the cut tensors' values; check each cut tensor can be sent."""
    observed, ranges = _observe(runner, samples, cut.weight_bits, cut.activation_bits)
    grids = {}
    for node, bits in cut.activation_bits.items():
        for name, array, (top, low) in zip(source.node_tensors[node], observed[node],
                                           ranges[node], strict=False):
            if np.issubdtype(array.dtype, np.floating):
                grids[name] = grid(top, low >= 0, bits)
    names = profile.names
    tensors = {row: source.node_tensors[cut.tail[row]] for row in names}
    first = {row: observed[cut.tail[row]] for row in names}
    arrays = {n: a for row in names for n, a in zip(tensors[row], first[row], strict=False)}
    for row in cut.cut:
        _check_sendable(row, tensors[row], first[row], profile.batch,
                        cut.tail[row] in source.modified)
    return _Calibrated(grids, tensors, first, arrays)


@dataclass(frozen=True)
class _Halves:
    """The halves as ONNX models (None: that side is empty), the input's name, and the
    activation quantisers' description for the manifest."""

    edge: Any
    cloud: Any
    input_name: str
    activations: Any


def _halves(runner: Any, source: _Source, cut: _Cut, calibrated: _Calibrated,
            names: tuple[str, ...]) -> _Halves:
    """Cut the model into its halves, quantisers inserted after the edge's activations."""
    tensors, arrays = calibrated.tensors, calibrated.arrays
    if source.quantised is not None:
        quantised = source.quantised
        input_name = quantised.graph.input[0].name
        edge_model = cloud_model = None
        if cut.edge:
            insert_quantisers(quantised, calibrated.grids)
            edge_model = _extract(quantised, [input_name],
                                  [n for row in cut.sent for n in tensors[row]], arrays)
        if not cut.edge_only:
            cloud_model = _extract(runner.to_onnx()[0], [tensors[row][0] for row in cut.cut],
                                   [n for row in cut.outputs for n in tensors[row]], arrays)
        return _Halves(edge_model, cloud_model, input_name,
                       describe(calibrated.grids, opset_of(quantised)))
    from .torch_split import NATIVE_BITS, OPSET, export_halves

    tail, first = cut.tail, calibrated.first
    edge_model, cloud_model = export_halves(
        source.gm, source.node_values, runner.graph.names, cut.edge,
        [tail[row] for row in cut.sent], [tail[row] for row in cut.cut],
        [tail[row] for row in cut.outputs], calibrated.grids,
        {tail[row]: first[row][0] for row in (names[0], *cut.cut)})
    return _Halves(edge_model, cloud_model, names[0],
                   describe(calibrated.grids, OPSET, NATIVE_BITS))


def _write_halves(halves: _Halves, out: Path) -> None:
    """Save the halves into `out` (made if missing), removing a stale half of an earlier
    export that this one does not have."""
    import onnx

    out.mkdir(parents=True, exist_ok=True)
    for half, file in ((halves.edge, EDGE_FILE), (halves.cloud, CLOUD_FILE)):
        if half is not None:
            onnx.save(half, str(out / file))
        elif (out / file).exists():
            (out / file).unlink()


def check_model(profile: Profile, graph: Any) -> None:
    """ExportError unless `profile` describes the model read as `graph` (a profiler
    LayerGraph): the same rows, reading the same rows, with the same output sizes per
    sample. The message names the first mismatch, in the profile's order."""
    where = f"the profile {profile.source} does not describe model {graph.model}"
    rows = {name: k for k, name in enumerate(graph.names)}
    for i, name in enumerate(profile.names):
        if name not in rows:
            raise ExportError(f"{where}: row {name!r} is not a row of the model (its rows "
                              f"are named {', '.join(map(repr, graph.names[:3]))}, ...)")
        k = rows[name]
        if int(graph.out_elems[k]) != int(profile.out_elems[i]):
            raise ExportError(f"{where}: row {name!r} outputs {int(graph.out_elems[k])} "
                              f"elements per sample in the model, {int(profile.out_elems[i])} "
                              "in the profile")
        reads = tuple(profile.names[p] for p in profile.inputs[i])
        if set(graph.inputs[k]) != set(reads):
            raise ExportError(f"{where}: row {name!r} reads {' '.join(graph.inputs[k]) or '-'}"
                              f" in the model, {' '.join(reads) or '-'} in the profile")
    if graph.n_rows != profile.n_rows:
        extra = next(n for n in graph.names if n not in profile.index)
        raise ExportError(f"{where}: the model has {graph.n_rows} rows, the profile "
                          f"{profile.n_rows} (row {extra!r} is not in the profile)")


def predicted(problem: SplitProblem, plans: Plans) -> dict[str, float | None]:
    """The manifest's ``predicted``: every quantity of SPEC section 4 for the first plan
    of `plans`, and its latency's terms (edge, transmit, rtt, cloud); None where a value
    is not finite (energy without a transmit power, the throughput of a plan taking no
    time), as JSON has no NaN or infinity."""
    values = {**latency_parts(problem, plans), **evaluate(problem, plans).values}
    return {name: float(v[0]) if np.isfinite(v[0]) else None for name, v in values.items()}


# --------------------------------------------------------------------------- helpers
def load_runner(model: str | Any, profile: Profile, input_shape: tuple[int, ...] | None,
                seed: int) -> tuple[Any, str]:
    """The profiler model (a ModelRunner) of `model` at the profile's batch and input
    shape (`input_shape`, or the profile's ``input_shape`` metadata), read fused or not as
    the profile was, and its name; a loaded ModelRunner is returned as it is."""
    if not isinstance(model, str | os.PathLike):
        return model, str(model.graph.model)
    from ..profilers.builder import input_vocab
    from ..profilers.loading import load_model

    model = str(model)
    if input_shape is None and profile.metadata.get("input_shape"):
        try:
            input_shape = tuple(int(d) for d in profile.metadata["input_shape"].split("x"))
        except ValueError:
            input_shape = None
    # read the model as it was profiled: fused rows where the profile lists some (the
    # profiler's default), one row per node otherwise (profiles made before fusion)
    fused = not profile.metadata.get("fused", "none").startswith("none")
    # a module:factory model reading token ids: the vocabulary the profile records
    vocab = input_vocab(profile.metadata) if ":" in model else None
    runner, _ = load_model(model, batch=profile.batch, shape=input_shape, seed=seed,
                           fuse=fused, vocab=vocab)
    return runner, model


def _unfused(runner: Any) -> tuple[Any, dict[str, tuple[str, ...]]]:
    """The model with one row per node under a fused profiler model (itself otherwise),
    and each row's nodes, in execution order (the last one's output is the row's)."""
    from ..profilers.fusion import FusedModel

    if not isinstance(runner, FusedModel):
        return runner, {name: (name,) for name in runner.graph.names}
    nodes = runner.inner.graph.names
    return runner.inner, {name: tuple(nodes[k] for k in group)
                          for name, group in zip(runner.graph.names, runner.groups,
                                                 strict=True)}


def input_samples(runner: Any, calibration: np.ndarray | str | os.PathLike | None,
                  count: int, seed: int, needed: bool = True, normalisation: Any = None
                  ) -> tuple[np.ndarray, str]:
    """Input samples of `runner`'s model (`count` rounded up to a multiple of the batch;
    one batch unless `needed`) to run the model on, and their origin:
    the caller's, or the profiler's calibration inputs (image crops normalised with
    `normalisation`, random token ids for a token model), or standard normal samples for
    an input that is neither."""
    from ..profilers.calibration import calibration_inputs

    graph = runner.graph
    batch, per = graph.input_shape[0], tuple(graph.input_shape[1:])
    n = max(1, -(-int(count) // batch)) * batch if needed else batch
    if calibration is not None and not isinstance(calibration, str | os.PathLike):
        samples = np.asarray(calibration)
        if samples.shape[1:] != per or len(samples) == 0 or len(samples) % batch:
            raise ExportError(f"calibration must have shape (k x {batch}, "
                              f"{', '.join(map(str, per))}), got {samples.shape}")
        return samples, f"{len(samples)} samples given by the caller"
    image = len(per) == 3 and per[0] in (1, 3)
    if image or getattr(graph, "input_vocab", None) is not None or calibration is not None:
        try:
            return calibration_inputs(graph, n, folder=calibration, seed=seed,
                                      normalisation=normalisation)
        except ValueError as exc:
            raise ExportError(str(exc)) from None
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, *per)).astype(np.float32),
            f"{n} standard normal samples (seed {seed}): the input is not an image; give "
            "calibration samples of real inputs for honest scales")


def _observe(runner: Any, samples: np.ndarray, weight_bits: Mapping[str, int],
             activation_bits: Mapping[str, int]
             ) -> tuple[dict[str, tuple[np.ndarray, ...]], dict[str, list[tuple[float, float]]]]:
    """Run the model as the plan quantises it (the profiler's quantisers) over `samples`:
    every row's tensors on the first batch, and per quantised row the largest magnitude and
    the smallest value of each of its tensors over all samples."""
    batch = runner.graph.input_shape[0]
    first: dict[str, tuple[np.ndarray, ...]] = {}
    ranges: dict[str, list[tuple[float, float]]] = {}
    for lo in range(0, len(samples), batch):
        values = runner.run(samples[lo:lo + batch], weight_bits=weight_bits,
                            activation_bits=activation_bits)
        first = first or values
        for row in activation_bits:
            seen = [(float(np.max(np.abs(a), initial=0.0)), float(np.min(a, initial=0.0)))
                    for a in values[row]]
            old = ranges.get(row, seen)
            ranges[row] = [(max(t, u), min(m, n)) for (t, m), (u, n) in
                           zip(old, seen, strict=True)]
    return first, ranges


def _per_sample(row: str, array: np.ndarray, batch: int) -> list[int]:
    shape = list(np.shape(array))
    if not shape or shape[0] != batch:
        raise ExportError(f"row {row!r}: its tensor of shape {tuple(shape)} is not batch-first "
                          f"(batch {batch}), so it cannot be sent per sample")
    return shape[1:]


def _check_sendable(row: str, names: tuple[str, ...], arrays: tuple[np.ndarray, ...],
                    batch: int, modified: bool) -> None:
    """ExportError unless the cut tensor of `row` is one batch-first float tensor that
    nothing modifies in place later."""
    if len(names) != 1 or len(arrays) != 1 or modified:
        what = ("is modified in place by a later operator" if modified else
                "holds no tensor that can be sent (a shape computation)" if not names
                else f"holds {len(arrays)} tensors")
        raise ExportError(f"row {row!r} is a cut tensor of this plan but {what}; choose a "
                          "plan that keeps it and its readers on one side")
    if not np.issubdtype(arrays[0].dtype, np.floating):
        raise ExportError(f"row {row!r} is a cut tensor of this plan but holds "
                          f"{arrays[0].dtype} values; frames carry float tensors only")
    _per_sample(row, arrays[0], batch)


def _extract(model: Any, inputs: list[str], outputs: list[str],
             arrays: Mapping[str, np.ndarray]) -> Any:
    """The part of `model` between tensors `inputs` and `outputs`, checked by onnx."""
    import onnx
    from onnx import helper

    extractor = onnx.utils.Extractor(model)
    for name in (*inputs, *outputs):
        if name in arrays:
            array = arrays[name]
            extractor.value_infos[name] = helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(array.dtype), list(array.shape))
    if opset_of(model) >= 21:
        model.ir_version = max(model.ir_version, 10)  # int4 types need IR version 10
    half = extractor.extract_model(inputs, outputs)
    try:
        onnx.checker.check_model(half)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"the half between {', '.join(inputs)} and {', '.join(outputs)} "
                          f"is not a valid ONNX model: {str(exc).splitlines()[0]}") from None
    return half


def _cut_tensor(row: str, tensors: Mapping[str, tuple[str, ...]], input_name: str,
                first: Mapping[str, tuple[np.ndarray, ...]], plan: Plan,
                profile: Profile) -> CutTensor:
    if row == profile.names[0]:
        bits = min(int(profile.input_bits), REFERENCE_BITS)
        edge_name = input_name
    else:
        bits = int(plan.bits_a[plan.edge_nodes.index(row)])
        edge_name = tensors[row][0]
    return CutTensor(row, edge_name, tensors[row][0] if row != profile.names[0] else
                     input_name, _per_sample(row, first[row][0], profile.batch), bits,
                     FLOAT16 if bits >= REFERENCE_BITS else DENSE)


def _weights_text(weight_bits: Mapping[str, int]) -> str:
    if not weight_bits:
        return "reference precision (float32) on every node"
    used = ", ".join(str(b) for b in sorted(set(weight_bits.values())))
    return ("fake-quantised float32 initialisers (values on the grid of "
            "moosplit.profilers.quantise: per output channel, symmetric, unsigned where a "
            f"tensor has no negative value) at {used} bits; the cloud half keeps float weights")
