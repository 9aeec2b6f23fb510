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
AdamW       W *= 1 - lr * weight_decay, then Adam's step (decoupled weight decay)
RMSProp     v = rho * v + (1 - rho) * g^2
            W -= lr * g / (sqrt(v) + eps)           (uncentred, eps outside the root)
==========  ===============================================================

Here W stands for any parameter (weights and biases alike), g for its gradient and t
for the number of steps this optimizer has applied to it.

Updates are **in place** (the layers' backward closures hold references to the
parameter arrays, so an array must never be replaced). The optimizer keeps its state
(momentum buffers, moment estimates, step count) per parameter array, in that array's
dtype; every scalar is cast to the parameter's dtype first, so float32 stays float32.

Speed: the rules are element-wise, so when a network's parameters are views of one flat
buffer (``Sequential`` packs them so, see ``flat_layout``) ``step`` applies each line of
the rule once to the whole buffer instead of once per array: the same arithmetic on the
same numbers (bit-identical results), with a dozen NumPy calls per step instead of a
dozen per array. Otherwise it updates array by array.

Plain gradient descent is ``SGD(lr)``; full-batch gradient descent is
``fit(..., optimizer=SGD(lr), batch_size=None)``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator
from numbers import Real

import numpy as np

from ._checks import (
    check_state_config,
    check_state_keys,
    lookup,
    state_array,
    state_count,
    state_float,
)
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


