"""What the benchmarks share: a Markdown table, and writing it into a page between markers."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(
        ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        + ["| " + " | ".join(r) + " |" for r in rows]
    )


def write_between(doc: Path, begin: str, end: str, text: str) -> int:
    """Replace what lies between the markers ``begin`` and ``end`` in ``doc`` with
    ``text``; 1 (and a message) when the page lacks them, else 0."""
    page = doc.read_text()
    if begin not in page or end not in page:
        print(f"{doc} lacks the markers {begin} ... {end}", file=sys.stderr)
        return 1
    head, rest = page.split(begin, 1)
    doc.write_text(head + f"{begin}\n{text}\n{end}" + rest.split(end, 1)[1])
    print(f"\nwrote the table into {doc.relative_to(ROOT)}")
    return 0


def show_and_write(shown: str, doc: Path, begin: str, end: str, block: str, write: bool) -> int:
    """Print ``shown``; with ``write``, put ``block`` between the markers of ``doc``."""
    print()
    print(shown)
    return write_between(doc, begin, end, block) if write else 0
