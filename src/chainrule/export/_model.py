"""What an export reads of a model, shared by the PyTorch and ONNX bridges (private).

The network and its output activation (``network_and_head``), its layers flattened, its
number of input features and precision, and the one error type of ``chainrule.export``.
"""

from __future__ import annotations

import importlib

import numpy as np

from ..layers import BatchNorm, Dense, LayerNorm, Sequential
from ..layers.base import Layer

ONNX_OPSET = 19  # Equal on strings (one-hot encoding in the graph) needs 19


class ExportError(ValueError):
    """A model, or a part of it, that the other engine cannot take as it is."""


def require(module: str, extra: str):
    """Import an optional dependency, or an ImportError that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"this needs {module}, which is not installed; install it with "
            f'pip install -e ".[{extra}]" (or pip install {extra}).'
        ) from exc


def network_and_head(model) -> tuple[Sequential, str | None]:
    """The network of ``model`` and the output activation applied after it.

    A ``Sequential`` is its own network with no head. A fitted estimator's ``network_``
    outputs logits (the loss fuses the output activation); its head is
    ``out_activation_`` (``"softmax"``, ``"logistic"``, ``"identity"`` or ``"exp"``),
    so network + head computes ``predict_proba`` (or ``predict`` for a regressor).
    A ``ModelBundle`` (what ``chainrule train`` saves) gives its estimator's.
    """
    if isinstance(model, Sequential):
        return model, None
    if hasattr(model, "estimator") and hasattr(model, "preprocessor"):  # a ModelBundle
        return network_and_head(model.estimator)
    if hasattr(model, "out_activation_") and hasattr(model, "network_"):
        return model.network_, model.out_activation_
    if hasattr(model, "get_params"):
        raise ExportError(
            f"this {type(model).__name__} is not fitted yet; call fit(X, y) before exporting."
        )
    if isinstance(model, Layer):
        return Sequential(model), None
    raise ExportError(
        f"cannot export a {type(model).__name__}: pass a chainrule Sequential (or layer), "
        "a fitted MLPClassifier/MLPRegressor, or a model that chainrule.load returned."
    )


def flat_layers(net: Sequential) -> list[Layer]:
    """The layers of ``net``, nested ``Sequential`` opened, in order."""
    out = []
    for layer in net.layers:
        out.extend(flat_layers(layer) if isinstance(layer, Sequential) else [layer])
    return out


def n_features(net: Sequential) -> int:
    """The number of input columns: that of the first Dense or normalisation layer."""
    for layer in flat_layers(net):
        if isinstance(layer, Dense):
            return layer.n_in
        if isinstance(layer, (BatchNorm, LayerNorm)):
            return layer.n_features
        if layer.n_params:
            break
    raise ExportError(
        "cannot tell the number of input features: the network should start with a Dense "
        "or normalisation layer (activations before it are fine)."
    )


def model_dtype(net: Sequential) -> np.dtype:
    return np.dtype(net.dtype or np.float64)


def lookup(table: dict, layer: Layer, target: str):
    """The entry of ``table`` for the class of ``layer`` (or a class it derives from).

    Raises
    ------
    ExportError
        Naming the class when ``table`` has no entry for it.
    """
    for cls in type(layer).__mro__:
        if cls in table:
            return table[cls]
    raise ExportError(
        f"{target}: no {'PyTorch module' if target == 'to_torch' else 'ONNX form'} for "
        f"chainrule's {type(layer).__name__}."
    )
