"""Normalisation layers: batch norm (over the batch, per feature) and layer norm (over the
features, per sample). Both standardise, then scale and shift with learned gamma, beta.

The two share one computation, along a different axis: ``normalize`` (forward) and
``normalize_backward`` (the compact closed form of its gradient). ``normalize_paths``
spells the same gradient as its three chain-rule paths, for ``explain`` and the tests.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import ClassVar

import numpy as np

from .._checks import as_float_dtype, check_gradient_shape, check_input, check_positive_int
from .activations import _as_float_array
from .base import Backward, Formulas, Layer
from .base import Formula as F


def normalize(X: np.ndarray, axis: int, eps: float):
    """Standardise ``X`` along ``axis``: ``(X_hat, mu, var, inv_std)``.

    ``axis=0`` (batch norm): statistics over the samples, one per feature, shape (1, d).
    ``axis=1`` (layer norm): statistics over the features, one per sample, shape (n, 1).
    ``var`` is the biased variance (divided by the count, not count - 1)::

        mu      = mean(X)                      over axis
        var     = mean((X - mu)**2)            over axis, two passes (no cancellation)
        inv_std = 1 / sqrt(var + eps)
        X_hat   = (X - mu) * inv_std
    """
    mu = X.mean(axis=axis, keepdims=True)
    Xc = X - mu
    var = np.mean(Xc * Xc, axis=axis, keepdims=True)
    inv_std = 1 / np.sqrt(var + X.dtype.type(eps))
    return Xc * inv_std, mu, var, inv_std


def normalize_backward(
    dX_hat: np.ndarray, X_hat: np.ndarray, inv_std: np.ndarray, axis: int
) -> np.ndarray:
    """dX from dX_hat = dL/dX_hat, in the compact closed form (derived in ``BatchNorm``)::

        dX = inv_std * (dX_hat - mean(dX_hat) - X_hat * mean(dX_hat * X_hat))

    the means taken along ``axis``, the axis the statistics were taken over.
    """
    m1 = dX_hat.mean(axis=axis, keepdims=True)
    m2 = np.mean(dX_hat * X_hat, axis=axis, keepdims=True)
    return inv_std * (dX_hat - m1 - X_hat * m2)


def normalize_paths(dX_hat: np.ndarray, X_hat: np.ndarray, inv_std: np.ndarray, axis: int):
    """The three chain-rule paths from X to the loss, whose sum is ``normalize_backward``.

    Returns ``(direct, via_mu, via_var)``, each of X's shape::

        direct  = inv_std * dX_hat                             X -> X_hat
        via_mu  = -inv_std * mean(dX_hat)                      X -> mu -> X_hat
        via_var = -inv_std * X_hat * mean(dX_hat * X_hat)      X -> var -> X_hat
    """
    direct = inv_std * dX_hat
    via_mu = np.broadcast_to(-inv_std * dX_hat.mean(axis=axis, keepdims=True), X_hat.shape)
    via_var = -inv_std * X_hat * np.mean(dX_hat * X_hat, axis=axis, keepdims=True)
    return direct, via_mu.copy(), via_var


def check_training_batches(net: Layer, n_samples: int, batch_size: int) -> None:
    """Refuse, before any step, minibatches that would give a ``BatchNorm`` one sample.

    ``n_samples`` rows cut into batches of ``batch_size`` leave a last batch of
    ``n_samples % batch_size`` rows (or ``batch_size`` when it divides evenly); a batch
    of one has no batch variance, and training would stop there halfway through an epoch.

    Raises
    ------
    ValueError
        Naming the sizes and a batch_size that works.
    """
    stack, has_batch_norm = [net], False
    while stack and not has_batch_norm:
        layer = stack.pop()
        has_batch_norm = isinstance(layer, BatchNorm)
        stack.extend(getattr(layer, "layers", ()))
    smallest = n_samples % batch_size or batch_size
    if not has_batch_norm or smallest != 1:
        return
    if n_samples == 1:
        fix = "Train on at least 2 samples"
    else:
        sizes = (b for k in range(1, n_samples) for b in (batch_size + k, batch_size - k))
        good = next(b for b in sizes if 2 <= b <= n_samples and n_samples % b != 1)
        fix = f"Use e.g. batch_size={good}"
    raise ValueError(
        f"the network has a BatchNorm layer, which needs at least 2 samples per training "
        f"batch, but {n_samples} training samples in batches of {batch_size} leave a last "
        f"batch of 1 sample. {fix}."
    )


def _check_eps(eps, where: str) -> float:
    if isinstance(eps, bool) or not isinstance(eps, Real) or not (math.isfinite(eps) and eps > 0):
        raise ValueError(
            f"{where}: eps is added to the variance before the square root and must be a "
            f"small positive number such as 1e-5, got {eps!r}."
        )
    return float(eps)


def check_eps_in(eps: float, dtype, where: str) -> None:
    """``eps`` as the layer adds it, in ``dtype``: 1e-50 is 0 in float32, and a constant
    column then gives 0 / 0 = NaN. Refused below the dtype's smallest normal number."""
    dtype = np.dtype(dtype)
    tiny = np.finfo(dtype).tiny
    rounded = float(dtype.type(eps))
    if rounded < tiny:
        raise ValueError(
            f"{where}: eps={eps!r} is {rounded!r} in {dtype} (the layer's precision), "
            f"so a constant column would give 0 / 0 = NaN; {dtype}'s smallest usable eps is "
            f"{tiny:.3g}. Use eps=1e-5, the usual value."
        )


