"""Training: ``fit``, THE epoch loop, and the ``History`` it returns.

``loop.py`` holds the loop (one named function per step), ``history.py`` what it records,
``lr_find.py`` the learning-rate range test (through the loop), ``_checks.py`` every check
made before the first step.
"""

from .history import History, TrainingDivergedError, TrainingInterrupted
from .loop import fit
from .lr_find import LRFindResult, lr_find

__all__ = [
    "History",
    "LRFindResult",
    "TrainingDivergedError",
    "TrainingInterrupted",
    "fit",
    "lr_find",
]
