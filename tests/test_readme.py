"""The README's commands are the ones CI and users run."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\n(.+?)\n```", section)


def test_ci_runs_exactly_the_readme_test_command():
    commands = readme_commands()
    assert len(commands) == 2, commands
    ci_lines = [line for line in (ROOT / ".ci/run").read_text().splitlines()
                if line and not line.startswith(("#", "set ", "cd "))]
    assert ci_lines == [commands[1]]


def test_readme_solve_command_runs_and_prints_a_front(capsys):
    from moosplit.cli import main

    solve = readme_commands()[0].split("&& ", 1)[1].split()
    assert solve[0] == "moosplit"
    assert main(solve[1:]) == 0
    out = capsys.readouterr().out
    assert "latency_ms" in out.splitlines()[0] and len(out.splitlines()) >= 3
