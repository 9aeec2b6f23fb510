"""Optimizers: ``step(net)`` updates every parameter in place from its gradient.

Each rule is PyTorch's optimizer of the same name, with the same hyper-parameters
(``rho`` is PyTorch's RMSprop ``alpha``, ``beta1, beta2`` Adam's ``betas``):

==========  ===============================================================
SGD         buf = g (first step), then buf = momentum * buf + g
            (no dampening);  W -= lr * buf, or with Nesterov
            W -= lr * (g + momentum * buf);  without momentum W -= lr * g
Adam        m = beta1 * m + (1 - beta1) * g,   v = beta2 * v + (1 - beta2) * g^2
            m_hat = m / (1 - beta1^t),         v_hat = v / (1 - beta2^t)
            W -= lr * m_hat / (sqrt(v_hat) + eps)   (eps after bias correction)
RMSProp     v = rho * v + (1 - rho) * g^2
            W -= lr * g / (sqrt(v) + eps)           (uncentred, eps outside the root)
==========  ===============================================================

Here W stands for any parameter (weights and biases alike), g for its gradient and t
for the number of steps this optimizer has applied to it.

Updates are **in place** (the layers' backward closures hold references to the
parameter arrays, so an array must never be replaced). The optimizer keeps its state
(momentum buffers, moment estimates, step count) per parameter array, in that array's
dtype; every scalar is cast to the parameter's dtype first, so float32 stays float32.
Plain gradient descent is ``SGD(lr)``; full-batch gradient descent is
``fit(..., optimizer=SGD(lr), batch_size=None)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from numbers import Real

import numpy as np

from .layers.base import Layer
from .schedules import Schedule, get_schedule


def iter_parameters(net: Layer) -> Iterator[tuple[Layer, str, np.ndarray, np.ndarray]]:
    """Yield ``(layer, name, param, grad)`` for a ``Sequential`` or a single layer."""
    if hasattr(net, "parameters"):
        yield from net.parameters()
    elif isinstance(net, Layer) or (hasattr(net, "params") and hasattr(net, "grads")):
        for name, param in net.params.items():
            yield net, name, param, net.grads[name]
    else:
        raise TypeError(f"step() takes a chainrule Sequential or layer, got {type(net).__name__}.")


def _check_hyper(value, name: str, low: float, high: float | None = None) -> float:
    """``value`` as a float in [low, high), or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if value < low or (high is not None and value >= high):
        where = f">= {low:g}" if high is None else f"in [{low:g}, {high:g})"
        raise ValueError(f"{name} must be {where}, got {value!r}.")
    return float(value)


