"""Build the bundled PORTEND profile(s) from ../shared/data (run from the project root).

    python scripts/build_portend_profiles.py ../shared/data

Per-block latencies are PORTEND's measurements (median of timeit repeats, batch 1);
weights and MACs follow from the ResNet20 architecture the measurements were taken on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from moosplit.profiles.csv_io import write_profile
from moosplit.profiles.profile import Profile


def conv(cin: int, cout: int, k: int, hw_out: int) -> tuple[int, int]:
    """(weights, MACs) of a bias-free conv."""
    weights = cin * cout * k * k
    return weights, weights * hw_out * hw_out


def resnet20_block_costs(name: str, contents: str, out_shape: list[int]) -> tuple[int, int]:
    """(weight elements incl. BatchNorm affine parameters, MACs) of one PORTEND block."""
    cout, hw, _ = out_shape
    if name == "conv1":
        w, m = conv(3, 16, 3, hw)
        return w + 2 * 16, m
    cin = cout // 2 if "s2" in contents else cout
    w1, m1 = conv(cin, cout, 3, hw)
    w2, m2 = conv(cout, cout, 3, hw)
    weights, macs = w1 + w2 + 2 * 2 * cout, m1 + m2
    if "downsample" in contents:
        w3, m3 = conv(cin, cout, 1, hw)
        weights, macs = weights + w3 + 2 * cout, macs + m3
    return weights, macs


def build_resnet20(data: dict) -> Profile:
    rows = [dict(name="input", op="input", inputs="", out_elems=data["input_elems"],
                 weight_elems=0, macs=0, edge_ms=0.0, cloud_ms=0.0)]
    previous = "input"
    for block in data["blocks"]:
        weights, macs = resnet20_block_costs(block["name"], block["contents"],
                                             block["out_shape"])
        rows.append(dict(name=block["name"], op="conv" if block["name"] == "conv1" else "block",
                         inputs=previous, out_elems=block["out_elems"], weight_elems=weights,
                         macs=macs, edge_ms=block["edge_ms"], cloud_ms=block["cloud_ms"]))
        previous = block["name"]
    channels = data["blocks"][-1]["out_shape"][0]
    rows.append(dict(name="fc", op="linear", inputs=previous, out_elems=data["num_classes"],
                     weight_elems=channels * data["num_classes"] + data["num_classes"],
                     macs=channels * data["num_classes"], edge_ms=0.0, cloud_ms=0.0))
    metadata = {
        "model": "ResNet20 (CIFAR-10), 10 blocks + classifier",
        "batch": "1",
        "edge_device": data["edge_device"],
        "cloud_device": data["cloud_device"],
        "edge_ms": "measured by PORTEND (PyTorch fp32, batch 1, median of timeit repeats of "
                   "100 calls) on the edge device; taken as the reference precision",
        "cloud_ms": "measured likewise on the cloud device (GPU times without cuda "
                    "synchronisation)",
        "latency_caveat": "each block's time includes one early-exit head (avgpool + linear), "
                          "so fc is charged 0 ms and block times are not exactly additive",
        "out_elems": "from PORTEND's intermediate shapes",
        "weight_elems_macs": "computed from the ResNet20 architecture (3x3 convs, 1x1 "
                             "downsample, BatchNorm affine parameters)",
        "errors": "none: reference precision only (no werr/aerr columns)",
        "source": data["source"],
    }
    return Profile.from_frame(pd.DataFrame(rows), metadata, source="portend_resnet20")


def main(data_dir: str) -> None:
    data = json.loads((Path(data_dir) / "portend_resnet20.json").read_text())
    out = Path(__file__).resolve().parents[1] / "moosplit/profiles/bundled/portend_resnet20.csv"
    write_profile(build_resnet20(data), out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
