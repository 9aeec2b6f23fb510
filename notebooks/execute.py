"""Sync and execute the lesson notebooks on *this* Python interpreter.

Every lesson is a pair: ``name.py`` (jupytext percent format, the readable source a
teacher edits) and ``name.ipynb`` (the same cells, executed, with outputs committed so
the plots show on a repository page). After editing either file::

    jupytext --sync notebooks/NAME.py            # carry the edit to the other file
    python notebooks/execute.py NAME             # sync, run on a fresh kernel, save both
    python notebooks/execute.py                  # every paired notebook in this folder

``execute.py`` first syncs the pair (the newer file wins, as with ``jupytext --sync``),
then runs every cell on a fresh kernel of the interpreter running this script and
writes the outputs into the ``.ipynb`` (and the unchanged source back into the ``.py``,
so the pair stays in sync). ``jupytext --sync --execute`` does the same through
nbconvert, but with whatever kernel named ``python3`` Jupyter finds first; this script
writes a kernelspec pointing at ``sys.executable`` to a temporary folder instead (see
:func:`execute`). ``tests/test_notebooks.py`` checks every pair: in sync, executed, and
runnable top to bottom.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat

NOTEBOOK_DIR = Path(__file__).resolve().parent
KERNEL_NAME = "python3"
PAIRED = re.compile(r"^#\s+formats:.*\bipynb\b.*\bpy:percent\b", re.MULTILINE)


def paired_sources(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """Every ``*.py`` in ``folder`` whose jupytext header pairs it with an ``.ipynb``."""
    sources = []
    for path in sorted(folder.glob("*.py")):
        head = path.read_text(encoding="utf-8")[:2000]
        if head.startswith("# ---\n# jupyter:") and PAIRED.search(head):
            sources.append(path)
    return sources


def _can_encrypt() -> bool:
    """Whether jupyter_client (>= 8.10) and libzmq can encrypt the kernel's channels."""
    import zmq
    from jupyter_client.manager import KernelManager

    return "transport_encryption" in KernelManager.class_trait_names() and zmq.has("curve")


def execute(
    nb: nbformat.NotebookNode, *, timeout: int = 600, cwd: Path = NOTEBOOK_DIR
) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in place, in a fresh kernel on *this* Python interpreter.

    ``timeout`` is per cell, in seconds; ``cwd`` is the kernel's working folder.

    A kernelspec pointing at ``sys.executable`` is written to a temporary folder and
    used through a private ``KernelSpecManager``, so the kernel is the interpreter (and
    virtual environment) running this function, whatever kernels Jupyter knows about.

    Raises ``nbclient.exceptions.CellExecutionError`` on the first failing cell.
    """
    from ipykernel.kernelspec import get_kernel_dict
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory() as tmp:
        kernels = Path(tmp) / "kernels"
        spec_dir = kernels / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        spec = get_kernel_dict()  # ipykernel's own spec and metadata, with the argv pinned:
        spec["argv"] = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        spec_manager = KernelSpecManager(kernel_dirs=[str(kernels)])

        options = {"kernel_name": KERNEL_NAME, "kernel_spec_manager": spec_manager}
        if _can_encrypt():
            options["transport_encryption"] = "auto"  # CurveZMQ keys, as the spec allows

        class Client(NotebookClient):
            def create_kernel_manager(self):
                self.km = self.kernel_manager_class(config=self.config, **options)
                return self.km

        client = Client(
            nb,
            timeout=timeout,
            kernel_name=KERNEL_NAME,
            record_timing=False,
            resources={"metadata": {"path": str(cwd)}},
        )
        client.execute()
    return nb


def sync_and_execute(source: Path) -> float:
    """Sync the pair of ``source``, execute it, write both files; the seconds it took."""
    from jupytext.cli import jupytext as jupytext_cli

    jupytext_cli(["--sync", "--quiet", str(source)])
    ipynb = source.with_suffix(".ipynb")
    nb = jupytext.read(ipynb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    start = time.perf_counter()
    execute(nb)
    seconds = time.perf_counter() - start
    jupytext.write(nb, ipynb, fmt="ipynb")
    jupytext.write(nb, source, fmt="py:percent")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", help="run only the notebooks whose name contains one of these"
    )
    args = parser.parse_args(argv)
    sources = paired_sources()
    chosen = [p for p in sources if not args.names or any(s in p.stem for s in args.names)]
    if not chosen:
        parser.error(
            f"no paired notebook matches {args.names}; they are {[p.stem for p in sources]}"
        )
    for source in chosen:
        seconds = sync_and_execute(source)
        print(f"executed {source.stem}.ipynb in {seconds:.1f} s; {source.name} in sync")
    return 0


if __name__ == "__main__":
    sys.exit(main())
