"""Figures: `moosplit.workflows.plots` and `moosplit plot`."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import moosplit
from moosplit import cli as cli_package
from moosplit.cli import main
from moosplit.cli import plot as plot_command
from moosplit.cli import sweep as sweep_command
from moosplit.workflows.plots import figure_format, plot_fronts, plot_sweep, pyplot, set_scale
from moosplit.workflows.sweeps import sweep

pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"
SEED = 3
OPTIONS = ["--bandwidth-mbps", "0.8", "--objectives", "latency_ms,error,memory_bytes"]


@pytest.fixture(autouse=True)
def commands(monkeypatch):
    """Register the commands until moosplit.cli lists them itself."""
    missing = tuple(c for c in (sweep_command, plot_command)
                    if c not in cli_package.COMMANDS)
    if missing:
        monkeypatch.setattr(cli_package, "COMMANDS", (*cli_package.COMMANDS, *missing))


def cli(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def is_svg(path) -> bool:
    return ET.parse(path).getroot().tag == "{http://www.w3.org/2000/svg}svg"


@pytest.fixture(scope="module")
def problem() -> moosplit.SplitProblem:
    return moosplit.random_problem(6, seed=SEED, bits=(4, 8, 16),
                                   objectives=("latency_ms", "error", "memory_bytes"))


@pytest.fixture(scope="module")
def fronts(problem) -> dict[str, moosplit.Front]:
    return {"cpsat": moosplit.solve(problem, "cpsat"),
            "lagrangian": moosplit.solve(problem, "lagrangian")}


@pytest.fixture(scope="module")
def baselines(problem) -> dict[str, moosplit.Front]:
    return {name: moosplit.solve(problem, name) for name in ("cloud_only", "edge_only", "qdmp")}


# ------------------------------------------------------------------ library
@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_fronts_writes_the_format_of_the_extension(tmp_path, fronts, baselines, suffix):
    path = tmp_path / f"fronts{suffix}"
    plot_fronts(fronts, x="latency_ms", y="error", baselines=baselines,
                thresholds={"max_error": 0.01, "max_latency_ms": 30}, path=path)
    if suffix == ".png":
        assert path.read_bytes()[:8] == PNG
    else:
        assert is_svg(path)
        text = path.read_text()
        assert "max_error = 0.01" in text and "max_latency_ms = 30" in text  # labelled


def test_plot_fronts_refuses_bad_input_before_drawing(tmp_path, fronts):
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        plot_fronts(fronts, x="latency_ms", y="error", path=tmp_path / "f.eps")
    with pytest.raises(ValueError, match="neither axis"):
        plot_fronts(fronts, x="latency_ms", y="error", thresholds={"max_tx_bytes": 1},
                    path=tmp_path / "f.png")
    with pytest.raises(ValueError, match="unknown threshold"):
        plot_fronts(fronts, x="latency_ms", y="error", thresholds={"error": 1},
                    path=tmp_path / "f.png")
    with pytest.raises(ValueError, match="must differ"):
        plot_fronts(fronts, x="error", y="error", path=tmp_path / "f.png")
    with pytest.raises(ValueError, match="energy_mj cannot be computed"):
        plot_fronts(fronts, x="latency_ms", y="energy_mj", path=tmp_path / "f.png")
    assert list(tmp_path.iterdir()) == []


def test_empty_front_and_infeasible_baseline_are_drawn_in_the_legend(tmp_path, problem):
    tight = problem.replace(constraints={"latency_ms": 0.001})
    empty = moosplit.solve(tight, "cpsat")
    assert len(empty) == 0
    path = tmp_path / "empty.svg"
    plot_fronts({"tight": empty}, x="latency_ms", y="error",
                baselines={"cloud_only": moosplit.solve(tight, "cloud_only")}, path=path)
    text = path.read_text()
    assert "tight (empty)" in text and "cloud_only (no feasible plan)" in text


def test_axis_scale_follows_the_decades_it_spans():
    plt = pyplot()
    fig, ax = plt.subplots()
    try:
        assert set_scale(ax, "x", [1.0, 50.0, 100.0]) == "linear"  # two decades: linear
        assert set_scale(ax, "x", [1.0, 101.0]) == "log"
        assert ax.get_xscale() == "log"
        assert set_scale(ax, "y", [0.0, 1e-6, 0.1]) == "symlog"  # zero: cloud-only error
        assert ax.get_yscale() == "symlog"
        assert set_scale(ax, "y", [np.nan, 0.0]) == "linear"
    finally:
        plt.close(fig)


def test_missing_matplotlib_names_the_extra(monkeypatch, tmp_path, fronts):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'moosplit\[plot\]'"):
        plot_fronts(fronts, x="latency_ms", y="error", path=tmp_path / "f.png")


def test_figure_format():
    assert figure_format("a/b.PNG") == "png"
    with pytest.raises(ValueError, match="got 'a.jpg'"):
        figure_format("a.jpg")


def test_plot_sweep(tmp_path, problem):
    table = sweep(problem, {"bandwidth_mbps": [0.01, 0.1, 1, 10], "max_latency_ms": [1, 1e6]},
                  solver="cpsat", pick="first", max_workers=1)
    assert table.frame["status"].tolist().count("infeasible") > 0  # gaps in one line
    for y, suffix in (("n_edge", ".png"), ("latency_ms", ".svg")):
        path = tmp_path / f"sweep{suffix}"
        plot_sweep(table, path, y=y)
        assert path.read_bytes()[:8] == PNG if suffix == ".png" else is_svg(path)
    for text_column in ("edge_nodes", "solver", "refusal", "status"):
        with pytest.raises(ValueError, match="numeric column"):
            plot_sweep(table, tmp_path / "x.png", y=text_column)


# ------------------------------------------------------------------ command line
@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[str, list[str]]:
    """A profile and two front CSVs solved on it with OPTIONS."""
    folder = tmp_path_factory.mktemp("plot")
    profile = folder / "chain6.csv"
    moosplit.write_profile(moosplit.random_profile(6, kind="chain", bits=(4, 8), seed=SEED),
                           profile)
    paths = []
    for solver in ("cpsat", "lagrangian"):
        path = folder / f"{solver}.csv"
        assert main(["solve", str(profile), *OPTIONS, "--solver", solver, "--out", str(path),
                     "--quiet"]) == 0
        paths.append(str(path))
    return str(profile), paths


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_cli_plot(capsys, tmp_path, written, suffix):
    profile, paths = written
    out = tmp_path / f"fig{suffix}"
    rc, stdout, err = cli(capsys, "plot", *paths, "--profile", profile, *OPTIONS,
                          "--baselines", "cloud_only,edge_only,qdmp,dads", "--threshold",
                          "max_error=0.01", "--threshold", "max_latency_ms=20", "--out", out)
    assert rc == 0, err
    assert stdout == ""
    assert "note: baseline dads left out: dads does not support mode 'prefix'" in err
    assert f"wrote {out}: latency_ms vs error; fronts: cpsat " in err
    if suffix == ".png":
        assert out.read_bytes()[:8] == PNG
    else:
        assert is_svg(out)
        text = out.read_text()
        assert "lagrangian (" in text and "qdmp" in text  # labels: file stems, baselines


def test_cli_plot_other_axes(capsys, tmp_path, written):
    profile, paths = written
    out = tmp_path / "mem.svg"
    rc, _, err = cli(capsys, "plot", paths[0], "--profile", profile, *OPTIONS, "--x",
                     "memory_bytes", "--y", "latency_ms", "--out", out, "--quiet")
    assert rc == 0 and err == ""
    assert is_svg(out)


@pytest.mark.parametrize("change,message", [
    (["--out", "{tmp}/fig.eps"], "--out must be a file name ending in .png, .svg or .pdf, got"),
    (["--out", "{tmp}/no/such/fig.png"], "does not exist"),
    (["--bandwidth-mbps", "3"], "row 0, column 'latency_ms': the file says"),
    (["--max-error", "1e-9"], "infeasible"),
    (["--threshold", "max_tx_bytes=1"], "--threshold must be on an axis"),
    (["--threshold", "max_speed=1"], "--threshold must be limits among"),
    (["--baselines", "nope"], "--baselines: unknown nope"),
    (["--x", "error", "--y", "error"], "x and y must differ"),
    (["--objectives", "latency_ms"], "--y is needed"),
    (["--x", "energy_mj"], "energy_mj cannot be computed"),
])
def test_cli_plot_bad_input_exits_2(capsys, tmp_path, written, change, message):
    """A later option overrides the same one in OPTIONS (argparse keeps the last)."""
    profile, paths = written
    argv = ["plot", *paths, "--profile", profile, *OPTIONS, "--out", tmp_path / "fig.png"]
    rc, _, err = cli(capsys, *argv, *(a.format(tmp=tmp_path) for a in change))
    assert rc == 2, err
    assert len(err.splitlines()) == 1 and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_cli_plot_duplicate_labels_and_missing_file(capsys, tmp_path, written):
    profile, paths = written
    copy = tmp_path / "cpsat.csv"
    copy.write_text(open(paths[0]).read())
    rc, _, err = cli(capsys, "plot", paths[0], copy, "--profile", profile, *OPTIONS,
                     "--out", tmp_path / "f.png")
    assert rc == 2 and "also named 'cpsat'" in err
    rc, _, err = cli(capsys, "plot", tmp_path / "none.csv", "--profile", profile, *OPTIONS,
                     "--out", tmp_path / "f.png")
    assert rc == 2 and "none.csv" in err
