"""Figures a paper can print (issue 15): every figure type in PNG, SVG and PDF at the size
and dpi asked for; axis limits and scales; labels that never overlap; baselines at one
point that stay distinguishable; 0 and 10^k ticks apart; distinct colours per split."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

import moosplit
from moosplit.cli import main
from moosplit.workflows import figures
from moosplit.workflows.comparison import compare_solvers
from moosplit.workflows.dynamic import dynamic_policy
from moosplit.workflows.figures import Axis, FigureOptions, coincident_offsets
from moosplit.workflows.plots import plot_comparison, plot_fronts, plot_policy, plot_sweep
from moosplit.workflows.sweeps import sweep

pytest.importorskip("matplotlib")

SEED = 4


# ------------------------------------------------------------------ reading the files back
def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def svg_size(path) -> tuple[float, float]:
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg", "not an SVG"
    return tuple(float(root.get(k).removesuffix("pt")) for k in ("width", "height"))


def pdf_size(path) -> tuple[float, float]:
    data = path.read_bytes()
    assert data[:5] == b"%PDF-", "not a PDF"
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    return float(box.group(1)), float(box.group(2))


def assert_file(path, size, dpi) -> None:
    """The file at `path` has the format of its extension and `size` inches (at `dpi`)."""
    fmt = path.suffix[1:]
    if fmt == "png":
        assert png_size(path) == (round(size[0] * dpi), round(size[1] * dpi))
    else:
        got = svg_size(path) if fmt == "svg" else pdf_size(path)
        assert got == pytest.approx((size[0] * 72, size[1] * 72), abs=0.6)


@pytest.fixture
def kept(monkeypatch):
    """Figures stay open after they are written, for inspection."""
    plt = figures.pyplot()
    close, made = plt.close, []
    monkeypatch.setattr(plt, "close", made.append)
    yield made
    for fig in made:
        close(fig)


# ------------------------------------------------------------------ data
@pytest.fixture(scope="module")
def problem() -> moosplit.SplitProblem:
    profile = moosplit.random_profile(6, kind="chain", bits=(4, 8), seed=SEED)
    return moosplit.SplitProblem(profile, moosplit.Network(0.8),
                                 objectives=("latency_ms", "error"),
                                 constraints={"memory_bytes": 8 * 2**20})


@pytest.fixture(scope="module")
def fronts(problem):
    return {"exhaustive": moosplit.solve(problem, "exhaustive"),
            "lagrangian": moosplit.solve(problem, "lagrangian")}


@pytest.fixture(scope="module")
def policy():
    rng = np.random.default_rng(SEED)
    rows = [dict(name="input", op="input", inputs="", out_elems=20000, weight_elems=0,
                 macs=0, edge_ms=0, cloud_ms=0)]
    for i in range(1, 12):
        rows.append(dict(name=f"n{i}", op="conv", inputs=rows[-1]["name"],
                         out_elems=int(20000 * 0.8**i * rng.uniform(0.9, 1.1)),
                         weight_elems=100, macs=1000, edge_ms=float(rng.uniform(0.5, 1.5)),
                         cloud_ms=float(rng.uniform(0.01, 0.05))))
    profile = moosplit.Profile.from_frame(pd.DataFrame(rows), {"model": "shrinking chain"})
    return dynamic_policy([profile], rates=(0.1, 1000))


def draw(kind, path, problem, fronts, policy, **options):
    if kind == "fronts":
        plot_fronts(fronts, x="latency_ms", y="error", path=path,
                    baselines={"cloud_only": moosplit.solve(problem, "cloud_only")},
                    thresholds={"max_error": [0.01, 0.02]}, **options)
    elif kind == "sweep":
        table = sweep(problem, {"bandwidth_mbps": [0.1, 1, 10]}, solver="exhaustive",
                      pick="first", max_workers=1)
        plot_sweep(table, path, **options)
    elif kind == "comparison":
        plot_comparison(compare_solvers(problem, ["exhaustive", "lagrangian", "cloud_only"]),
                        path, **options)
    else:
        plot_policy(policy, path, **options)


# ------------------------------------------------------------------ formats and sizes
@pytest.mark.parametrize("kind", ["fronts", "sweep", "comparison", "policy"])
@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_every_figure_type_in_every_format_at_its_size(tmp_path, problem, fronts, policy,
                                                       kind, fmt):
    path = tmp_path / f"{kind}.{fmt}"
    draw(kind, path, problem, fronts, policy, size=(3.5, 2.8), dpi=150)
    assert_file(path, (3.5, 2.8), 150)


def test_default_size_is_for_print(tmp_path, problem, fronts):
    path = tmp_path / "f.png"
    plot_fronts(fronts, x="latency_ms", y="error", path=path)
    width, height = png_size(path)
    assert width >= 1200 and height >= 800  # 7 x 4.6 in at 200 dpi, not 640 x 480


@pytest.mark.parametrize("options, parameter", [
    ({"size": (0.1, 3)}, "size"), ({"size": (3,)}, "size"), ({"size": "3x2"}, "size"),
    ({"dpi": 0}, "dpi"), ({"dpi": float("nan")}, "dpi"), ({"xlim": (5, 1)}, "xlim"),
    ({"ylim": (0, float("inf"))}, "ylim"), ({"xscale": "loglog"}, "xscale"),
    ({"yscale": "log", "ylim": (0, 1)}, "ylim"), ({"colour": "red"}, "colour"),
])
def test_bad_figure_options_are_refused_before_drawing(tmp_path, fronts, options, parameter):
    with pytest.raises(moosplit.OptionError) as info:
        plot_fronts(fronts, x="latency_ms", y="error", path=tmp_path / "f.png", **options)
    assert info.value.parameter == parameter
    assert list(tmp_path.iterdir()) == []


def test_the_policy_map_takes_no_axis_options(tmp_path, policy):
    with pytest.raises(moosplit.OptionError, match="xlim"):
        plot_policy(policy, tmp_path / "p.png", xlim=(1, 2))


# ------------------------------------------------------------------ axes
def test_axis_limits_are_applied_and_points_beyond_drawn_on_the_edge(tmp_path, kept, fronts,
                                                                    problem):
    cloud = moosplit.solve(problem, "cloud_only")
    latency = float(cloud.F[0, 0])
    plot_fronts(fronts, x="latency_ms", y="error", baselines={"cloud_only": cloud},
                path=tmp_path / "f.svg", xlim=(None, latency * 0.9), ylim=(0, None))
    ax = kept[-1].axes[0]
    assert ax.get_xlim()[1] == pytest.approx(latency * 0.9)
    assert ax.get_ylim()[0] == 0
    text = (tmp_path / "f.svg").read_text()
    assert f"cloud_only: latency_ms {latency:.4g}" in text  # its value, by its edge marker
    assert "beyond the axis limits: drawn on the edge" in text


def test_one_far_outlier_does_not_squeeze_the_rest():
    values = np.r_[np.linspace(20, 25, 30), 75.6]  # Ko et al.'s figure: cloud-only at 75 mJ
    axis = Axis.of(values)
    assert axis.kind == "linear" and axis.outliers
    assert 25 < axis.limits[1] < 30 and axis.limits[0] is None
    assert axis.side(values).tolist() == [0] * 30 + [1]
    assert not Axis.of(np.linspace(20, 75, 31)).outliers  # spread out: no outlier


def test_log_error_axis_draws_zero_at_a_labelled_floor(tmp_path, kept, fronts):
    plot_fronts(fronts, x="latency_ms", y="error", path=tmp_path / "f.png", yscale="log")
    ax = kept[-1].axes[0]
    assert ax.get_yscale() == "log"
    errors = np.concatenate([f.F[:, 1] for f in fronts.values()])
    floor = 10 ** np.floor(np.log10(errors[errors > 0].min())) / 10
    kept[-1].canvas.draw()
    ticks = [(value, label.get_text()) for value, label in
             zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)]
    assert [text for value, text in ticks if np.isclose(value, floor)] == ["0"]  # zero error
    assert not [text for value, text in ticks if value < floor * 9 and value != floor]
    low, _ = ax.get_ylim()
    assert low <= floor


def tick_boxes(fig, axis):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [label.get_window_extent(renderer) for label in labels
            if label.get_text() and min(low, high) <= label.get_position()[axis == "y"]
            <= max(low, high)]


def overlapping(boxes) -> list:
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1]


@pytest.mark.parametrize("smallest", [1e-5, 7.3e-6, 0.02, 3e-12])
def test_zero_and_the_first_decade_ticks_do_not_collide_on_symlog(tmp_path, kept, problem,
                                                                    fronts, smallest):
    plt = figures.pyplot()
    fig, ax = plt.subplots(figsize=(3.5, 2.6), layout="constrained")
    values = np.r_[0.0, smallest, smallest * 3, 0.19, 40.0]
    axis = Axis.of(values)
    assert axis.kind == "symlog" and axis.linthresh <= smallest
    axis.apply_scale(ax, "y")
    ax.plot(np.arange(values.size), values, "o")
    axis.apply_limits(ax, "y")
    boxes = tick_boxes(fig, "y")
    assert len(boxes) >= 3 and not overlapping(boxes)


def test_compare_keeps_small_errors_off_the_zero_line(tmp_path, kept):
    """Errors of 0.02-0.19 beside a zero (cloud-only): the linear part of the symlog axis
    ends at or below 0.02, so none of them is drawn as if it were 0."""
    values = np.r_[0.0, np.linspace(0.02, 0.19, 12)]
    axis = Axis.of(values, "symlog")
    assert axis.linthresh <= 0.02
    assert axis.place(values)[1:].min() >= axis.linthresh


def test_threshold_labels_never_overlap(tmp_path, kept, fronts):
    close = [0.010, 0.0105, 0.011, 0.0115, 0.012]
    latency = float(np.median(fronts["exhaustive"].F[:, 0]))
    plot_fronts(fronts, x="latency_ms", y="error", path=tmp_path / "f.png", size=(3.5, 2.8),
                thresholds={"max_error": close,
                            "max_latency_ms": [latency, latency * 1.001, latency * 1.002]})
    fig = kept[-1]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = [t for t in fig.axes[0].texts if " = " in t.get_text()]
    assert len(labels) == 8
    assert not overlapping([t.get_window_extent(renderer) for t in labels])


def test_compare_draws_each_backend_smaller_than_the_one_before(tmp_path, kept):
    """A dense front drawn first (epsilon's 99 points) stays larger than every front drawn
    over it, so shared points show as nested marks rather than hidden ones."""
    problem = moosplit.random_problem(12, bits=(2, 4, 6, 8), bit_latency=True, seed=1)
    result = compare_solvers(problem, ["epsilon", "nsga2", "lagrangian", "cloud_only"])
    assert len(result.fronts["epsilon"]) > 40
    plot_comparison(result, tmp_path / "c.png")
    sizes = [collection.get_sizes()[0] for collection in kept[-1].axes[0].collections
             if collection.get_label() and collection.get_label().split(" (")[0]
             in result.fronts]
    assert len(sizes) == 4
    assert all(np.diff(sizes) < 0)


def test_baselines_at_the_same_point_stay_distinguishable(tmp_path, kept, problem, fronts):
    same = moosplit.solve(problem, "cloud_only")
    plot_fronts(fronts, x="latency_ms", y="error", path=tmp_path / "f.svg",
                baselines={"cloud_only": same, "qdmp": same, "neurosurgeon": same})
    fig = kept[-1]
    fig.canvas.draw()
    ax = fig.axes[0]
    centres = [collection.get_offset_transform().transform(collection.get_offsets())[0]
               for collection in ax.collections
               if len(collection.get_offsets()) == 1 and collection.get_sizes()[0] == 90]
    assert len(centres) == 3
    gaps = [np.hypot(*(a - b)) for i, a in enumerate(centres) for b in centres[i + 1:]]
    assert min(gaps) > 4  # pixels apart, around the shared point
    text = (tmp_path / "f.svg").read_text()
    assert "qdmp (same point as cloud_only)" in text
    assert "neurosurgeon (same point as cloud_only)" in text


def test_coincident_offsets_only_move_what_coincides():
    offsets, leader = coincident_offsets(np.array([[0, 0], [0, 1], [100, 100], [0, 0]]))
    assert leader == [0, 0, 2, 0]
    assert not offsets[2].any() and len({tuple(o) for o in offsets[[0, 1, 3]]}) == 3


def test_the_title_states_the_limits(tmp_path, kept, fronts):
    plot_fronts(fronts, x="latency_ms", y="error", path=tmp_path / "f.png")
    title = kept[-1].axes[0].get_title().replace("\n", " ")
    assert "0.8 Mbit/s" in title and "memory \u2264 8 MiB" in title


def test_policy_map_gives_each_split_its_own_colour(tmp_path, kept, policy):
    plot_policy(policy, tmp_path / "p.png")
    ax = kept[-1].axes[0]
    splits = [int(t.get_text().split()[1]) for t in ax.get_legend().get_texts()]
    assert len(splits) >= 4 and splits == sorted(splits)
    patches = ax.get_legend().legend_handles
    looks = {(tuple(p.get_facecolor()), p.get_hatch()) for p in patches}
    assert len(looks) == len(splits)  # 58 and 59 never share a colour


def test_distinct_colours_neighbours_differ():
    styles = figures.distinct_colours(25)
    assert len(set(map(repr, styles))) == 25
    assert all(a[0] != b[0] for a, b in zip(styles, styles[1:], strict=False))


def test_figure_options_defaults():
    options = FigureOptions()
    assert options.dpi == figures.DEFAULT_DPI and options.xscale == "auto"


# ------------------------------------------------------------------ command line
@pytest.fixture(scope="module")
def front_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fig")
    profile = folder / "chain.csv"
    moosplit.write_profile(moosplit.random_profile(6, kind="chain", bits=(4, 8), seed=SEED),
                           profile)
    front = folder / "front.csv"
    assert main(["solve", str(profile), *OPTIONS, "--out", str(front), "--quiet"]) == 0
    return str(profile), str(front)


OPTIONS = ["--objectives", "latency_ms,error", "--bandwidth-mbps", "0.8"]


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_cli_plot_size_dpi_and_format(capsys, tmp_path, front_file, fmt):
    profile, front = front_file
    out = tmp_path / f"f.{fmt}"
    rc = main(["plot", front, "--profile", profile, *OPTIONS, "--out", str(out), "--size",
               "3.5x2.5", "--dpi", "300", "--yscale", "log", "--xlim", ":1e4", "--quiet"])
    assert rc == 0, capsys.readouterr().err
    assert_file(out, (3.5, 2.5), 300)


@pytest.mark.parametrize("command", [
    ["sweep", "{profile}", *OPTIONS, "--vary", "bandwidth_mbps=1,2", "--plot", "{tmp}/s.pdf",
     "--workers", "1", "--solver", "exhaustive", "--quiet"],
    ["compare", "{profile}", *OPTIONS, "--solvers", "exhaustive,cloud_only", "--plot",
     "{tmp}/s.pdf", "--quiet"],
    ["dynamic", "{profile}", "--rates", "1:10", "--plot", "{tmp}/s.pdf"],
])
def test_cli_figure_options_on_every_command_that_draws(capsys, tmp_path, front_file,
                                                        command):
    profile, _ = front_file
    argv = [a.format(profile=profile, tmp=tmp_path) for a in command]
    assert main([*argv, "--size", "4x3", "--dpi", "100"]) == 0, capsys.readouterr().err
    assert_file(tmp_path / "s.pdf", (4, 3), 100)


@pytest.mark.parametrize("extra, says", [
    (["--size", "3by2"], "--size"), (["--size", "0.1x2"], "--size must be"),
    (["--dpi", "-3"], "--dpi must be"), (["--xlim", "5:1"], "--xlim must be"),
    (["--xlim", "5"], "--xlim"), (["--yscale", "log", "--ylim", "0:1"], "--ylim must be"),
    (["--xscale", "cubic"], "--xscale"),
])
def test_cli_bad_figure_options_exit_2(capsys, tmp_path, front_file, extra, says):
    profile, front = front_file
    rc = main(["plot", front, "--profile", profile, *OPTIONS, "--out", str(tmp_path / "f.png"),
               *extra])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.splitlines()) == 1 and says in err, err
    assert not (tmp_path / "f.png").exists()


def test_cli_figure_options_without_a_figure_are_refused(capsys, front_file):
    profile, _ = front_file
    rc = main(["sweep", profile, *OPTIONS, "--vary", "bandwidth_mbps=1", "--size", "3x2"])
    err = capsys.readouterr().err
    assert rc == 2 and "--size set the figure of --plot, which is not asked for" in err, err
