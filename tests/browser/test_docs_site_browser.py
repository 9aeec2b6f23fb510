"""The documentation site in Debian's headless Chromium: built, served, read and searched.

The site is built strictly (``mkdocs build --strict``, as CI does) into a temporary
folder and served by ``python -m http.server`` on 127.0.0.1 at a free port, stopped by
its pid. Every request of the pages is checked: anything not on 127.0.0.1 (a CDN, a web
font) is refused and fails the test, and so does any console error. Without mkdocs (the
``docs`` extra) the tests are skipped with the reason.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playground_server import shot, start_static_server, stop_server

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
LESSON = "backpropagation_classification"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason='mkdocs is not installed: pip install -e ".[docs]"')
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, f"mkdocs build --strict failed:\n{built.stderr[-3000:]}"
    proc, url = start_static_server(out)
    try:
        yield url
    finally:
        stop_server(proc)


@pytest.fixture
def tab(browser, site):
    """A tab that refuses every request off 127.0.0.1; no console error may occur."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    outside: list[str] = []

    def route(r):
        u = urlparse(r.request.url)
        if u.scheme in ("data", "blob") or u.hostname == "127.0.0.1":
            return r.continue_()
        outside.append(r.request.url)
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.site = site
    yield page
    context.close()
    assert outside == [], f"requests that left 127.0.0.1: {outside}"
    assert errors == [], f"console errors: {errors}"


def _png_outputs(notebook: Path) -> int:
    cells = json.loads(notebook.read_text())["cells"]
    outputs = (o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", []))
    return sum("image/png" in o.get("data", {}) for o in outputs)


def test_a_lesson_shows_its_formulas_rendered_and_its_figures(tab):
    tab.goto(f"{tab.site}notebooks/{LESSON}/")
    tab.wait_for_load_state("networkidle")
    assert tab.locator(".katex").count() >= 20
    assert tab.locator(".katex-error").count() == 0
    # No formula left as raw TeX in the lesson's prose.
    prose = tab.locator(".jp-MarkdownOutput").all_inner_texts()
    assert not [p for p in prose if "\\frac" in p or "$" in p]
    figures = tab.locator(".jp-OutputArea-output img")
    expected = _png_outputs(ROOT / "notebooks" / f"{LESSON}.ipynb")
    assert expected > 0 and figures.count() == expected
    widths = figures.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth)")
    assert all(w > 0 for w in widths)
    shot(tab, "docs_lesson")


def test_the_derivations_page_renders_every_formula(tab):
    tab.goto(f"{tab.site}docs/derivations/")
    tab.wait_for_load_state("networkidle")
    assert tab.locator(".arithmatex .katex").count() == tab.locator(".arithmatex").count() > 100
    assert tab.locator(".katex-error").count() == 0


def test_the_home_page_shows_the_playground_screenshot(tab):
    tab.goto(tab.site)
    tab.wait_for_load_state("networkidle")
    img = tab.locator("img[src$='playground.png']")
    assert img.count() == 1
    assert img.evaluate("i => i.complete && i.naturalWidth") > 0


@pytest.mark.parametrize(
    ("query", "expected"),
    [("batch norm", "#72-how-do-you-derive-batch-norms"), ("MLPClassifier", "api/estimators/")],
)
def test_search_finds_it_offline(tab, query, expected):
    tab.goto(tab.site)
    tab.wait_for_load_state("networkidle")
    box = tab.locator("input.md-search__input")
    box.click()
    box.press_sequentially(query)  # the search listens to the keys
    hits = tab.locator(".md-search-result__item a")
    hits.first.wait_for(timeout=15000)
    hrefs = hits.evaluate_all("links => links.map(a => a.href)")
    assert any(expected in h for h in hrefs), hrefs
    assert query.split()[0].lower() in tab.locator(".md-search-result").inner_text().lower()
    shot(tab, f"docs_search_{query.replace(' ', '_')}")


def test_the_api_page_of_mlpclassifier_lists_its_parameters(tab):
    import chainrule as cr

    tab.goto(f"{tab.site}api/estimators/")
    tab.wait_for_load_state("networkidle")
    heading = tab.locator("[id='chainrule.estimators.MLPClassifier']")
    assert heading.count() == 1
    text = heading.evaluate("h => h.closest('.doc-class').innerText")
    names = list(inspect.signature(cr.MLPClassifier).parameters)
    assert len(names) >= 20
    missing = [n for n in names if n not in text]
    assert missing == []
    assert "array-like of shape (n_layers - 2,)" in text  # the shapes are there


def test_the_api_index_names_every_public_name(tab):
    import chainrule as cr

    tab.goto(f"{tab.site}api/")
    tab.wait_for_load_state("networkidle")
    text = tab.locator("article").inner_text()
    missing = [n for n in cr.__all__ if n != "__version__" and f"cr.{n}" not in text]
    assert missing == []
