"""docs/viva.md: every code block runs on its own and asserts its claim; every question
points to something that demonstrates it, and every link resolves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VIVA = ROOT / "docs" / "viva.md"
TEXT = VIVA.read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```$", TEXT, flags=re.MULTILINE | re.DOTALL)
#: each question: its heading and the text up to the next heading
QUESTIONS = re.findall(r"^### (.+?)\n(.*?)(?=^##|\Z)", TEXT, flags=re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _heading_slugs(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    slugs = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and not line.startswith("#!"):
            title = line.lstrip("#").strip()
            slugs.add(re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-"))
    return slugs


def test_at_least_forty_questions_each_pointing_to_a_demonstration():
    assert len(QUESTIONS) >= 40, f"{len(QUESTIONS)} questions"
    for title, body in QUESTIONS:
        assert title.rstrip().endswith("?"), title
        assert "*See:*" in body, f"{title!r} points nowhere"
        see = body.split("*See:*", 1)[1]
        assert LINK.search(see) or "`chainrule " in see, f"{title!r}: no link or command"


def test_the_topics_of_the_issue_are_all_asked():
    titles = " ".join(t.lower() for t, _ in QUESTIONS)
    for topic in ["zero", "vanishing", "exploding", "sigmoid", "relu", "cross-entropy",
                  "p - t", "mini-batch", "learning rate", "momentum", "bias correction",
                  "adamw", "dropout", "batch norm", "dead relu", "bias", "gradient check",
                  "kink", "computational graph", "reverse mode", "xor", "universal",
                  "regression"]:  # fmt: skip
        assert topic in titles, topic


@pytest.mark.parametrize("link", sorted(set(LINK.findall(TEXT))))
def test_every_link_resolves(link):
    if link.startswith("http"):
        return
    path, _, anchor = link.partition("#")
    target = (VIVA.parent / path).resolve() if path else VIVA
    assert target.exists(), f"{link}: no such file"
    if anchor:
        assert target.suffix == ".md", f"{link}: anchors are only checked into Markdown"
        assert anchor in _heading_slugs(target), f"{link}: no such heading"


def test_the_readme_and_the_drills_notebook_link_the_guide():
    assert "(docs/viva.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(../docs/viva.md)" in (ROOT / "notebooks" / "backprop_drills.py").read_text(
        encoding="utf-8"
    )


#: questions whose answer is being rewritten under issue 22 section 3 (their code comes
#: with the new answer); every other question has a code block of its own
WITHOUT_CODE_FOR_NOW = {"2.3"}


def test_each_question_is_demonstrated_by_code_the_tests_run():
    with_code = [title for title, body in QUESTIONS if "```python" in body]
    assert len(with_code) >= 40, f"{len(with_code)} questions with code"
    without = {title.split()[0] for title, body in QUESTIONS if "```python" not in body}
    assert without <= WITHOUT_CODE_FOR_NOW, f"questions without code: {sorted(without)}"


def test_the_blocks_assert_what_they_claim():
    assert len(BLOCKS) >= 20
    assert all("assert" in block for block in BLOCKS)


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_code_block_runs(i, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[i], f"docs/viva.md block {i}", "exec"), {"__name__": "__viva__"})
    assert list(tmp_path.iterdir()) == [], "a block wrote files"


def test_the_topics_of_issue_22_section_4_are_asked():
    titles = " ".join(t.lower() for t, _ in QUESTIONS)
    for topic in ["l1 regularisation", "backpropagation through time", "residual",
                  "jacobian-vector product", "gelu", "swish", "elu", "warm-up",
                  "multi-label", "schedules", "sanity check"]:  # fmt: skip
        assert topic in titles, topic


def test_the_readme_states_how_many_answers_run_code():
    """The README's count of viva answers with code the tests run is the real count: "M
    of its N answers are demonstrated by code", or "each ... demonstrated by code" only
    when every answer has a block."""
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    with_code = sum("```python" in body for _, body in QUESTIONS)
    stated = re.search(r"(\d+) of its (\d+) answers are demonstrated by code the tests run", readme)
    if stated:
        assert (int(stated[1]), int(stated[2])) == (with_code, len(QUESTIONS))
    else:
        assert with_code == len(QUESTIONS), f"only {with_code} of {len(QUESTIONS)} have code"
        assert "each answered in a few lines and demonstrated by code the tests run" in readme
        assert f"asks the questions examiners ask ({len(QUESTIONS)} of them)" in readme
