"""The benchmark scripts start: they import what they share and parse their options.

They make the tables of docs/benchmarks.md and run for minutes, so the suite does not run
them; a script broken by a change elsewhere (a moved helper, a renamed option) should fail
here rather than when the tables are next re-measured.
"""

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if p.name != "common.py")


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_starts(script):
    run = subprocess.run([sys.executable, str(BENCHMARKS / script), "--help"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage:") and script in run.stdout
