"""The package's import rules and function sizes, checked on the source with ``ast``.

- no import cycles among chainrule's modules: module-level imports (what ``import``
  runs), and separately the cycles that function-level (lazy) imports close;
- a package's private module (``chainrule.<pkg>._x``) is imported only from inside
  ``chainrule.<pkg>``; the top-level ``chainrule._checks`` is shared by all;
- ``import chainrule`` loads none of scikit-learn, pandas, matplotlib, scipy, torch;
- no function has over ``MAX_LINES`` lines of code (docstring, blank and comment lines
  not counted) unless a ``# long: <why>`` comment on its ``def`` line or the line above
  says why.
"""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "chainrule"
SHARED_PRIVATE = {"chainrule._checks"}  # private by name, shared by every package
HEAVY = ("sklearn", "pandas", "matplotlib", "scipy", "torch")
MAX_LINES = 60
LONG_REASON = re.compile(r"#\s*long:\s*\S")

#: Long functions in other helpers' lanes of issue 21, allowed here until their branches
#: merge; the coordinator empties this list at merge. Keys are ``module:qualified.name``.
BEING_SPLIT: dict[str, str] = {}

#: Import cycles closed by a function-level import in other helpers' lanes, allowed here
#: until their branches merge (the coordinator empties this list at merge): the modules
#: of each cycle, sorted.
CYCLES_BEING_BROKEN: dict[tuple[str, ...], str] = {}


# ------------------------------------------------------------------ the source, parsed


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


@dataclass(frozen=True)
class Import:
    """One import statement's target module, where it is, and whether it runs at import."""

    importer: str
    target: str
    line: int
    lazy: bool  # inside a function: runs when the function is called


def _resolve(importer: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The chainrule modules an import statement loads (a name imported from a package
    is its submodule when one exists, else the package itself)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == PACKAGE]
    if node.level:
        base = importer.split(".")
        if not _is_package(importer):
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        parent = ".".join(base + ([node.module] if node.module else []))
    else:
        parent = node.module or ""
    if parent.split(".")[0] != PACKAGE:
        return []
    targets = []
    for alias in node.names:
        sub = f"{parent}.{alias.name}"
        targets.append(sub if sub in MODULES else parent)
    return targets


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str) -> list[Import]:
    """Every import of a chainrule module in ``module``, with its line and laziness."""
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue  # never runs
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _resolve(module, child):
                    found.append(Import(module, target, child.lineno, lazy))
            inner = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            visit(child, lazy or inner)

    visit(tree, False)
    return found


IMPORTS: list[Import] = [imp for m in MODULES for imp in _imports(m)]


# ------------------------------------------------------------------ cycles


def _cycles(edges: list[Import]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a module that
    imports itself), each sorted; Tarjan's algorithm."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for e in edges:
        graph[e.importer].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(found)


def _describe(cycle: list[str], edges: list[Import]) -> str:
    inside = set(cycle)
    shown = [
        f"{e.importer}:{e.line} -> {e.target}{' (in a function)' if e.lazy else ''}"
        for e in edges
        if e.importer in inside and e.target in inside
    ]
    return " | ".join(sorted(set(shown)))


def test_no_import_cycles_at_module_level():
    edges = [e for e in IMPORTS if not e.lazy]
    cycles = _cycles(edges)
    assert cycles == [], "module-level import cycles: " + "; ".join(
        _describe(c, edges) for c in cycles
    )


def test_function_level_imports_close_no_cycle():
    module_level = {tuple(c) for c in _cycles([e for e in IMPORTS if not e.lazy])}
    allowed = module_level | set(CYCLES_BEING_BROKEN)
    cycles = [c for c in _cycles(IMPORTS) if tuple(c) not in allowed]
    assert cycles == [], "import cycles through function-level imports: " + "; ".join(
        _describe(c, IMPORTS) for c in cycles
    )


def test_the_cycle_allowance_names_only_cycles():
    stale = sorted(set(CYCLES_BEING_BROKEN) - {tuple(c) for c in _cycles(IMPORTS)})
    assert stale == [], f"no longer a cycle (remove from CYCLES_BEING_BROKEN): {stale}"


