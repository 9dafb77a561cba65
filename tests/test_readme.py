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


def test_readme_first_command_compares_baselines_with_a_certified_front(capsys, tmp_path):
    from moosplit.cli import main

    argv = readme_commands()[0].split("&& ", 1)[1].split()
    assert argv[:2] == ["moosplit", "compare"] and "--memory-mib" in argv
    argv[argv.index("--plot") + 1] = str(tmp_path / "fronts.png")
    assert main(argv[1:]) == 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    # the reference is epsilon's certified front, and every baseline is scored against it
    assert "certified by epsilon" in text
    rows = {line.split()[0]: line.split() for line in captured.out.splitlines() if line.strip()}
    assert rows["epsilon"][1:3] == ["optimal", "certified"]
    for name in ("lagrangian", "nsga2", "neurosurgeon", "qdmp", "cloud_only"):
        assert name in rows, name
    assert (tmp_path / "fronts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
