"""Fuzzing the inputs (issue 15): malformed profiles, codec tables, front files and option
sets, made by seeded generators from valid files, fed to the command line (in process) and
to the library, in every default run and in bounded time.

Every mutation below is invalid by construction (a control group of valid rewrites checks
that refusals are not too broad). For each case:

- no traceback: nothing but SystemExit may escape `moosplit.cli.main`;
- no invalid input accepted: the exit status is 2, with exactly one stderr line
  `moosplit: error: ...` naming the file and, where there is one, the row, line or column;
- the library readers raise their own error types (ProfileError, ProblemError, OptionError,
  OSError), never anything else;
- each valid rewrite gives the same front as the file it was made from.

A failure lists the case labels; the generators are seeded (SEED), so a label reproduces.
"""

from __future__ import annotations

import csv
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import moosplit
from moosplit.cli import main

SEED = 15
BUDGET_S = 40.0  # the whole module, on a slow shared machine
EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "tiny.csv"

# numeric cells no column accepts on a node row (blank: a missing value there)
BAD_NUMBERS = ["-1", "-0.5", "1e19", "9007199254740993", "1e400", "nan", "NaN", "inf",
               "-inf", "Infinity", "1_000", "\u0661\u0662", "\u0663.\u0665", "abc", "",
               "0x10", "+-1", "1e", "..", "1.2.3", "9" * 25, "1e+", "e5", "1 2", "\u00b2",
               "\u00bd", "2**3", "1/2", "--1", "\x00", "1e19.5"]
BAD_WHOLE = ["1.5", "1e-1", "0.999", "2.5e0"]  # fine as floats, not as counts
WHOLE_COLUMNS = ("out_elems", "weight_elems", "macs")


@dataclass
class Case:
    """One input: files to write, the command line to run on them, what must happen."""

    label: str
    files: dict[str, str | bytes]
    argv: list[str]
    valid: bool = False
    says: tuple[str, ...] = ()         # every one must appear in the error line
    any_of: tuple[str, ...] = ()       # one of them must (a row, a line or a column)
    library: Callable[[Path], object] | None = None  # the library reader of the mutated file
    mutated: str = ""                  # the file the case mutates (its name must be said)


@dataclass
class Table:
    """A CSV file split into metadata lines, header and rows of cells (no quoting needed)."""

    meta: list[str]
    header: list[str]
    rows: list[list[str]]
    newline: str = "\n"
    extra: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> Table:
        lines = text.splitlines()
        meta = [line for line in lines if line.startswith("#")]
        body = [line for line in lines if not line.startswith("#") and line.strip()]
        cells = list(csv.reader(body))
        return cls(meta, cells[0], cells[1:])

    def copy(self) -> Table:
        return Table(list(self.meta), list(self.header), [list(r) for r in self.rows],
                     self.newline)

    def text(self) -> str:
        lines = [*self.meta, ",".join(self.header), *(",".join(r) for r in self.rows)]
        return self.newline.join(lines) + self.newline

    def with_column(self, name: str, value: str) -> Table:
        """A copy with one more column, `value` in every row."""
        t = self.copy()
        t.header.append(name)
        for cells in t.rows:
            cells.append(value)
        return t

    def without_column(self, name: str) -> Table:
        """A copy without column `name`."""
        t, j = self.copy(), self.col(name)
        del t.header[j]
        for cells in t.rows:
            del cells[j]
        return t

    def with_quote(self, row: int, j: int) -> Table:
        """A copy whose cell (row, j) opens a quote that nothing closes."""
        t = self.copy()
        t.rows[row][j] = '"' + t.rows[row][j]
        return t

    def line_of(self, row: int) -> int:
        return len(self.meta) + 2 + row

    def col(self, name: str) -> int:
        return self.header.index(name)


# ------------------------------------------------------------------ the base files
def base_files(tmp: Path) -> dict[str, str]:
    """The valid files the cases are made from: the documented example, a random DAG with
    bit-dependent latency and energy, a codec table and a front solved with it."""
    dag = tmp / "dag.csv"
    moosplit.write_profile(moosplit.random_profile(5, kind="dag", bits=(4, 8),
                                                   bit_latency=True, energy=True, seed=SEED),
                           dag)
    profile = moosplit.read_profile(dag)
    codecs = "codec,node,ratio,err,encode_ms\n" + "".join(
        f"zip,{name},{2 + i % 3},{0.001 * i},0.0{i}\n" for i, name in enumerate(profile.names))
    (tmp / "codecs.csv").write_text(codecs)
    front = tmp / "front.csv"
    assert main(["solve", str(dag), *DAG_OPTIONS, "--codecs", str(tmp / "codecs.csv"),
                 "--out", str(front), "--quiet"]) == 0
    return {"tiny": EXAMPLE.read_text(), "dag": dag.read_text(), "codecs": codecs,
            "front": front.read_text()}


DAG_OPTIONS = ["--objectives", "latency_ms,error", "--bandwidth-mbps", "2", "--bits", "8,16",
               "--solver", "exhaustive"]
