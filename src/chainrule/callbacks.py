"""Callbacks: code that ``fit`` runs around the epochs, and early stopping.

``fit`` calls, for every callback ``cb`` in ``callbacks=``:

* ``cb.on_train_begin(net, keys)`` once before the first epoch, with the network and the
  names of the values that every epoch's ``logs`` will hold;
* ``cb.on_epoch_end(epoch, logs)`` after every epoch (``epoch`` 1-based, ``logs`` a dict
  such as ``{"loss": 0.31, "val_loss": 0.35, "lr": 0.001, ...}``). **Returning True
  stops training** after this epoch (every callback still sees the epoch first);
* ``cb.on_train_end(net, history)`` once at the end, however training stopped
  (except by an exception).

A plain function ``f(epoch, logs)`` can be passed instead of a ``Callback``; it is used
as ``on_epoch_end``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np

from ._checks import check_state_config, check_state_keys, state_array, state_count, state_float
from .layers.base import Layer, iter_buffers
from .optimizers import iter_parameters


class Callback:
    """Base class; override the hooks you need. Every hook does nothing by default."""

    def on_train_begin(self, net: Layer, keys: Sequence[str]) -> None:
        """Called before the first epoch with the network and the names of the logs."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        """Called after each epoch; return True to stop training."""
        return None

    def on_train_end(self, net: Layer, history) -> None:
        """Called once when training ends (normally, by a callback, or by early stopping)."""

    def state_dict(self, net: Layer) -> dict:
        """What ``fit(..., checkpoint=...)`` stores of this callback (nothing by default).

        A callback that learns something across epochs returns it here as plain values
        and arrays (see ``EarlyStopping``), and restores it in :meth:`load_state_dict`,
        which ``fit(..., resume=...)`` calls after ``on_train_begin``.
        """
        return {}

    def load_state_dict(self, state: dict, net: Layer) -> None:
        """Restore what :meth:`state_dict` returned (ValueError if it does not fit)."""
        check_state_keys(state, (), f"{type(self).__name__}.load_state_dict")


class LambdaCallback(Callback):
    """Wrap a function ``f(epoch, logs) -> bool | None`` as a callback."""

    def __init__(self, on_epoch_end) -> None:
        if not callable(on_epoch_end):
            raise TypeError(f"on_epoch_end must be callable, got {type(on_epoch_end).__name__}.")
        self._on_epoch_end = on_epoch_end

    def on_epoch_end(self, epoch, logs):
        return self._on_epoch_end(epoch, logs)

    def __repr__(self) -> str:
        return f"LambdaCallback({getattr(self._on_epoch_end, '__name__', '?')})"


def as_callback(cb) -> Callback:
    """A ``Callback`` from a ``Callback`` or a function ``f(epoch, logs)``."""
    if isinstance(cb, Callback):
        return cb
    if callable(cb):
        return LambdaCallback(cb)
    raise TypeError(
        f"callbacks must be Callback instances or functions f(epoch, logs), got "
        f"{type(cb).__name__}."
    )


class EarlyStopping(Callback):
    """Stop when a monitored value stops improving; optionally restore the best weights.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of the epoch logs: ``"loss"``, ``"val_loss"``, ``"val_accuracy"``, ...
    patience : int, default 10
        Number of epochs without improvement after which training stops.
    min_delta : float, default 0.0
        The smallest change that counts as an improvement.
    restore_best : bool, default True
        At the end of training, copy the weights of the best epoch back into the
        network's parameter arrays (in place: the very same arrays, bit for bit).
    mode : {"auto", "min", "max"}, default "auto"
        Whether lower or higher is better; "auto" means higher for names containing
        "accuracy" or "r2", lower otherwise.

    Attributes
    ----------
    best_value : float
        The best monitored value so far.
    best_epoch : int or None
        The epoch (1-based) that reached it.
    stopped_epoch : int or None
        The epoch after which this callback stopped training (None if it did not).

    Notes
    -----
    ::

        improved  <=>  value < best - min_delta      (mode "min")
                       value > best + min_delta      (mode "max")
        wait = 0 at an improvement, else wait += 1;  stop when wait >= patience.

    The weights (and buffers, such as batch norm's running statistics) are copied at
    every improvement, so the restored weights are exactly those at the end of
    ``best_epoch``, whether training stopped early or ran out of epochs.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
        mode: str = "auto",
    ) -> None:
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be the name of a logged value, got {monitor!r}.")
        if isinstance(patience, bool) or not isinstance(patience, Integral) or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}.")
        if isinstance(min_delta, bool) or not isinstance(min_delta, Real):
            raise ValueError(f"min_delta must be a number >= 0, got {min_delta!r}.")
        if not (math.isfinite(min_delta) and min_delta >= 0):
            raise ValueError(f"min_delta must be a finite number >= 0, got {min_delta!r}.")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}.")
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.restore_best = bool(restore_best)
        if mode == "auto":
            higher = any(s in monitor for s in ("accuracy", "r2"))
            mode = "max" if higher else "min"
        self.mode = mode
        self._reset()

    def _reset(self) -> None:
        self.best_value = -math.inf if self.mode == "max" else math.inf
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.wait = 0
        self._params: list[np.ndarray] = []
        self._best: list[np.ndarray] = []

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best_value - self.min_delta
        return value > self.best_value + self.min_delta

    def on_train_begin(self, net: Layer, keys: Sequence[str]) -> None:
        if self.monitor not in keys:
            hint = ""
            if self.monitor.startswith("val_"):
                hint = (
                    " Validation values exist only with validation_split > 0 or "
                    "validation_data; or monitor the training value "
                    f"(monitor={self.monitor[4:]!r})."
                )
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which this training run does not "
                f"log; it logs {list(keys)}.{hint}"
            )
        self._reset()
        # the running statistics too: the best gamma, beta go with the best statistics
        self._params = [p for _, _, p, _ in iter_parameters(net)]
        self._params += [B for _, _, B in iter_buffers(net)]
        self._best = [np.empty_like(p) for p in self._params] if self.restore_best else []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best_value, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                for saved, p in zip(self._best, self._params, strict=True):
                    np.copyto(saved, p)
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, net: Layer, history) -> None:
        if self.restore_best and self.best_epoch is not None:
            for saved, p in zip(self._best, self._params, strict=True):
                np.copyto(p, saved)
        self._params = []  # drop the references to the network's arrays

    def get_config(self) -> dict:
        return {
            "monitor": self.monitor,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "restore_best": self.restore_best,
            "mode": self.mode,
        }

    def state_dict(self, net: Layer) -> dict:
        """The counter and the best so far: ``"wait"``, ``"best_value"`` (None before any
        epoch), ``"best_epoch"``, ``"stopped_epoch"``, and with ``restore_best`` the best
        weights ``"best.<i>"`` (``net``'s parameters, then its buffers, in order), with
        ``"class"`` and ``"config"``."""
        best = self.best_value if math.isfinite(self.best_value) else None
        state = {"class": "EarlyStopping", "config": self.get_config(), "wait": self.wait}
        state.update(best_value=best, best_epoch=self.best_epoch, stopped_epoch=self.stopped_epoch)
        if self.best_epoch is not None:
            for i, saved in enumerate(self._best):
                state[f"best.{i}"] = saved.copy()
        return state

    def load_state_dict(self, state: dict, net: Layer) -> None:
        """Restore :meth:`state_dict`'s values for ``net`` (after ``on_train_begin``)."""
        owner = "EarlyStopping.load_state_dict"
        targets = [p for _, _, p, _ in iter_parameters(net)] + [B for _, _, B in iter_buffers(net)]
        scalars = ("class", "config", "wait", "best_value", "best_epoch", "stopped_epoch")
        arrays = [f"best.{i}" for i in range(len(targets))]
        check_state_config(state, self, owner)
        check_state_keys(state, (*scalars, *arrays), owner, scalars)
        wait = state_count(state, "wait", owner)
        best_value = state_float(state, "best_value", owner, optional=True)
        best_epoch = state_count(state, "best_epoch", owner, low=1, optional=True)
        stopped = state_count(state, "stopped_epoch", owner, low=1, optional=True)
        if (best_value is None) != (best_epoch is None):
            raise ValueError(f"{owner}: 'best_value' and 'best_epoch' must be given together.")
        keep = self.restore_best and best_epoch is not None
        if keep != any(k in state for k in arrays):
            raise ValueError(
                f"{owner}: the best weights 'best.<i>' are stored exactly when "
                "restore_best=True and there is a best epoch."
            )
        best = [np.empty_like(A) for A in targets] if self.restore_best else []
        if keep:
            best = [
                state_array(state, k, A, owner).copy() for k, A in zip(arrays, targets, strict=True)
            ]
        self._reset()
        if best_value is not None:
            self.best_value = best_value
        self.best_epoch, self.stopped_epoch, self.wait = best_epoch, stopped, wait
        self._params, self._best = targets, best

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
            f"min_delta={self.min_delta}, restore_best={self.restore_best}, mode={self.mode!r})"
        )
