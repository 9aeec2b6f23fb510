"""Every lesson notebook: its jupytext source in sync, committed executed, and runnable.

Each notebook in ``notebooks/`` is a pair: ``NAME.py`` (jupytext percent format, what a
teacher edits) and ``NAME.ipynb`` (committed executed, outputs kept). The tests find
every pair by the jupytext header of the ``.py`` (a new notebook is covered with no edit
here) and catch a pair out of sync, a notebook committed without its outputs or with an
error or a warning in them, and a notebook that no longer runs top to bottom on a fresh
kernel of the interpreter running the tests.
"""

from __future__ import annotations

import importlib.util
import re
import symtable
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupytext.compare import NotebookDifference, compare_notebooks  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 300  # seconds per cell; the slowest cell takes a few seconds
WARNING = re.compile(r"\b\w*Warning\b")  # how warnings.showwarning prints a warning


def _load_runner():
    spec = importlib.util.spec_from_file_location("notebook_runner", NOTEBOOKS / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = _load_runner()
SOURCES = runner.paired_sources(NOTEBOOKS)
NAMES = [p.stem for p in SOURCES]
RERUN = "Sync and re-execute it: `python notebooks/execute.py {name}`."


def _problems_in_outputs(nb) -> list[str]:
    """Error outputs and printed warnings, as 'cell i: ...' lines."""
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr" and WARNING.search(out.text):
                problems.append(f"cell {i} printed a warning: {out.text.strip()[:300]}")
    return problems


def test_the_lessons_are_paired():
    assert {"backpropagation_classification", "backpropagation_regression"} <= set(NAMES)
    unpaired = sorted(
        p.name for p in NOTEBOOKS.glob("*.ipynb") if not p.with_suffix(".py").exists()
    )
    assert unpaired == [], f"{unpaired} have no jupytext source: `jupytext --set-formats "
    "ipynb,py:percent notebooks/NAME.ipynb` pairs one"


@pytest.mark.parametrize("name", NAMES)
def test_source_and_notebook_are_in_sync(name):
    source, ipynb = NOTEBOOKS / f"{name}.py", NOTEBOOKS / f"{name}.ipynb"
    assert ipynb.exists(), f"{ipynb.name} is missing. {RERUN.format(name=name)}"
    from_source, committed = jupytext.read(source), jupytext.read(ipynb)
    try:  # jupytext's own comparison, as `jupytext --sync` and `--test` use it
        compare_notebooks(from_source, committed, fmt="py:percent")
    except NotebookDifference as difference:
        pytest.fail(
            f"{source.name} and {ipynb.name} differ: {difference}\n"
            f"Run `jupytext --sync notebooks/{source.name}`, then " + RERUN.format(name=name)
        )
    assert committed.metadata["jupytext"]["formats"] == "ipynb,py:percent"


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_was_executed_in_order(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert counts, f"{name}.ipynb has no code cells"
    assert counts == list(range(1, len(counts) + 1)), (
        f"{name}.ipynb was not executed top to bottom in one run (execution counts "
        f"{counts}). {RERUN.format(name=name)}"
    )
    assert sum(len(c.outputs) for c in code) > 0, f"{name}.ipynb was saved without outputs"
    assert _problems_in_outputs(nb) == []


def _reads_and_writes(source: str) -> tuple[set[str], set[str]]:
    """The global names a code cell reads (also inside its functions) and binds."""
    source = "\n".join(line for line in source.splitlines() if not line.startswith(("%", "!")))
    top = symtable.symtable(source, "<cell>", "exec")
    writes = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    reads = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    tables = list(top.get_children())
    while tables:
        table = tables.pop()
        tables.extend(table.get_children())
        in_class = table.get_type() == "class"
        for s in table.get_symbols():
            if s.is_referenced() and (s.is_global() or (in_class and not s.is_assigned())):
                reads.add(s.get_name())
    return reads, writes


def rebindings(code_cells: list[str]) -> list[str]:
    """Names a cell rebinds although an earlier cell reads the first binding: re-running
    that earlier cell after the later one would silently use the wrong object."""
    info = [_reads_and_writes(source) for source in code_cells]
    found = []
    for j, (_, writes) in enumerate(info):
        for name in sorted(writes):
            first = next((i for i in range(j) if name in info[i][1]), None)
            if first is None:
                continue
            readers = [
                i for i in range(first + 1, j) if name in info[i][0] and name not in info[i][1]
            ]
            if readers:
                found.append(f"code cell {j} rebinds {name!r}, read by code cells {readers}")
    return found


def test_rebinding_check_catches_the_mse_bug():
    cells = [
        "def mse(Y, T):\n    return ((Y - T) ** 2).mean()",
        "def loss(Y):\n    return mse(Y, 0)",  # reads mse inside a function
        "print(mse(1, 0))",
        "mse = object()",  # the bug: rebinding a name the cells above use
        "fig = 1\nprint(fig)",
        "fig = 2\nprint(fig)",  # fine: each cell binds fig before reading it
    ]
    assert rebindings(cells) == ["code cell 3 rebinds 'mse', read by code cells [1, 2]"]


@pytest.mark.parametrize("name", NAMES)
def test_no_cell_rebinds_a_name_an_earlier_cell_reads(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert rebindings([c.source for c in nb.cells if c.cell_type == "code"]) == []


def test_kernel_runs_the_test_interpreter():
    import chainrule

    source = "import sys, chainrule\nprint(sys.executable)\nprint(chainrule.__file__)"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    runner.execute(nb, timeout=60)
    executable, package = nb.cells[0].outputs[0].text.split()
    assert Path(executable) == Path(sys.executable)
    assert Path(package) == Path(chainrule.__file__)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name, tmp_path):
    nb = jupytext.read(NOTEBOOKS / f"{name}.py")
    start = time.perf_counter()
    runner.execute(nb, timeout=CELL_TIMEOUT, cwd=tmp_path)  # raises on a failing cell
    seconds = time.perf_counter() - start
    assert _problems_in_outputs(nb) == []
    assert all(c.execution_count is not None for c in nb.cells if c.cell_type == "code")
    assert list(tmp_path.iterdir()) == [], "a notebook wrote files into its working folder"
    print(f"{name}: {seconds:.1f} s")