TINY_OPTIONS = ["--objectives", "latency_ms,edge_macs", "--bandwidth-mbps", "3", "--bits",
                "8,16", "--solver", "exhaustive"]


# ------------------------------------------------------------------ profile mutations
def profile_mutations(rng: random.Random, table: Table) -> list[tuple[str, str | bytes,
                                                                        tuple, tuple]]:
    """(label, file content, says, any_of): every one an invalid profile."""
    out = []
    numeric = [c for c in table.header if c not in ("name", "op", "inputs", "out_bits")]
    n = len(table.rows)

    def add(label, t, says=(), any_of=()):
        out.append((label, t.text() if isinstance(t, Table) else t, says, any_of))

    for _ in range(40):  # a bad number in a node row
        t, row, column = table.copy(), rng.randrange(1, n), rng.choice(numeric)
        token = rng.choice(BAD_NUMBERS + (BAD_WHOLE if column in WHOLE_COLUMNS else []))
        t.rows[row][t.col(column)] = token
        add(f"cell row {row} {column}={token!r}", t, (f"'{column}'",), (f"row {row}",))
    for _ in range(6):  # a cost on the input row
        t, column = table.copy(), rng.choice([c for c in numeric if c != "out_elems"])
        token = rng.choice(["5", "0.1", "-1", "x"])
        t.rows[0][t.col(column)] = token
        add(f"input row {column}={token!r}", t, (f"'{column}'",), ("row 0",))
    for token in ("", "-3", "1e30"):  # the raw input size
        t = table.copy()
        t.rows[0][t.col("out_elems")] = token
        add(f"input out_elems={token!r}", t, ("'out_elems'",), ("row 0",))
    if "out_bits" in table.header:
        for token in ("0", "65", "1e30", "8.5", "x", "\u0668"):
            t = table.copy()
            t.rows[0][t.col("out_bits")] = token
            add(f"out_bits={token!r}", t, ("'out_bits'",), ("row 0",))
        t = table.copy()
        t.rows[1][t.col("out_bits")] = "8"
        add("out_bits on a node row", t, ("'out_bits'",), ("row 1",))
    for _ in range(8):  # ragged rows
        t, row = table.copy(), rng.randrange(n)
        if rng.random() < 0.5:
            del t.rows[row][rng.randrange(len(t.rows[row]))]
        else:
            t.rows[row].insert(rng.randrange(len(t.rows[row]) + 1), "7")
        add(f"ragged row {row}", t, ("fields",), (f"line {t.line_of(row)}",))
    for _ in range(4):  # a duplicated node
        t, row = table.copy(), rng.randrange(1, n)
        t.rows.insert(row + 1, list(t.rows[row]))
        add(f"duplicate row {row}", t, ("duplicate",), (f"row {row + 1}",))
    for _ in range(6):  # an unknown input name, or one reading itself
        t, row = table.copy(), rng.randrange(1, n)
        name = rng.choice(["nosuch", t.rows[row][0]])
        t.rows[row][t.col("inputs")] += f" {name}"
        add(f"inputs row {row} + {name}", t, ("'inputs'",), (f"row {row}",))
    for row in range(2, n):  # a node moved before what it reads
        reads = [r for r, cells in enumerate(table.rows)
                 if cells[0] in table.rows[row][table.col("inputs")].split() and r > 0]
        if reads:
            t = table.copy()
            t.rows.insert(reads[0], t.rows.pop(row))
            add(f"row {row} moved before row {reads[0]}", t, ("'inputs'",), ("row",))
    for bad in ("", "a b", "x\x00y", "\u2028z"):  # names
        t, row = table.copy(), rng.randrange(1, n)
        t.rows[row][0] = bad
        add(f"name row {row}={bad!r}", t, ("'name'",), (f"row {row}",))
    for bad in ("", "c\x00v"):  # operators
        t, row = table.copy(), rng.randrange(1, n)
        t.rows[row][t.col("op")] = bad
        add(f"op row {row}={bad!r}", t, ("'op'",), (f"row {row}",))
    t = table.copy()
    t.rows[0][t.col("op")] = "conv"
    add("input row op conv", t, (), ("row 0",))
    bits = [c for c in table.header if c.startswith(("werr_b", "aerr_b", "edge_ms_w"))]
    renames = [("name", "Name"), ("out_elems", "out_elem"), ("macs", "MACs"),
               ("cloud_ms", "cloud ms"), ("edge_ms", "edge_ms\u00a0")]
    renames += [(c, c.replace("b", "b0", 1) if c[0] in "wa" else c + "0") for c in bits]
    renames += [(c, c[:-1] + "\u0668") for c in bits if c.endswith("8")]
    for old, new in renames:  # misspelt columns
        t = table.copy()
        t.header[t.col(old)] = new
        add(f"header {old}->{new!r}", t, (), ("column", "missing", "unknown", "'"))
    for column in ("name", "inputs", "macs", "cloud_ms", *bits[:2]):  # a column left out
        add(f"without column {column}", table.without_column(column), (), ("column",))
    t = table.copy()  # a column twice
    t.header[t.col("cloud_ms")] = "edge_ms"
    add("edge_ms twice", t, ("twice",))
    add("unknown column", table.with_column("speed", "1"), ("'speed'",))
    bad_meta = ["# Batch: 2", "# BATCH: 1", "# batch: 0", "# batch: -1", "# batch: 1.5",
                "# batch: 2e3", "# batch: \u00b2", "# batch: 1_0", "# batch: 1000001",
                "# out_bits: 4", "# edge_ms: 5", "# out-bits: 4", "# edge device: pi",
                "# model", "# : x", "# note: a\x00b", "# batch: "]
    for line in bad_meta:
        t = table.copy()
        t.meta = [m for m in t.meta if not m.startswith("# batch")] + [line]
        add(f"metadata {line!r}", t, (), ("line", "metadata"))
    t = table.copy()
    t.meta.append(t.meta[0])
    add("metadata key twice", t, ("twice",), ("line",))
    for _ in range(4):  # an unterminated quote
        row = rng.randrange(n)
        add(f"quote row {row}", table.with_quote(row, rng.randrange(len(table.header))),
            ("quote",), ("line",))
    for _ in range(4):  # cut inside a row: it loses fields
        text = table.text()
        lines = text.splitlines(keepends=True)
        row = rng.randrange(1, n)
        line = lines[table.line_of(row) - 1]
        commas = [i for i, ch in enumerate(line) if ch == ","]
        cut = rng.randrange(commas[0], commas[-1])
        add(f"cut in row {row}", "".join(lines[:table.line_of(row) - 1]) + line[:cut],
            ("fields",), (f"line {table.line_of(row)}",))
    for _ in range(3):  # bytes that are not UTF-8
        data = table.text().encode()
        at = rng.randrange(len(data))
        add(f"bytes at {at}", data[:at] + b"\xff\xfe" + data[at:], ("UTF-8",))
    t = table.copy()
    t.rows[1][0] = "n" * 140_000
    add("huge field", t, (), ("line",))
    add("empty file", "", ("empty",))
    add("metadata only", "\n".join(table.meta) + "\n", ("empty",))
    add("header only", ",".join(table.header) + "\n", ("no rows",))
    return out


