"""scikit-learn's MLP training rules, re-derived for the estimators (private).

The estimators in :mod:`chainrule.estimators` reproduce scikit-learn's ``MLPClassifier``
and ``MLPRegressor`` step for step, so that with the same ``random_state`` they draw the
same initial weights, visit the batches in the same order and apply the same updates.
This module holds those rules, written from their definitions (scikit-learn's
``_stochastic_optimizers.py`` and ``_multilayer_perceptron.py`` document them); the
gradients they consume come from chainrule's own backward passes.

Every rule updates the parameter arrays **in place** (the layers' backward closures hold
references to them) and uses Python floats as scalars, so float32 parameters stay
float32 (NEP 50: a Python float never upcasts an array).

Speed: when the parameters are views of one flat buffer (the estimators' network is a
``Sequential``, which packs them so), a rule keeps its buffers (velocities, moments)
flat in the same layout and applies each line of its formula once to the whole buffer:
the same arithmetic on the same numbers as array by array, in a dozen NumPy calls per
step instead of a dozen per array (see ``chainrule.optimizers.flat_layout``).
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import (
    check_state_config,
    check_state_keys,
    state_array,
    state_count,
    state_float,
)
from ..optimizers import LayoutCache, adam_step, flat_layout, views_like


def init_layer(
    random_state: np.random.RandomState, fan_in: int, fan_out: int, activation: str, dtype
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's initial weights and biases for one layer.

    Parameters
    ----------
    random_state : numpy.random.RandomState
        The estimator's random state; two draws are taken from it, W then b.
    fan_in, fan_out : int
        The layer's numbers of inputs and outputs.
    activation : str
        The hidden activation; ``"logistic"`` narrows the range (factor 2 instead of 6).
    dtype : np.float32 or np.float64

    Returns
    -------
    W : ndarray of shape (fan_in, fan_out)
    b : ndarray of shape (fan_out,)

    Notes
    -----
    ::

        bound = sqrt(factor / (fan_in + fan_out)),  factor = 2 for logistic, else 6
        W ~ U(-bound, bound)  (fan_in, fan_out),  then  b ~ U(-bound, bound)  (fan_out,)

    For factor 6 this is Glorot's uniform initialisation, with the biases drawn from
    the same range instead of set to zero. The draws are in float64 and then cast, as
    scikit-learn does, so float32 and float64 start from the same (rounded) values.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    bound = math.sqrt(factor / (fan_in + fan_out))
    W = random_state.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)
    b = random_state.uniform(-bound, bound, fan_out).astype(dtype, copy=False)
    return W, b


def shuffled(sample_idx: np.ndarray, random_state: np.random.RandomState) -> np.ndarray:
    """``sample_idx`` in a new random order, drawn as ``sklearn.utils.shuffle`` draws it.

    One in-place ``random_state.shuffle`` of ``arange(n)``, which then indexes
    ``sample_idx``: the same RandomState draws give the same batch order as scikit-learn.
    """
    order = np.arange(sample_idx.shape[0])
    random_state.shuffle(order)
    return sample_idx[order]


class _Rule:
    """What both rules share: work arrays for the flat update, kept between steps (the
    same memory, warm in cache, serves every step), and left out of pickles and copies
    (working memory, not state)."""

    def _work_arrays(self, A: np.ndarray) -> list[np.ndarray]:
        work = getattr(self, "_work", None)
        if work is None or work[0].shape != A.shape or work[0].dtype != A.dtype:
            work = self._work = [np.empty_like(A), np.empty_like(A)]
        return work

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_work"}

    # The state protocol (see chainrule._checks): plain values + arrays.
    _COUNTS: tuple[str, ...] = ()  # the rule's step counts, beside its learning_rate
    _BUFFERS: tuple[str, ...] = ()  # its lists of arrays, one array per parameter
    # (AdamRule's "vs" sums g**2, so it is checked to be >= 0 on loading)

    def get_config(self) -> dict:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """``"class"``, ``"config"``, the current ``"learning_rate"``, the step counts and
        the buffers as copies, ``"<buffer>.<i>"`` for parameter i (coefficients first)."""
        state = {"class": type(self).__name__, "config": self.get_config()}
        state["learning_rate"] = self.learning_rate
        state.update({name: getattr(self, name) for name in self._COUNTS})
        for name in self._BUFFERS:
            for i, A in enumerate(getattr(self, name)):
                state[f"{name}.{i}"] = A.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`'s values, checked first against this rule's
        parameters (shapes, dtype, finite; ValueError), copied into its own buffers."""
        owner = f"{type(self).__name__}.load_state_dict"
        scalars = ("class", "config", "learning_rate", *self._COUNTS)
        arrays = {
            f"{name}.{i}": A for name in self._BUFFERS for i, A in enumerate(getattr(self, name))
        }
        check_state_config(state, self, owner)
        check_state_keys(state, (*scalars, *arrays), owner, (*scalars, *arrays))
        lr = state_float(state, "learning_rate", owner)
        counts = {name: state_count(state, name, owner) for name in self._COUNTS}
        values = {
            k: state_array(state, k, A, owner, 0 if k.startswith("vs.") else None)
            for k, A in arrays.items()
        }
        for key, A in arrays.items():
            A[...] = values[key]  # in place: the flat layout stays
        self.learning_rate = lr
        for name, value in counts.items():
            setattr(self, name, value)


