"""The drills notebook's exercises; their home is :mod:`chainrule.practice.exercises`.

This module keeps the name ``chainrule.exercises`` importable.
"""

from .practice.exercises import (
    EXERCISES,
    Exercise,
    batchnorm_steps,
    check,
    cross_entropy_steps,
    scoreboard,
)

__all__ = ["EXERCISES", "Exercise", "batchnorm_steps", "check", "cross_entropy_steps", "scoreboard"]
