"""Activation layers: element-wise nonlinearities (and the row-wise softmax).

Each has no parameters. Its backward multiplies dY by the local derivative, computed
from the cached output Y where that is cheaper (sigmoid, tanh, relu) and from the
input X where it must be (leaky relu, elu, gelu, softplus). At a kink the derivative
follows PyTorch:
ReLU'(0) = 0, LeakyReLU'(0) = alpha, ELU'(0) = alpha.
"""

from __future__ import annotations

import numpy as np

from .._checks import check_gradient_shape
from .base import Backward, Formulas, Layer
from .base import Formula as F


def _as_float_array(X, where: str) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind != "f":
        if X.dtype.kind in "biu":
            return X.astype(np.float64)
        raise TypeError(f"{where}: expected a float array, got dtype {X.dtype}.")
    return X


def _check_alpha(alpha, where: str) -> float:
    """``alpha`` as a float, or a ValueError naming the allowed range (finite, >= 0)."""
    number = isinstance(alpha, (int, float, np.integer, np.floating))
    if isinstance(alpha, bool) or not number or not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"{where}: alpha must be a finite number >= 0, got {alpha!r}.")
    return float(alpha)


def sigmoid(X: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function 1 / (1 + exp(-X)).

    For X >= 0 it computes 1 / (1 + e) and for X < 0 it computes e / (1 + e), with
    e = exp(-|X|) <= 1 in both cases, so exp never overflows (not even at X = -1e4).
    """
    return sigmoid_from(X, np.exp(-np.abs(X)))


def sigmoid_from(X: np.ndarray, E: np.ndarray) -> np.ndarray:
    """``sigmoid(X)`` given ``E = exp(-|X|)`` (for callers that need E too, such as the
    binary cross-entropy from logits): 1 / (1 + E) where X >= 0, E / (1 + E) elsewhere."""
    return np.where(X >= 0, 1, E) / (1 + E)


class Identity(Layer):
    """``Y = X``: the linear output of a regression network.

    Notes
    -----
    ::

        Forward:  Y = X
        Backward: dX = dY
    """

    formulas = Formulas(
        forward=(F("{o}", "{o} = {i}", r"{o} = {i}", "identity (linear output)"),),
        backward=(
            F(
                "d{i}",
                "d{i} = d{o}",
                r"\partial {i} = \partial {o}",
                "identity passes the gradient through",
            ),
        ),
        derivative=F("identity'", "identity'(z) = 1", r"\mathrm{{id}}'(z) = 1", "slope 1"),
    )

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        X = _as_float_array(X, "Identity")

        def backward(dY: np.ndarray) -> np.ndarray:
            return check_gradient_shape(dY, X.shape, "Identity")

        return X, backward


class Sigmoid(Layer):
    """Logistic function ``Y = 1 / (1 + exp(-X))``, element-wise.

    Notes
    -----
    ::

        Forward:  Y = sigma(X) = 1 / (1 + exp(-X))          (stable form, see sigmoid())
        Backward: dX = dY * Y * (1 - Y)

    since d sigma/dx = exp(-x) / (1 + exp(-x))^2 = sigma(x) * (1 - sigma(x)): the
    derivative is read off the cached output. It is at most 1/4 (at x = 0). That bounds
    one factor of the backward step, not the whole: dY @ W.T can grow the signal, so a
    sigmoid layer need not shrink the gradient fourfold (the lessons measure about 2x to
    5x per layer in 8-layer networks at initialisation); compounded over many layers the
    shrinkage is the vanishing gradient of deep sigmoid networks.
    """

    formulas = Formulas(
        forward=(
            F(
                "{o}",
                "{o} = 1 / (1 + exp(-{i}))",
                r"{o} = \sigma({i}) = \frac{{1}}{{1 + e^{{-{i}}}}}",
                "logistic sigmoid, element-wise",
            ),
        ),
        backward=(
            F(
                "d{i}",
                "d{i} = d{o} * {o} * (1 - {o})",
                r"\partial {i} = \partial {o} \odot {o} \odot (1 - {o})",
                "sigmoid' = sigmoid * (1 - sigmoid), read off the output",
            ),
        ),
        derivative=F(
            "sigmoid'",
            "sigmoid'(z) = a (1 - a)",
            r"\sigma'(z) = a (1 - a)",
            "read off the output a = sigmoid(z)",
        ),
    )

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        Y = sigmoid(_as_float_array(X, "Sigmoid"))

        def backward(dY: np.ndarray) -> np.ndarray:
            dY = check_gradient_shape(dY, Y.shape, "Sigmoid")
            return dY * Y * (1 - Y)

        return Y, backward


class Tanh(Layer):
    """Hyperbolic tangent ``Y = tanh(X)``, element-wise.

    Notes
    -----
    ::

        Forward:  Y = tanh(X)
        Backward: dX = dY * (1 - Y**2)

    since d tanh/dx = 1 - tanh(x)^2 (at most 1, at x = 0).
    """

    formulas = Formulas(
        forward=(
            F("{o}", "{o} = tanh({i})", r"{o} = \tanh({i})", "hyperbolic tangent, element-wise"),
        ),
        backward=(
            F(
                "d{i}",
                "d{i} = d{o} * (1 - {o}**2)",
                r"\partial {i} = \partial {o} \odot (1 - {o}^2)",
                "tanh' = 1 - tanh^2",
            ),
        ),
        derivative=F(
            "tanh'", "tanh'(z) = 1 - a^2", r"\tanh'(z) = 1 - a^2", "read off the output a = tanh(z)"
        ),
    )

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        Y = np.tanh(_as_float_array(X, "Tanh"))

        def backward(dY: np.ndarray) -> np.ndarray:
            dY = check_gradient_shape(dY, Y.shape, "Tanh")
            return dY * (1 - Y * Y)

        return Y, backward


class ReLU(Layer):
    """Rectified linear unit ``Y = max(X, 0)``, element-wise.

    Notes
    -----
    ::

        Forward:  Y = max(X, 0)
        Backward: dX = dY * (Y > 0)        ReLU'(x) = 1 if x > 0 else 0, and 0 at x = 0

    The gradient passes unchanged through active units and is blocked by inactive ones.
    """

    formulas = Formulas(
        forward=(
            F(
                "{o}",
                "{o} = max({i}, 0)",
                r"{o} = \max({i}, 0)",
                "rectified linear unit, element-wise",
            ),
        ),
        backward=(
            F(
                "d{i}",
                "d{i} = d{o} * ({o} > 0)",
                r"\partial {i} = \partial {o} \odot [{o} > 0]",
                "gradient passes where the unit is active",
            ),
        ),
        derivative=F(
            "relu'",
            "relu'(z) = 1 if z > 0 else 0",
            r"\mathrm{{ReLU}}'(z) = [z > 0]",
            "1 where the unit is active, 0 elsewhere (and at 0)",
        ),
    )

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        Y = np.maximum(_as_float_array(X, "ReLU"), 0)

        def backward(dY: np.ndarray) -> np.ndarray:
            dY = check_gradient_shape(dY, Y.shape, "ReLU")
            return dY * (Y > 0)

        return Y, backward


class LeakyReLU(Layer):
    """``Y = X if X > 0 else alpha * X``, element-wise.

    Parameters
    ----------
    alpha : float, default 0.01
        Slope for negative inputs (a finite number >= 0); keeps a small gradient flowing
        through "dead" units.

    Notes
    -----
    ::

        Forward:  Y = where(X > 0, X, alpha * X)
        Backward: dX = dY * where(X > 0, 1, alpha)      (alpha at x = 0, as in PyTorch)
    """

    formulas = Formulas(
        forward=(
            F(
                "{o}",
                "{o} = where({i} > 0, {i}, alpha * {i})",
                r"{o} = \max({i}, \alpha {i})",
                "leaky ReLU, element-wise",
            ),
        ),
        backward=(
            F(
                "d{i}",
                "d{i} = d{o} * where({i} > 0, 1, alpha)",
                r"\partial {i} = \partial {o} \odot (1 \text{{ or }} \alpha)",
                "slope 1 or alpha",
            ),
        ),
        derivative=F(
            "leaky_relu'",
            "leaky_relu'(z) = 1 if z > 0 else alpha",
            r"\mathrm{{LeakyReLU}}'(z) = 1 \text{{ or }} \alpha",
            "slope 1 or alpha",
        ),
    )

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        self.alpha = _check_alpha(alpha, "LeakyReLU")

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        X = _as_float_array(X, "LeakyReLU")
        positive = X > 0
        Y = np.where(positive, X, self.alpha * X)

        def backward(dY: np.ndarray) -> np.ndarray:
            dY = check_gradient_shape(dY, Y.shape, "LeakyReLU")
            return np.where(positive, dY, self.alpha * dY)

        return Y, backward

    def get_config(self) -> dict:
        return {"alpha": self.alpha}


class ELU(Layer):
    """Exponential linear unit ``Y = X if X > 0 else alpha * (exp(X) - 1)``.

    Parameters
    ----------
    alpha : float, default 1.0
        The value ``-alpha`` is the limit of Y as X goes to minus infinity (a finite
        number >= 0).

    Notes
    -----
    ::

        Forward:  Y = where(X > 0, X, alpha * (exp(X) - 1))    (expm1 of min(X, 0): no
                                                                 overflow for large X)
        Backward: dX = dY * where(X > 0, 1, Y + alpha)

    since for x <= 0, d/dx alpha * (exp(x) - 1) = alpha * exp(x) = Y + alpha: the
    derivative is read off the cached output (alpha at x = 0, as in PyTorch).
    """

    formulas = Formulas(
        forward=(
            F(
                "{o}",
                "{o} = where({i} > 0, {i}, alpha * (exp({i}) - 1))",
                r"{o} = \mathrm{{ELU}}({i})",
                "exponential linear unit, element-wise",
            ),
        ),
        backward=(
            F(
                "d{i}",
                "d{i} = d{o} * where({i} > 0, 1, {o} + alpha)",
                r"\partial {i} = \partial {o} \odot (1 \text{{ or }} {o} + \alpha)",
                "ELU' = 1 or Y + alpha",
            ),
        ),
        derivative=F(
            "elu'",
            "elu'(z) = 1 if z > 0 else a + alpha",
            r"\mathrm{{ELU}}'(z) = 1 \text{{ or }} a + \alpha",
            "read off the output a = elu(z) for z <= 0",
        ),
    )

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = _check_alpha(alpha, "ELU")

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        X = _as_float_array(X, "ELU")
        positive = X > 0
        Y = np.where(positive, X, self.alpha * np.expm1(np.minimum(X, 0)))

        def backward(dY: np.ndarray) -> np.ndarray:
            dY = check_gradient_shape(dY, Y.shape, "ELU")
            return np.where(positive, dY, dY * (Y + self.alpha))

        return Y, backward

    def get_config(self) -> dict:
        return {"alpha": self.alpha}


class GELU(Layer):
    """Gaussian error linear unit ``Y = X * Phi(X)`` (exact erf form, PyTorch's default).

    Phi is the standard normal distribution function and phi its density.

    Notes
    -----
    ::

        Forward:  Y = X * Phi(X),   Phi(X) = (1 + erf(X / sqrt(2))) / 2
        Backward: dX = dY * (Phi(X) + X * phi(X)),   phi(X) = exp(-X**2 / 2) / sqrt(2 pi)

    by the product rule, since Phi' = phi. GELU weighs each input by the probability
    that a standard normal variable is below it: ~X for large X, ~0 for very negative X,
    and a smooth dip (minimum about -0.17 at X = -0.75) in between. phi is computed at
    X clipped to [-40, 40], where it is already 0 in float64, so X**2 cannot overflow.
    """

    formulas = Formulas(
        forward=(
            F(
                "{o}",
                "{o} = {i} * Phi({i})",
                r"{o} = {i}\,\Phi({i})",
                "GELU: input times normal CDF",
            ),
        ),
        backward=(
            F(
                "d{i}",
                "d{i} = d{o} * (Phi({i}) + {i} * phi({i}))",
                r"\partial {i} = \partial {o} \odot (\Phi({i}) + {i}\,\varphi({i}))",
                "GELU' = Phi + X phi (product rule)",
            ),
        ),
        derivative=F(
            "gelu'",
            "gelu'(z) = Phi(z) + z phi(z)",
            r"\mathrm{{GELU}}'(z) = \Phi(z) + z\,\varphi(z)",
            "product rule, since Phi' = phi",
        ),
    )

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        from scipy.special import erf  # imported here: keeps `import chainrule` light

        X = _as_float_array(X, "GELU")
        f = X.dtype.type
        Phi = erf(X * f(_SQRT_HALF))
        Phi += f(1)
        Phi *= f(0.5)
        Y = X * Phi

        def backward(dY: np.ndarray) -> np.ndarray:
            dY = check_gradient_shape(dY, Y.shape, "GELU")
            C = np.clip(X, f(-40), f(40))
            phi = np.exp(C * C * f(-0.5))
            phi *= f(_INV_SQRT_2PI)
            return dY * (Phi + X * phi)

        return Y, backward


class Softplus(Layer):
    """``Y = log(1 + exp(X))``, a smooth ReLU (PyTorch's ``Softplus()``: beta 1,
    threshold 20).

    Notes
    -----
    ::

        Forward:  Y = log1p(exp(X))     for X <= 20
                  Y = X                 for X > 20 (PyTorch's threshold: log1p(e^X)
                                        differs from X by e^-X < 2.1e-9 there)
        Backward: dX = dY * sigmoid(X)  for X <= 20,   dX = dY  for X > 20

    since d/dx log(1 + e^x) = e^x / (1 + e^x) = sigmoid(x). exp is taken of min(X, 20),
    so it never overflows, and for very negative X it underflows harmlessly to 0.
    """

    formulas = Formulas(
        forward=(
            F(
                "{o}",
                "{o} = log(1 + exp({i}))",
                r"{o} = \log(1 + e^{{{i}}})",
                "softplus, element-wise",
            ),
        ),
        backward=(
            F(
                "d{i}",
                "d{i} = d{o} * sigmoid({i})",
                r"\partial {i} = \partial {o} \odot \sigma({i})",
                "softplus' = sigmoid",
            ),
        ),
        derivative=F(
            "softplus'",
            "softplus'(z) = sigmoid(z)",
            r"\mathrm{{softplus}}'(z) = \sigma(z)",
            "the logistic sigmoid of the input",
        ),
    )

    threshold = 20.0

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        X = _as_float_array(X, "Softplus")
        linear = X > self.threshold
        Y = np.where(linear, X, np.log1p(np.exp(np.minimum(X, X.dtype.type(self.threshold)))))

        def backward(dY: np.ndarray) -> np.ndarray:
            dY = check_gradient_shape(dY, Y.shape, "Softplus")
            return np.where(linear, dY, dY * sigmoid(X))

        return Y, backward


_SQRT_HALF = 0.7071067811865476  # 1 / sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi)


def softmax(X: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable: exp(X - max) / sum exp(X - max).

    Subtracting each row's maximum changes nothing mathematically (the factor
    exp(-max) cancels) but keeps every exponent <= 0, so exp cannot overflow.
    """
    Z = X - X.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


class Softmax(Layer):
    """Row-wise softmax ``Y[k] = exp(X[k]) / sum_j exp(X[k, j])``.

    Use it for probabilities at inference or with ``CrossEntropy(from_logits=False)``.
    For training, prefer a linear output with ``CrossEntropy()`` (from logits), whose
    fused gradient ``(P - T) / n`` is cheaper and more accurate.

    Notes
    -----
    ::

        Forward:  Y = softmax(X) along axis 1              X, Y (n, k)
        Backward: dX = Y * (dY - (dY * Y).sum(axis=1, keepdims=True))

    The Jacobian of one row is dY_i/dX_j = Y_i * (delta_ij - Y_j). Multiplying by the
    upstream row dY: dX_j = sum_i dY_i * Y_i * (delta_ij - Y_j)
                          = Y_j * dY_j - Y_j * sum_i dY_i * Y_i,
    which is the formula above, computed in O(k) per row instead of forming the k x k
    Jacobian.
    """

    formulas = Formulas(
        forward=(
            F(
                "{o}",
                "{o} = exp({i}) / sum(exp({i}), axis=1)",
                r"{o} = \mathrm{{softmax}}({i})",
                "softmax over each row",
            ),
        ),
        backward=(
            F(
                "d{i}",
                "d{i} = {o} * (d{o} - sum(d{o} * {o}, axis=1))",
                r"\partial {i} = {o} \odot (\partial {o} - "
                r"\textstyle\sum_j \partial {{{o}}}_j {{{o}}}_j)",
                "softmax Jacobian applied row by row",
            ),
        ),
    )

    def forward(self, X: np.ndarray, training: bool = False) -> tuple[np.ndarray, Backward]:
        X = _as_float_array(X, "Softmax")
        if X.ndim != 2:
            raise ValueError(
                f"Softmax expects a 2-D array (n_samples, n_classes), got shape {X.shape}."
            )
        Y = softmax(X)

        def backward(dY: np.ndarray) -> np.ndarray:
            dY = check_gradient_shape(dY, Y.shape, "Softmax")
            return Y * (dY - (dY * Y).sum(axis=1, keepdims=True))

        return Y, backward
