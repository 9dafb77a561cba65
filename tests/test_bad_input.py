"""Issue 15's cases, one regression test each: bad input never gives a wrong answer or a
traceback, valid files are read, and every refusal is one line naming what is wrong."""

from __future__ import annotations

import io
import os
import pickle
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import moosplit
from moosplit.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "tiny.csv"
TINY = EXAMPLE.read_text()
SOLVE = ["--objectives", "latency_ms,edge_macs", "--bandwidth-mbps", "3", "--bits", "8,16"]
CODECS = "codec,node,ratio,err,encode_ms\nzip,conv,2,0,0.1\nzip,pool,2,0,0.1\n"


def cli(capsys, *argv) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def refused(capsys, *argv, says: tuple[str, ...] = ()) -> str:
    """Run the command line; it must exit 2 with one line on stderr containing `says`."""
    rc, _, err = cli(capsys, *argv)
    lines = err.splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("moosplit: error: "), err
    assert "np.float64" not in err and "Traceback" not in err, err
    for text in says:
        assert text in err, (text, err)
    return lines[0]


def write(tmp_path, text: str, name: str = "p.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def tiny_with(old: str, new: str) -> str:
    assert old in TINY
    return TINY.replace(old, new, 1)


# ---------------------------------------------------------- 1. wrong answers from bad input
@pytest.mark.parametrize("value", ["1e19", "1e308", "9223372036854775807",
                                   "99999999999999999999999", "9007199254740993"])
@pytest.mark.parametrize("column, old", [
    ("out_elems", "conv,conv,input,2000,"), ("weight_elems", "conv,conv,input,2000,400,"),
    ("macs", "conv,conv,input,2000,400,400000,")])
def test_whole_numbers_beyond_2_53_are_refused(capsys, tmp_path, value, column, old):
    cells = old.rstrip(",").split(",")
    cells[-1] = value
    path = write(tmp_path, tiny_with(old, ",".join(cells) + ","))
    refused(capsys, "solve", path, *SOLVE,
            says=(str(path), "line 5", "row 1 ('conv')", f"column '{column}'", "at most 2^53"))


def test_a_column_total_beyond_2_53_is_refused(capsys, tmp_path):
    big = str(2**52 + 1)
    text = tiny_with("conv,conv,input,2000,400,400000,", f"conv,conv,input,2000,400,{big},")
    text = text.replace("fc,linear,pool,10,5000,5000,", f"fc,linear,pool,10,5000,{big},")
    refused(capsys, "solve", write(tmp_path, text), *SOLVE,
            says=("row 3 ('fc')", "column 'macs'", "total"))


@pytest.mark.parametrize("header", ["werr_b08,aerr_b08", "werr_b8,aerr_b8,werr_b08,aerr_b08",
                                    "werr_b\u0668,aerr_b\u0668"])
def test_bit_widths_in_column_names_are_plain_ascii(capsys, tmp_path, header):
    text = TINY
    if header.count(",") == 3:  # beside the real columns: one more pair of cells per row
        lines = text.splitlines()
        lines[2] = lines[2].replace("werr_b8,aerr_b8", header)
        lines[3:] = [re.sub(r"^([^,]*(?:,[^,]*){8}),([^,]*),([^,]*)", r"\1,\2,\3,\2,\3", line)
                     for line in lines[3:]]
        text = "\n".join(lines) + "\n"
    else:
        text = text.replace("werr_b8,aerr_b8", header)
    refused(capsys, "solve", write(tmp_path, text), *SOLVE,
            says=("ASCII digits without leading zeros",))


@pytest.mark.parametrize("table, says", [
    ("codec,node,ratio,err,encode_ms\n1,zip,conv,2,0,0.1\n2,zip,pool,2,0,0.1\n",
     ("line 2", "6 fields, the header has 5")),                       # an extra leading field
    ("codec,node,ratio,err,encode_ms\n,conv,2,0,0.1\n", ("line 2", "column 'codec'",
                                                         "must not be empty")),
    ("codec,node,ratio,err,encode_ms\nzip,conv,2,0,0.1,7\n", ("line 2", "6 fields")),
    ("codec,node,ratio,err,encode_ms\nz p,conv,2,0,0.1\n", ("cannot contain spaces",)),
    ("codec,node,ratio,err,encode_ms\nzip,conv,1_000,0,0.1\n", ("column 'ratio'",)),
    ("codec,node,ratio,err,encode_ms\nzip,conv,0,0,0.1\n", ("column 'ratio'", "> 0")),
    ("codec,node,ratio,err,encode_ms\nnone,conv,2,0,0.1\n", ("built in",)),
    ("codec,node,ratio,err,encode_ms\n", None),  # no rows: only `none`, valid
    ("", ("the file is empty",)),
    ("codec,node,ratio,err,encode_ms\n\n\nzip,nope,2,0,0.1\n", ("line 4", "unknown node")),
])
def test_codec_tables(capsys, tmp_path, table, says):
    path = write(tmp_path, table, "codecs.csv")
    if says is None:
        rc, _, err = cli(capsys, "solve", EXAMPLE, *SOLVE, "--codecs", path, "--quiet")
        assert rc == 0, err
    else:
        refused(capsys, "solve", EXAMPLE, *SOLVE, "--codecs", path, says=(str(path), *says))


def test_solve_writes_codec_names_that_plot_reads_back(capsys, tmp_path):
    codecs = write(tmp_path, CODECS, "codecs.csv")
    front = tmp_path / "front.csv"
    options = [*SOLVE, "--codecs", codecs]
    rc, _, err = cli(capsys, "solve", EXAMPLE, *options, "--out", front, "--quiet")
    assert rc == 0, err
    assert "zip" in front.read_text()
    rc, _, err = cli(capsys, "plot", front, "--profile", EXAMPLE, *options, "--out",
                     tmp_path / "f.svg", "--quiet")
    assert rc == 0, err


@pytest.mark.parametrize("change, says", [
    (("# batch: 1", "# out_bits: 4"), ("line 2", "'out_bits'", "input row")),
    (("# batch: 1", "# Batch: 2"), ("line 2", "did you mean 'batch'")),
    (("# batch: 1", "# BATCH: 2"), ("did you mean 'batch'",)),
    (("# batch: 1", "# batch: 1e23"), ("metadata 'batch'",)),
    (("# batch: 1", "# batch: 100000000000000000000000"), ("metadata 'batch'", "1..1000000")),
    (("# batch: 1", "# batch: \u00b2"), ("metadata 'batch'",)),
    (("# batch: 1", "# batch: 1_0"), ("metadata 'batch'",)),
    (("# batch: 1", "# note: a\x00b"), ("printable",)),
    (("0,0,0,0,8", "0,0,0,0,1e30"), ("column 'out_bits'", "at most 64")),
    (("0,0,0,0,8", "0,0,0,0,0"), ("column 'out_bits'", ">= 1")),
    (("pool,pool,conv", "po\x00ol,pool,conv"), ("column 'name'", "control characters")),
    (("pool,pool,conv", "pool,po\x00ol,conv"), ("column 'op'", "control characters")),
    (("conv,conv,input,2000,", "conv,conv,input,2_000,"), ("column 'out_elems'",)),
    (("conv,conv,input,2000,", "conv,conv,input,\u0662\u0660\u0660\u0660,"),
     ("column 'out_elems'", "ASCII digits")),
    (("4.0,0.5", "1e308,0.5"), ("column 'edge_ms'", "at most 2^53")),
    (("4.0,0.5", "nan,0.5"), ("column 'edge_ms'",)),
    (("4.0,0.5", "inf,0.5"), ("column 'edge_ms'",)),
    (("4.0,0.5", "1e400,0.5"), ("column 'edge_ms'",)),
])
def test_metadata_and_cells_that_would_be_ignored_or_overflow(capsys, tmp_path, change, says):
    path = write(tmp_path, tiny_with(*change))
    refused(capsys, "solve", path, *SOLVE, says=(str(path), *says))


def test_provenance_notes_under_a_column_name_are_still_accepted(tmp_path):
    text = tiny_with("# batch: 1", "# batch: 1\n# edge_ms: measured on a Pi 4, median of 10")
    assert moosplit.read_profile(write(tmp_path, text)).metadata["edge_ms"].startswith("meas")


def test_no_infinite_latency_on_a_front(tmp_path):
    path = write(tmp_path, tiny_with("4.0,0.5", "9007199254740992,0.5"))
    problem = moosplit.SplitProblem(moosplit.read_profile(path), moosplit.Network(3),
                                    objectives=("latency_ms", "edge_macs"))
    front = moosplit.solve(problem, "exhaustive")
    assert np.isfinite(front.F).all()


# ---------------------------------------------------------- 2. tracebacks -> one line
def test_unreadable_files_are_one_line(capsys, tmp_path, monkeypatch):
    """As root nothing is unreadable, so the denial is simulated where files are opened."""
    real = Path.read_text

    def deny(self, *args, **kwargs):
        if self.name.startswith("secret"):
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", deny)
    secret = write(tmp_path, TINY, "secret.csv")
    refused(capsys, "solve", secret, *SOLVE, says=(str(secret), "Permission denied"))
    codecs = write(tmp_path, CODECS, "secret_codecs.csv")
    refused(capsys, "solve", EXAMPLE, *SOLVE, "--codecs", codecs,
            says=(str(codecs), "Permission denied"))
    refused(capsys, "info", tmp_path, says=(str(tmp_path),))  # a folder


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_for_real(capsys, tmp_path):
    path = write(tmp_path, TINY)
    path.chmod(0)
    refused(capsys, "solve", path, *SOLVE, says=(str(path), "Permission denied"))


@pytest.mark.parametrize("command", ["solve", "compare", "sweep"])
def test_out_targets_refused_before_any_work(capsys, tmp_path, command):
    extra = {"solve": [], "compare": ["--solvers", "exhaustive"],
             "sweep": ["--vary", "bandwidth_mbps=1,2", "--workers", "1"]}[command]
    argv = [command, EXAMPLE, *SOLVE, *extra]
    refused(capsys, *argv, "--out", tmp_path, says=("is a folder",))
    refused(capsys, *argv, "--out", "/nonexistent/t.csv", says=("does not exist",))
    if Path("/proc/version").exists():
        refused(capsys, *argv, "--out", "/proc/version", says=("/proc/version",))
    if Path("/dev/full").exists():  # only a write shows it is full: after the work
        refused(capsys, *argv, "--quiet", "--out", "/dev/full",
                says=("--out /dev/full: cannot be written (No space left on device)",))


def test_plot_outputs_refused_before_any_work(capsys, tmp_path):
    refused(capsys, "compare", EXAMPLE, *SOLVE, "--solvers", "exhaustive", "--plot",
            tmp_path / "no" / "f.png", says=("--plot", "does not exist"))
    refused(capsys, "sweep", EXAMPLE, *SOLVE, "--vary", "bandwidth_mbps=1", "--plot",
            tmp_path / "no" / "f.png", says=("--plot", "does not exist"))


def front_file(capsys, tmp_path) -> Path:
    path = tmp_path / "front.csv"
    rc, _, err = cli(capsys, "solve", EXAMPLE, *SOLVE, "--out", path, "--quiet")
    assert rc == 0, err
    return path


@pytest.mark.parametrize("edit, says", [
    (lambda text: "", ("the file is empty",)),
    (lambda text: "".join(line + (",x\n" if i == 1 else "\n")
                          for i, line in enumerate(text.splitlines())), ("line 2", "13 fields")),
    (lambda text: text.replace("\n0,", '\n"0,', 1), ("unterminated quote",)),
    (lambda text: text.replace("8 8 8,none", "65544 8 8,none"), ("column 'bits_a'", "1..32")),
    (lambda text: text.replace("8 8 8,none", "\u0668 8 8,none"), ("column 'bits_a'",)),
    (lambda text: text.replace("8 8 8,none", "8 8 8,"), ("column 'codec'",)),
    (lambda text: text.replace("\n0,", "\n1_0,", 1), ("column 'split'",)),
    (lambda text: text.replace(",codec\n", ",codec,extra\n").replace(",none\n", ",none,1\n"),
     ("unknown column(s) extra",)),
    (lambda text: text.replace("\n0,", "\n0" + "9" * 140_000 + ",", 1), ("line 2",)),
])
def test_malformed_front_files(capsys, tmp_path, edit, says):
    path = front_file(capsys, tmp_path)
    path.write_text(edit(path.read_text()))
    refused(capsys, "plot", path, "--profile", EXAMPLE, *SOLVE, "--out", tmp_path / "f.png",
            says=(str(path), *says))


def test_front_values_in_messages_are_plain_numbers(capsys, tmp_path):
    path = front_file(capsys, tmp_path)
    other = ["--objectives", "latency_ms,edge_macs", "--bandwidth-mbps", "1", "--bits", "8,16"]
    line = refused(capsys, "plot", path, "--profile", EXAMPLE, *other, "--out",
                   tmp_path / "f.png", says=("the file says 3.46666666666666",))
    assert "np." not in line


def test_resolution_inf_and_a_negative_seed_are_one_line(capsys):
    """The issue's two option cases (the fuzz suite tries many more)."""
    refused(capsys, "solve", EXAMPLE, *SOLVE, "--resolution", "inf", says=("--resolution",))
    refused(capsys, "solve", EXAMPLE, *SOLVE, "--seed", "-1", "--solver", "nsga2",
            says=("--seed must be a whole number >= 0",))


def test_a_huge_field_is_one_line(capsys, tmp_path):
    path = write(tmp_path, tiny_with("pool,pool,conv", "p" * 200_000 + ",pool,conv"))
    refused(capsys, "solve", path, *SOLVE, says=(str(path), "line 6"))


def test_output_into_a_closed_pipe_exits_quietly(capsys, monkeypatch):
    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    rc = main(["info", "resnet50"])
    assert rc == 141
    assert capsys.readouterr().err == ""


def test_output_piped_into_head_exits_quietly(tmp_path):
    profile = tmp_path / "chain.csv"
    moosplit.write_profile(moosplit.random_profile(3000, kind="chain", seed=1), profile)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = subprocess.run(f"{sys.executable} -m moosplit info {profile} | head -1", shell=True,
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.stdout.startswith("profile:"), run
    assert run.stderr == "", run.stderr


@pytest.mark.parametrize("kind", ["chain", "dag"])
def test_info_on_a_long_profile_is_linear(capsys, tmp_path, kind):
    path = tmp_path / f"{kind}.csv"
    moosplit.write_profile(moosplit.random_profile(20_000, kind=kind, seed=2), path)
    start = time.perf_counter()
    rc, out, err = cli(capsys, "info", path)
    assert rc == 0, err
    assert f"nodes: 20000 ({'chain' if kind == 'chain' else 'DAG'}" in out
    assert time.perf_counter() - start < 30  # a chain took 123 s and 8.4 GB before


def test_prefix_tx_bytes_is_the_evaluators():
    from moosplit.plans import prefix_plans
    from moosplit.workflows.dynamic import prefix_tx_bytes

    for seed in range(6):
        profile = moosplit.random_profile(12, kind="dag", seed=seed, batch=1 + seed % 3)
        problem = moosplit.SplitProblem(profile, moosplit.Network(1.0),
                                        objectives=("tx_bytes",), bits=(16,))
        plans = prefix_plans(problem, np.arange(profile.n_rows), 16)
        expected = moosplit.evaluate(problem, plans)["tx_bytes"]
        assert np.allclose(prefix_tx_bytes(profile), expected), seed


# ---------------------------------------------------------- 3. valid files refused
def test_blank_lines_between_metadata_lines(tmp_path):
    path = write(tmp_path, tiny_with("# batch: 1\n", "\n# batch: 2\n\n"))
    profile = moosplit.read_profile(path)
    assert profile.batch == 2 and profile.n_nodes == 3


def test_line_numbers_after_blank_metadata_lines(capsys, tmp_path):
    path = write(tmp_path, tiny_with("# batch: 1\n", "\n# batch: 1\n\n").replace(
        "pool,pool,conv,500", "pool,pool,conv,-500"))
    refused(capsys, "solve", path, *SOLVE, says=("line 8, row 2 ('pool')",))


def test_utf8_byte_order_mark(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + TINY.encode())
    assert moosplit.read_profile(path).metadata["batch"] == "1"
    codecs = tmp_path / "codecs.csv"
    codecs.write_bytes(b"\xef\xbb\xbf" + CODECS.encode())
    assert moosplit.read_codecs(codecs, moosplit.read_profile(path)).names == ("none", "zip")


def test_out_folder_refused_before_solving(capsys, tmp_path):
    line = refused(capsys, "solve", "resnet50", "--objectives", "latency_ms,error",
                   "--bandwidth-mbps", "3", "--solver", "exhaustive", "--out", tmp_path,
                   says=("--out", "is a folder"))
    assert "exhaustive" not in line  # refused before the backend ran


def test_front_arrays_are_read_only():
    problem = moosplit.random_problem(5, seed=1)
    front = moosplit.solve(problem, "exhaustive")
    before = front.to_frame()
    for array in (front.plans.edge, front.plans.bits_w, front.plans.bits_a, front.plans.codec,
                  front.evaluation.values["latency_ms"], front.evaluation.feasible):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = array[0]
    with pytest.raises(TypeError):
        front.evaluation.values["latency_ms"] = np.zeros(len(front))  # type: ignore[index]
    taken = front.take([0])
    with pytest.raises(ValueError, match="read-only"):
        taken.plans.bits_a[0, 1] = 2
    copy = pickle.loads(pickle.dumps(front))
    assert not copy.plans.edge.flags.writeable
    assert copy.to_frame().equals(before) and front.to_frame().equals(before)


# ---------------------------------------------------------- 4. one vocabulary
def test_problem_repr_shows_the_network():
    problem = moosplit.SplitProblem(moosplit.load_profile("portend_resnet20"),
                                    moosplit.Network(10, rtt_ms=20, tx_power_mw=np.float64(5)))
    text = repr(problem)
    assert "rtt_ms=20.0" in text and "tx_power_mw=5.0" in text and "np." not in text
    plain = moosplit.SplitProblem(problem.profile, moosplit.Network(10))
    assert "rtt_ms=0.0" in repr(plain) and "tx_power_mw" not in repr(plain)


def test_library_messages_name_parameters_not_flags():
    """No exception raised outside moosplit.cli names a command-line flag: the library
    names its parameters, the command line swaps in its flags."""
    import ast

    package = Path(moosplit.__file__).parent
    found = []
    for path in package.rglob("*.py"):
        if "cli" in path.relative_to(package).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise):
                for const in ast.walk(node):
                    if isinstance(const, ast.Constant) and isinstance(const.value, str) \
                            and re.search(r"--[a-z]", const.value):
                        found.append(f"{path.name}:{node.lineno}: {const.value!r}")
    assert not found, "\n".join(found)


def test_profile_factory_from_the_working_directory(capsys, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    (tmp_path / "issue15_net.py").write_text(
        "import torch\n\ndef make_net():\n    return torch.nn.Sequential("
        "torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), "
        "torch.nn.Linear(4 * 6 * 6, 2))\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    rc, _, err = cli(capsys, "profile", "issue15_net:make_net", "--input-shape", "3x8x8",
                     "--out", tmp_path / "p.csv", "--runs", "1", "--warmup", "0",
                     "--errors", "none", "--quiet")
    assert rc == 0, err
    assert moosplit.read_profile(tmp_path / "p.csv").n_nodes == 3  # conv (ReLU fused), flatten, fc
    assert str(tmp_path) not in sys.path  # the path is restored
    sys.modules.pop("issue15_net", None)


# ---------------------------------------------------------- 5. progress a user can see
def test_compare_says_which_backend_runs(capsys):
    rc, _, err = cli(capsys, "compare", EXAMPLE, *SOLVE, "--solvers", "exhaustive,cloud_only")
    assert rc == 0, err
    assert "[compare] 0/2 backends (0%)" in err and ": running exhaustive" in err
    assert "[compare] 1/2 backends (50%)" in err and ": running cloud_only" in err


def test_sweep_says_which_setting_runs(capsys):
    rc, _, err = cli(capsys, "sweep", EXAMPLE, *SOLVE, "--vary", "bandwidth_mbps=1,4",
                     "--workers", "1", "--solver", "exhaustive")
    assert rc == 0, err
    lines = [line for line in err.splitlines() if line.startswith("[sweep]")]
    assert [line.split(": ", 1)[1] for line in lines] == [
        "bandwidth_mbps=1: solving", "bandwidth_mbps=1: optimal",
        "bandwidth_mbps=4: solving", "bandwidth_mbps=4: optimal"]


def test_codecs_prints_progress(capsys, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from moosplit.cli import codecs as codecs_command
    from moosplit.cli.output import ProgressPrinter

    (tmp_path / "issue15_codec_net.py").write_text(
        "import torch\n\ndef make_net():\n    return torch.nn.Sequential("
        "torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(codecs_command, "ProgressPrinter",
                        lambda after_s: ProgressPrinter(after_s=0, every_s=0))
    rc, _, err = cli(capsys, "codecs", "issue15_codec_net:make_net", "--input-shape", "3x8x8",
                     "--out", tmp_path / "c.csv", "--lossy-bits", "none")
    sys.modules.pop("issue15_codec_net", None)
    assert rc == 0, err
    assert re.search(r"\[codecs\] 1/\d+ nodes", err), err
    rc, _, err = cli(capsys, "codecs", "issue15_codec_net:make_net", "--input-shape", "3x8x8",
                     "--out", tmp_path / "c.csv", "--lossy-bits", "none", "--quiet")
    sys.modules.pop("issue15_codec_net", None)
    assert rc == 0 and err == "", err


def test_profiler_messages_name_parameters_and_the_cli_names_flags(capsys, tmp_path,
                                                                   monkeypatch):
    pytest.importorskip("torch")
    from moosplit.profilers.loading import load_model

    (tmp_path / "issue15_shape_net.py").write_text(
        "import torch\n\ndef make_net():\n    return torch.nn.ReLU()\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(moosplit.ProfileError, match="input_shape must be given") as info:
        load_model("issue15_shape_net:make_net", batch=1, shape=None, seed=0)
    assert "--" not in str(info.value)
    line = refused(capsys, "profile", "issue15_shape_net:make_net", "--out", tmp_path / "p.csv",
                   says=("--input-shape must be given for a torch factory",))
    assert "input_shape" not in line
    sys.modules.pop("issue15_shape_net", None)


def test_negative_constraints_are_refused_by_the_library():
    with pytest.raises(moosplit.OptionError, match="every quantity is >= 0"):
        moosplit.SplitProblem(moosplit.load_profile("portend_resnet20"), moosplit.Network(1),
                              constraints={"latency_ms": -1})


def test_a_folder_that_cannot_be_written_in_is_refused_before_work(capsys, tmp_path,
                                                                    monkeypatch):
    """As root every folder is writable, so the denial is simulated."""
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == tmp_path
                        else real(path, mode))
    refused(capsys, "solve", EXAMPLE, *SOLVE, "--out", tmp_path / "f.csv",
            says=("--out", "cannot write in folder"))
