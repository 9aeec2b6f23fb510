"""Practice: drills that grade a student's own numbers and code.

``quiz.py`` (``chainrule quiz``), ``backward_check.py`` (``check_backward``,
``check_step``), ``exercises.py`` (the drills notebook's specs); ``_slips.py`` replays
classic mistakes, ``_diagnosis.py`` names a wrong answer by its shape and scale,
``_steps.py`` takes cross-entropy and batch norm apart for the drills' ninja, and
``_span.py`` bounds what a student carrying 4 significant figures can reach (the quiz).
"""

from .backward_check import BackwardCheckReport, TensorVerdict, check_backward, check_step

__all__ = ["BackwardCheckReport", "TensorVerdict", "check_backward", "check_step"]