def profile_rewrites(rng: random.Random, table: Table) -> list[tuple[str, str | bytes]]:
    """Valid rewrites of a profile: each must read as the same profile."""
    out = [("BOM", b"\xef\xbb\xbf" + table.text().encode())]
    t = table.copy()
    t.newline = "\r\n"
    out.append(("CRLF", t.text()))
    text = table.text().splitlines(keepends=True)
    out.append(("blank lines", "\n".join(text[:1]) + "\n\n" + "\n".join(text[1:]) + "\n\n"))
    t = table.copy()
    order = list(range(len(t.header)))
    rng.shuffle(order)
    t.header = [t.header[j] for j in order]
    t.rows = [[cells[j] for j in order] for cells in t.rows]
    out.append(("columns shuffled", t.text()))
    t = table.copy()
    for cells in t.rows:
        for column in WHOLE_COLUMNS:
            j = t.col(column)
            cells[j] = f" {int(cells[j])}.0 " if rng.random() < 0.5 else f"{int(cells[j])}e0"
    out.append(("counts written as floats", t.text()))
    t = table.copy()
    t.header = [f" {c}  " for c in t.header]
    t.rows = [[f"{c} " for c in cells] for cells in t.rows]
    out.append(("cells padded with spaces", t.text()))
    return out


# ------------------------------------------------------------------ codec mutations
def codec_mutations(rng: random.Random, table: Table) -> list[tuple[str, str | bytes,
                                                                      tuple, tuple]]:
    out = []
    n = len(table.rows)

    def add(label, t, says=(), any_of=()):
        out.append((label, t.text() if isinstance(t, Table) else t, says, any_of))

    for _ in range(30):
        t, row = table.copy(), rng.randrange(n)
        column = rng.choice(["ratio", "err", "encode_ms"])
        token = rng.choice(BAD_NUMBERS)
        t.rows[row][t.col(column)] = token
        add(f"row {row} {column}={token!r}", t, (f"'{column}'", f"line {row + 2}"))
    for _ in range(3):
        t, row = table.copy(), rng.randrange(n)
        t.rows[row][t.col("ratio")] = rng.choice(["0", "0.0", "-0"])
        add(f"row {row} ratio 0", t, ("'ratio'",), (f"line {row + 2}",))
    for bad in ("", "a b", "x\x00", "none", " "):
        t, row = table.copy(), rng.randrange(n)
        t.rows[row][0] = bad
        add(f"codec name {bad!r}", t, (f"line {row + 2}",))
    for bad in ("", "nosuch", "n1 n2", "NONE"):
        t, row = table.copy(), rng.randrange(n)
        t.rows[row][1] = bad
        add(f"node {bad!r}", t, (f"line {row + 2}",), ("'node'",))
    t = table.copy()
    t.rows = [[str(i), *cells] for i, cells in enumerate(t.rows)]
    add("extra leading field on every row", t, ("fields",), ("line 2",))
    for _ in range(4):
        t, row = table.copy(), rng.randrange(n)
        if rng.random() < 0.5:
            t.rows[row].append("7")
        else:
            del t.rows[row][rng.randrange(5)]
        add(f"ragged row {row}", t, ("fields", f"line {row + 2}"))
    t = table.copy()
    t.rows.append(list(t.rows[0]))
    add("a row twice", t, ("twice",), (f"line {n + 2}",))
    for old, new in (("codec", "Codec"), ("ratio", "ratios"), ("err", "error"),
                     ("encode_ms", "node")):
        t = table.copy()
        t.header[t.col(old)] = new
        add(f"header {old}->{new}", t, ("columns",))
    add("extra column", table.with_column("note", "x"), ("unknown note",))
    add("quote", table.with_quote(0, 2), ("quote",), ("line",))
    t = table.copy()
    t.rows[0][1] = "n" * 140_000
    add("huge field", t, (), ("line",))
    add("empty file", "", ("empty",))
    add("not UTF-8", b"codec,node\xff", ("UTF-8",))
    return out


