"""Layers: one concept per file. See :mod:`chainrule.layers.base` for the contract."""

from .activations import ELU, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import Layer
from .dense import Dense
from .dropout import Dropout
from .normalization import BatchNorm, LayerNorm
from .sequential import Sequential

__all__ = [
    "ELU",
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
    "Tanh",
]
