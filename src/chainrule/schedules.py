"""Learning-rate schedules: how the learning rate changes from one epoch to the next.

A schedule is an object handed to an optimizer (``SGD(0.1, schedule=StepDecayLR(10))``)
or to ``fit(..., schedule=...)``. At the end of every epoch ``fit`` calls
``optimizer.end_epoch(epoch, monitored_value)``, and the optimizer asks its schedule for
the learning rate of the next epoch:

    optimizer.lr = schedule.next_lr(epoch, lr, lr0, monitored_value)

``epoch`` is the 1-based number of the epoch that just ended, ``lr`` the rate it used,
``lr0`` the optimizer's initial rate and ``monitored_value`` the quantity ``fit``
watches (the validation loss when there is validation data, else the training loss).

Time ``t`` is counted in **epochs, from 1**: epoch 1 always runs at ``lr0``.

==============================  =====================================================
schedule                        learning rate of epoch t (t = 1, 2, ...)
==============================  =====================================================
``ConstantLR()``                lr0
``InverseScalingLR(power_t)``   lr0 / t**power_t
``StepDecayLR(step_size,        lr0 * gamma**((t - 1) // step_size): multiplied by
gamma)``                        gamma after every step_size epochs
``ReduceLROnPlateau(factor,     divided by factor whenever the monitored loss has not
patience, min_delta, min_lr)``  improved by more than min_delta for patience epochs
==============================  =====================================================
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from ._checks import check_state_config, check_state_keys, lookup, state_count, state_float


def _check_real(value, name: str, *, low: float, low_inclusive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if value < low or (value == low and not low_inclusive):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low:g}, got {value!r}.")
    return float(value)


class Schedule:
    """Base class of learning-rate schedules.

    Subclasses implement :meth:`next_lr`; stateless ones implement :meth:`lr_at` (the
    rate of epoch ``t`` as a function of ``t`` and ``lr0``) and inherit ``next_lr``.
    """

    def reset(self) -> None:
        """Forget any state (called by ``fit`` when training starts)."""

    def lr_at(self, t: int, lr0: float) -> float:
        """The learning rate of epoch ``t`` (1-based) for an initial rate ``lr0``."""
        raise NotImplementedError

    def next_lr(self, epoch: int, lr: float, lr0: float, monitored: float | None = None) -> float:
        """The learning rate of epoch ``epoch + 1``, after epoch ``epoch`` ran at ``lr``.

        Parameters
        ----------
        epoch : int
            The epoch that just ended (1-based).
        lr : float
            The learning rate it used.
        lr0 : float
            The optimizer's initial learning rate.
        monitored : float or None
            The monitored loss at the end of the epoch (used by ``ReduceLROnPlateau``).
        """
        return self.lr_at(epoch + 1, lr0)

    def get_config(self) -> dict:
        return {}

    def state_dict(self) -> dict:
        """What the schedule has learnt, as plain values: ``"class"`` and ``"config"``
        (``get_config()``) and, for a schedule with state, its state (see
        ``ReduceLROnPlateau``). The epoch and the current rate are the optimizer's."""
        return {"class": type(self).__name__, "config": self.get_config()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (checked first: ValueError)."""
        owner = f"{type(self).__name__}.load_state_dict"
        check_state_config(state, self, owner)
        check_state_keys(state, ("class", "config"), owner, ("class", "config"))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class ConstantLR(Schedule):
    """The learning rate never changes: ``lr_t = lr0``.

    ``next_lr`` returns the current rate unchanged, so a rate set by hand
    (``optimizer.lr = ...``) between epochs is kept. This is the default
    (``schedule=None`` behaves the same).
    """

    def lr_at(self, t: int, lr0: float) -> float:
        return float(lr0)

    def next_lr(self, epoch: int, lr: float, lr0: float, monitored: float | None = None) -> float:
        return float(lr)


class InverseScalingLR(Schedule):
    """``lr_t = lr0 / t**power_t``, t the 1-based epoch.

    Parameters
    ----------
    power_t : float, default 0.5
        The exponent; 0.5 gives lr0, lr0/sqrt(2), lr0/sqrt(3), ... and 1 gives
        lr0, lr0/2, lr0/3, ... (the Robbins-Monro rate of stochastic approximation).

    Notes
    -----
    scikit-learn's ``learning_rate="invscaling"`` uses the same formula with t the
    number of *samples* seen; here t counts epochs.
    """

    def __init__(self, power_t: float = 0.5) -> None:
        self.power_t = _check_real(power_t, "power_t", low=0.0)

    def lr_at(self, t: int, lr0: float) -> float:
        return float(lr0) / float(t) ** self.power_t

    def get_config(self) -> dict:
        return {"power_t": self.power_t}


class StepDecayLR(Schedule):
    """``lr_t = lr0 * gamma**((t - 1) // step_size)``: multiply by gamma every step_size epochs.

    Parameters
    ----------
    step_size : int
        Number of epochs between decays (epochs 1..step_size run at lr0).
    gamma : float, default 0.1
        The factor, in (0, 1].

    Notes
    -----
    This is PyTorch's ``StepLR`` with its 0-based epoch counter shifted to our 1-based t.
    """

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, Integral) or step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size!r}.")
        self.step_size = int(step_size)
        self.gamma = _check_real(gamma, "gamma", low=0.0, low_inclusive=False)
        if self.gamma > 1:
            raise ValueError(f"gamma must lie in (0, 1] (a decay), got {gamma!r}.")

    def lr_at(self, t: int, lr0: float) -> float:
        return float(lr0) * self.gamma ** ((int(t) - 1) // self.step_size)

    def get_config(self) -> dict:
        return {"step_size": self.step_size, "gamma": self.gamma}


class ReduceLROnPlateau(Schedule):
    """Divide the learning rate by ``factor`` when the monitored loss stops improving.

    Parameters
    ----------
    factor : float, default 10.0
        The divisor (> 1): the rate becomes ``max(lr / factor, min_lr)``. (PyTorch's
        ``factor=0.1`` multiplies; it corresponds to ``factor=10`` here.)
    patience : int, default 10
        Number of epochs without improvement to wait before reducing.
    min_delta : float, default 0.0
        An epoch improves when ``value < best - min_delta``.
    min_lr : float, default 0.0
        The rate never goes below this.

    Notes
    -----
    ::

        best = +inf, wait = 0                       (at reset)
        after each epoch, with monitored value v:
            if v < best - min_delta:  best = v, wait = 0
            else:                     wait = wait + 1
            if wait >= patience:      lr = max(lr / factor, min_lr), wait = 0

    ``fit`` monitors the validation loss when there is validation data, otherwise the
    training loss. scikit-learn's ``learning_rate="adaptive"`` divides by 5 after 2
    epochs without an improvement of ``tol``: ``ReduceLROnPlateau(5, 2, tol)``.
    """

    def __init__(
        self,
        factor: float = 10.0,
        patience: int = 10,
        min_delta: float = 0.0,
        min_lr: float = 0.0,
    ) -> None:
        self.factor = _check_real(factor, "factor", low=1.0, low_inclusive=False)
        if isinstance(patience, bool) or not isinstance(patience, Integral) or patience < 0:
            raise ValueError(f"patience must be a non-negative integer, got {patience!r}.")
        self.patience = int(patience)
        self.min_delta = _check_real(min_delta, "min_delta", low=0.0)
        self.min_lr = _check_real(min_lr, "min_lr", low=0.0)
        self.reset()

    def reset(self) -> None:
        self.best = math.inf
        self.wait = 0

    def lr_at(self, t: int, lr0: float) -> float:
        raise TypeError(
            "ReduceLROnPlateau depends on the monitored loss, not only on the epoch; "
            "use next_lr(epoch, lr, lr0, monitored)."
        )

    def next_lr(self, epoch: int, lr: float, lr0: float, monitored: float | None = None) -> float:
        if monitored is None or not math.isfinite(monitored):
            raise ValueError(
                f"ReduceLROnPlateau needs a finite monitored loss at the end of each epoch, "
                f"got {monitored!r}; call optimizer.end_epoch(epoch, loss_value)."
            )
        if monitored < self.best - self.min_delta:
            self.best = float(monitored)
            self.wait = 0
        else:
            self.wait += 1
        if self.wait >= self.patience:
            self.wait = 0
            return max(float(lr) / self.factor, self.min_lr)
        return float(lr)

    def state_dict(self) -> dict:
        """``"best"`` (the best monitored value, None before the first epoch) and
        ``"wait"`` (epochs since it improved), with ``"class"`` and ``"config"``."""
        best = self.best if math.isfinite(self.best) else None
        return {**super().state_dict(), "best": best, "wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        owner = "ReduceLROnPlateau.load_state_dict"
        keys = ("class", "config", "best", "wait")
        check_state_config(state, self, owner)
        check_state_keys(state, keys, owner, keys)
        best = state_float(state, "best", owner, optional=True)
        self.wait = state_count(state, "wait", owner)
        self.best = math.inf if best is None else best

    def get_config(self) -> dict:
        return {
            "factor": self.factor,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "min_lr": self.min_lr,
        }


#: every schedule class, by class name: what a checkpoint stores and rebuilds
SCHEDULE_CLASSES = {
    cls.__name__: cls for cls in (ConstantLR, InverseScalingLR, StepDecayLR, ReduceLROnPlateau)
}

#: the names a user may pass (``get_schedule``); StepDecayLR needs its step_size
SCHEDULES = {
    "constant": ConstantLR,
    "invscaling": InverseScalingLR,
    "inverse_scaling": InverseScalingLR,
    "plateau": ReduceLROnPlateau,
    "reduce_on_plateau": ReduceLROnPlateau,
}


def get_schedule(schedule: str | Schedule | None) -> Schedule | None:
    """A schedule from an instance, ``None`` (constant), or a name.

    Names: ``"constant"``, ``"invscaling"`` (``InverseScalingLR()``) and ``"plateau"``
    (``ReduceLROnPlateau()``); ``StepDecayLR`` needs its ``step_size``, so build it.
    """
    if schedule is None or isinstance(schedule, Schedule):
        return schedule
    hint = (
        ", None or a Schedule instance (ConstantLR(), InverseScalingLR(power_t), "
        "StepDecayLR(step_size, gamma), ReduceLROnPlateau(...))"
    )
    return lookup(SCHEDULES, schedule, "schedule", hint)()
