"""The command's saved model; its home is :mod:`chainrule.persistence.bundle`.

This module keeps the name ``chainrule.bundle`` importable.
"""

from .persistence.bundle import ModelBundle

__all__ = ["ModelBundle"]
