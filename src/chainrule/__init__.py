"""chainrule: neural networks and backpropagation written from scratch in NumPy.

Every forward pass returns its own backward closure; every backward pass is derived
by hand, written next to its derivation, and checked against central differences.
"""

from . import initializers, losses
from .explain import Explanation, explain
from .gradcheck import GradientCheckReport, gradient_check
from .layers import (
    ELU,
    Dense,
    Identity,
    Layer,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import (
    BinaryCrossEntropy,
    CrossEntropy,
    Huber,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
)
from .persistence import ModelFileError, load, save

__version__ = "0.1.0"

__all__ = [
    "ELU",
    "Explanation",
    "BinaryCrossEntropy",
    "CrossEntropy",
    "Dense",
    "GradientCheckReport",
    "Huber",
    "Identity",
    "Layer",
    "LeakyReLU",
    "Loss",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "ModelFileError",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "__version__",
    "explain",
    "gradient_check",
    "initializers",
    "load",
    "losses",
    "save",
]
