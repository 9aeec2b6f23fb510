"""scikit-learn drop-ins: ``MLPClassifier`` and ``MLPRegressor``.

``mlp.py`` holds the two public classes; ``_base.py`` what they share (validation,
initialisation, the solvers' epochs); ``_objective.py`` scikit-learn's losses;
``_solvers.py`` scikit-learn's SGD and Adam update rules.
"""

from .mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
