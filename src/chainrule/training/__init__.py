"""Training: ``fit``, THE epoch loop, and the ``History`` it returns.

``loop.py`` holds the loop (one named function per step), ``history.py`` what it records,
``_checks.py`` every check made before the first step.
"""

from .history import History, TrainingDivergedError, TrainingInterrupted
from .loop import fit

__all__ = ["History", "TrainingDivergedError", "TrainingInterrupted", "fit"]