def zeros_like_each(params: list[np.ndarray]) -> list[np.ndarray]:
    """A zero array like each parameter; views of one flat buffer laid out as the
    parameters' own when they are packed (so that ``flat_layout`` holds for both)."""
    if flat_layout(params) is None:
        return [np.zeros_like(p) for p in params]
    return views_like(np.zeros_like(params[0].base), params)


class SGDRule(_Rule):
    """scikit-learn's stochastic gradient descent with (Nesterov) momentum.

    Parameters
    ----------
    params : list of ndarray
        The arrays to update (coefficients, then intercepts); a velocity of each shape
        and dtype starts at zero.
    learning_rate_init : float
        The initial learning rate lr0.
    lr_schedule : {"constant", "invscaling", "adaptive"}
    momentum : float
        mu in [0, 1].
    nesterov : bool
    power_t : float
        Exponent of the "invscaling" schedule.

    Attributes
    ----------
    learning_rate : float
        The current learning rate.

    Notes
    -----
    For each parameter W with gradient g (V its velocity)::

        V = mu * V - lr * g
        classical momentum:  W += V
        Nesterov momentum:   W += mu * V - lr * g      (the velocity just computed)

    Schedules, applied at the end of each epoch (``iteration_ends``), t_ the number of
    training samples seen so far:

        constant:    lr = lr0
        invscaling:  lr = lr0 / (t_ + 1) ** power_t
        adaptive:    lr = lr / 5 each time the loss (or validation score) has not
                     improved by tol for n_iter_no_change epochs; stop once lr <= 1e-6
    """

    def __init__(
        self,
        params: list[np.ndarray],
        learning_rate_init: float,
        lr_schedule: str,
        momentum: float,
        nesterov: bool,
        power_t: float,
    ) -> None:
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.power_t = float(power_t)
        self.velocities = zeros_like_each(params)
        self._layout = LayoutCache()

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Update ``params`` in place (all at once when they are packed, see the module)."""
        flat = self._layout(params, grads, self.velocities)
        if flat is not None:
            self._update(*flat, *self._work_arrays(flat[0]))
        else:
            for W, g, V in zip(params, grads, self.velocities, strict=True):
                self._update(W, g, V, np.empty_like(W), np.empty_like(W))

    def _update(self, W, g, V, lr_g: np.ndarray, U: np.ndarray) -> None:
        """One step for one array (or for the flat buffer of all); lr_g, U: work arrays."""
        mu = self.momentum
        np.multiply(g, self.learning_rate, out=lr_g)
        V *= mu
        V -= lr_g  # V = mu * V - lr * g
        if self.nesterov:
            np.multiply(V, mu, out=U)
            U -= lr_g  # U = mu * V - lr * g
        else:
            U = V
        W += U

    _BUFFERS = ("velocities",)

    def get_config(self) -> dict:
        return {
            "learning_rate_init": self.learning_rate_init,
            "lr_schedule": self.lr_schedule,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "power_t": self.power_t,
        }

    def iteration_ends(self, time_step: int) -> None:
        """End of an epoch; ``time_step`` is the number of samples seen so far (t_)."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg: str, verbose) -> bool:
        """No improvement for n_iter_no_change epochs: stop, or divide lr by 5."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False


class AdamRule(_Rule):
    """scikit-learn's Adam (Kingma & Ba, 2014), in its bias-correction form.

    Parameters
    ----------
    params : list of ndarray
        The arrays to update; first and second moments of each start at zero.
    learning_rate_init : float
        lr0.
    beta_1, beta_2 : float
        Decay rates of the first and second moment estimates, in [0, 1).
    epsilon : float
        Added to sqrt(v) in the denominator.

    Attributes
    ----------
    t : int
        Number of steps taken.
    learning_rate : float
        The step size lr_t of the last step (before the first step, lr0).

    Notes
    -----
    For each parameter W with gradient g, at step t = 1, 2, ...::

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        lr_t = lr0 * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        W += -lr_t * m / (sqrt(v) + epsilon)

    This folds both bias corrections into the step size, so epsilon is added to the
    *uncorrected* sqrt(v): it equals the textbook update with epsilon replaced by
    epsilon * sqrt(1 - beta_2**t) (PyTorch adds epsilon after the correction;
    ``chainrule.Adam`` follows PyTorch, this rule follows scikit-learn).

    As in ``chainrule.Adam``, the arrays kept (``ms``, ``vs``) are the sums
    M = m / (1 - beta_1) and V = v / (1 - beta_2), which save three passes over the
    parameters per step (10 array operations instead of 13; the same numbers up to
    rounding)::

        M = beta_1 * M + g,   V = beta_2 * V + g**2
        W -= (lr_t * (1 - beta_1) / r) * M / (sqrt(V) + epsilon / r),  r = sqrt(1 - beta_2)
    """

    def __init__(
        self,
        params: list[np.ndarray],
        learning_rate_init: float,
        beta_1: float,
        beta_2: float,
        epsilon: float,
    ) -> None:
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0
        self.ms = zeros_like_each(params)
        self.vs = zeros_like_each(params)
        self._layout = LayoutCache()

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Update ``params`` in place (all at once when they are packed, see the module)."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        self.learning_rate = self.learning_rate_init * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        flat = self._layout(params, grads, self.ms, self.vs)
        if flat is not None:
            self._update(*flat, self._work_arrays(flat[0])[0])
        else:
            for W, g, m, v in zip(params, grads, self.ms, self.vs, strict=True):
                self._update(W, g, m, v, np.empty_like(W))

    def _update(self, W, g, M, V, tmp: np.ndarray) -> None:
        """One step for one array (or for the flat buffer of all); tmp: work array."""
        r = math.sqrt(1 - self.beta_2)  # sqrt(v) = r * sqrt(V)
        step = self.learning_rate * (1 - self.beta_1) / r
        adam_step(W, g, M, V, tmp, self.beta_1, self.beta_2, step, self.epsilon / r)

    _COUNTS = ("t",)
    _BUFFERS = ("ms", "vs")

    def get_config(self) -> dict:
        return {
            "learning_rate_init": self.learning_rate_init,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }

    def iteration_ends(self, time_step: int) -> None:
        """Adam has no schedule: nothing changes at the end of an epoch."""

    def trigger_stopping(self, msg: str, verbose) -> bool:
        """No improvement for n_iter_no_change epochs: stop."""
        if verbose:
            print(msg + " Stopping.")
        return True
