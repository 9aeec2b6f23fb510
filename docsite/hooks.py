"""MkDocs hooks of the documentation site (mkdocs.yml): gather the pages, serve KaTeX.

The site has no copies of the project's pages. At build time this hook adds, under their
repository paths (so the links between them stay the links GitHub follows):

- ``README.md`` as the home page, every ``docs/*.md`` page and its images, and every
  ``notebooks/*.ipynb`` lesson (rendered by mkdocs-jupyter from its stored outputs);
- the repository files those pages link to (a test, an example), served as text;
- one API page per public package of ``chainrule``, generated from its ``__all__``
  and rendered by mkdocstrings from the numpydoc docstrings, and an index of every
  name in ``chainrule.__all__`` linking to its page (a name without a page fails the
  strict build).

The navigation follows the order in which README.md links the lessons and pages. KaTeX
is copied from ``node_modules/katex`` (``npm ci``) into ``assets/katex/``; no page may
load anything from another host (checked on every page, the build fails otherwise).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
KATEX = ROOT / "node_modules" / "katex" / "dist"
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)\s]*)?\)")
# Packages with no page of their own: the command's entry point.
NOT_API = {"__main__"}


def _pages() -> list[str]:
    """The repository's pages, by repository path."""
    docs = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))
    notebooks = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("*.ipynb"))
    return ["README.md", *docs, *notebooks]


def _linked_files(pages: list[str]) -> set[str]:
    """Repository files (not pages) that the Markdown pages link to, by repository path."""
    linked = set()
    for page in (p for p in pages if p.endswith(".md")):
        base = (ROOT / page).parent
        for target in LINK.findall((ROOT / page).read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            path = (base / target).resolve()
            if path.is_file() and path.is_relative_to(ROOT):
                linked.add(path.relative_to(ROOT).as_posix())
    return linked - set(pages)


def api_packages() -> list[str]:
    """The public packages and modules of chainrule, each with a page."""
    import chainrule

    names = (m.name for m in pkgutil.iter_modules(chainrule.__path__))
    return sorted(n for n in names if not n.startswith("_") and n not in NOT_API)


def _home(name: str, packages: list[str]) -> str:
    """The package whose page documents the top-level name ``chainrule.<name>``."""
    import chainrule

    if name in packages:
        return name
    home = getattr(chainrule, name).__module__.split(".")
    if home[0] != "chainrule" or home[1] not in packages:
        raise PluginError(f"chainrule.{name} is defined in {'.'.join(home)}: no API page has it")
    return home[1]


def _api_index(packages: list[str]) -> str:
    import chainrule

    rows = []
    for name in sorted(n for n in chainrule.__all__ if n != "__version__"):
        pkg = _home(name, packages)
        target = f"chainrule.{pkg}" if name == pkg else f"chainrule.{pkg}.{name}"
        if name in _shadowed(pkg):
            target += f".{name}"
        rows.append(f"| [`cr.{name}`][{target}] | [`chainrule.{pkg}`](api/{pkg}.md) |")
    pages = "\n".join(f"- [`chainrule.{p}`](api/{p}.md)" for p in packages)
    return (
        "# API reference\n\nGenerated from the numpydoc docstrings (shapes are in each "
        "parameter's description). `import chainrule as cr`; every name of "
        "`chainrule.__all__`, and the page of the package where it lives:\n\n"
        "| name | package |\n| --- | --- |\n" + "\n".join(rows) + "\n\n"
        "## Packages\n\n" + pages + "\n"
    )


def _shadowed(pkg: str) -> list[str]:
    """Names of ``chainrule.<pkg>.__all__`` that a submodule of the same name hides.

    (``chainrule.training.lr_find`` is both a module and the function it exports;
    mkdocstrings resolves the path to the module, so the function gets its own block.)
    """
    module = importlib.import_module(f"chainrule.{pkg}")
    subs = {m.name for m in pkgutil.iter_modules(getattr(module, "__path__", []))}
    return [n for n in getattr(module, "__all__", ()) if n in subs]


def _api_page(pkg: str) -> str:
    blocks = [f"::: chainrule.{pkg}\n    options:\n      show_root_heading: false\n"]
    blocks += [f"::: chainrule.{pkg}.{n}.{n}\n" for n in _shadowed(pkg)]
    return f"# chainrule.{pkg}\n\n" + "\n".join(blocks)


def _order(paths: list[str]) -> list[str]:
    """Paths in the order README.md first links them; the others after, by name."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = {p: readme.find(p) for p in paths}
    return sorted(paths, key=lambda p: (first[p] < 0, first[p], p))


def on_config(config):
    pages = _pages()
    packages = api_packages()
    config.nav = [
        {"Home": "README.md"},
        {"Lessons": _order([p for p in pages if p.endswith(".ipynb")])},
        {"Guides": _order([p for p in pages if p.startswith("docs/")])},
        {"API reference": ["api.md", *(f"api/{p}.md" for p in packages)]},
    ]
    return config


@event_priority(100)  # before mkdocs-jupyter turns the notebooks into pages
def on_files(files: Files, config) -> Files:
    pages = _pages()
    images = [p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.png")]
    for path in [*pages, *images, *sorted(_linked_files(pages))]:
        files.append(File(path, str(ROOT), config["site_dir"], config["use_directory_urls"]))
    packages = api_packages()
    files.append(File.generated(config, "api.md", content=_api_index(packages)))
    for pkg in packages:
        files.append(File.generated(config, f"api/{pkg}.md", content=_api_page(pkg)))
    return files


# nbconvert's template loads MathJax and (for Mermaid cells) Mermaid from a CDN; the
# site renders the notebooks' formulas with its own KaTeX and has no Mermaid cells.
MATHJAX = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)
MERMAID = re.compile(
    r'<script type="module">\s*document\.addEventListener\([^<]*?jp-Mermaid.*?</script>', re.S
)
OUTSIDE = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*?(?:src|href)=["']?(?:https?:)?//""")


def on_post_page(html: str, page, config) -> str:
    html = MERMAID.sub("", MATHJAX.sub("", html))
    found = OUTSIDE.search(html)
    if found:
        raise PluginError(f"{page.file.src_uri} loads from another host: {found.group(0)}")
    return html


def on_post_build(config) -> None:
    if not (KATEX / "katex.min.js").is_file():
        raise PluginError(
            f"KaTeX is missing at {KATEX}: run `npm ci` in {ROOT} (it installs the pinned "
            "katex of package-lock.json), then build again"
        )
    target = Path(config["site_dir"]) / "assets" / "katex"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in ("katex.min.js", "katex.min.css"):
        shutil.copy2(KATEX / name, target / name)
    shutil.copy2(KATEX.parent / "LICENSE", target / "LICENSE")  # MIT: the licence travels
    shutil.copytree(KATEX / "fonts", target / "fonts")
    (target / "contrib").mkdir()
    shutil.copy2(KATEX / "contrib" / "auto-render.min.js", target / "contrib")