# The formulas of a normalisation layer, as derived in ``BatchNorm``. Names: ``{i}``
# input, ``{o}`` output, ``{s}`` its suffix (the l of the Dense layer before it, primed),
# ``{axis}`` the axis of the statistics and ``{eps}``.
_ROOT, _ROOT_TEX = "sqrt(var{s} + {eps})", r"\sqrt{{\sigma^2_{{{s}}} + \epsilon}}"
_PATHS = (  # the three chain-rule paths from X to the loss, and their sum
    F("d{i}_direct", "d{i}_direct = d{i}_hat / " + _ROOT,
      r"\partial {i}^{{(1)}} = \partial \hat{{{i}}} / " + _ROOT_TEX,
      "path 1: {i} -> {i}_hat directly"),
    F("d{i}_via_mu", "d{i}_via_mu = -mean(d{i}_hat, axis={axis}) / " + _ROOT,
      r"\partial {i}^{{(2)}} = -\mathrm{{mean}}(\partial \hat{{{i}}}) / " + _ROOT_TEX,
      "path 2: {i} -> mu{s} -> {i}_hat"),
    F("d{i}_via_var",
      "d{i}_via_var = -{i}_hat * mean(d{i}_hat * {i}_hat, axis={axis}) / " + _ROOT,
      r"\partial {i}^{{(3)}} = -\hat{{{i}}} \odot \mathrm{{mean}}(\partial \hat{{{i}}} \odot "
      r"\hat{{{i}}}) / " + _ROOT_TEX,
      "path 3: {i} -> var{s} -> {i}_hat"),
    F("d{i}", "d{i} = d{i}_direct + d{i}_via_mu + d{i}_via_var",
      r"\partial {i} = \partial {i}^{{(1)}} + \partial {i}^{{(2)}} + \partial {i}^{{(3)}}",
      "the three paths summed: the layer's compact closed form"),
)  # fmt: skip
_AFFINE_BACKWARD = (  # gamma and beta, and the gradient that reaches X_hat through gamma
    F("dbeta{s}", "dbeta{s} = d{o}.sum(axis=0)",
      r"\partial\beta = \textstyle\sum_k \partial {o}", "beta is added to every row"),
    F("dgamma{s}", "dgamma{s} = (d{o} * {i}_hat).sum(axis=0)",
      r"\partial\gamma = \textstyle\sum_k \partial {o} \odot \hat{{{i}}}",
      "gamma multiplies every row"),
    F("d{i}_hat", "d{i}_hat = d{o} * gamma{s}",
      r"\partial \hat{{{i}}} = \partial {o} \odot \gamma", "through the scale"),
)  # fmt: skip


def _normalization_formulas(over: str, running: str = "") -> tuple[Formulas, Formulas]:
    """The formulas with and without gamma and beta: ``over`` says what one statistic
    covers, ``running`` what else a training forward does."""
    statistics = (
        F("mu{s}", "mu{s} = mean({i}, axis={axis})", r"\mu_{{{s}}} = \mathrm{{mean}}({i})",
          "mean of " + over),
        F("var{s}", "var{s} = mean(({i} - mu{s})**2, axis={axis})",
          r"\sigma^2_{{{s}}} = \mathrm{{mean}}(({i} - \mu_{{{s}}})^2)",
          f"biased variance of {over}, divided by the count"),
        F("{i}_hat", "{i}_hat = ({i} - mu{s}) / " + _ROOT,
          r"\hat{{{i}}} = ({i} - \mu_{{{s}}}) / " + _ROOT_TEX, "standardised: mean 0, variance 1"),
    )  # fmt: skip
    scaled = F("{o}", "{o} = gamma{s} * {i}_hat + beta{s}", r"{o} = \gamma \hat{{{i}}} + \beta",
               "scale and shift, learned per feature" + running)  # fmt: skip
    plain = F("{o}", "{o} = {i}_hat", r"{o} = \hat{{{i}}}", "no scale, no shift" + running)
    return (
        Formulas(forward=(*statistics, scaled), backward=(*_AFFINE_BACKWARD, *_PATHS)),
        Formulas(forward=(*statistics, plain), backward=_PATHS),
    )


