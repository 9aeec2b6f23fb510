"""Cross-entropy and batch norm taken apart into atomic steps (private; the drills'
"backprop ninja" exercises, see :mod:`chainrule.practice.exercises`).

Each forward pass is written one elementary operation per line, every intermediate
kept by name. The student back-propagates through each one; each intermediate's
gradient is judged by :func:`check_backward` on its own, as the gradient of the rest of
the computation (a :class:`_Rest` layer: the intermediate in, the scalar out), so the
report says which step went wrong. The last gradients are judged against chainrule's
fused formulas: dZ against ``CrossEntropy``'s (P - T) / n, dX, dgamma, dbeta against
``BatchNorm``'s three-path backward. That the steps collapse to those formulas is what
the exercise shows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..gradcheck import central_differences, rel_error
from ..layers.base import Layer
from ..layers.normalization import BatchNorm
from ..losses import CrossEntropy
from .backward_check import BackwardCheckReport, _call_student, check_backward


def cross_entropy_steps(Z: np.ndarray, T: np.ndarray) -> dict[str, np.ndarray]:
    """The mean cross-entropy of softmax(Z) against one-hot T, one step a line.

    Returns the intermediates by name: ``Zmax`` (n, 1) each row's maximum, ``S`` (n, k)
    the shifted logits, ``E`` (n, k) their exponentials, ``s`` (n, 1) the row sums,
    ``logs`` (n, 1) their logarithms, ``logP`` (n, k) the log-probabilities, ``picked``
    (n, 1) the target's entry of each row, ``L`` the mean loss (a float).
    """
    Zmax = Z.max(axis=1, keepdims=True)
    S = Z - Zmax
    E = np.exp(S)
    s = E.sum(axis=1, keepdims=True)
    logs = np.log(s)
    logP = S - logs
    picked = (logP * T).sum(axis=1, keepdims=True)
    L = -picked.mean()
    return {"Zmax": Zmax, "S": S, "E": E, "s": s, "logs": logs, "logP": logP,
            "picked": picked, "L": L}  # fmt: skip


def batchnorm_steps(X: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float):
    """Batch normalisation in training mode, one step a line.

    Returns the intermediates by name: ``mu`` (1, d) the batch mean, ``Xc`` (n, d) the
    centred input, ``sq`` (n, d) its squares, ``var`` (1, d) the batch variance (divided
    by n), ``inv_std`` (1, d) = 1 / sqrt(var + eps), ``Xhat`` (n, d), ``Y`` (n, d).
    """
    mu = X.mean(axis=0, keepdims=True)
    Xc = X - mu
    sq = Xc**2
    var = sq.mean(axis=0, keepdims=True)
    inv_std = 1 / np.sqrt(var + eps)
    Xhat = Xc * inv_std
    Y = gamma * Xhat + beta
    return {"mu": mu, "Xc": Xc, "sq": sq, "var": var, "inv_std": inv_std, "Xhat": Xhat, "Y": Y}


class _Rest(Layer):
    """The rest of a computation from one intermediate V: forward gives the scalar it
    ends in as a (1, 1) array; backward gives the reference gradient dL/dV (chainrule's
    own, which ``check_backward`` checks against central differences of ``rest``)."""

    def __init__(self, name: str, rest: Callable, gradient: np.ndarray, replays=()) -> None:
        super().__init__()
        self.name, self.rest, self.gradient = name, rest, gradient
        self.replays = list(replays)  # (story, dL/dV with that slip): see _slips

    def forward(self, X, training=False):
        value = np.array([[self.rest(X)]], dtype=np.float64)
        return value, lambda dY: dY[0, 0] * self.gradient

    def __repr__(self) -> str:
        return f"the rest of the computation from {self.name}"


def _branch(missing: str, whole: str) -> str:
    return (f"a branch is missing: the intermediate also feeds {missing}, and the "
            f"gradients of its uses add ({whole})")  # fmt: skip


def _cross_entropy_rests(Z, T):
    """(name, V, rest of the forward pass from V, dL/dV) for each intermediate."""
    v, n = cross_entropy_steps(Z, T), Z.shape[0]

    def from_logP(logP):
        return -(logP * T).sum(axis=1).mean()

    def from_S(S):
        return from_logP(S - np.log(np.exp(S).sum(axis=1, keepdims=True)))

    dpicked = np.full((n, 1), -1.0 / n)
    dlogP = T * dpicked
    dlogs = -dlogP.sum(axis=1, keepdims=True)
    ds = dlogs / v["s"]
    dE = ds * np.ones_like(v["E"])
    dS = dlogP + dE * v["E"]
    return [
        ("dpicked", v["picked"], lambda p: -p.mean(), dpicked),
        ("dlogP", v["logP"], from_logP, dlogP),
        ("dlogs", v["logs"], lambda logs: from_logP(v["S"] - logs), dlogs),
        ("ds", v["s"], lambda s: from_logP(v["S"] - np.log(s)), ds),
        ("dE", v["E"], lambda E: from_logP(v["S"] - np.log(E.sum(axis=1, keepdims=True))), dE),
        (
            "dS",
            v["S"],
            from_S,
            dS,
            [
                (_branch("E = exp(S)", "dS = dlogP + dE * E"), dlogP),
                (_branch("logP = S - logs", "dS = dlogP + dE * E"), dE * v["E"]),
            ],
        ),
        ("dZmax", v["Zmax"], lambda m: from_S(Z - m), -dS.sum(axis=1, keepdims=True)),
    ]


def _batchnorm_rests(X, dY, gamma, beta, eps):
    v, n = batchnorm_steps(X, gamma, beta, eps), X.shape[0]

    def from_Xhat(Xhat):
        return float(np.sum((gamma * Xhat + beta) * dY))

    def from_var(var):
        return from_Xhat(v["Xc"] / np.sqrt(var + eps))

    def from_Xc(Xc):
        return from_Xhat(Xc / np.sqrt((Xc**2).mean(axis=0, keepdims=True) + eps))

    dXhat = dY * gamma
    dinv_std = (dXhat * v["Xc"]).sum(axis=0, keepdims=True)
    dvar = dinv_std * -0.5 * (v["var"] + eps) ** -1.5
    dsq = dvar / n * np.ones_like(v["sq"])
    dXc = dXhat * v["inv_std"] + 2 * v["Xc"] * dsq
    return [
        (
            "dXhat",
            v["Xhat"],
            from_Xhat,
            dXhat,
            [("the factor gamma is missing: Y = gamma * Xhat + beta, so dXhat = dY * gamma", dY)],
        ),
        ("dinv_std", v["inv_std"], lambda i: from_Xhat(v["Xc"] * i), dinv_std),
        ("dvar", v["var"], from_var, dvar),
        ("dsq", v["sq"], lambda sq: from_var(sq.mean(axis=0, keepdims=True)), dsq),
        (
            "dXc",
            v["Xc"],
            from_Xc,
            dXc,
            [
                (
                    _branch("sq = Xc**2", "dXc = dXhat * inv_std + 2 * Xc * dsq"),
                    dXhat * v["inv_std"],
                ),
                (
                    _branch("Xhat = Xc * inv_std", "dXc = dXhat * inv_std + 2 * Xc * dsq"),
                    2 * v["Xc"] * dsq,
                ),
            ],
        ),
        ("dmu", v["mu"], lambda mu: from_Xc(X - mu), -dXc.sum(axis=0, keepdims=True)),
    ]


def _returning(value):
    """A function of nothing that returns ``value`` (the student's answer, computed once)."""
    return lambda: value


def _judge_steps(fn, available: dict, rests: list, final: Callable, what: str):
    """Call the student's function once; judge each intermediate's gradient with
    ``check_backward`` against the rest of the computation, then ``final(got)``: the
    fused formula's verdicts. One report, one verdict per gradient."""
    names = [name for name, *_ in rests]
    got, problem = _call_student(fn, available, [*names, *final.names])
    verdicts, analytic, numeric = [], [], []
    for name, V, rest, gradient, *replays in rests:
        layer = _Rest(name[1:], rest, gradient, *replays)
        report = check_backward(_returning(got.get(name)), layer, V, dY=np.ones((1, 1)))
        report.verdicts[0].name = name
        verdicts.append(report.verdicts[0])
        W = V.copy()  # all checked together: dZmax is 0 exactly, its differences noise
        analytic.append(gradient.ravel())
        numeric.append(central_differences(lambda W=W, rest=rest: rest(W), W, 1e-6).ravel())
    report = final(got)
    verdicts += report.verdicts
    error = rel_error(np.concatenate(analytic), np.concatenate(numeric))
    return BackwardCheckReport(what, verdicts, max(error, report.reference_error or 0), problem)


def cross_entropy_check(fn, Z: np.ndarray, y: np.ndarray) -> BackwardCheckReport:
    """Judge ``fn(Z, T, n)`` returning a dict of every intermediate's gradient."""
    T, n = np.eye(Z.shape[1])[y], Z.shape[0]

    def final(got):  # the collapse: dZ is the fused loss's (P - T) / n
        report = check_backward(_returning(got.get("dZ")), CrossEntropy(), Z, y)
        report.verdicts[0].name = "dZ"
        return report

    final.names = ["dZ"]
    what = (f"cross-entropy on {n} samples, one atomic step at a time (dZ against "
            "CrossEntropy's (P - T) / n)")  # fmt: skip
    return _judge_steps(fn, {"Z": Z, "T": T, "n": n, "y": y}, _cross_entropy_rests(Z, T),
                        final, what)  # fmt: skip


def batchnorm_check(fn, layer: BatchNorm, X: np.ndarray, dY: np.ndarray) -> BackwardCheckReport:
    """Judge ``fn(X, dY, gamma, beta, eps)`` returning a dict of every intermediate's
    gradient, then dX, dgamma, dbeta against ``layer``'s three-path backward."""
    gamma, beta, eps = layer.params["gamma"], layer.params["beta"], layer.eps

    def final(got):
        def answer():
            return {k: got.get(k) for k in ("dX", "dgamma", "dbeta") if got.get(k) is not None}

        return check_backward(answer, layer, X, dY=dY)

    final.names = ["dX", "dgamma", "dbeta"]
    what = (f"batch norm on a batch of {X.shape[0]}, one atomic step at a time (dX, dgamma, "
            "dbeta against BatchNorm's three-path formula)")  # fmt: skip
    available = {"X": X, "dY": dY, "gamma": gamma, "beta": beta, "eps": eps, "n": X.shape[0]}
    return _judge_steps(fn, available, _batchnorm_rests(X, dY, gamma, beta, eps), final, what)
