"""Every formula a reader sees renders: notebooks, docs and ``explain().to_markdown()``.

The formulas are taken out of the Markdown the way Jupyter does it (JupyterLab's
``removeMath``, and GitHub's Markdown pages likewise): math is cut out of the raw text
*before* Markdown runs, so Markdown escapes do not apply inside it (``\\_`` and ``\\\\``
reach TeX unchanged, a ``|`` inside math does not split a table cell); code spans and
fenced code blocks hold no math; ``\\$`` is a literal dollar. Each ``$$...$$`` is parsed
in display mode and each ``$...$`` inline, by KaTeX itself (``tests/katex_check.js``
run by node, ``throwOnError: true``): a regex cannot tell a formula that renders from
one that does not. ``npm ci`` at the repository root installs the pinned KaTeX.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

ROOT = Path(__file__).resolve().parents[1]
KATEX_SCRIPT = ROOT / "tests" / "katex_check.js"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but tab, LF and CR


def _notebook_markdown() -> dict[str, str]:
    texts = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for i, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                texts[f"{path.name} cell {i}"] = "".join(cell["source"])
    return texts


def _explanations() -> dict[str, str]:
    """explain() on every loss and activation it has a formula for."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 2))
    labels, values = np.array([0, 1, 1]), rng.normal(size=3)
    cases = {
        "sigmoid+cross_entropy": ([cr.Sigmoid()], 2, cr.CrossEntropy(), labels),
        "tanh+mse": ([cr.Tanh()], 1, cr.MeanSquaredError(), values),
        "relu+mae": ([cr.ReLU()], 1, cr.MeanAbsoluteError(), values),
        "leaky+huber": ([cr.LeakyReLU()], 1, cr.Huber(), values),
        "elu+bce": ([cr.ELU()], 1, cr.BinaryCrossEntropy(), labels),
        "softmax probabilities": (
            [cr.Tanh()],
            2,
            cr.CrossEntropy(from_logits=False),
            labels,
            cr.Softmax(),
        ),
        "sigmoid probabilities": (
            [cr.Tanh()],
            1,
            cr.BinaryCrossEntropy(from_logits=False),
            labels,
            cr.Sigmoid(),
        ),
    }
    texts = {}
    for key, (hidden, k, loss, y, *head) in cases.items():
        net = cr.Sequential(cr.Dense(2, 3, rng=rng), *hidden, cr.Dense(3, k, rng=rng), *head)
        texts[f"explain {key}"] = cr.explain(net, loss, X, y).to_markdown()
    return texts


@functools.cache
def markdown_texts() -> dict[str, str]:
    """Every Markdown text a reader sees, by where it comes from."""
    texts = _notebook_markdown()
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        texts[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    texts.update(_explanations())
    return texts


_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)


def formulas(markdown: str) -> list[tuple[str, bool]]:
    """The (tex, display) formulas of a Markdown text, taken out as Jupyter does."""
    text = _CODE_SPAN.sub(" ", _FENCE.sub("\n", markdown))
    found, i = [], 0
    while (i := text.find("$", i)) != -1:
        if i > 0 and text[i - 1] == "\\":  # \$ is a dollar sign, not math
            i += 1
            continue
        display = text.startswith("$$", i)
        delimiter = "$$" if display else "$"
        start = i + len(delimiter)
        end = start
        while (end := text.find(delimiter, end)) != -1 and text[end - 1] == "\\":
            end += 1
        body = text[start:end] if end != -1 else ""
        if end == -1 or (not display and re.search(r"\n\s*\n", body)):
            found.append((text[i : i + 60], display))  # unclosed: KaTeX reports the '$'
            i = start
            continue
        found.append((body, display))
        i = end + len(delimiter)
    return found


def test_formulas_are_taken_out_as_jupyter_does():
    md = "a $x_1$ b `$not math$` c $$\\frac{1}{2}$$ d \\$5\n```\n$code$\n```\n| $a|b$ |"
    assert formulas(md) == [("x_1", False), ("\\frac{1}{2}", True), ("a|b", False)]


@pytest.mark.parametrize("where", sorted(markdown_texts()))
def test_no_control_characters_in_markdown(where):
    text = markdown_texts()[where]
    bad = [(m.start(), repr(m.group())) for m in CONTROL.finditer(text)]
    assert bad == [], (
        f"{where} contains control characters {bad[:5]}: in a Python string, write the "
        r"LaTeX in a raw string (r'\frac'), or '\f' becomes a form feed"
    )


def _katex_errors(items: list[dict]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: formulas are parsed by KaTeX run by node")
    if not (ROOT / "node_modules" / "katex").is_dir():
        pytest.skip("KaTeX is not installed: run `npm ci` at the repository root")
    done = subprocess.run(
        [node, str(KATEX_SCRIPT)],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_katex_reports_a_broken_formula():
    items = [
        {"id": "good", "tex": r"\frac{1}{2n}\sum_i", "display": False},
        {"id": "form feed", "tex": "\frac{1}{2n}", "display": False},
        {"id": "unbalanced", "tex": r"\left( x", "display": True},
    ]
    assert [e["id"] for e in _katex_errors(items)] == ["form feed", "unbalanced"]


def test_every_formula_parses_with_katex():
    items = [
        {"id": f"{where}: {'$$' if display else '$'}{tex}", "tex": tex, "display": display}
        for where, text in markdown_texts().items()
        for tex, display in formulas(text)
    ]
    assert len(items) > 200  # the lessons, derivations.md and explain() all have math
    errors = _katex_errors(items)
    assert errors == [], "\n".join(f"{e['id']}\n    {e['error']}" for e in errors)