class _Normalization(Layer):
    """What batch norm and layer norm share: gamma, beta, eps, the shape checks."""

    axis: int  # the axis of the statistics: 0 batch norm, 1 layer norm
    formulas_without_affine: Formulas  # the formulas of ``affine=False``

    def __init__(self, n_features: int, eps: float, affine: bool, dtype) -> None:
        super().__init__()
        where = type(self).__name__
        self.n_features = check_positive_int(n_features, "n_features")
        self.eps = _check_eps(eps, where)
        if not isinstance(affine, (bool, np.bool_)):
            raise TypeError(f"{where}: affine must be True or False, got {affine!r}.")
        self.affine = bool(affine)
        self._dtype = as_float_dtype(dtype)  # for the constructor; then the arrays decide
        check_eps_in(self.eps, self._dtype, where)
        if self.affine:
            self.params = {
                "gamma": np.ones(self.n_features, dtype=self._dtype),
                "beta": np.zeros(self.n_features, dtype=self._dtype),
            }
            self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}

    @property
    def n_in(self) -> int:
        """The number of features (input and output), as for ``Dense`` (shape inference)."""
        return self.n_features

    @property
    def dtype(self) -> np.dtype | None:
        for A in (*self.params.values(), *self.buffers.values()):
            return A.dtype
        return None  # LayerNorm(affine=False): holds no arrays, follows its input

    def _check_X(self, X) -> np.ndarray:
        where = type(self).__name__
        if hasattr(X, "tocsr") and hasattr(X, "nnz"):  # scipy.sparse: centring densifies it
            X = X.toarray()
        X = _as_float_array(X, where) if self.dtype is None else check_input(X, self.dtype, where)
        check_eps_in(self.eps, X.dtype, where)  # after astype or load, in the input's dtype
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(
                f"{where}({self.n_features}) expects X of shape (n_samples, {self.n_features}), "
                f"got X of shape {X.shape}. Build the layer with the number of columns it "
                f"receives (the n_out of the layer before it)."
            )
        return X

    def _scale_shift(self, X_hat: np.ndarray) -> np.ndarray:
        if not self.affine:
            return X_hat
        return X_hat * self.params["gamma"] + self.params["beta"]

    def _affine_backward(self, dY: np.ndarray, X_hat: np.ndarray) -> np.ndarray:
        """Add dgamma, dbeta into ``grads``; return dX_hat = dY * gamma."""
        if not self.affine:
            return dY
        self.grads["gamma"] += np.sum(dY * X_hat, axis=0)
        self.grads["beta"] += dY.sum(axis=0)
        return dY * self.params["gamma"]

    def get_formulas(self) -> Formulas:
        return self.formulas if self.affine else self.formulas_without_affine

    def output_dim(self, n_in: int) -> int:
        if n_in != self.n_features:
            name = type(self).__name__
            raise ValueError(
                f"{name}({self.n_features}) follows a layer with {n_in} outputs; the sizes "
                f"must chain (use {name}({n_in}))."
            )
        return n_in


