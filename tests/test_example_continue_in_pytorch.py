"""examples/continue_in_pytorch.py runs: chainrule trains, PyTorch DDP continues on two
processes (gloo on 127.0.0.1), the weights come back to chainrule unchanged."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "continue_in_pytorch.py"


@pytest.mark.slow
def test_continue_training_in_pytorch_on_two_processes():
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--processes", "2", "--epochs", "3"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "the 2 processes end with identical weights: True" in out
    before = float(re.search(r"chainrule, after \d+ epochs: test accuracy ([\d.]+)", out)[1])
    after = float(re.search(r"PyTorch DDP, after 3 more epochs: test accuracy ([\d.]+)", out)[1])
    assert after > before + 0.2, out  # the continued training really trained
    gap = float(re.search(r"outputs differ by at most ([\d.e+-]+)", out)[1])
    assert gap < 1e-12
