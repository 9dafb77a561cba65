"""ViT and the GPT-2-style decoder through the PyTorch front end: rows, MACs by formula,
token inputs, profiles, and every backend on a small profile of each."""

from __future__ import annotations

import math

import numpy as np
import pytest

import moosplit

torch = pytest.importorskip("torch")

from moosplit.profilers._transformers import GPT2, SelfAttention, VisionTransformer  # noqa: E402
from moosplit.profilers.builder import Measurement, build_profile  # noqa: E402
from moosplit.profilers.calibration import calibration_inputs  # noqa: E402
from moosplit.profilers.torch_model import trace_module  # noqa: E402

HIDDEN, HEADS, MLP, LAYERS = 64, 4, 128, 2
IMAGE, PATCH = 32, 16
TOKENS = (IMAGE // PATCH) ** 2 + 1  # patches and the class token
CONTEXT, VOCAB = 16, 100
FAST = Measurement(warmup=0, runs=2)


def small_vit():
    torch.manual_seed(0)
    net = VisionTransformer(image_size=IMAGE, patch_size=PATCH, num_layers=LAYERS,
                            num_heads=HEADS, hidden_dim=HIDDEN, mlp_dim=MLP, num_classes=10)
    return net.eval()


def small_gpt():
    torch.manual_seed(0)
    return GPT2(context=CONTEXT, vocab_size=VOCAB, positions=32, num_layers=LAYERS,
                num_heads=HEADS, hidden=HIDDEN).eval()


def rows(graph, op):
    return [i for i, o in enumerate(graph.ops) if o == op]


def test_written_out_attention_is_multihead_attention():
    attention = SelfAttention(HIDDEN, HEADS).eval()
    reference = torch.nn.MultiheadAttention(HIDDEN, HEADS, batch_first=True).eval()
    reference.load_state_dict(attention.state_dict(), strict=True)  # same parameter names
    x = torch.randn(2, 5, HIDDEN, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(x, x, x, need_weights=False)[0]
        torch.testing.assert_close(attention(x), expected, rtol=1e-5, atol=1e-6)


def test_gpt_attention_is_causal():
    net = small_gpt()
    ids = torch.randint(0, VOCAB, (1, CONTEXT), generator=torch.Generator().manual_seed(2))
    changed = ids.clone()
    changed[0, -1] = (ids[0, -1] + 1) % VOCAB
    with torch.no_grad():
        a, b = net(ids), net(changed)
    torch.testing.assert_close(a[0, :-1], b[0, :-1])  # the past does not see the future
    assert not torch.allclose(a[0, -1], b[0, -1])


def test_vit_rows_and_macs_by_formula():
    graph = trace_module(small_vit(), (1, 3, IMAGE, IMAGE), name="vit", fuse=False).graph
    assert not graph.notes  # every operator has a formula
    norms, gelus = rows(graph, "layernorm"), rows(graph, "gelu")
    assert len(norms) == 2 * LAYERS + 1 and len(gelus) == LAYERS
    assert all(graph.macs[i] == 4 * TOKENS * HIDDEN for i in norms)
    assert all(graph.macs[i] == TOKENS * MLP for i in gelus)
    softmax = rows(graph, "softmax")
    assert len(softmax) == LAYERS
    assert all(graph.macs[i] == 3 * HEADS * TOKENS * TOKENS for i in softmax)
    # per layer: q @ k^T and scores @ v, each heads x tokens x tokens x head_dim MACs
    matmuls = rows(graph, "matmul")
    assert len(matmuls) == 2 * LAYERS
    assert all(graph.macs[i] == TOKENS * TOKENS * HIDDEN for i in matmuls)
    name = graph.names.index("encoder.layers.encoder_layer_0.mlp.0")
    assert graph.macs[name] == TOKENS * HIDDEN * MLP
    assert graph.out_elems[-1] == 10 and graph.names[-1] == "heads.head"
    # fused (the default): GELU is part of the first MLP linear's kernel
    fused = trace_module(small_vit(), (1, 3, IMAGE, IMAGE), name="vit").graph
    assert not rows(fused, "gelu") and len(rows(fused, "layernorm")) == len(norms)
    mlp = fused.names.index("encoder.layers.encoder_layer_0.mlp.0")
    assert fused.macs[mlp] == TOKENS * HIDDEN * MLP + TOKENS * MLP
    assert sum(fused.macs) == sum(graph.macs)


def test_gpt_reads_token_ids_and_counts_attention_and_tied_logits():
    model = trace_module(small_gpt(), (1, CONTEXT), name="gpt", vocab=VOCAB, fuse=False)
    graph = model.graph
    assert graph.input_vocab == VOCAB and not graph.notes
    attention = rows(graph, "attention")
    head_dim = HIDDEN // HEADS
    assert len(attention) == LAYERS
    assert all(graph.macs[i] == HEADS * CONTEXT * CONTEXT * (2 * head_dim + 3)
               for i in attention)
    index = {n: i for i, n in enumerate(graph.names)}
    assert graph.ops[index["wte"]] == "embedding" and graph.macs[index["wte"]] == 0
    assert graph.weight_elems[index["wte"]] == VOCAB * HIDDEN
    # the tied output projection: full MACs, its matrix counted once (at wte)
    assert graph.macs[index["lm_head"]] == CONTEXT * HIDDEN * VOCAB
    assert graph.weight_elems[index["lm_head"]] == 0
    assert sum(graph.weight_elems) == sum(p.numel() for p in small_gpt().parameters())
    ids = np.random.default_rng(0).integers(0, VOCAB, (1, CONTEXT))
    out = model.run(ids, weight_bits={"wte": 2})
    reference = model.run(ids)
    assert out["wte"][0].shape == (1, CONTEXT, HIDDEN)
    assert not np.allclose(out["lm_head"][0], reference["lm_head"][0])
    with pytest.raises(ValueError, match="token ids"):
        model.run(np.full((1, CONTEXT), VOCAB))  # out of the vocabulary
    with pytest.raises(ValueError, match="token ids"):
        model.run(np.zeros((1, CONTEXT), np.float32))


def small_profiles():
    vit = trace_module(small_vit(), (1, 3, IMAGE, IMAGE), name="vit")
    gpt = trace_module(small_gpt(), (1, CONTEXT), name="gpt", vocab=VOCAB)
    out = []
    for runner in (vit, gpt):
        calibration, origin = calibration_inputs(runner.graph, 4, seed=0)
        out.append(build_profile(runner, edge="autosplit-eyeriss", cloud="host", bits=(4, 8),
                                 calibration=calibration, calibration_origin=origin,
                                 measurement=FAST))
    return out


@pytest.fixture(scope="module")
def profiles():
    return small_profiles()


def test_small_transformer_profiles(profiles):
    vit, gpt = profiles
    assert "random token ids" in gpt.metadata["calibration"]
    assert "ImageNet" in vit.metadata["calibration"]
    assert gpt.metadata["input"].startswith("token ids")
    assert gpt.input_bits == math.ceil(math.log2(VOCAB))  # bits of one token id
    assert vit.input_bits == 8
    for profile in profiles:
        assert (profile.cloud_ms[1:] >= 0).all() and profile.cloud_ms[1:].sum() > 0
        for table in (profile.weight_error, profile.activation_error):
            assert (table[4] >= table[8]).all()
    wte = gpt.index["wte"]
    assert gpt.weight_error[4][wte] > gpt.weight_error[8][wte] > 0
    logits = gpt.index["lm_head"]
    assert gpt.activation_error[4][logits] > gpt.activation_error[8][logits] > 0


@pytest.mark.parametrize("solver", sorted(moosplit.available_solvers()))
def test_every_backend_solves_the_small_transformers(profiles, solver):
    cls = moosplit.available_solvers()[solver]
    mode = "prefix" if "prefix" in cls.modes else "cut"
    # exhaustive enumerates every plan: one bit-width keeps them to one per edge set
    bits = (16,) if solver == "exhaustive" else (8, 16)
    options = {"n_gen": 5, "pop_size": 16} if solver == "nsga2" else {}
    for profile in profiles:
        problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=10),
                                        objectives=("latency_ms", "error"), bits=bits,
                                        mode=mode)
        front = moosplit.solve(problem, solver, seed=0, time_limit=30, **options)
        assert len(front) >= 1 and front.objectives == ("latency_ms", "error")
        F = front.F
        assert np.isfinite(F).all()
        dominated = [(F[j] <= F[i]).all() and (F[j] < F[i]).any()
                     for i in range(len(F)) for j in range(len(F))]
        assert not any(dominated)  # both objectives minimised: a front, not a plan list