class BatchNorm(_Normalization):
    """Batch normalisation over the samples of a batch, one mean and variance per feature.

    Parameters
    ----------
    n_features : int
        Number of columns of X (the units of the layer before).
    momentum : float, default 0.1
        Weight of the newest batch in the running statistics, in [0, 1] (PyTorch's rule).
    eps : float, default 1e-5
        Added to the variance before the square root.
    affine : bool, default True
        Learn a scale ``gamma`` and shift ``beta`` per feature; False: Y = X_hat.
    dtype : np.float32 or np.float64, default np.float64
        Precision of the parameters and buffers; inputs must match it.

    Attributes
    ----------
    params : {"gamma": ndarray (n_features,), "beta": ndarray (n_features,)}
        Empty when ``affine=False``. gamma starts at 1, beta at 0.
    buffers : {"running_mean": ndarray (n_features,), "running_var": ndarray (n_features,)}
        Start at 0 and 1; updated by every training forward, used by inference.

    Raises
    ------
    ValueError
        From ``forward(X, training=True)`` when X has one row (no variance to estimate).

    Notes
    -----
    Training (``forward(X, training=True)``), per feature j over the n rows of X::

        mu      = X.mean(axis=0)                            (d,)
        var     = ((X - mu)**2).mean(axis=0)                (d,)  biased: / n
        X_hat   = (X - mu) / sqrt(var + eps)                (n, d)
        Y       = gamma * X_hat + beta                      (n, d)
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var  = (1 - momentum) * running_var  + momentum * var * n / (n - 1)

    (the running variance is the unbiased estimate, the normalisation uses the biased
    one: both as PyTorch does). A batch of one sample has no variance to estimate and
    raises ValueError, as in PyTorch. Inference (``training=False``) uses the running
    statistics instead of mu and var, and changes nothing.

    Backward in training. Write inv_std = 1 / sqrt(var + eps) and dX_hat = dL/dX_hat::

        dbeta  = dY.sum(axis=0)
        dgamma = (dY * X_hat).sum(axis=0)
        dX_hat = dY * gamma

    X[i] reaches the loss along three paths: directly through X_hat[i], and through mu
    and var, on which every X_hat[k] of the column depends. Column by column::

        dL/dvar = sum_k dX_hat[k] * (X[k] - mu) * (-1/2) * inv_std**3
                = -(inv_std / 2) * sum_k dX_hat[k] * X_hat[k] * inv_std
        dL/dmu  = sum_k dX_hat[k] * (-inv_std) + dL/dvar * (-2/n) * sum_k (X[k] - mu)
                = -inv_std * sum_k dX_hat[k]              (the last sum is 0)
        dX[i]   = dX_hat[i] * inv_std                     (1) direct
                + dL/dmu * dmu/dX[i]                      (2) dmu/dX[i] = 1/n
                + dL/dvar * dvar/dX[i]                    (3) dvar/dX[i] = 2 (X[i] - mu) / n

    Substituting, (1) = inv_std * dX_hat[i], (2) = -inv_std * mean(dX_hat) and (3) =
    -inv_std * X_hat[i] * mean(dX_hat * X_hat): the compact closed form ::

        dX = inv_std * (dX_hat - mean(dX_hat) - X_hat * mean(dX_hat * X_hat))

    with the means over axis 0. It says that dX is dX_hat (scaled by inv_std) with its
    column mean removed and its component along X_hat removed: shifting or scaling a
    column of X does not change X_hat, so the gradient has no part along those
    directions (each column of dX sums to 0).

    Backward in inference is that of a fixed affine map, since mu and var are constants:
    X_hat = (X - running_mean) * inv_std with inv_std = 1 / sqrt(running_var + eps), and
    dX = dY * gamma * inv_std; dgamma and dbeta as above.
    """

    axis = 0
    formulas, formulas_without_affine = _normalization_formulas(
        "each feature over the batch", "; running_mean, running_var updated with momentum"
    )

    buffer_domains: ClassVar[dict[str, tuple[float, str]]] = {"running_var": (0.0, "a variance")}

    def __init__(
        self,
        n_features: int,
        momentum: float = 0.1,
        eps: float = 1e-5,
        affine: bool = True,
        *,
        dtype=np.float64,
    ) -> None:
        super().__init__(n_features, eps, affine, dtype)
        ok = isinstance(momentum, Real) and not isinstance(momentum, bool)
        if not (ok and math.isfinite(momentum) and 0 <= momentum <= 1):
            raise ValueError(
                f"BatchNorm: momentum is the weight of the newest batch in the running "
                f"statistics and must lie in [0, 1] (PyTorch's default is 0.1), got "
                f"{momentum!r}."
            )
        self.momentum = float(momentum)
        self.buffers = {
            "running_mean": np.zeros(self.n_features, dtype=self._dtype),
            "running_var": np.ones(self.n_features, dtype=self._dtype),
        }

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        X = self._check_X(X)
        if not training:
            return self._forward_inference(X)
        n = X.shape[0]
        if n < 2:
            raise ValueError(
                f"BatchNorm: a training batch needs at least 2 samples to estimate a variance, "
                f"got X of shape {X.shape}. Use a batch of 2 or more (in fit, a batch_size "
                f"that leaves no last batch of one sample), or training=False to use the "
                f"running statistics."
            )
        X_hat, mu, var, inv_std = normalize(X, 0, self.eps)
        self._update_running(mu[0], var[0], n)
        Y = self._scale_shift(X_hat)

        def backward(dY: np.ndarray) -> np.ndarray:
            dY = check_gradient_shape(dY, Y.shape, "BatchNorm")
            dX_hat = self._affine_backward(dY, X_hat)
            return normalize_backward(dX_hat, X_hat, inv_std, 0)

        return Y, backward

    def _update_running(self, mu: np.ndarray, var: np.ndarray, n: int) -> None:
        """running = (1 - momentum) * running + momentum * batch statistic, in place."""
        m = self.dtype.type(self.momentum)
        mean, run_var = self.buffers["running_mean"], self.buffers["running_var"]
        mean *= 1 - m
        mean += m * mu
        run_var *= 1 - m
        run_var += (m * n / (n - 1)) * var  # the unbiased variance var * n / (n - 1)

    def _forward_inference(self, X: np.ndarray) -> tuple[np.ndarray, Backward]:
        inv_std = 1 / np.sqrt(self.buffers["running_var"] + X.dtype.type(self.eps))
        X_hat = (X - self.buffers["running_mean"]) * inv_std
        Y = self._scale_shift(X_hat)

        def backward(dY: np.ndarray) -> np.ndarray:
            dY = check_gradient_shape(dY, Y.shape, "BatchNorm")
            return self._affine_backward(dY, X_hat) * inv_std  # dX = dY * gamma * inv_std

        return Y, backward

    def get_config(self) -> dict:
        return {
            "n_features": self.n_features,
            "momentum": self.momentum,
            "eps": self.eps,
            "affine": self.affine,
        }


