"""docs/derivations.md is executable: every ```python block runs, in order, in one
namespace, and each asserts that the formula on the page is what the code computes."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "derivations.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)
HEADINGS = re.findall(r"^## (.+)$", DOC.read_text(), flags=re.M)


def test_every_section_has_a_check():
    text = DOC.read_text()
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    assert len(sections) == len(HEADINGS) >= 7
    for heading, body in zip(HEADINGS, sections, strict=True):
        assert "```python" in body, f"section {heading!r} has no executable check"


def test_blocks_run_in_order():
    namespace: dict = {}
    for i, block in enumerate(BLOCKS):
        try:
            exec(compile(block, f"{DOC.name}[block {i}]", "exec"), namespace)
        except AssertionError as exc:  # say which block on the page broke
            raise AssertionError(f"check {i} of {DOC.name} failed: {exc!r}") from exc