def _tiling(arrays: list[np.ndarray]) -> tuple[np.ndarray, list[int]] | None:
    """``(B, offsets)`` when the arrays are C-contiguous views of one 1-D array B that
    together cover each element of B exactly once (in any order); otherwise None."""
    B = arrays[0].base
    if B is None or B.ndim != 1 or not B.flags.c_contiguous:
        return None
    start = B.__array_interface__["data"][0]
    offsets = []
    for A in arrays:
        if A.base is not B or not A.flags.c_contiguous:
            return None
        offsets.append((A.__array_interface__["data"][0] - start) // B.itemsize)
    end = 0
    for offset, size in sorted(zip(offsets, (A.size for A in arrays), strict=True)):
        if offset != end:
            return None
        end += size
    return (B, offsets) if end == B.size else None


def flat_layout(*lists: list[np.ndarray]) -> list[np.ndarray] | None:
    """The flat buffers behind parallel lists of arrays, when they are laid out alike.

    For ``flat_layout(params, grads)``: ``[P, G]`` when every parameter is a view of one
    1-D array P, every gradient a view of one 1-D array G, parameter i and gradient i
    have the same shape and start at the same offset, and the parameters cover each
    element of P exactly once (``Sequential`` packs its parameters so). An element-wise
    update applied once to P and G is then exactly the update applied to every pair.
    Any number of lists (e.g. also the moment estimates); None when one is not so.
    """
    if not lists[0] or any(len(arrays) != len(lists[0]) for arrays in lists):
        return None
    tilings = [_tiling(arrays) for arrays in lists]
    if any(tiling is None for tiling in tilings):
        return None
    buffers = [B for B, _ in tilings]
    if any(offsets != tilings[0][1] for _, offsets in tilings):
        return None
    if len({id(B) for B in buffers}) != len(buffers) or len({B.dtype for B in buffers}) != 1:
        return None
    for arrays in zip(*lists, strict=True):
        if any(A.shape != arrays[0].shape for A in arrays):
            return None
    return buffers


def views_like(flat: np.ndarray, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Views of the 1-D ``flat``, shaped and placed as ``arrays`` are in their buffer
    (for state laid out like the parameters: ``flat_layout`` holds for both)."""
    start = arrays[0].base.__array_interface__["data"][0]
    views = []
    for A in arrays:
        offset = (A.__array_interface__["data"][0] - start) // A.itemsize
        views.append(flat[offset : offset + A.size].reshape(A.shape))
    return views


class LayoutCache:
    """``flat_layout``, remembered for the last lists of arrays (compared by identity).

    A view's buffer and offset never change, so the answer holds while the arrays are
    the same objects; a training loop asks at every step, and this makes it cheap.
    """

    def __init__(self) -> None:
        self._key: list = []
        self._buffers: list[np.ndarray] | None = None

    def __call__(self, *lists: list[np.ndarray]) -> list[np.ndarray] | None:
        key = [A for arrays in lists for A in (*arrays, None)]  # None ends each list
        if len(key) != len(self._key) or not all(map(operator.is_, key, self._key)):
            self._key, self._buffers = key, flat_layout(*lists)
        return self._buffers

    # A pickled or deep-copied view becomes an array of its own: a copy starts empty.
    def __getstate__(self) -> dict:
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()


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
        lr = _check_hyper(lr, "lr", -math.inf)
        if lr <= 0:
            raise ValueError(
                f"lr must be > 0 (e.g. 0.01), got {lr!r}; a learning rate <= 0 never "
                "descends the loss."
            )
        self.lr = lr
        self.lr0 = lr
        self.schedule = get_schedule(schedule)
        # id(param) -> (param, state): holding the array keeps its id from being reused.
        self._state: dict[int, tuple[np.ndarray, dict]] = {}
        # id(P) -> (P, state of the whole flat buffer P); see _flat_state
        self._flat_states: dict[int, tuple[np.ndarray, dict]] = {}
        self._layout = LayoutCache()

    # ----------------------------------------------------------------- the update
    def step(self, net: Layer) -> None:
        """Update every parameter of ``net`` (a ``Sequential`` or a layer) in place.

        Uses the gradients currently in the layers' ``grads``; call it after
        ``backward``.
        """
        params, grads = [], []
        for _layer, _name, param, grad in iter_parameters(net):
            if grad.shape != param.shape:
                raise ValueError(
                    f"gradient of shape {grad.shape} for a parameter of shape {param.shape}."
                )
            params.append(param)
            grads.append(grad)
        flat = self._flat_state(params, grads)
        if flat is not None:  # one update of the whole buffer: the same arithmetic, fewer calls
            P, G, state, members = flat
            state["t"] += 1
            self._update(P, G, state, P.dtype.type)
            for member in members:
                member["t"] = state["t"]
            return
        for param, grad in zip(params, grads, strict=True):
            state = self._state_for(param)
            state["t"] += 1
            self._update(param, grad, state, param.dtype.type)

    def _flat_state(self, params: list[np.ndarray], grads: list[np.ndarray]):
        """``(P, G, state, members)`` when one update of the flat buffers can serve all.

        When the parameters tile a flat buffer P (a ``Sequential``'s layout, see
        ``flat_layout``), their state is allocated flat too: ``state`` holds arrays the
        size of P, and each parameter's own state (``members``, what ``state_of``
        shows) holds views of them. The flat update is used while every member is such a
        view and has taken as many steps as the buffer; otherwise (a parameter that was
        stepped on its own, or replaced) None, and ``step`` updates array by array.
        """
        buffers = self._layout(params, grads)
        if buffers is None:
            return None
        P, G = buffers
        entry = self._flat_states.get(id(P))
        if entry is None or entry[0] is not P:
            state = self._init_state(P)
            arrays = [k for k, v in state.items() if isinstance(v, np.ndarray)]
            views = {k: views_like(state[k], params) for k in arrays}
            for i, param in enumerate(params):
                own = {k: (views[k][i] if k in views else v) for k, v in state.items()}
                old = self._state.get(id(param))
                if old is not None and old[0] is param:  # keep what earlier steps learnt
                    for k, v in old[1].items():
                        if k in views:
                            own[k][...] = v
                        else:
                            own[k] = v
                self._state[id(param)] = (param, own)
            steps = {self._state[id(param)][1]["t"] for param in params}
            if len(steps) == 1:  # all stepped alike so far (array by array): carry on flat
                state["t"] = steps.pop()
            entry = self._flat_states[id(P)] = (P, state)
        state = entry[1]
        members = []
        for param in params:
            own = self._state.get(id(param))
            if own is None or own[0] is not param:
                return None
            member = own[1]
            if member["t"] != state["t"] or member["scratch"].base is not state["scratch"]:
                return None
            members.append(member)
        return P, G, state, members

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
        ``"m"``, ``"v"``; ``"v"``), each an array of the parameter's shape and dtype
        (``Adam``'s m and v are computed from the sums it keeps: copies, not views).
        """
        entry = self._state.get(id(param))
        if entry is None or entry[0] is not param:
            return {}
        return self._shown_state(entry[1])

    def _shown_state(self, state: dict) -> dict:
        """What ``state_of`` shows of one parameter's state (a rule may keep another form)."""
        return {k: v for k, v in state.items() if k != "scratch"}

    def reset_state(self) -> None:
        """Forget every buffer and step count (the learning rate is left as it is)."""
        self._state.clear()
        self._flat_states.clear()

    # Buffers that hold running means of g^2: never negative.
    _NONNEGATIVE: tuple[str, ...] = ()

    def state_dict(self, net: Layer) -> dict:
        """Everything the next step needs, for ``net``'s parameters: plain values + arrays.

        Parameters
        ----------
        net : Sequential or Layer
            The network this optimizer steps; its parameters are numbered in
            ``iter_parameters`` order.

        Returns
        -------
        state : dict
            ``"class"``, ``"config"`` (``get_config()``), ``"lr"`` (the current rate), and
            for every parameter ``i`` that has been stepped: ``"<i>.t"`` (steps applied)
            and its buffers as copies, ``"<i>.<buffer>"``, each of the parameter's shape
            and dtype (SGD ``momentum_buffer``; Adam ``M`` = m / (1 - beta1) and ``V``
            = v / (1 - beta2), the sums it keeps; RMSProp ``v``). The schedule's state
            is its own (``schedule.state_dict()``).
        """
        state: dict = {"class": type(self).__name__, "config": self.get_config(), "lr": self.lr}
        for i, (_, _, param, _) in enumerate(iter_parameters(net)):
            entry = self._state.get(id(param))
            if entry is None or entry[0] is not param:
                continue
            for key, value in entry[1].items():
                if key != "scratch":
                    state[f"{i}.{key}"] = value.copy() if key != "t" else int(value)
        return state

    def load_state_dict(self, state: dict, net: Layer) -> None:
        """Restore what :meth:`state_dict` returned, for ``net``'s parameters.

        Every value is checked first (the class and configuration, ``lr`` > 0, step
        counts >= 1, each buffer finite and of its parameter's shape and dtype); a
        ValueError names the first problem and nothing changes. The buffers are copied:
        the state shares no memory with ``state``.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        params = [param for _, _, param, _ in iter_parameters(net)]
        keys = [k for k in self._init_state(np.zeros(1)) if k != "scratch"]
        names = [f"{i}.{k}" for i in range(len(params)) for k in keys]
        check_state_config(state, self, owner)
        check_state_keys(state, {"class", "config", "lr", *names}, owner, ("class", "config", "lr"))
        lr = state_float(state, "lr", owner)
        if lr <= 0:
            raise ValueError(f"{owner}: 'lr' must be > 0, got {lr!r}.")
        restored = {}
        for i, param in enumerate(params):
            if f"{i}.t" not in state:
                continue
            own = self._init_state(param)
            own["t"] = state_count(state, f"{i}.t", owner, low=1)
            for key in own:
                if key not in ("t", "scratch"):
                    low = 0 if key in self._NONNEGATIVE else None
                    own[key][...] = state_array(state, f"{i}.{key}", param, owner, low)
            restored[id(param)] = (param, own)
        for key in state:
            i = key.split(".")[0]
            if i.isdigit() and f"{i}.t" not in state:
                raise ValueError(f"{owner}: {key!r} is given without the step count '{i}.t'.")
        self.reset_state()
        self._state.update(restored)
        self.lr = lr

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


def adam_step(W, g, M, V, tmp, beta1: float, beta2: float, step: float, eps: float) -> None:
    """Adam's update in place, in the form both Adams use (``Adam``, the estimators')::

        M = beta1 * M + g,   V = beta2 * V + g * g,   W -= step * M / (sqrt(V) + eps)

    M = m / (1 - beta1) and V = v / (1 - beta2) are the moment estimates without their
    constant factors; each rule folds those and its bias corrections into ``step`` and
    ``eps``. ``tmp`` is work memory like W. Ten passes over the arrays; the scalars are
    cast to W's dtype so that float32 stays float32.
    """
    f = W.dtype.type
    M *= f(beta1)
    M += g
    np.multiply(g, g, out=tmp)
    V *= f(beta2)
    V += tmp
    np.sqrt(V, out=tmp)
    tmp += f(eps)
    np.divide(M, tmp, out=tmp)
    tmp *= f(step)
    W -= tmp


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

    Each parameter's step is about lr in size whatever the scale of its gradient,
    because m_hat / sqrt(v_hat) is scale-free.

    Computed with fewer passes over the parameters (10 array operations instead of
    13; the same numbers up to rounding): the state holds the sums M = m / (1 - beta1)
    and V = v / (1 - beta2), which need no multiplication by (1 - beta) at each step,
    and the constants gather into two scalars::

        M = beta1 * M + g,   V = beta2 * V + g * g            (M, V start at 0)
        sqrt(v_hat) = s * sqrt(V),   s = sqrt((1 - beta2) / (1 - beta2**t))
        W -= (lr * (1 - beta1) / ((1 - beta1**t) * s)) * M / (sqrt(V) + eps / s)

    ``state_of`` shows m and v. So that M and V stay consistent, beta1 and beta2 are
    fixed at construction (make a new optimizer to change them).
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
        self._beta1 = _check_hyper(beta1, "beta1", 0.0, 1.0)
        self._beta2 = _check_hyper(beta2, "beta2", 0.0, 1.0)
        self.eps = _check_hyper(eps, "eps", 0.0)

    @property
    def beta1(self) -> float:
        """Decay of m (read-only: the state is kept as m / (1 - beta1))."""
        return self._beta1

    @property
    def beta2(self) -> float:
        """Decay of v (read-only: the state is kept as v / (1 - beta2))."""
        return self._beta2

    def _init_state(self, param):
        state = super()._init_state(param)
        state["M"] = np.zeros_like(param)  # m / (1 - beta1)
        state["V"] = np.zeros_like(param)  # v / (1 - beta2)
        return state

    def _update(self, W, g, state, f):
        b1, b2, t = self._beta1, self._beta2, state["t"]
        s = math.sqrt((1.0 - b2) / (1.0 - b2**t))
        step = self.lr * (1.0 - b1) / ((1.0 - b1**t) * s)
        adam_step(W, g, state["M"], state["V"], state["scratch"], b1, b2, step, self.eps / s)

    _NONNEGATIVE = ("V",)

    def _shown_state(self, state: dict) -> dict:
        f = state["M"].dtype.type
        return {
            "t": state["t"],
            "m": state["M"] * f(1.0 - self._beta1),
            "v": state["V"] * f(1.0 - self._beta2),
        }

    def get_config(self) -> dict:
        return {"lr": self.lr0, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's ``AdamW``.

    Parameters
    ----------
    lr : float, default 1e-3
    beta1 : float, default 0.9
    beta2 : float, default 0.999
    eps : float, default 1e-8
    weight_decay : float, default 1e-2
        The decay rate lambda (>= 0): each step shrinks W by the factor (1 - lr * lambda)
        before the Adam step. 0 gives exactly ``Adam``.
    schedule : Schedule, str or None, keyword-only

    Notes
    -----
    ``torch.optim.AdamW``::

        W *= 1 - lr * weight_decay                 decay, decoupled from the gradient
        then Adam's step on g (see Adam):          W -= lr * m_hat / (sqrt(v_hat) + eps)

    The decay applies to every parameter the optimizer steps, **biases included**, as
    in PyTorch when all of a model's parameters are given to it.

    Why not L2 in the loss? Adding (lambda / 2) ||W||^2 to the loss adds lambda * W to g,
    and then Adam divides it by sqrt(v_hat) like the rest of the gradient: a weight
    whose gradients are large is decayed *less*, one with small gradients more, and
    the decay's size depends on the data's scale. Decoupled decay shrinks every weight
    by the same factor, lr * lambda, whatever its gradients; with SGD the two are the
    same, with Adam they are not (docs/derivations.md shows it in numbers).
    """

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        *,
        schedule: Schedule | str | None = None,
    ) -> None:
        super().__init__(lr, beta1, beta2, eps, schedule=schedule)
        self.weight_decay = _check_hyper(weight_decay, "weight_decay", 0.0)

    def _update(self, W, g, state, f):
        if self.weight_decay:
            W *= f(1.0 - self.lr * self.weight_decay)  # decay first, as PyTorch does
        super()._update(W, g, state, f)

    def get_config(self) -> dict:
        return {**super().get_config(), "weight_decay": self.weight_decay}


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

    _NONNEGATIVE = ("v",)

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


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSProp}


def get_optimizer(optimizer: str | Optimizer, **hyper) -> Optimizer:
    """An optimizer from an instance (returned as is) or a name and its hyper-parameters.

    ``get_optimizer("sgd", lr=0.1, momentum=0.9)`` is ``SGD(0.1, momentum=0.9)``.

    Raises
    ------
    ValueError
        ``unknown optimizer 'lion'; choose one of sgd, adam, adamw, rmsprop.``
    """
    if isinstance(optimizer, Optimizer):
        return optimizer
    return lookup(OPTIMIZERS, optimizer, "optimizer")(**hyper)
