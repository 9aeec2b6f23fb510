"""Layers: one concept per file. See :mod:`chainrule.layers.base` for the contract.

The activations' names live in :mod:`chainrule.layers.registry` (``get_activation``) and
the one MLP builder in :mod:`chainrule.layers.mlp` (``build_mlp``).
"""

from .activations import (
    ELU,
    GELU,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from .base import Layer
from .dense import Dense
from .dropout import Dropout
from .mlp import build_mlp
from .normalization import BatchNorm, LayerNorm
from .registry import ACTIVATIONS, get_activation
from .sequential import Sequential

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "GELU",
    "BatchNorm",
    "Dense",
    "Dropout",
    "Identity",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "build_mlp",
    "get_activation",
]
