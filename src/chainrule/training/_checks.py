"""The checks ``fit`` makes before its first step (see :func:`chainrule.training.fit`).

Everything a fit could trip on (bad arguments, NaN in X, targets that do not suit the
loss or the network's width, metrics that cannot be computed) is found here, before any
weight, learning rate or random state moves: a fit that fails leaves all as it was.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Real

import numpy as np

from .._checks import as_array, check_input, check_positive_int
from ..callbacks import Callback, EarlyStopping, as_callback
from ..layers.base import Layer
from ..losses import Loss, get_loss
from ..optimizers import Optimizer, iter_parameters


def _parameters_dtype(net: Layer) -> np.dtype:
    for _, _, p, _ in iter_parameters(net):
        return p.dtype
    raise TypeError("fit: the network has no trainable parameters; add a Dense layer.")


def _check_features(X, dtype: np.dtype, where: str):
    X = check_input(X, dtype, where)
    if X.shape[0] == 0:
        raise ValueError(f"{where}: X is empty (0 samples); training needs at least one.")
    values = X.data if not isinstance(X, np.ndarray) else X
    # Fast path, no temporary the size of X: any NaN or inf makes the sum NaN or inf,
    # and finite values give a finite sum unless it overflows. Only then is X looked at
    # element by element (a boolean array of X's shape, to say where).
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(values)
    if np.isfinite(total):
        return X
    bad = ~np.isfinite(values)
    if bad.any():
        where_bad = ""
        if isinstance(X, np.ndarray):
            i, j = np.argwhere(bad)[0]
            where_bad = f" (first at row {i}, column {j})"
        raise ValueError(
            f"{where}: X contains NaN or inf{where_bad}; impute or drop those values "
            "before training."
        )
    return X


def _check_targets(y, n: int, where: str, what: str = "X") -> np.ndarray:
    y = as_array(y, "y", where)
    if y.ndim not in (1, 2):
        raise ValueError(
            f"{where}: y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs), got shape "
            f"{y.shape}."
        )
    if y.shape[0] != n:
        raise ValueError(
            f"{where}: {what} has {n} samples but y has {y.shape[0]}; they must have the "
            "same length (one target per row)."
        )
    if y.dtype.kind not in "biuf":
        raise TypeError(
            f"{where}: y has dtype {y.dtype}; targets must be numbers (encode class labels "
            "as integers 0..k-1)."
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{where}: y contains NaN or inf; drop or impute those samples.")
    return y


def _check_loss(loss) -> Loss:
    """A loss instance from an instance or a name; a class gets a message with the fix."""
    if isinstance(loss, type):
        raise TypeError(f"fit: pass a loss instance, e.g. loss={loss.__name__}(), not the class.")
    return get_loss(loss)


def _check_clipping(clip_norm, clip_value) -> tuple[float | None, float | None]:
    """``(clip_norm, clip_value)`` as floats (> 0, finite) or None; not both."""
    for name, value in (("clip_norm", clip_norm), ("clip_value", clip_value)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, Real)
            or not (math.isfinite(value) and value > 0)
        ):
            raise ValueError(
                f"fit: {name} must be a positive finite number (e.g. {name}=1.0), got "
                f"{value!r}; pass {name}=None for no clipping."
            )
    if clip_norm is not None and clip_value is not None:
        raise ValueError(
            f"fit: pass clip_norm or clip_value, not both (got clip_norm={clip_norm!r}, "
            f"clip_value={clip_value!r})."
        )
    return (
        None if clip_norm is None else float(clip_norm),
        None if clip_value is None else float(clip_value),
    )


def _check_callbacks(
    callbacks, early_stopping: EarlyStopping | bool | None, has_val: bool
) -> list[Callback]:
    """The callbacks ``fit`` runs, early stopping last."""
    if callable(callbacks) or isinstance(callbacks, Callback):
        name = getattr(callbacks, "__name__", None)
        given = f"the function {name}" if name else f"the single callback {callbacks!r}"
        raise TypeError(
            f"fit: callbacks must be a list of callbacks, got {given}; pass it in a list: "
            f"callbacks=[{name or type(callbacks).__name__ + '(...)'}]."
        )
    if not isinstance(callbacks, Iterable):
        raise TypeError(
            f"fit: callbacks must be a list of Callback instances or functions f(epoch, "
            f"logs), got {callbacks!r}; pass e.g. callbacks=[EarlyStopping()] or callbacks=()."
        )
    if early_stopping is True:
        early_stopping = EarlyStopping(monitor="val_loss" if has_val else "loss")
    elif early_stopping is False:
        early_stopping = None
    if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(
            f"fit: early_stopping must be an EarlyStopping instance, True or None, got "
            f"{type(early_stopping).__name__}."
        )
    cbs = [as_callback(cb) for cb in callbacks]
    return cbs if early_stopping is None else [*cbs, early_stopping]


def _check_arguments(
    net, optimizer, epochs, batch_size, shuffle, progress, l2, l1=0.0, validation=(0.0, None)
) -> tuple[int, int | None]:
    """The arguments that are not data: types and ranges (``validation``: ``fit``'s
    ``(validation_split, validation_data)``). Returns ``(epochs, batch_size)`` as ints."""
    if not isinstance(net, Layer):
        raise TypeError(f"fit: net must be a chainrule Sequential or layer, got {type(net)}.")
    if isinstance(optimizer, type):
        raise TypeError(
            f"fit: pass an optimizer instance, e.g. optimizer={optimizer.__name__}(lr=...), "
            "not the class."
        )
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"fit: optimizer must be a chainrule optimizer such as SGD(lr=0.1) or Adam(), "
            f"got {type(optimizer).__name__}."
        )
    epochs = check_positive_int(epochs, "epochs")
    for flag, value in (("shuffle", shuffle), ("progress", progress)):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"fit: {flag} must be True or False, got {value!r}.")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    for name, value in (("l2", l2), ("l1", l1)):
        bad = isinstance(value, bool) or not isinstance(value, Real)
        if bad or not (math.isfinite(value) and value >= 0):
            raise ValueError(f"fit: {name} must be a finite number >= 0, got {value!r}.")
    for _, name, p, _ in iter_parameters(net):
        if not np.isfinite(p).all():
            raise ValueError(
                f"fit: the network's parameter {name!r} already contains NaN or inf; "
                "rebuild the network (or reload good weights) before training."
            )
    _check_validation_arguments(*validation)
    return epochs, batch_size


def _check_validation_arguments(validation_split, validation_data) -> None:
    if (
        isinstance(validation_split, bool)
        or not isinstance(validation_split, Real)
        or not 0 <= validation_split < 1
    ):
        raise ValueError(
            f"fit: validation_split must be a fraction in [0, 1), got {validation_split!r}."
        )
    if validation_split > 0 and validation_data is not None:
        raise ValueError("fit: pass either validation_split or validation_data, not both.")
    if validation_data is not None and (
        not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3)
    ):
        raise ValueError(
            "fit: validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
            "sample_weight_val)."
        )


def _check_against_net(net: Layer, loss: Loss, X, y: np.ndarray, what: str = "") -> int:
    """Find, before any weight moves, what the first epoch would otherwise trip on.

    One sample goes through ``net`` in inference mode (a wrong number of features
    raises the layer's own message; dropout draws nothing), and ``y`` is checked
    against the loss for an output of that width, all at once, so that a class index
    out of range in the last batch is reported with its true row and a failed fit
    leaves the network untouched. Returns the network's output width. ``what`` (e.g.
    "validation_data") prefixes the messages.
    """
    try:
        try:
            Y1 = net.forward(X[:1], training=False)[0]
        except ValueError:
            net.forward(X, training=False)  # the same error, naming X's own shape
            raise
        n_outputs = Y1.shape[1] if Y1.ndim == 2 else 1
        if type(loss).__call__ is Loss.__call__:  # the standard target checks apply
            loss._check_target(np.broadcast_to(Y1.dtype.type(0), (y.shape[0], n_outputs)), y)
    except (ValueError, TypeError) as exc:
        if not what:
            raise
        raise type(exc)(f"fit ({what}): {exc}") from exc
    return n_outputs


def _check_metrics(metrics, metric_fns, y: np.ndarray, n_outputs: int, dtype) -> None:
    """Run each named metric on a dummy output of the right shape, so that one that
    cannot be computed for these targets fails now, not after the first epoch's steps."""
    Y = np.broadcast_to(dtype.type(0), (y.shape[0], n_outputs))
    for given, (name, fn) in zip(metrics, metric_fns, strict=True):
        if callable(given):
            continue  # a user's function: nothing is known about what it accepts
        try:
            fn(Y, y)
        except (ValueError, TypeError) as exc:
            raise type(exc)(
                f"fit: the metric {name!r} does not suit these targets and outputs "
                f"(y of shape {y.shape}, {n_outputs} outputs): {exc}"
            ) from exc