# ------------------------------------------------------------------ front mutations
def front_mutations(rng: random.Random, table: Table) -> list[tuple[str, str | bytes,
                                                                      tuple, tuple]]:
    out = []
    n = len(table.rows)
    edged = [r for r in range(n) if table.rows[r][table.col("bits_a")].strip()]
    assert edged, "the base front needs plans with edge nodes"

    def add(label, t, says=(), any_of=()):
        out.append((label, t.text() if isinstance(t, Table) else t, says, any_of))

    for _ in range(20):  # a bit-width that cannot be
        t, row = table.copy(), rng.choice(edged)
        column = rng.choice(["bits_a", "bits_w"])
        tokens = t.rows[row][t.col(column)].split()
        if not tokens:
            continue
        k = rng.randrange(len(tokens))
        bad = rng.choice(["0", "33", "65544", "x", "\u0668", "-1", "1.5", "4", "2"])
        if tokens[k] == "-":
            bad = rng.choice(["8", "16", "x"])  # a weight bit-width on a weightless node
        tokens[k] = bad
        t.rows[row][t.col(column)] = " ".join(tokens)
        add(f"row {row} {column}[{k}]={bad!r}", t, (), (f"row {row}", f"plan {row}"))
    quantities = ["latency_ms", "memory_bytes", "error", "edge_macs", "throughput_fps",
                  "tx_bytes"]
    for _ in range(20):  # a stored value that is not what the evaluator gives
        t, row = table.copy(), rng.randrange(n)
        column = rng.choice(quantities + ["energy_mj"])
        old = t.rows[row][t.col(column)]
        if old in ("", "inf"):
            bad = rng.choice(["5", "abc"])
        else:
            bad = rng.choice([repr(float(old) * 1.5 + 1), "abc", "-1", "1_0", "nan"])
        t.rows[row][t.col(column)] = bad
        add(f"row {row} {column}={bad!r}", t, (f"'{column}'",), (f"row {row}",))
    for _ in range(6):
        t, row = table.copy(), rng.randrange(n)
        split = int(t.rows[row][0])
        bad = rng.choice([str(split + 1), "x", "1_0", "-2"])
        t.rows[row][0] = bad
        add(f"row {row} split={bad!r}", t, (), (f"row {row}", f"plan {row}"))
    for _ in range(4):
        t, row = table.copy(), rng.choice(edged)
        t.rows[row][t.col("edge_nodes")] += " nosuch"
        add(f"row {row} unknown node", t, (), (f"plan {row}", f"row {row}"))
    for bad in ("", "gzip", "zip zip"):
        t, row = table.copy(), rng.randrange(n)
        t.rows[row][t.col("codec")] = bad
        add(f"row {row} codec={bad!r}", t, (), (f"row {row}", f"plan {row}"))
    t = table.copy()
    t.rows.append(list(t.rows[0]))
    add("a plan twice", t, ("dominated",), (f"row {n}",))
    for _ in range(4):
        t, row = table.copy(), rng.randrange(n)
        del t.rows[row][rng.randrange(len(t.rows[row]))]
        add(f"ragged row {row}", t, ("fields", f"line {row + 2}"))
    for column in ("split", "bits_a", "codec"):
        add(f"without {column}", table.without_column(column), ("missing",))
    add("extra column", table.with_column("note", "x"), ("unknown",))
    add("quote", table.with_quote(0, 1), ("quote",), ("line",))
    add("empty file", "", ("empty",))
    add("not UTF-8", b"split,\xff\n", ("UTF-8",))
    return out


