"""The drills notebook's exercises; their home is :mod:`chainrule.practice.exercises`.

This module keeps the name ``chainrule.exercises`` importable.
"""

from .practice.exercises import EXERCISES, Exercise, check, scoreboard

__all__ = ["EXERCISES", "Exercise", "check", "scoreboard"]