def test_the_cycle_finder_finds_a_cycle():
    edges = [Import("chainrule.losses", "chainrule.metrics", 1, False),
             Import("chainrule.metrics", "chainrule.losses", 1, True)]  # fmt: skip
    assert _cycles(edges) == [["chainrule.losses", "chainrule.metrics"]]
    assert _cycles(edges[:1]) == []


# ------------------------------------------------------------------ private modules


def _owner_of_private(module: str) -> str | None:
    """The package a private module belongs to (``chainrule.a._x`` -> ``chainrule.a``),
    or None for a public or shared module."""
    parts = module.split(".")
    for k, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return None if module in SHARED_PRIVATE else ".".join(parts[:k])
    return None


def test_private_modules_are_imported_only_inside_their_package():
    wrong = []
    for e in IMPORTS:
        owner = _owner_of_private(e.target)
        if owner is not None and not (e.importer == owner or e.importer.startswith(owner + ".")):
            wrong.append(f"{e.importer}:{e.line} imports {e.target}")
    assert wrong == [], "private modules imported from another package: " + "; ".join(wrong)


def test_private_module_owner():
    assert _owner_of_private("chainrule.cli._guards") == "chainrule.cli"
    assert _owner_of_private("chainrule._checks") is None
    assert _owner_of_private("chainrule.training._checks") == "chainrule.training"
    assert _owner_of_private("chainrule.datasets.tables") is None


# ------------------------------------------------------------------ import cost


def test_import_chainrule_loads_no_heavy_library():
    code = (
        "import sys, chainrule\n"
        f"heavy = {HEAVY!r}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------ function length


def _code_lines(source: str) -> dict[int, bool]:
    """Line number -> True for each line holding code (a token other than a comment),
    counting every line a multi-line token (a string) spans."""
    lines: dict[int, bool] = {}
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENDMARKER}  # fmt: skip
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in skip:
            for line in range(tok.start[0], tok.end[0] + 1):
                lines[line] = True
    return lines


def function_lengths(source: str, module: str = "m") -> list[tuple[str, int, int, bool]]:
    """``(module:qualified.name, def line, lines of code, has a # long: reason)`` for
    every function and method in ``source`` (nested ones too)."""
    tree = ast.parse(source)
    code = _code_lines(source)
    text = source.splitlines()
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, ast.ClassDef):
                name = f"{prefix}{child.name}."
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}."
                body = child.body
                doc = ast.get_docstring(child, clean=False) is not None
                skip = range(body[0].lineno, body[0].end_lineno + 1) if doc else range(0)
                n = sum(
                    1
                    for line in range(child.lineno, child.end_lineno + 1)
                    if code.get(line) and line not in skip
                )
                first = min([d.lineno for d in child.decorator_list] + [child.lineno])
                said = any(
                    LONG_REASON.search(text[line - 1])
                    for line in range(max(first - 1, 1), child.lineno + 1)
                )
                found.append((f"{module}:{prefix}{child.name}", child.lineno, n, said))
            visit(child, name)

    visit(tree, "")
    return found


def _too_long() -> list[str]:
    return [
        f"{name} ({n} lines, {MODULES[name.split(':')[0]].relative_to(SRC)}:{line})"
        for module, path in MODULES.items()
        for name, line, n, said in function_lengths(path.read_text(), module)
        if n > MAX_LINES and not said
    ]


def test_no_function_is_over_the_limit_without_a_reason():
    found = [v for v in _too_long() if v.split(" ")[0] not in BEING_SPLIT]
    assert found == [], (
        f"functions over {MAX_LINES} lines of code: split them into named steps, or say "
        f"why on the def line (# long: ...): {'; '.join(found)}"
    )


def test_the_allow_list_names_only_long_functions():
    long_now = {v.split(" ")[0] for v in _too_long()}
    stale = sorted(set(BEING_SPLIT) - long_now)
    assert stale == [], f"no longer long (remove from BEING_SPLIT): {stale}"


def test_function_length_counts_code_not_docstring_blank_or_comments():
    source = '''
def f(x):  # long: the reason
    """Doc.

    More doc.
    """
    # a comment

    y = (x +
         1)
    s = """a
    b"""
    return y

class C:
    def g(self):
        return 1
'''
    assert function_lengths(source) == [
        ("m:f", 2, 6, True),  # def, y = (2 lines), s = (2 lines), return
        ("m:C.g", 16, 2, False),
    ]