class Optimizer:
    """Base class: learning rate, schedule and per-parameter state.

    Parameters
    ----------
    lr : float
        The learning rate (> 0).
    schedule : Schedule, str or None, keyword-only
        How ``lr`` changes between epochs (see :mod:`chainrule.schedules`); None keeps it
        constant.

    Attributes
    ----------
    lr : float
        The current learning rate; ``end_epoch`` updates it from the schedule, and it
        may be set by hand.
    lr0 : float
        The learning rate given at construction (where a schedule starts).
    schedule : Schedule or None
    """

    def __init__(self, lr: float, *, schedule: Schedule | str | None = None) -> None:
        lr = _check_hyper(lr, "lr", 0.0)
        if lr == 0:
            raise ValueError("lr must be > 0; a zero learning rate never changes the weights.")
        self.lr = lr
        self.lr0 = lr
        self.schedule = get_schedule(schedule)
        # id(param) -> (param, state): holding the array keeps its id from being reused.
        self._state: dict[int, tuple[np.ndarray, dict]] = {}

    # ----------------------------------------------------------------- the update
    def step(self, net: Layer) -> None:
        """Update every parameter of ``net`` (a ``Sequential`` or a layer) in place.

        Uses the gradients currently in the layers' ``grads``; call it after
        ``backward``.
        """
        for _layer, _name, param, grad in iter_parameters(net):
            if grad.shape != param.shape:
                raise ValueError(
                    f"gradient of shape {grad.shape} for a parameter of shape {param.shape}."
                )
            state = self._state_for(param)
            state["t"] += 1
            self._update(param, grad, state, param.dtype.type)

    def _state_for(self, param: np.ndarray) -> dict:
        entry = self._state.get(id(param))
        if entry is None or entry[0] is not param:
            entry = (param, self._init_state(param))
            self._state[id(param)] = entry
        return entry[1]

    def _init_state(self, param: np.ndarray) -> dict:
        # "scratch" is working memory for the in-place arithmetic, not optimizer state.
        return {"t": 0, "scratch": np.empty_like(param)}

    def _update(self, W: np.ndarray, g: np.ndarray, state: dict, f) -> None:
        raise NotImplementedError

    # ----------------------------------------------------------------- the state
    def state_of(self, param: np.ndarray) -> dict[str, np.ndarray | int]:
        """The optimizer's state for one parameter array (empty before its first step).

        Keys: ``"t"`` (steps applied) and the rule's buffers (``"momentum_buffer"``;
        ``"m"``, ``"v"``; ``"v"``), each an array of the parameter's shape and dtype.
        """
        entry = self._state.get(id(param))
        if entry is None or entry[0] is not param:
            return {}
        return {k: v for k, v in entry[1].items() if k != "scratch"}

    def reset_state(self) -> None:
        """Forget every buffer and step count (the learning rate is left as it is)."""
        self._state.clear()

    # ----------------------------------------------------------------- schedules
    def start_training(self) -> None:
        """Restart the schedule: ``lr = lr0`` and the schedule's state cleared.

        ``fit`` calls this when it starts, if there is a schedule. Without a schedule the
        current ``lr`` is kept. Moment estimates are kept either way (use
        :meth:`reset_state` for a fresh start).
        """
        if self.schedule is not None:
            self.lr = self.lr0
            self.schedule.reset()

    def end_epoch(self, epoch: int, monitored_value: float | None = None) -> float:
        """Let the schedule set ``lr`` for the next epoch; return the new ``lr``.

        Parameters
        ----------
        epoch : int
            The epoch that just ended, 1-based.
        monitored_value : float, optional
            The loss the schedule may watch (``ReduceLROnPlateau``).
        """
        if self.schedule is not None:
            self.lr = float(self.schedule.next_lr(epoch, self.lr, self.lr0, monitored_value))
        return self.lr

    def get_config(self) -> dict:
        return {"lr": self.lr0}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        if self.schedule is not None:
            args += f", schedule={self.schedule!r}"
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    Parameters
    ----------
    lr : float
        The learning rate.
    momentum : float, default 0.0
        The momentum coefficient mu in [0, 1).
    nesterov : bool, default False
        Use Nesterov's look-ahead form (needs momentum > 0).
    schedule : Schedule, str or None, keyword-only

    Notes
    -----
    PyTorch's ``torch.optim.SGD`` with ``dampening=0``::

        momentum == 0:   W -= lr * g
        otherwise:       buf = g                      at the first step (t = 1)
                         buf = mu * buf + g           afterwards
                         W -= lr * buf                (classical momentum)
                         W -= lr * (g + mu * buf)     (nesterov=True)

    The buffer is a running sum of past gradients with geometric weights 1, mu, mu^2,
    ...: along a direction where the gradient keeps its sign the steps grow up to
    1 / (1 - mu) times larger, and across a ravine they cancel.
    """

    def __init__(
        self,
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        *,
        schedule: Schedule | str | None = None,
    ) -> None:
        super().__init__(lr, schedule=schedule)
        self.momentum = _check_hyper(momentum, "momentum", 0.0, 1.0)
        self.nesterov = bool(nesterov)
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0, e.g. SGD(lr, momentum=0.9).")

    def _init_state(self, param):
        state = super()._init_state(param)
        if self.momentum > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        return state

    def _update(self, W, g, state, f):
        tmp = state["scratch"]
        if self.momentum == 0:
            d = g
        else:
            mu = f(self.momentum)
            buf = state["momentum_buffer"]
            if state["t"] == 1:
                np.copyto(buf, g)
            else:
                buf *= mu
                buf += g
            if self.nesterov:
                np.multiply(buf, mu, out=tmp)
                tmp += g
                d = tmp
            else:
                d = buf
        np.multiply(d, f(self.lr), out=tmp)
        W -= tmp

    def get_config(self) -> dict:
        return {"lr": self.lr0, "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam: momentum on the gradient, scaled by a running root-mean-square.

    Parameters
    ----------
    lr : float, default 1e-3
    beta1 : float, default 0.9
        Decay of the first-moment (mean) estimate m.
    beta2 : float, default 0.999
        Decay of the second-moment (uncentred variance) estimate v.
    eps : float, default 1e-8
        Added to sqrt(v_hat), after bias correction.
    schedule : Schedule, str or None, keyword-only

    Notes
    -----
    PyTorch's ``torch.optim.Adam`` (Kingma & Ba, 2015, Algorithm 1)::

        m = beta1 * m + (1 - beta1) * g            m, v start at 0
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)                 undo the bias towards 0 of the
        v_hat = v / (1 - beta2**t)                 zero start (t = steps taken)
        W -= lr * m_hat / (sqrt(v_hat) + eps)

    computed as PyTorch does: W -= (lr / (1 - beta1**t)) * m / (sqrt(v) /
    sqrt(1 - beta2**t) + eps). Each parameter's step is about lr in size whatever the
    scale of its gradient, because m_hat / sqrt(v_hat) is scale-free.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        *,
        schedule: Schedule | str | None = None,
    ) -> None:
        super().__init__(lr, schedule=schedule)
        self.beta1 = _check_hyper(beta1, "beta1", 0.0, 1.0)
        self.beta2 = _check_hyper(beta2, "beta2", 0.0, 1.0)
        self.eps = _check_hyper(eps, "eps", 0.0)

    def _init_state(self, param):
        state = super()._init_state(param)
        state["m"] = np.zeros_like(param)
        state["v"] = np.zeros_like(param)
        return state

    def _update(self, W, g, state, f):
        m, v, tmp, t = state["m"], state["v"], state["scratch"], state["t"]
        m *= f(self.beta1)
        np.multiply(g, f(1.0 - self.beta1), out=tmp)
        m += tmp
        v *= f(self.beta2)
        np.multiply(g, g, out=tmp)
        tmp *= f(1.0 - self.beta2)
        v += tmp
        bias_correction1 = 1.0 - self.beta1**t
        bias_correction2 = 1.0 - self.beta2**t
        np.sqrt(v, out=tmp)
        tmp /= f(math.sqrt(bias_correction2))
        tmp += f(self.eps)
        np.divide(m, tmp, out=tmp)
        tmp *= f(self.lr / bias_correction1)
        W -= tmp

    def get_config(self) -> dict:
        return {"lr": self.lr0, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class RMSProp(Optimizer):
    """RMSProp: the gradient divided by a running root-mean-square of itself.

    Parameters
    ----------
    lr : float, default 1e-3
    rho : float, default 0.9
        Decay of the running mean of g^2 (PyTorch's ``alpha``).
    eps : float, default 1e-8
        Added outside the square root.
    schedule : Schedule, str or None, keyword-only

    Notes
    -----
    PyTorch's ``torch.optim.RMSprop`` (uncentred, no momentum)::

        v = rho * v + (1 - rho) * g * g            v starts at 0
        W -= lr * g / (sqrt(v) + eps)

    There is no bias correction: the first steps are larger (about lr / sqrt(1 - rho)).
    """

    def __init__(
        self,
        lr: float = 1e-3,
        rho: float = 0.9,
        eps: float = 1e-8,
        *,
        schedule: Schedule | str | None = None,
    ) -> None:
        super().__init__(lr, schedule=schedule)
        self.rho = _check_hyper(rho, "rho", 0.0, 1.0)
        self.eps = _check_hyper(eps, "eps", 0.0)

    def _init_state(self, param):
        state = super()._init_state(param)
        state["v"] = np.zeros_like(param)
        return state

    def _update(self, W, g, state, f):
        v, tmp = state["v"], state["scratch"]
        v *= f(self.rho)
        np.multiply(g, g, out=tmp)
        tmp *= f(1.0 - self.rho)
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += f(self.eps)
        np.divide(g, tmp, out=tmp)
        tmp *= f(self.lr)
        W -= tmp

    def get_config(self) -> dict:
        return {"lr": self.lr0, "rho": self.rho, "eps": self.eps}


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "rmsprop": RMSProp}
