"""The locally built torchvision architectures: counts, names, shapes, fx tracing, seeding."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

torch = pytest.importorskip("torch")
from torch import fx  # noqa: E402

from moosplit.profilers.architectures import (  # noqa: E402
    ARCHITECTURES,
    build_architecture,
)

# torchvision's published counts (the "num_params" of each model's ImageNet weights)
PARAMS = {
    "resnet50": 25_557_032,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "alexnet": 61_100_840,
    "mobilenet_v2": 3_504_872,
    "googlenet": 6_624_904,
    "squeezenet1_0": 1_248_424,
    "squeezenet1_1": 1_235_496,
    "densenet121": 7_978_856,
}

# a few modules per architecture, by torchvision's qualified name, as repr() prints them
KNOWN_MODULES = {
    "resnet50": {
        "conv1": "Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)",
        # v1.5: the stride of a downsampling block sits on conv2, not conv1
        "layer2.0.conv1": "Conv2d(256, 128, kernel_size=(1, 1), stride=(1, 1), bias=False)",
        "layer2.0.conv2": "Conv2d(128, 128, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
        "bias=False)",
        "layer4.0.conv3": "Conv2d(512, 2048, kernel_size=(1, 1), stride=(1, 1), bias=False)",
        "layer4.0.downsample.0": "Conv2d(1024, 2048, kernel_size=(1, 1), stride=(2, 2), "
        "bias=False)",
        "layer4.2.downsample.1": None,  # only each layer's first block downsamples
        "avgpool": "AdaptiveAvgPool2d(output_size=(1, 1))",
        "fc": "Linear(in_features=2048, out_features=1000, bias=True)",
    },
    "vgg16": {
        "features.0": "Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
        "features.28": "Conv2d(512, 512, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
        "features.30": "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
        "avgpool": "AdaptiveAvgPool2d(output_size=(7, 7))",
        "classifier.0": "Linear(in_features=25088, out_features=4096, bias=True)",
        "classifier.6": "Linear(in_features=4096, out_features=1000, bias=True)",
    },
    "vgg19": {
        "features.34": "Conv2d(512, 512, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))",
        "features.36": "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
        "classifier.6": "Linear(in_features=4096, out_features=1000, bias=True)",
    },
    "alexnet": {
        "features.0": "Conv2d(3, 64, kernel_size=(11, 11), stride=(4, 4), padding=(2, 2))",
        "features.12": "MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=False)",
        "avgpool": "AdaptiveAvgPool2d(output_size=(6, 6))",
        "classifier.6": "Linear(in_features=4096, out_features=1000, bias=True)",
    },
    "mobilenet_v2": {
        "features.0.0": "Conv2d(3, 32, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
        "bias=False)",
        "features.1.conv.0.0": "Conv2d(32, 32, kernel_size=(3, 3), stride=(1, 1), "
        "padding=(1, 1), groups=32, bias=False)",
        "features.1.conv.1": "Conv2d(32, 16, kernel_size=(1, 1), stride=(1, 1), bias=False)",
        "features.18.0": "Conv2d(320, 1280, kernel_size=(1, 1), stride=(1, 1), bias=False)",
        "features.18.2": "ReLU6(inplace=True)",
        "classifier.1": "Linear(in_features=1280, out_features=1000, bias=True)",
    },
    "googlenet": {
        "conv1.conv": "Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), "
        "bias=False)",
        "conv1.bn": "BatchNorm2d(64, eps=0.001, ",
        "inception3a.branch3.1.conv": "Conv2d(16, 32, kernel_size=(3, 3), stride=(1, 1), "
        "padding=(1, 1), bias=False)",
        "inception5b.branch4.0": "MaxPool2d(kernel_size=3, stride=1, padding=1, dilation=1, "
        "ceil_mode=True)",
        "aux1": None,
        "fc": "Linear(in_features=1024, out_features=1000, bias=True)",
    },
    "squeezenet1_0": {
        "features.0": "Conv2d(3, 96, kernel_size=(7, 7), stride=(2, 2))",
        "features.12.expand3x3": "Conv2d(64, 256, kernel_size=(3, 3), stride=(1, 1), "
        "padding=(1, 1))",
        "classifier.1": "Conv2d(512, 1000, kernel_size=(1, 1), stride=(1, 1))",
        "classifier.3": "AdaptiveAvgPool2d(output_size=(1, 1))",
    },
    "squeezenet1_1": {
        "features.0": "Conv2d(3, 64, kernel_size=(3, 3), stride=(2, 2))",
        "features.12.expand3x3": "Conv2d(64, 256, kernel_size=(3, 3), stride=(1, 1), "
        "padding=(1, 1))",
        "classifier.1": "Conv2d(512, 1000, kernel_size=(1, 1), stride=(1, 1))",
    },
    "densenet121": {
        "features.conv0": "Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), "
        "bias=False)",
        "features.denseblock4.denselayer16.conv1": "Conv2d(992, 128, kernel_size=(1, 1), "
        "stride=(1, 1), bias=False)",
        "features.transition3.pool": "AvgPool2d(kernel_size=2, stride=2, padding=0)",
        "features.norm5": "BatchNorm2d(1024, eps=1e-05, ",
        "classifier": "Linear(in_features=1024, out_features=1000, bias=True)",
    },
}


@dataclass(frozen=True)
class Probe:
    """What one build and one 224x224 forward pass of an architecture showed."""

    params: int
    output_shape: tuple[int, ...]
    modules: dict[str, str]  # qualified name -> repr (leaf modules)
    out_elems: dict[str, int]  # qualified name -> output elements per sample
    traced_targets: list[str]  # call_module targets of the fx graph
    traced_matches: bool  # the fx GraphModule reproduces the eager output


def _probe(name: str) -> Probe:
    model = build_architecture(name)
    out_elems: dict[str, int] = {}

    def record(qualname: str) -> Callable[..., None]:
        def hook(_module: object, _inputs: object, output: torch.Tensor) -> None:
            out_elems[qualname] = output[0].numel()

        return hook

    handles = [m.register_forward_hook(record(n)) for n, m in model.named_modules() if n]
    x = torch.randn(1, *ARCHITECTURES[name].input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    for h in handles:
        h.remove()
    traced = fx.symbolic_trace(model)
    with torch.no_grad():
        y_traced = traced(x)
    return Probe(
        params=sum(p.numel() for p in model.parameters()),
        output_shape=tuple(y.shape),
        modules={n: repr(m) for n, m in model.named_modules() if n and not list(m.children())},
        out_elems=out_elems,
        traced_targets=[n.target for n in traced.graph.nodes if n.op == "call_module"],
        traced_matches=torch.equal(y, y_traced),
    )


@pytest.fixture(scope="module")
def probes() -> Callable[[str], Probe]:
    """One build and forward pass per architecture, shared by this module's tests."""
    cache: dict[str, Probe] = {}

    def get(name: str) -> Probe:
        if name not in cache:
            cache[name] = _probe(name)
        return cache[name]

    return get


