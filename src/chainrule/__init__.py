"""chainrule: neural networks and backpropagation written from scratch in NumPy.

Every forward pass returns its own backward closure; every backward pass is derived
by hand, written next to its derivation, and checked against central differences.
"""

# first: in the command's own process, Ctrl-C while the rest is imported is one line
from . import (
    _interrupt,  # noqa: F401
    initializers,
    losses,
    metrics,
    sanity,
    schedules,
)
from ._version import __version__
from .callbacks import Callback, EarlyStopping
from .explain import Explanation, explain
from .export import ExportError, from_torch, to_onnx, to_torch
from .gradcheck import GradientCheckReport, gradient_check
from .layers import (
    ELU,
    GELU,
    BatchNorm,
    Dense,
    Dropout,
    Identity,
    Layer,
    LayerNorm,
    LeakyReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from .losses import (
    BinaryCrossEntropy,
    CrossEntropy,
    Huber,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    MulticlassHinge,
)
from .optimizers import SGD, Adam, AdamW, Optimizer, RMSProp
from .persistence import ModelFileError, load, save
from .practice import BackwardCheckReport, check_backward, check_step, quiz
from .schedules import ConstantLR, InverseScalingLR, ReduceLROnPlateau, Schedule, StepDecayLR
from .training import History, LRFindResult, TrainingDivergedError, fit, lr_find

__all__ = [
    "ELU",
    "GELU",
    "SGD",
    "Adam",
    "AdamW",
    "BackwardCheckReport",
    "BatchNorm",
    "BinaryCrossEntropy",
    "Callback",
    "ConstantLR",
    "CrossEntropy",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "Explanation",
    "ExportError",
    "GradientCheckReport",
    "History",
    "Huber",
    "Identity",
    "InverseScalingLR",
    "LRFindResult",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "Loss",
    "MLPClassifier",
    "MLPRegressor",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "ModelFileError",
    "MulticlassHinge",
    "Optimizer",
    "RMSProp",
    "ReLU",
    "ReduceLROnPlateau",
    "Schedule",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "StepDecayLR",
    "Tanh",
    "TrainingDivergedError",
    "__version__",
    "check_backward",
    "check_step",
    "explain",
    "fit",
    "from_torch",
    "gradient_check",
    "initializers",
    "load",
    "losses",
    "lr_find",
    "metrics",
    "quiz",
    "sanity",
    "save",
    "schedules",
    "to_onnx",
    "to_torch",
]


def __getattr__(name: str):
    # Imported on first use, to keep `import chainrule` light: the estimators import
    # scikit-learn (about a second), plotting imports matplotlib, datasets pandas.
    if name in ("MLPClassifier", "MLPRegressor"):
        from . import estimators

        return getattr(estimators, name)
    if name in ("plotting", "datasets", "estimators", "bundle"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
