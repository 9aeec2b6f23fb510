"""What a training run records: ``History`` (one row per epoch), the error raised when
training diverges, and the warning an estimator gives when Ctrl-C stops it."""

from __future__ import annotations

import math


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


class TrainingInterrupted(UserWarning):
    """Ctrl-C stopped an estimator's ``fit``; it keeps the weights of its last step.

    The estimators follow scikit-learn: an interrupted ``fit`` returns and warns. Code
    that must stop instead (the ``chainrule`` command) turns this category into an
    error, by type rather than by message::

        with warnings.catch_warnings():
            warnings.simplefilter("error", TrainingInterrupted)
            est.fit(X, y)  # raises TrainingInterrupted on Ctrl-C
    """


class History:
    """What happened in each epoch of ``fit``.

    Attributes
    ----------
    history : dict[str, list[float]]
        One list per logged value, one entry per epoch (as in Keras).
    epochs : list[int]
        The epoch numbers, 1-based.
    params : dict
        The run's settings (epochs, batch_size, n_samples, n_val, optimizer, loss, l2;
        l1, clip_norm or clip_value when given).
    stopped_epoch : int or None
        The epoch after which a callback or early stopping ended training; None when
        all epochs ran.

    Notes
    -----
    The logged values (also the columns of :meth:`to_frame`, in this order):

    ================  ==============================================================
    loss              training loss: the mean over the epoch's batches (weighted by
                      batch size, or by total sample weight), each computed while
                      training (dropout on), plus (l2 / 2) * sum ||W||^2 (+ l1 * sum |W|)
    <metric>          each requested metric on the training batches' outputs,
                      computed on the fly like the loss (as Keras does)
    val_loss          validation loss at the end of the epoch (inference mode),
                      with the same L2 term
    val_<metric>      each metric on the validation data at the end of the epoch
    lr                the learning rate used during the epoch
    clipped           (with ``clip_norm`` or ``clip_value`` only) the fraction of the
                      epoch's steps whose gradient was clipped
    grad_norm_<i>     Frobenius norm of dL/dW of layer ``net.layers[i]`` (L2 term
                      included, before any clipping), **averaged over the epoch's
                      batches**; tiny values in early layers mean vanishing gradients,
                      huge ones exploding gradients
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
