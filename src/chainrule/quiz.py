"""``chainrule quiz``'s drills; their home is :mod:`chainrule.practice.quiz`.

This module keeps the name ``chainrule.quiz`` importable.
"""

from .practice.quiz import (
    TOPICS,
    Drill,
    Grade,
    Problem,
    Question,
    Score,
    answers_from,
    draw_problem,
    parse_answer,
    same_to_3_figures,
)

__all__ = [
    "TOPICS",
    "Drill",
    "Grade",
    "Problem",
    "Question",
    "Score",
    "answers_from",
    "draw_problem",
    "parse_answer",
    "same_to_3_figures",
]
