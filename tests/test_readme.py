"""The README stays true: every Python block in it runs as written, each on its own (in
a fresh namespace: a reader may copy any one of them)."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_each_readme_python_block_runs_on_its_own(i, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the blocks save files
    namespace = {"__name__": f"readme_block_{i}"}  # nothing brought along: no X, no y
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        exec(compile(BLOCKS[i], f"README.md[block {i}]", "exec"), namespace)


def test_the_readme_blocks_save_what_they_say(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert len(BLOCKS) >= 5
    for i, block in enumerate(BLOCKS):
        exec(compile(block, f"README.md[block {i}]", "exec"), {"__name__": "readme"})
    assert (tmp_path / "model.npz").exists() and (tmp_path / "clf.npz").exists()


def test_readme_commands_are_the_two_setup_commands():
    text = README.read_text()
    setup = text[text.index("## Set up") : text.index("## Where to start")]
    commands = re.findall(r"^```bash\n(.*?)\n```", setup, flags=re.S | re.M)
    assert len(commands) == 2
    assert commands[0].endswith("pip install -e . && chainrule train")
    assert commands[1].endswith(
        'pip install -e ".[test,torch,onnx,dask,playground]" && npm ci && python -m pytest'
    )


def test_ci_runs_the_readmes_test_command():
    """.ci/run installs the same extras, runs npm ci and pytest: CI tests what a user runs."""
    ci = (README.parent / ".ci" / "run").read_text()
    assert 'pip install --quiet -e ".[test,torch,onnx,dask,playground]"' in ci
    assert "npm ci" in ci and ci.rstrip().endswith("python -m pytest")