class LayerNorm(_Normalization):
    """Layer normalisation: each sample standardised over its own features.

    Parameters
    ----------
    n_features : int
        Number of columns of X.
    eps : float, default 1e-5
        Added to the variance before the square root.
    affine : bool, default True
        Learn a scale ``gamma`` and shift ``beta`` per feature; False: Y = X_hat.
    dtype : np.float32 or np.float64, default np.float64
        Precision of gamma and beta; inputs must match it. With ``affine=False`` the
        layer holds no arrays and follows its input's precision.

    Attributes
    ----------
    params : {"gamma": ndarray (n_features,), "beta": ndarray (n_features,)}
        Empty when ``affine=False``.

    Notes
    -----
    The batch-norm computation transposed: the statistics of row i are taken over its
    d features, so the layer behaves the same in training and inference, needs no
    running statistics, and works for a batch of one sample::

        mu[i]   = X[i].mean()                                  mu (n, 1)
        var[i]  = ((X[i] - mu[i])**2).mean()                   var (n, 1), biased: / d
        X_hat   = (X - mu) / sqrt(var + eps)                   (n, d)
        Y       = gamma * X_hat + beta                         gamma, beta (d,)

    Backward: dbeta = dY.sum(axis=0), dgamma = (dY * X_hat).sum(axis=0) (gamma is shared
    by the rows, so its gradient sums over them), dX_hat = dY * gamma. X[i, j] reaches
    the loss directly through X_hat[i, j] and through mu[i] and var[i]; the derivation of
    ``BatchNorm`` with the roles of rows and columns exchanged (dmu[i]/dX[i, j] = 1/d,
    dvar[i]/dX[i, j] = 2 (X[i, j] - mu[i]) / d) gives::

        dX = inv_std * (dX_hat - mean(dX_hat) - X_hat * mean(dX_hat * X_hat))

    with the means over axis 1 (each row of dX sums to 0).
    """

    axis = 1
    formulas, formulas_without_affine = _normalization_formulas("each sample over its features")

    def __init__(
        self, n_features: int, eps: float = 1e-5, affine: bool = True, *, dtype=np.float64
    ) -> None:
        super().__init__(n_features, eps, affine, dtype)

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        X = self._check_X(X)
        X_hat, _, _, inv_std = normalize(X, 1, self.eps)
        Y = self._scale_shift(X_hat)

        def backward(dY: np.ndarray) -> np.ndarray:
            dY = check_gradient_shape(dY, Y.shape, "LayerNorm")
            dX_hat = self._affine_backward(dY, X_hat)
            return normalize_backward(dX_hat, X_hat, inv_std, 1)

        return Y, backward

    def get_config(self) -> dict:
        return {"n_features": self.n_features, "eps": self.eps, "affine": self.affine}
