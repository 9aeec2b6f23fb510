"""``check_backward`` and ``check_step``; their home is
:mod:`chainrule.practice.backward_check`.

This module keeps the name ``chainrule.backward_check`` importable.
"""

from .practice.backward_check import (
    BackwardCheckReport,
    TensorVerdict,
    check_backward,
    check_step,
)

__all__ = ["BackwardCheckReport", "TensorVerdict", "check_backward", "check_step"]