@pytest.mark.slow
def test_profile_command_on_gpt2_small(tmp_path, capsys):
    from moosplit.cli import main

    out = tmp_path / "gpt2.csv"
    assert main(["profile", "gpt2_small", "--input-shape", "8", "--out", str(out), "--bits",
                 "8", "--samples", "1", "--runs", "1", "--warmup", "0", "--quiet"]) == 0
    profile = moosplit.read_profile(out)
    assert profile.metadata["weights"].startswith("random")
    assert "random token ids" in profile.metadata["calibration"]
    assert profile.input_bits == 16 and profile.out_elems[0] == 8
    assert profile.out_elems[profile.index["lm_head"]] == 8 * 50257
    assert main(["profile", "gpt2_small", "--input-shape", "8", "--out", str(out),
                 "--mean", "0.5"]) == 2
    assert "reads token ids" in capsys.readouterr().err


TOKEN_FACTORY = """
import torch

class TinyLM(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(50, 16)
        self.head = torch.nn.Linear(16, 50)

    def forward(self, ids):
        return self.head(torch.relu(self.embed(ids)))

def make():
    torch.manual_seed(0)
    return TinyLM().eval()
"""


def test_a_token_model_factory_from_the_command_line(tmp_path, monkeypatch, capsys):
    """`--vocab` says a module:factory model reads token ids; export reads it back from the
    profile's metadata."""
    from moosplit.cli import main
    from moosplit.deploy.export import export_plan
    from moosplit.plans import Plan

    (tmp_path / "tiny_lm.py").write_text(TOKEN_FACTORY, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "lm.csv"
    args = ["profile", "tiny_lm:make", "--input-shape", "6", "--out", str(out), "--bits", "8",
            "--samples", "2", "--runs", "1", "--warmup", "0", "--quiet"]
    assert main([*args, "--vocab", "50"]) == 0
    profile = moosplit.read_profile(out)
    assert profile.metadata["input"] == "token ids in [0, 50), int64"
    assert "random token ids" in profile.metadata["calibration"]
    assert profile.input_bits == 6  # ceil(log2 50) bits per token id
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=10))
    manifest = export_plan(problem, Plan(1, ("embed",), (16,), (16,)), "tiny_lm:make",
                           tmp_path / "plan")
    assert manifest.input.dtype == "int64" and manifest.input.shape == [6]
    capsys.readouterr()
    # without --vocab the ids are taken for real values: the embedding refuses floats
    assert main(args) == 2
    # an architecture knows its inputs; a vocabulary must be a positive integer
    assert main(["profile", "gpt2_small", "--vocab", "10", "--out", str(out)]) == 2
    assert main([*args, "--vocab", "0"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert any("vocab" in line and "module:factory" in line for line in err)
    assert any("vocab" in line and ">= 1" in line for line in err)
    assert "if the model reads token ids" in err[0]
