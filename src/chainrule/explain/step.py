"""One traced quantity of ``explain``: its name, formula (text and LaTeX) and value."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Step:
    """One equation of the trace: a name, the formula (text and LaTeX), the value."""

    phase: str  # "start", "forward", "loss", "backward" or "update"
    layer: str  # e.g. "Dense(2, 3)"
    name: str  # the symbol computed, e.g. "Z1" or "dW1"
    text: str  # formula in plain text, e.g. "Z1 = X @ W1 + b1"
    latex: str  # the same in LaTeX
    words: str  # the formula in words
    value: np.ndarray = field(repr=False)
    detail: str = ""  # e.g. one entry of dW written out as its sum, with the numbers

    @property
    def shape(self) -> tuple:
        return np.shape(self.value)