# ------------------------------------------------------------------ option sets
BAD_OPTIONS: list[tuple[list[str], tuple[str, ...]]] = [
    (["--objectives", "latncy_ms"], ("--objectives",)),
    (["--objectives", "latency_ms,latency_ms"], ("--objectives",)),
    (["--objectives", ","], ("--objectives",)),
    (["--objectives", "latency_ms,energy_mj"], ("energy_mj",)),
    *[(["--bandwidth-mbps", v], ("--bandwidth-mbps",))
      for v in ("0", "-1", "inf", "nan", "abc", "1e-300", "", "1e400")],
    *[(["--rtt-ms", v], ("--rtt-ms",)) for v in ("-1", "inf", "nan", "x")],
    *[(["--tx-power-mw", v], ("--tx-power-mw",)) for v in ("-1", "inf", "1e12", "x")],
    (["--transmitter", "nope"], ("--transmitter",)),
    *[(["--memory-mib", v], ("--memory-mib",)) for v in ("-1", "nan", "inf", "x")],
    (["--memory-mib", "1", "--memory-bytes", "2"], ("--memory-bytes",)),
    (["--memory-bytes", "-5"], ("--memory-bytes",)),
    *[(["--max-error", v], ("--max-error",)) for v in ("-0.1", "nan", "inf")],
    *[(["--max-latency-ms", v], ("--max-latency-ms",)) for v in ("-1", "inf")],
    *[(["--bits", v], ("--bits",)) for v in ("3", "0", "-8", "8,x", "", "8.5", "99", "4")],
    *[(["--min-split", v], ("--min-split",)) for v in ("-1", "4", "x", "1.5")],
    *[(["--max-split", v], ("--max-split",)) for v in ("-1", "9", "x")],
    (["--min-split", "3", "--max-split", "1"], ("--min-split",)),
    (["--mode", "diagonal"], ("--mode",)),
    (["--codecs", "{tmp}/missing.csv"], ("--codecs",)),
    (["--codecs", "{tmp}"], ("--codecs",)),
    (["--solver", "nope"], ("--solver",)),
    (["--seed", "-1", "--solver", "nsga2"], ("--seed",)),
    (["--seed", "x"], ("--seed",)),
    (["--seed", "1.5"], ("--seed",)),
    *[(["--time-limit", v], ("--time-limit",)) for v in ("0", "-1", "nan", "inf")],
    *[(["--resolution", v, "--solver", s], ("--resolution",))
      for v in ("0", "-1", "inf", "nan", "x") for s in ("exhaustive", "epsilon", "cpsat")],
    (["--resolution", "0.1", "--solver", "nsga2"], ("--resolution",)),
    *[(["--pick", v], ("--pick",))
      for v in ("bogus", "max_error=x", "by=nope", "max_nope=1", "", "max_error=-1")],
    (["--out", "{tmp}"], ("--out",)),
    (["--out", "{tmp}/no/such/front.csv"], ("--out",)),
    (["--frobnicate"], ("frobnicate",)),
    (["--bits"], ("--bits",)),
]
T, OPTS = str(EXAMPLE), ["--objectives", "latency_ms,edge_macs", "--bandwidth-mbps", "3",
                         "--bits", "8,16"]
