"""Ctrl-C and time limits: every backend stops, the command line exits 130 on one line and
writes no output file; time limits hold on large inputs (slow tests)."""

import os
import signal
import subprocess
import sys
import time

import pytest

import moosplit
from moosplit.solvers.cpsat import run_interruptibly


def _interrupt(argv: list[str], tmp_path, after_s: float) -> tuple[int, list[str], bool]:
    """Run `moosplit argv --out FILE`, send SIGINT after `after_s` seconds; return the exit
    status, stderr's lines and whether the output file exists."""
    out = tmp_path / "out.csv"
    process = subprocess.Popen([sys.executable, "-m", "moosplit", *argv, "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(after_s)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    return process.returncode, err.strip().splitlines(), out.exists()


@pytest.mark.parametrize("argv", [
    # a CP-SAT solve (the library releases the GIL: the solve runs in a worker thread); at
    # 3 Mbit/s, where it runs for minutes (at 10 Mbit/s the rebuilt profile's 3-point front
    # is proven in about a second)
    ["solve", "resnet50", "--bandwidth-mbps", "3", "--memory-mib", "8", "--solver", "cpsat",
     "--resolution", "0.0001", "--quiet"],
    # a sweep in a process pool: the workers' solves stop at their next progress report
    ["sweep", "portend_resnet20", "--vary", "bandwidth_mbps=1,2,4", "--solver", "nsga2",
     "--solver-opt", "n_gen=100000000", "--solver-opt", "patience=none", "--workers", "2",
     "--quiet"],
    # compare: the backends run one after another in process; the first one is stopped
    # and the others never start (3 Mbit/s: at 10, bound sets certify the front at once)
    ["compare", "resnet50", "--bandwidth-mbps", "3", "--memory-mib", "8", "--solvers",
     "epsilon,lagrangian", "--resolution", "0.001", "--solver-opt", "max_labels=50000000",
     "--quiet"],
    # in-process solves: the DP between nodes, the genetic algorithm between generations
    ["solve", "resnet50", "--bandwidth-mbps", "3", "--memory-mib", "8", "--solver", "epsilon",
     "--resolution", "0.001", "--solver-opt", "max_labels=50000000", "--quiet"],
    ["solve", "portend_resnet20", "--bandwidth-mbps", "10", "--solver", "nsga2", "--solver-opt",
     "n_gen=100000000", "--solver-opt", "patience=none", "--quiet"],
], ids=["cpsat", "sweep", "compare", "epsilon", "nsga2"])
def test_ctrl_c_exits_130_on_one_line_without_output(tmp_path, argv):
    status, lines, wrote = _interrupt(argv, tmp_path, after_s=3.0)
    assert status == 130, lines
    assert lines == ["moosplit: interrupted"]
    assert not wrote


def test_an_interrupted_cp_sat_solve_raises_in_the_caller():
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    xs = [model.new_int_var(0, 100, f"x{i}") for i in range(60)]
    model.add(sum(xs) == 3000)
    model.add_all_different(xs[:50])
    model.minimize(sum((i % 7 + 1) * x for i, x in enumerate(xs)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 30
    solver.parameters.catch_sigint_signal = False
    ticks = []
    timer = __import__("threading").Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        run_interruptibly(solver, model, lambda: ticks.append(1), every_s=0.2)
    assert time.perf_counter() - start < 10  # stopped, not run to its 30 s limit
    assert ticks  # progress ticked while it ran


@pytest.mark.slow
@pytest.mark.parametrize("solver", ["epsilon", "cpsat", "nsga2", "lagrangian", "exhaustive",
                                    "qdmp", "neurosurgeon", "cloud_only", "edge_only",
                                    "uniform", "dads"])
def test_time_limit_holds_on_a_20000_node_chain(solver):
    profile = moosplit.random_profile(20_000, kind="chain", bits=(2, 4, 8), seed=0)
    memory = float(profile.weight_elems.sum() * 6 / 8 + 3 * profile.out_elems.max())
    modes = moosplit.available_solvers()[solver].modes  # dads has cut mode only
    problem = moosplit.SplitProblem(profile, moosplit.Network(bandwidth_mbps=1.0),
                                    constraints={"memory_bytes": memory},
                                    mode="prefix" if "prefix" in modes else "cut")
    start = time.perf_counter()
    try:
        front = moosplit.solve(problem, solver, time_limit=5.0)
        assert front.status.value in ("optimal", "feasible", "unknown")
    except moosplit.UnsupportedProblemError as exc:  # exhaustive refuses by its count
        assert "plans" in str(exc)
    assert time.perf_counter() - start <= 1.2 * 5.0 + 1.0
