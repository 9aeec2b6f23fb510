"""The training loop: ``fit(net, loss, X, y, optimizer=..., epochs=...) -> History``.

One epoch is one pass over the training samples in minibatches::

    order = a fresh permutation of the training indices (from rng)
    for each batch B of order (the last one may be smaller):
        Y, backward = net.forward(X[B], training=True)
        value, dY = loss(Y, y[B], sample_weight[B])      value += (l2 / 2) * sum ||W||^2
        backward(dY, need_dX=False, accumulate=False)    dW += l2 * W
        optimizer.step(net)
    validation, metrics, History, schedule, callbacks, early stopping

(``need_dX=False``: the first layer does not compute dL/dX, the gradient with respect
to the data, which nobody reads; the other layers' dX are the chain rule itself.
``accumulate=False``: the gradients are set, not added, as if after ``net.zero_grad()``.)

``batch_size=None`` puts every sample in one batch: full-batch gradient descent, e.g.
``fit(net, loss, X, y, optimizer=SGD(0.5), epochs=1000, batch_size=None)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from numbers import Real

import numpy as np

from ._checks import as_array, as_rng, check_input, check_positive_int
from .callbacks import Callback, EarlyStopping, as_callback
from .layers.base import Layer, iter_buffers
from .losses import Loss, get_loss
from .metrics import get_metric
from .optimizers import Optimizer, iter_parameters
from .sanity import check_pairing
from .schedules import Schedule, get_schedule


class TrainingDivergedError(ArithmeticError):
    """The loss (or a weight) became NaN or infinite during training.

    Attributes
    ----------
    epoch : int
        The epoch (1-based) in which it happened.
    lr : float
        The learning rate in use.
    history : History
        The epochs completed before it.
    """

    def __init__(self, message: str, *, epoch: int, lr: float, history: History) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.lr = lr
        self.history = history


class History:
    """What happened in each epoch of ``fit``.

    Attributes
    ----------
    history : dict[str, list[float]]
        One list per logged value, one entry per epoch (as in Keras).
    epochs : list[int]
        The epoch numbers, 1-based.
    params : dict
        The run's settings (epochs, batch_size, n_samples, n_val, optimizer, loss, l2).
    stopped_epoch : int or None
        The epoch after which a callback or early stopping ended training; None when
        all epochs ran.

    Notes
    -----
    The logged values (also the columns of :meth:`to_frame`, in this order):

    ================  ==============================================================
    loss              training loss: the mean over the epoch's batches (weighted by
                      batch size, or by total sample weight), each computed while
                      training (dropout on), plus (l2 / 2) * sum ||W||^2
    <metric>          each requested metric on the training batches' outputs,
                      computed on the fly like the loss (as Keras does)
    val_loss          validation loss at the end of the epoch (inference mode),
                      with the same L2 term
    val_<metric>      each metric on the validation data at the end of the epoch
    lr                the learning rate used during the epoch
    grad_norm_<i>     Frobenius norm of dL/dW of layer ``net.layers[i]`` (the gradient
                      the optimizer received, L2 term included), **averaged over the
                      epoch's batches**; tiny values in early layers mean vanishing
                      gradients, huge ones exploding gradients
    update_ratio_<i>  ||W_end - W_start|| / ||W_start|| over the epoch for that layer
                      (how much of the weights one epoch changes)
    ================  ==============================================================

    ``<i>`` is the index in ``net.layers`` of each layer with a weight ``"W"``
    (``"<i>.<j>"`` inside a nested ``Sequential``; ``0`` when ``net`` is one layer).
    Values are also reachable as ``history["loss"]`` and ``history.loss``.
    """

    def __init__(self, params: dict | None = None) -> None:
        self.history: dict[str, list[float]] = {}
        self.epochs: list[int] = []
        self.params = dict(params or {})
        self.stopped_epoch: int | None = None

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record one epoch's logs."""
        for key in self.history:
            if key not in logs:
                raise KeyError(f"epoch {epoch} lacks the logged value {key!r}.")
        for key, value in logs.items():
            column = self.history.setdefault(key, [math.nan] * len(self.epochs))
            column.append(float(value))
        self.epochs.append(int(epoch))

    def to_frame(self):
        """The history as a ``pandas.DataFrame``: index "epoch" (1-based), a column per value."""
        import pandas as pd

        index = pd.Index(self.epochs, name="epoch", dtype="int64")
        return pd.DataFrame({k: list(v) for k, v in self.history.items()}, index=index)

    def keys(self) -> list[str]:
        return list(self.history)

    def __getitem__(self, key: str) -> list[float]:
        try:
            return self.history[key]
        except KeyError:
            raise KeyError(f"no logged value {key!r}; the history holds {self.keys()}.") from None

    def __getattr__(self, name: str) -> list[float]:
        history = self.__dict__.get("history")
        if name.startswith("_") or history is None or name not in history:
            raise AttributeError(f"'History' object has no attribute {name!r}")
        return history[name]

    def __contains__(self, key: object) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epochs)

    def __repr__(self) -> str:
        last = ""
        if self.epochs:
            shown = [k for k in self.history if not k.startswith(("grad_norm", "update_ratio"))]
            last = ", last: " + ", ".join(f"{k}={self.history[k][-1]:.4g}" for k in shown)
        return f"History(epochs={len(self.epochs)}{last})"