COMMAND_OPTIONS: list[tuple[list[str], tuple[str, ...]]] = [
    *[(["sweep", T, *OPTS, "--vary", v], ("--vary",)) for v in (
        "bandwidth_mbps", "nope=1", "bandwidth_mbps=x", "min_split=1.5", "memory_mib=-1",
        "bandwidth_mbps=nan", "=1", "bandwidth_mbps=")],
    *[(["sweep", T, *OPTS, "--vary", v], ("must be",)) for v in (
        "bandwidth_mbps=0", "bandwidth_mbps=1e-300", "tx_power_mw=1e12", "rtt_ms=inf")],
    (["sweep", T, *OPTS, "--vary", "bandwidth_mbps=1", "--vary", "bandwidth_mbps=2"], ("twice",)),
    (["sweep", T, *OPTS, "--vary", "bandwidth_mbps=1", "--pick", "extremes"], ("--pick",)),
    (["sweep", T, *OPTS, "--vary", "bandwidth_mbps=1", "--workers", "0"], ("--workers",)),
    (["sweep", T, *OPTS, "--vary", "bandwidth_mbps=1", "--plot", "x.jpg"], ("--plot",)),
    (["sweep", T, *OPTS, "--vary", "bandwidth_mbps=1", "--plot-y", "nope"], ("--plot-y",)),
    (["sweep", T, *OPTS, "--plot", "x.png"], ("--plot",)),
    (["compare", T, *OPTS, "--solvers", "nope"], ("--solvers",)),
    (["compare", T, *OPTS, "--solvers", ","], ("--solvers",)),
    (["compare", T, *OPTS, "--solvers", "cloud_only", "--resolution", "0.1"], ("--resolution",)),
    (["compare", T, *OPTS, "--plot", "x.gif"], ("--plot",)),
    (["compare", T, "--objectives", "latency_ms", "--bandwidth-mbps", "3", "--plot", "x.png"],
     ("--objectives",)),
    *[(["dynamic", T, "--rates", v], ("--rates",))
      for v in ("0:10", "10:1", "x", "1:inf", "1e-300:1", "nan", ":", "1:2:3")],
    (["dynamic", T, "--rates", "1:10", "--batches", "3"], ("--batches",)),
    (["dynamic", T, "--rates", "1:10", "--bits", "4"], ("--bits",)),
    (["dynamic", T, "--rates", "1:10", "--static-split", "1"], ("--static-split",)),
    (["dynamic", T, "--rates", "1:10", "--scenario", "nope.csv", "--static-split", "1"],
     ("--scenario",)),
    (["dynamic", T, T, "--rates", "1:10"], ("batch",)),
    (["dynamic", T, "--rates", "1:10", "--plot", "x.bmp"], ("--plot",)),
    (["plot", "nope.csv", "--profile", T, *OPTS, "--out", "x.png"], ("nope.csv",)),
    (["plot", T, "--profile", T, *OPTS, "--out", "x.png"], ("tiny.csv",)),
    *[(["plot", T, "--profile", T, *OPTS, "--out", "x.png", *extra], (flag,)) for extra, flag in (
        (["--threshold", "max_error"], "--threshold"), (["--threshold", "max_error=x"],
                                                        "--threshold"),
        (["--x", "error", "--y", "error"], "x and y"),
        (["--threshold", "max_tx_bytes=1"], "--threshold"))],
    (["info", "nope"], ("nope",)),
    (["info", T, "extra"], ("extra",)),
    (["profile", "nope.onnx", "--out", "x.csv"], ("nope.onnx",)),
    (["profile", "resnet50", "--out", "x.csv", "--bits", "1"], ("--bits",)),
    (["profile", "resnet50", "--out", "x.csv", "--batch", "0"], ("--batch",)),
    (["profile", "resnet50", "--out", "x.csv", "--input-shape", "3x0"], ("--input-shape",)),
    (["profile", "resnet50", "--out", "x.csv", "--edge", "nope"], ("--edge",)),
    (["profile", "nomodule_xyz:make", "--out", "x.csv", "--input-shape", "3x8x8"],
     ("nomodule_xyz",)),
]
"""Whole command lines of the other commands, each with one bad option."""

GOOD_OPTIONS = [["--rtt-ms", "5"], ["--memory-mib", "1"], ["--max-error", "1"],
                ["--max-latency-ms", "100"], ["--min-split", "0"], ["--tx-power-mw", "10"],
                ["--solver", "epsilon"], ["--seed", "3"], ["--time-limit", "30"],
                ["--pick", "knee"], ["--mode", "cut"]]


def option_cases(rng: random.Random, tmp: Path) -> list[Case]:
    cases = []
    for k, (bad, says) in enumerate(BAD_OPTIONS * 2):
        good = rng.sample(GOOD_OPTIONS, rng.randrange(4))
        bad = [a.format(tmp=tmp) for a in bad]
        good = [a for a in good if a[0] not in bad]  # the bad one is given once
        # the bad option last but for a flag missing its value, anywhere otherwise
        argv = ["solve", str(EXAMPLE), *TINY_OPTIONS, *[x for g in good for x in g], *bad]
        cases.append(Case(f"options {k}: {' '.join(bad)} with {good}", {}, argv, says=says))
    for k, (argv, says) in enumerate(COMMAND_OPTIONS):
        cases.append(Case(f"options {argv[0]} {k}: {' '.join(argv[2:])}", {}, argv, says=says))
    return cases


# ------------------------------------------------------------------ building the cases
def all_cases(tmp: Path) -> list[Case]:
    rng = random.Random(SEED)
    bases = base_files(tmp)
    profile = moosplit.read_profile(tmp / "dag.csv")
    cases: list[Case] = []
    for base, options in (("tiny", TINY_OPTIONS), ("dag", DAG_OPTIONS)):
        table = Table.parse(bases[base])
        for i, (label, content, says, any_of) in enumerate(profile_mutations(rng, table)):
            name = f"{base}_bad{i}.csv"
            cases.append(Case(f"profile {base}: {label}", {name: content},
                              ["solve", name, *options, "--quiet"], says=says, any_of=any_of,
                              library=moosplit.read_profile, mutated=name))
        for i, (label, content) in enumerate(profile_rewrites(rng, table)):
            name = f"{base}_ok{i}.csv"
            cases.append(Case(f"profile {base} (valid): {label}", {name: content},
                              ["solve", name, *options, "--quiet", "--out", "-"],
                              valid=True, mutated=base))
    codec_options = ["solve", str(tmp / "dag.csv"), *DAG_OPTIONS, "--quiet"]
    for i, (label, content, says, any_of) in enumerate(
            codec_mutations(rng, Table.parse(bases["codecs"]))):
        name = f"codecs_bad{i}.csv"
        cases.append(Case(f"codecs: {label}", {name: content},
                          [*codec_options, "--codecs", name], says=says, any_of=any_of,
                          library=lambda path: moosplit.read_codecs(path, profile),
                          mutated=name))
    plot = ["--profile", str(tmp / "dag.csv"), *DAG_OPTIONS[:-2], "--codecs",
            str(tmp / "codecs.csv"), "--quiet", "--out", str(tmp / "never.svg")]
    problem = moosplit.SplitProblem(
        profile, moosplit.Network(2.0), objectives=("latency_ms", "error"), bits=(8, 16),
        codecs=moosplit.read_codecs(tmp / "codecs.csv", profile))
    for i, (label, content, says, any_of) in enumerate(
            front_mutations(rng, Table.parse(bases["front"]))):
        name = f"front_bad{i}.csv"
        cases.append(Case(f"front: {label}", {name: content}, ["plot", name, *plot],
                          says=says, any_of=any_of,
                          library=lambda path: moosplit.read_front(path, problem),
                          mutated=name))
    front = Table.parse(bases["front"])
    front.newline = "\r\n"
    for label, content in (("BOM", b"\xef\xbb\xbf" + bases["front"].encode()),
                           ("CRLF", front.text())):
        cases.append(Case(f"front (valid): {label}", {"front_ok.csv": content},
                          ["plot", "front_ok.csv", *plot[:-1], str(tmp / "ok.svg")],
                          valid=True))
    cases += option_cases(rng, tmp)
    return cases


