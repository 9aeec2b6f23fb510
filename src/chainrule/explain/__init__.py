"""``explain``: one training step traced number by number, from the layers' formulas.

``trace.py`` runs the step and renders it; ``step.py`` is one traced quantity;
``_norm.py`` traces batch and layer normalisation.
"""

from .step import Step
from .trace import Explanation, explain

__all__ = ["Explanation", "Step", "explain"]