# ----------------------------------------------------------------------------- checks
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


def _check_sample_weight(w, n: int, dtype: np.dtype, where: str) -> np.ndarray | None:
    if w is None:
        return None
    w = np.asarray(w)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"{where}: sample_weight must be numeric, got dtype {w.dtype}.")
    if w.shape != (n,):
        raise ValueError(
            f"{where}: sample_weight must have shape ({n},), one weight per sample, got {w.shape}."
        )
    w = w.astype(dtype)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{where}: sample_weight must be finite and non-negative.")
    if not w.sum() > 0:
        raise ValueError(f"{where}: sample_weight sums to zero; at least one must be positive.")
    return w


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


def _weight_layers(net: Layer) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, W, dW)`` for every layer with a weight "W", labelled by its index."""
    layers = getattr(net, "layers", None)
    if layers is None:
        return [("0", net.params["W"], net.grads["W"])] if "W" in net.params else []
    out = []
    for i, layer in enumerate(layers):
        if hasattr(layer, "layers"):
            out += [(f"{i}.{label}", W, dW) for label, W, dW in _weight_layers(layer)]
        elif "W" in layer.params:
            out.append((str(i), layer.params["W"], layer.grads["W"]))
    return out


def _norm(A: np.ndarray) -> float:
    return math.sqrt(float(np.vdot(A, A)))


def _ratio(num: float, den: float) -> float:
    if den == 0:
        return 0.0 if num == 0 else math.inf
    return num / den


# ----------------------------------------------------------------------------- fit
def fit(
    net: Layer,
    loss: Loss | str,
    X: np.ndarray,
    y: np.ndarray,
    *,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int | None = 32,
    shuffle: bool = True,
    validation_split: float = 0.0,
    validation_data: tuple | None = None,
    l2: float = 0.0,
    early_stopping: EarlyStopping | bool | None = None,
    callbacks: Iterable[Callback | Callable] = (),
    metrics: Sequence[str | Callable] = (),
    progress: bool = False,
    rng: np.random.Generator | int | None = None,
    sample_weight: np.ndarray | None = None,
    schedule: Schedule | str | None = None,
) -> History:
    """Train ``net`` on ``(X, y)`` by minibatch gradient descent; return the History.

    Parameters
    ----------
    net : Sequential or Layer
        The network; trained in place. Its parameters' dtype decides the precision, and
        ``X`` must match it (float32 or float64).
    loss : Loss or str
        E.g. ``CrossEntropy()``, ``BinaryCrossEntropy()``, ``MeanSquaredError()``.
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Targets as ``loss`` takes them (class indices, 0/1 labels, one-hot, values).
    optimizer : Optimizer
        ``SGD(lr)``, ``Adam()``, ``RMSProp()``; its state carries over between calls.
    epochs : int
        Number of passes over the training data.
    batch_size : int or None, default 32
        Samples per gradient step (the last batch of an epoch may be smaller; larger
        than the data means one batch). None: every sample in one batch, i.e.
        full-batch gradient descent.
    shuffle : bool, default True
        Draw a new order of the samples every epoch (nothing is drawn when there is a
        single batch, whose gradient does not depend on the order).
    validation_split : float in [0, 1), default 0.0
        Fraction of the samples held out for validation, drawn at random with ``rng``
        (not stratified), ``ceil(validation_split * n_samples)`` of them.
    validation_data : tuple (X_val, y_val) or (X_val, y_val, sample_weight_val), optional
        Explicit validation data (instead of ``validation_split``).
    l2 : float, default 0.0
        L2 weight decay on every weight matrix ``W`` (not on biases)::

            L = data loss + (l2 / 2) * sum_layers ||W||_F^2,    dW += l2 * W

        which is PyTorch's ``weight_decay=l2`` applied to the weights only. (The data
        loss is a mean, so this l2 equals scikit-learn's ``alpha / batch_size``.)
    early_stopping : EarlyStopping, bool or None
        An :class:`~chainrule.EarlyStopping`; True means ``EarlyStopping()`` on
        ``"val_loss"`` (``"loss"`` without validation data).
    callbacks : iterable of Callback or functions f(epoch, logs)
        Run after every epoch; one returning True stops training (see
        :mod:`chainrule.callbacks`).
    metrics : sequence of str or callables
        ``"accuracy"``, ``"mse"``, ``"mae"``, ``"r2"``, or ``f(Y, T, sample_weight=None)``;
        logged for the training batches and for the validation data.
    progress : bool, default False
        Show a progress bar (tqdm) with the loss and validation loss.
    rng : numpy.random.Generator, int or None
        Drives the validation split and the shuffling: the same seed (with the same
        network initialisation) gives bit-identical weights and history. Dropout layers
        draw from their own ``rng``.
    sample_weight : ndarray of shape (n_samples,), optional
        Per-sample weights, passed batch by batch to the loss (a weighted mean) and the
        metrics. A batch whose weights are all zero is skipped.
    schedule : Schedule or str, optional
        Learning-rate schedule; replaces the optimizer's own (``optimizer.schedule``).
        At the end of epoch t ``fit`` calls ``optimizer.end_epoch(t, monitored)`` with
        the validation loss (or the training loss without validation), and the schedule
        sets ``optimizer.lr`` for epoch t + 1. With a schedule every ``fit`` starts
        again from ``lr0`` at epoch 1.

    Returns
    -------
    History
        Per-epoch values; ``history.to_frame()`` is a DataFrame (see :class:`History`).

    Raises
    ------
    ValueError, TypeError
        For bad data or arguments (NaN in X, a wrong number of features, class indices
        out of range, a metric that does not suit the targets, ...): all are found
        before the first step, so a fit that fails them leaves the network untouched.
    TrainingDivergedError
        When the loss or a weight becomes NaN or infinite. The network is rolled back
        to the weights at the end of the last good epoch (all finite), the optimizer's
        buffers are cleared, and the message names the epoch and the learning rate.

    Notes
    -----
    Callbacks' ``on_train_end`` (which restores early stopping's best weights) runs when
    training ends normally or is stopped by a callback, not when an exception is raised.
    """
    # --------------------------------------------------------------- arguments
    where = "fit"
    if not isinstance(net, Layer):
        raise TypeError(f"fit: net must be a chainrule Sequential or layer, got {type(net)}.")
    if isinstance(loss, type):
        raise TypeError(f"fit: pass a loss instance, e.g. loss={loss.__name__}(), not the class.")
    loss = get_loss(loss)
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
    if isinstance(l2, bool) or not isinstance(l2, Real) or not (math.isfinite(l2) and l2 >= 0):
        raise ValueError(f"fit: l2 must be a finite number >= 0, got {l2!r}.")
    l2 = float(l2)
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
    rng = as_rng(rng)
    dtype = _parameters_dtype(net)
    for _, name, p, _ in iter_parameters(net):
        if not np.isfinite(p).all():
            raise ValueError(
                f"fit: the network's parameter {name!r} already contains NaN or inf; "
                "rebuild the network (or reload good weights) before training."
            )

    X = _check_features(X, dtype, where)
    n = X.shape[0]
    y = _check_targets(y, n, where)
    w = _check_sample_weight(sample_weight, n, dtype, where)

    # --------------------------------------------------------------- validation data
    X_val = y_val = w_val = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "fit: validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
                "sample_weight_val)."
            )
        X_val = _check_features(validation_data[0], dtype, "fit (validation_data)")
        y_val = _check_targets(validation_data[1], X_val.shape[0], "fit (validation_data)", "X_val")
        if len(validation_data) == 3:
            w_val = _check_sample_weight(
                validation_data[2], X_val.shape[0], dtype, "fit (validation_data)"
            )
        X_train, y_train, w_train = X, y, w
    elif validation_split > 0:
        n_val = math.ceil(validation_split * n)
        if n - n_val < 1:
            raise ValueError(
                f"fit: validation_split={validation_split} of {n} samples leaves none to "
                "train on; use a smaller fraction or more data."
            )
        perm = rng.permutation(n)
        val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
        X_train, y_train = X[train_idx], y[train_idx]  # one copy, at the start
        X_val, y_val = X[val_idx], y[val_idx]
        w_train = None if w is None else w[train_idx]
        w_val = None if w is None else w[val_idx]
        if w_val is not None and not w_val.sum() > 0:
            raise ValueError("fit: the validation samples all have zero sample_weight.")
        if w_train is not None and not w_train.sum() > 0:
            raise ValueError("fit: the training samples all have zero sample_weight.")
    else:
        X_train, y_train, w_train = X, y, w
    has_val = X_val is not None
    # What the first epoch would discover, found before any weight moves: X's width,
    # targets that do not suit the loss (a failed fit leaves the network untouched).
    n_outputs = _check_against_net(net, loss, X, y)
    if validation_data is not None:
        _check_against_net(net, loss, X_val, y_val, "validation_data")

    n_train = X_train.shape[0]
    bs = n_train if batch_size is None else min(batch_size, n_train)
    n_batches = math.ceil(n_train / bs)
    # The loss's checks of the targets, done once for all of them: each batch then takes
    # its rows of T_train (a loss that defines its own __call__ is called as it is).
    T_train = None
    if type(loss).__call__ is Loss.__call__:
        T_train = loss._check_all_targets(y_train, n_outputs, dtype)

    check_pairing(net, loss)  # warns when the output layer and the loss do not match

    # --------------------------------------------------------------- what is logged
    metric_fns = [get_metric(m, loss) for m in metrics]
    names = [name for name, _ in metric_fns]
    if len(set(names)) != len(names):
        raise ValueError(f"fit: metrics requested twice: {names}.")
    if {"loss", "lr"} & set(names):
        raise ValueError("fit: a metric may not be called 'loss' or 'lr'.")
    _check_metrics(metrics, metric_fns, y, n_outputs, dtype)
    weights = _weight_layers(net)
    keys = ["loss", *names]
    if has_val:
        keys += ["val_loss", *(f"val_{name}" for name in names)]
    keys += ["lr", *(f"grad_norm_{lbl}" for lbl, _, _ in weights)]
    keys += [f"update_ratio_{lbl}" for lbl, _, _ in weights]

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
    if early_stopping is not None:
        cbs.append(early_stopping)

    if schedule is not None:
        optimizer.schedule = get_schedule(schedule)
    optimizer.start_training()

    # --------------------------------------------------------------- buffers
    params = [p for _, _, p, _ in iter_parameters(net)]
    params += [B for _, _, B in iter_buffers(net)]  # rolled back with the weights too
    snapshot = [p.copy() for p in params]  # weights at the start of the epoch
    weight_snapshots = [snapshot[_index_of(params, W)] for _, W, _ in weights]
    scratch = [np.empty_like(W) for _, W, _ in weights]
    l2_f = dtype.type(l2)
    Y_epoch = None  # training outputs of the epoch, for the training metrics

    history = History(
        {
            "epochs": epochs,
            "batch_size": bs,
            "n_samples": n_train,
            "n_val": 0 if not has_val else X_val.shape[0],
            "optimizer": repr(optimizer),
            "loss": repr(loss),
            "l2": l2,
        }
    )

    def penalty() -> float:
        return 0.5 * l2 * sum(float(np.vdot(W, W)) for _, W, _ in weights) if l2 else 0.0

    def diverged(epoch: int, what: str) -> TrainingDivergedError:
        for snap, p in zip(snapshot, params, strict=True):
            np.copyto(p, snap)
        optimizer.reset_state()
        lr = optimizer.lr
        back_to = f"the end of epoch {epoch - 1}" if epoch > 1 else "their initial values"
        return TrainingDivergedError(
            f"training diverged in epoch {epoch}: {what} with learning rate lr={lr:g}. "
            f"The weights were rolled back to {back_to} (all finite) and the optimizer's "
            f"state was cleared. Try a lower learning rate, e.g. lr={lr / 10:g}, and check "
            "that the inputs are standardized.",
            epoch=epoch,
            lr=lr,
            history=history,
        )

    for cb in cbs:
        cb.on_train_begin(net, tuple(keys))

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, unit="epoch", desc="training")

    # --------------------------------------------------------------- the loop
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in range(1, epochs + 1):
                for snap, p in zip(snapshot, params, strict=True):
                    np.copyto(snap, p)
                order = rng.permutation(n_train) if shuffle and n_batches > 1 else None
                lr_used = optimizer.lr
                total = total_weight = 0.0
                grad_norm_sums = [0.0] * len(weights)
                n_steps = 0

                for b in range(n_batches):
                    start, stop = b * bs, min((b + 1) * bs, n_train)
                    idx = slice(start, stop) if order is None else order[start:stop]
                    Xb, yb = X_train[idx], y_train[idx]
                    wb = None if w_train is None else w_train[idx]
                    batch_weight = float(stop - start) if wb is None else float(wb.sum())
                    if batch_weight == 0:
                        continue  # no sample counts: no gradient, no step

                    Y, backward = net.forward(Xb, training=True)
                    if T_train is not None and Y.ndim == 2 and Y.dtype == dtype:
                        value, dY = loss._mean_and_grad(Y, T_train[idx], wb)  # checked
                    else:
                        value, dY = loss(Y, yb, wb)
                    value += penalty()
                    if not math.isfinite(value):
                        raise diverged(epoch, f"the training loss became {value} in batch {b + 1}")
                    if net.fast_backward:  # set the grads; skip dL/d(data), nobody reads it
                        backward(dY, need_dX=False, accumulate=False)
                    else:
                        net.zero_grad()
                        backward(dY)
                    for j, (_, W, dW) in enumerate(weights):
                        if l2:
                            np.multiply(W, l2_f, out=scratch[j])
                            dW += scratch[j]
                        grad_norm_sums[j] += _norm(dW)
                    optimizer.step(net)
                    n_steps += 1

                    total += value * batch_weight
                    total_weight += batch_weight
                    if metric_fns:
                        if Y_epoch is None:
                            Y_epoch = np.zeros((n_train, Y.shape[1]), dtype=Y.dtype)
                        Y_epoch[start:stop] = Y

                if not all(np.isfinite(p).all() for p in params):
                    raise diverged(epoch, "a weight became NaN or inf in the last step")

                logs: dict[str, float] = {"loss": total / total_weight}
                if metric_fns:
                    y_ord = y_train if order is None else y_train[order]
                    w_ord = w_train if (w_train is None or order is None) else w_train[order]
                    for name, fn in metric_fns:
                        logs[name] = float(fn(Y_epoch, y_ord, sample_weight=w_ord))
                if has_val:
                    Y_val = net.forward(X_val, training=False)[0]
                    val_loss = loss(Y_val, y_val, w_val)[0] + penalty()
                    if not math.isfinite(val_loss):
                        raise diverged(epoch, f"the validation loss became {val_loss}")
                    logs["val_loss"] = val_loss
                    for name, fn in metric_fns:
                        logs[f"val_{name}"] = float(fn(Y_val, y_val, sample_weight=w_val))
                logs["lr"] = lr_used
                for j, (lbl, _, _) in enumerate(weights):
                    logs[f"grad_norm_{lbl}"] = grad_norm_sums[j] / max(n_steps, 1)
                for j, (lbl, W, _) in enumerate(weights):
                    snap = weight_snapshots[j]
                    np.subtract(W, snap, out=scratch[j])
                    logs[f"update_ratio_{lbl}"] = _ratio(_norm(scratch[j]), _norm(snap))
                history.append(epoch, logs)

                if bar is not None:
                    shown = {"loss": f"{logs['loss']:.4g}"}
                    if has_val:
                        shown["val_loss"] = f"{logs['val_loss']:.4g}"
                    bar.set_postfix(shown, refresh=False)
                    bar.update(1)

                optimizer.end_epoch(epoch, logs["val_loss"] if has_val else logs["loss"])
                requests = [bool(cb.on_epoch_end(epoch, logs)) for cb in cbs]
                if any(requests):
                    if epoch < epochs:
                        history.stopped_epoch = epoch
                    break
    finally:
        if bar is not None:
            bar.close()

    for cb in cbs:
        cb.on_train_end(net, history)
    return history


def _index_of(arrays: list[np.ndarray], A: np.ndarray) -> int:
    """Position of the array object ``A`` in ``arrays`` (by identity, not value)."""
    for i, B in enumerate(arrays):
        if B is A:
            return i
    raise ValueError("array not found among the parameters")