def run_cli(argv: list[str], capsys) -> tuple[int | None, str, str, str]:
    """(exit status, stdout, stderr, traceback of anything but SystemExit)."""
    try:
        rc = main(argv)
        crash = ""
    except SystemExit as exc:  # argparse's own exits are allowed; they are exits
        rc, crash = exc.code if isinstance(exc.code, int) else 2, ""
    except BaseException:  # noqa: BLE001 - what this test looks for
        rc, crash = None, traceback.format_exc(limit=-3)
    out, err = capsys.readouterr()
    return rc, out, err, crash


def check(k: int, case: Case, tmp: Path, capsys, expected: dict[str, str]) -> str | None:
    """What is wrong with how moosplit handled case number `k`, or None."""
    folder = tmp / f"case{k}"
    folder.mkdir()
    paths = {}
    for name, content in case.files.items():
        path = folder / name
        (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
        paths[name] = str(path)
    argv = [paths.get(a, a) for a in case.argv]
    rc, out, err, crash = run_cli(argv, capsys)
    if crash:
        return f"traceback:\n{crash}"
    if case.valid:
        if rc != 0:
            return f"valid input refused (exit {rc}): {err.strip()}"
        if case.mutated in expected and out != expected[case.mutated]:
            return "valid rewrite gave another front"
        return None
    lines = err.splitlines()
    if rc != 2 or len(lines) != 1 or not lines[0].startswith("moosplit: error: "):
        return f"exit {rc}, stderr {err!r}: not refused on one line"
    line = lines[0]
    if case.mutated and case.mutated in paths and paths[case.mutated] not in line:
        return f"the message does not name the file: {line}"
    missing = [s for s in case.says if s not in line]
    if missing or (case.any_of and not any(s in line for s in case.any_of)):
        return f"the message does not say {missing or case.any_of}: {line}"
    if "np.float64" in line or "Traceback" in line:
        return f"the message shows Python internals: {line}"
    if case.library is not None:
        try:
            case.library(Path(paths[case.mutated]))
        except (moosplit.ProfileError, moosplit.ProblemError, moosplit.OptionError, OSError):
            pass
        except Exception:  # noqa: BLE001
            return f"the library raised {traceback.format_exc(limit=-2)}"
        else:
            return "the library accepted it"
    return None


def test_fuzzed_inputs_are_refused_on_one_line_and_never_crash(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative output names of the option cases land here
    start = time.perf_counter()
    cases = all_cases(tmp_path)
    capsys.readouterr()
    invalid = [c for c in cases if not c.valid]
    assert len(invalid) >= 500, len(invalid)
    kinds = {c.label.split(":")[0].split()[0] for c in invalid}
    assert kinds == {"profile", "codecs", "front", "options"}, kinds
    expected = {}
    for base, options in (("tiny", [str(EXAMPLE), *TINY_OPTIONS]),
                          ("dag", [str(tmp_path / "dag.csv"), *DAG_OPTIONS])):
        rc, out, err, crash = run_cli(["solve", *options, "--quiet", "--out", "-"], capsys)
        assert rc == 0 and not crash, err + crash
        expected[base] = out
    failures = []
    for k, case in enumerate(cases):
        problem = check(k, case, tmp_path, capsys, expected)
        if problem:
            failures.append(f"[seed {SEED}] {case.label}: {problem}")
    elapsed = time.perf_counter() - start
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)
    assert elapsed < BUDGET_S, f"{len(cases)} cases took {elapsed:.1f} s"


# ------------------------------------------------------------------ the library's options
def library_option_cases() -> list[tuple[str, Callable[[], object]]]:
    profile = moosplit.load_profile("portend_resnet20")
    net = moosplit.Network(10)
    bad_numbers = [-1, -0.5, float("nan"), float("inf"), "1", None, [1],
                   True, 1e400]
    cases: list[tuple[str, Callable[[], object]]] = []
    for value in bad_numbers:
        cases.append((f"Network(bandwidth_mbps={value!r})", lambda v=value: moosplit.Network(v)))
        cases.append((f"Network(rtt_ms={value!r})",
                      lambda v=value: moosplit.Network(1, rtt_ms=v)))
        cases.append((f"constraint latency_ms={value!r}", lambda v=value: moosplit.SplitProblem(
            profile, net, constraints={"latency_ms": v})))
        cases.append((f"min_split={value!r}", lambda v=value: moosplit.SplitProblem(
            profile, net, min_split=v)))
        if value is None:  # no seed, no time limit, no resolution: all fine
            continue
        cases.append((f"seed={value!r}", lambda v=value: moosplit.solve(
            moosplit.SplitProblem(profile, net), "nsga2", seed=v)))
        cases.append((f"time_limit={value!r}", lambda v=value: moosplit.solve(
            moosplit.SplitProblem(profile, net), "cloud_only", time_limit=v)))
        if value != [1] and not isinstance(value, str):  # a list, and text, are valid
            cases.append((f"resolution={value!r}", lambda v=value: moosplit.get_solver(
                "epsilon", resolution=v)))
    for objectives in ((), ("nope",), ("latency_ms", "latency_ms"), ("energy_mj",)):
        cases.append((f"objectives={objectives}", lambda o=objectives: moosplit.SplitProblem(
            profile, net, objectives=o)))
    for bits in ((), (3,), ("8",), (8.5,), 99):
        cases.append((f"bits={bits!r}", lambda b=bits: moosplit.SplitProblem(
            profile, net, bits=b)))
    cases.append(("mode", lambda: moosplit.SplitProblem(profile, net, mode="x")))
    cases.append(("solver", lambda: moosplit.get_solver("nope")))
    return cases


def test_library_refuses_bad_options_with_its_own_errors():
    failures = []
    for label, call in library_option_cases():
        try:
            call()
        except (moosplit.OptionError, moosplit.ProblemError) as exc:
            if "np.float64" in str(exc) or "--" in str(exc):
                failures.append(f"{label}: message {exc}")
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
        else:
            failures.append(f"{label}: accepted")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("cells", [("1e19",), ("\u0661",), ("1_0",)])
def test_library_profile_from_frame_is_as_strict_as_the_reader(cells):
    frame = moosplit.random_profile(3, seed=SEED).to_frame().astype(str)
    frame.loc[1, "macs"] = cells[0]
    with pytest.raises(moosplit.ProfileError, match="row 1.*'macs'"):
        moosplit.Profile.from_frame(frame, {})



# ------------------------------------------------------------------ random edits
EDIT_CHARACTERS = list(',\n"# :.-e0123456789abxz_\t\r\x00\u00a0\u2028\ufeff\u0661\u00b2')


def random_edit(rng: random.Random, text: str) -> str:
    """One to four characters replaced, inserted or deleted anywhere (valid or not)."""
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        at, op = rng.randrange(len(chars) + 1), rng.random()
        if op < 0.4 and chars:
            chars[min(at, len(chars) - 1)] = rng.choice(EDIT_CHARACTERS)
        elif op < 0.7:
            chars.insert(at, rng.choice(EDIT_CHARACTERS))
        elif chars:
            del chars[min(at, len(chars) - 1)]
    return "".join(chars)


def test_random_edits_never_crash(tmp_path, capsys, monkeypatch):
    """Edits at random places of every kind of file: whether the result is valid is not
    known here, but it must be read or refused on one line, never crash."""
    monkeypatch.chdir(tmp_path)
    rng = random.Random(SEED)
    bases = base_files(tmp_path)
    solve = ["solve", "edited.csv", *DAG_OPTIONS, "--quiet"]
    runs = {"tiny": solve, "dag": solve,
            "codecs": ["solve", "dag.csv", *DAG_OPTIONS, "--codecs", "edited.csv", "--quiet"],
            "front": ["plot", "edited.csv", "--profile", "dag.csv", *DAG_OPTIONS[:-2],
                      "--codecs", "codecs.csv", "--quiet", "--out", "edited.svg"]}
    failures = []
    for k in range(400):
        kind = rng.choice(sorted(runs))
        text = random_edit(rng, bases[kind])
        (tmp_path / "edited.csv").write_text(text, encoding="utf-8")
        rc, _, err, crash = run_cli(runs[kind], capsys)
        lines = err.splitlines()
        if crash or rc not in (0, 2) or (rc == 2 and (
                len(lines) != 1 or not lines[0].startswith("moosplit: error: "))):
            failures.append(f"[seed {SEED}] edit {k} of {kind} {text!r}: exit {rc}, "
                            f"{err!r}{crash}")
    assert not failures, "\n".join(failures[:10])