# the models beyond torchvision's classic CNNs (tests/test_transformers.py and
# tests/test_efficientnet_lite.py check them further)
OTHERS = {"vit_b_16": 86_567_656, "gpt2_small": 124_439_808, "efficientnet_lite0": 4_652_008}


def test_registry() -> None:
    assert set(ARCHITECTURES) == set(PARAMS) | set(OTHERS)
    for name, info in ARCHITECTURES.items():
        assert info.input_shape == ((128,) if name == "gpt2_small" else (3, 224, 224))
        assert info.description and info.reference
        assert (info.weights is None) == (name != "efficientnet_lite0")
        assert (info.vocab is not None) == (name == "gpt2_small")


@pytest.mark.parametrize("name", ["vit_b_16", "gpt2_small"])
def test_transformer_parameter_counts(name: str) -> None:
    model = build_architecture(name)
    assert sum(p.numel() for p in model.parameters()) == OTHERS[name]  # published counts
    assert f"{OTHERS[name]:,}" in ARCHITECTURES[name].description


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_architecture(name: str, probes: Callable[[str], Probe]) -> None:
    probe = probes(name)
    assert probe.params == PARAMS[name]
    assert probe.output_shape == (1, 1000)
    assert probe.traced_matches
    # fx keeps torchvision's qualified names on every leaf module it calls
    assert set(probe.traced_targets) <= set(probe.modules)
    assert {"Conv2d", "Linear"} & {probe.modules[t].split("(")[0] for t in probe.traced_targets}
    for qualname, expected in KNOWN_MODULES[name].items():
        if expected is None:
            assert qualname not in probe.modules
        else:
            assert probe.modules[qualname].startswith(expected), qualname


def test_resnet50_shapes(probes: Callable[[str], Probe]) -> None:
    out = probes("resnet50").out_elems
    assert [out[f"layer4.{i}.conv3"] for i in range(3)] == [2048 * 7 * 7] * 3 == [100_352] * 3
    assert out["fc"] == 1000
    assert out["conv1"] == 64 * 112 * 112
    assert out["layer1.0.downsample.1"] == 256 * 56 * 56


def test_vgg16_pool_shapes(probes: Callable[[str], Probe]) -> None:
    probe = probes("vgg16")
    pools = [n for n, r in probe.modules.items() if r.startswith("MaxPool2d")]
    assert pools == ["features.4", "features.9", "features.16", "features.23", "features.30"]
    assert [probe.out_elems[n] for n in pools] == [802_816, 401_408, 200_704, 100_352, 25_088]
    assert probe.out_elems["avgpool"] == 25_088
    assert probe.out_elems["classifier.6"] == 1000


@pytest.mark.parametrize("name", ["resnet50", "googlenet", "squeezenet1_1", "densenet121"])
def test_seeded_weights(name: str) -> None:
    rng_before = torch.get_rng_state()
    a = build_architecture(name, seed=3).state_dict()
    b = build_architecture(name, seed=3).state_dict()
    c = build_architecture(name, seed=4).state_dict()
    assert torch.equal(torch.get_rng_state(), rng_before)  # the global RNG is left alone
    assert all(torch.equal(a[k], b[k]) for k in a)
    weights = [k for k in a if k.endswith("weight") and a[k].dim() > 1]
    assert weights and all(not torch.equal(a[k], c[k]) for k in weights)


def test_eval_mode() -> None:
    model = build_architecture("squeezenet1_1")
    assert not any(m.training for m in model.modules())


def test_unknown_name() -> None:
    with pytest.raises(ValueError, match="unknown architecture 'lenet'.*resnet50.*vgg19"):
        build_architecture("lenet")


def test_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"pip install 'moosplit\[torch\]'"):
        build_architecture("resnet50")
    with pytest.raises(ImportError, match=r"pip install 'moosplit\[torch\]'"):
        ARCHITECTURES["alexnet"].builder()


def test_imports_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import moosplit.profilers.architectures as a, moosplit.profilers._torch_architectures\n"
        "import moosplit.profilers._transformers, moosplit.profilers._efficientnet_lite\n"
        "assert len(a.ARCHITECTURES) == 12\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
