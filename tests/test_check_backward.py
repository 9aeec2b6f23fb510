"""check_backward: right answers pass; each classic slip is flagged with its diagnosis;
wrong shapes and a student's own exceptions become verdicts, never tracebacks."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

rng = np.random.default_rng(0)
X = rng.normal(size=(5, 3))
Z = rng.normal(size=(5, 4))
y = np.array([0, 3, 1, 2, 3])
T_reg = rng.normal(size=(5, 4))


def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def two_layer(slip: str = ""):
    """A student's 2-layer backward pass (sigmoid hidden layer, softmax + CE), with an
    optional slip."""

    def backward(X, T, W1, b1, W2, b2, n):
        Z1 = X @ W1 + b1
        A1 = sigmoid(Z1)
        P = softmax(A1 @ W2 + b2)
        dZ2 = (P - T) / (1 if slip == "no 1/n" else n)
        dW2 = A1.T @ dZ2 if slip != "transpose" else dZ2.T @ A1
        db2 = dZ2.sum(axis=0)
        dA1 = dZ2 @ W2.T
        dZ1 = {
            "": dA1 * A1 * (1 - A1),
            "no derivative": dA1,
            "derivative at Z": dA1 * Z1 * (1 - Z1),
        }.get(slip, dA1 * A1 * (1 - A1))
        return X.T @ dZ1, dZ1.sum(axis=0), dW2, db2

    return backward


def batchnorm(slip: str = ""):
    """A student's batch-norm backward pass (training mode), with an optional slip."""

    def backward(X, dY, gamma, eps):
        mu = X.mean(axis=0)
        var = X.var(axis=0, ddof=1 if slip == "unbiased" else 0)
        sigma = np.sqrt(var + eps)
        Xhat = (X - mu) / sigma
        dXhat = dY * gamma
        through_mu = 0 if slip == "no mu path" else dXhat.mean(axis=0)
        through_var = 0 if slip == "no var path" else Xhat * (dXhat * Xhat).mean(axis=0)
        dX = dXhat / sigma if slip == "direct only" else (dXhat - through_mu - through_var) / sigma
        dgamma = (dY * (X if slip == "dgamma with X" else Xhat)).sum(axis=0)
        return dX, dgamma, dY.sum(axis=0)

    return backward


BN = cr.BatchNorm(3)
BN.params["gamma"][...] = [1.5, 0.5, 2.0]
XB = X * 2 + 1

NET = cr.Sequential(cr.Dense(3, 4, rng=1), cr.Sigmoid(), cr.Dense(4, 4, rng=2))


def test_right_answers_are_right_for_a_loss_a_layer_and_a_network():
    report = cr.check_backward(lambda Z, T, n: (softmax(Z) - T) / n, cr.CrossEntropy(), Z, y)
    assert report.ok and report["dY"].rel_error < 1e-12
    dense = cr.Dense(3, 2, rng=0)
    report = cr.check_backward(lambda X, W, dY: (dY @ W.T, X.T @ dY, dY.sum(0)), dense, X)
    assert report.ok, str(report)
    assert report.reference_error < 1e-7  # chainrule's own gradient checked numerically
    report = cr.check_backward(two_layer(), NET, X, y)
    assert report.ok, str(report)
    assert [v.name for v in report.verdicts] == ["dW1", "db1", "dW2", "db2"]
    assert "4 of 4 right - well done." in str(report)
    report = cr.check_backward(batchnorm(), BN, XB)
    assert report.ok and report.reference_error < 1e-7, str(report)


SLIPS = [
    # (function, model, inputs, array, words the diagnosis must contain)
    (lambda Z, T: softmax(Z) - T, cr.CrossEntropy(), (Z, y), "dY", "factor n = 5"),
    (lambda Z, T, n: (T - softmax(Z)) / n, cr.CrossEntropy(), (Z, y), "dY", "sign flipped"),
    (lambda Z, T, n: (Z - T) / n, cr.CrossEntropy(), (Z, y), "dY", "logits Z were used"),
    (lambda Z, T, n: (softmax(Z.T).T - T) / n, cr.CrossEntropy(), (Z, y), "dY", "wrong axis"),
    (lambda Y, T, n: 2 * (Y - T) / n**2, cr.MeanSquaredError(), (Z, T_reg), "dY", "two slips"),
    (lambda Y, T, n, k: (Y - T) / (n * k), cr.MeanSquaredError(), (Z, T_reg), "dY",
     "brings down a 2"),
    (lambda Y, T, n: 2 * (Y - T) / n, cr.MeanSquaredError(), (Z, T_reg), "dY", "factor k = 4"),
    (lambda X, W, dY: (dY @ W.T, dY.T @ X, dY.sum(0)), cr.Dense(3, 2, rng=0), (X,), "dW",
     "transposed"),
    (lambda X, W, dY: (dY @ W.T, X.T @ dY, dY), cr.Dense(3, 2, rng=0), (X,), "db",
     "not summed over the batch"),
    (lambda X, W, dY: (dY @ W.T, X.T @ dY / 5, dY.sum(0)), cr.Dense(3, 2, rng=0), (X,), "dW",
     "applied twice"),
    (lambda X, dY: dY, cr.Sigmoid(), (X,), "dX", "derivative of the Sigmoid is missing"),
    (lambda X, dY: dY * X * (1 - X), cr.Sigmoid(), (X,), "dX", "you used the input X"),
    (lambda Y, dY: dY * sigmoid(Y) * (1 - sigmoid(Y)), cr.Sigmoid(), (X,), "dX",
     "you gave it the output Y"),
    (lambda X, dY: dY * (1 - X**2), cr.Tanh(), (X,), "dX", "tanh' evaluated at the wrong"),
    (lambda X, dY: dY * (X > 0), cr.LeakyReLU(0.1), (X,), "dX", "leaky slope is missing"),
    (two_layer("no derivative"), NET, (X, y), "dW1", "layer 1 (Sigmoid): the derivative"),
    (two_layer("derivative at Z"), NET, (X, y), "db1", "you used the input Z"),
    (two_layer("no 1/n"), NET, (X, y), "dW2", "factor n = 5"),
    (two_layer("transpose"), NET, (X, y), "dW2", "transposed"),
    (batchnorm("direct only"), BN, (XB,), "dX", "only the direct path"),
    (batchnorm("no mu path"), BN, (XB,), "dX", "path through the batch mean mu is missing"),
    (batchnorm("no var path"), BN, (XB,), "dX", "path through the batch variance"),
    (batchnorm("unbiased"), BN, (XB,), "dX", "unbiased variance"),
    (batchnorm("dgamma with X"), BN, (XB,), "dgamma", "needs the normalised x_hat"),
]  # fmt: skip


@pytest.mark.parametrize("fn, model, inputs, name, words", SLIPS)
def test_each_classic_slip_is_flagged_with_its_diagnosis(fn, model, inputs, name, words):
    report = cr.check_backward(fn, model, *inputs)
    assert not report.ok
    verdict = report[name]
    assert verdict.status in ("wrong values", "wrong shape")
    assert verdict.diagnosis is not None, str(report)
    assert words in verdict.diagnosis, str(report)


def test_a_wrong_shape_is_a_verdict_with_both_shapes():
    dense = cr.Dense(3, 2, rng=0)
    report = cr.check_backward(lambda X, W, dY: (dY, X.T @ dY, dY.sum(0)), dense, X)
    verdict = report["dX"]
    assert verdict.status == "wrong shape"
    assert verdict.describe() == (
        "wrong shape: expected (5, 3), got (5, 2) (dX always has the shape of X)"
    )


def test_a_broadcasting_error_inside_the_students_function_is_reported_not_raised():
    dense = cr.Dense(3, 2, rng=0)
    report = cr.check_backward(lambda X, W, dY: (dY * W, X.T @ dY, dY.sum(0)), dense, X)
    assert not report.ok
    assert report.problem.startswith("your function raised ValueError: operands could not")
    assert "shape mismatch inside your function" in report.problem
    assert all(v.status == "missing" for v in report.verdicts)


def test_structural_problems_are_named():
    dense = cr.Dense(3, 2, rng=0)

    def no_return(X, W, dY):
        dY @ W.T

    report = cr.check_backward(no_return, dense, X)
    assert report.problem == ("your function returned None: did you forget `return dX, dW, db`?")
    report = cr.check_backward(lambda A0, dY: dY, dense, X)
    assert report.problem.startswith("your function asks for 'A0', which check_backward")
    report = cr.check_backward(lambda X, W, dY: (dY @ W.T, X.T @ dY), dense, X)
    assert (
        report.problem == "your function returned 2 values; expected (dX, dW, db), in that order."
    )
    assert report["db"].status == "missing"
    report = cr.check_backward(lambda X, W, dY: {"W": X.T @ dY, "dX": dY @ W.T}, dense, X)
    assert report["dW"].ok and report["dX"].ok and report["db"].status == "missing"


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="my_backward must be your function, got str"):
        cr.check_backward("dY", cr.Sigmoid(), X)
    with pytest.raises(ValueError, match="a loss needs the targets y"):
        cr.check_backward(lambda Y: Y, cr.MeanSquaredError(), Z)
    with pytest.raises(TypeError, match="model must be a chainrule loss, layer or Sequential"):
        cr.check_backward(lambda Y: Y, "mse", Z, y)


def test_the_report_reads_as_a_marking():
    report = cr.check_backward(lambda X, dY: dY, cr.Tanh(), X)
    text = str(report)
    assert text.splitlines()[0].startswith("check_backward: Tanh(), backward of a batch of 5")
    assert "diagnosis: the derivative of the Tanh is missing" in text
    assert text.splitlines()[-2] == "0 of 1 right."
    assert "| `dX` | wrong values" in report._repr_markdown_()


def test_the_report_says_whose_dY_it_used():
    """Random dY unless the caller gives one; then the report says it is theirs."""
    right = lambda X, dY: dY * (1 - np.tanh(X) ** 2)  # noqa: E731
    drawn = cr.check_backward(right, cr.Tanh(), X)
    assert drawn.what == "Tanh(), backward of a batch of 5 (Y = layer(X), random dY)"
    given = cr.check_backward(right, cr.Tanh(), X, dY=np.ones((5, 3)))
    assert given.what == "Tanh(), backward of a batch of 5 (Y = layer(X), the given dY)"
    assert given.ok and str(given).startswith("check_backward: " + given.what)


# ------------------------------------------------------------------ check_step
W0 = np.random.default_rng(4).normal(size=(3, 2))


def momentum(dampened: bool = False):
    def step(w, dw, config):
        mu = config["momentum"]
        v = mu * config.get("velocity", np.zeros_like(w)) + (1 - mu if dampened else 1) * dw
        config["velocity"] = v
        return w - config["learning_rate"] * v, config

    return step


def adam(correct: bool = True, eps_inside: bool = False, add: bool = False):
    def step(w, dw, config):
        t = config["t"] = config.get("t", 0) + 1
        b1, b2, eps = config["beta1"], config["beta2"], config["epsilon"]
        m = config["m"] = b1 * config.get("m", 0) + (1 - b1) * dw
        v = config["v"] = b2 * config.get("v", 0) + (1 - b2) * dw * dw
        if correct:
            m, v = m / (1 - b1**t), v / (1 - b2**t)
        update = (
            config["learning_rate"] * m / (np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps)
        )
        return (w + update if add else w - update), config

    return step


def test_check_step_passes_right_updates_and_names_the_slips():
    report = cr.check_step(momentum(), cr.SGD(0.1, momentum=0.9), W0)
    assert report.ok and len(report.verdicts) == 3, str(report)
    assert str(report).startswith("check_step: 3 steps of SGD(lr=0.1, momentum=0.9")
    assert cr.check_step(adam(), cr.Adam(0.01), W0).ok
    cases = [
        (momentum(dampened=True), cr.SGD(0.1, momentum=0.9), "an exponential average"),
        (adam(correct=False), cr.Adam(0.01), "the bias correction is missing"),
        (adam(eps_inside=True), cr.Adam(0.01, eps=1e-1), "eps inside the square root"),
        (adam(add=True), cr.Adam(0.01), "the gradient was added"),
    ]
    for step, optimizer, words in cases:
        report = cr.check_step(step, optimizer, W0)
        assert not report.ok
        assert words in report["W after step 2"].diagnosis, str(report)


def test_check_step_reports_a_crash_and_refuses_other_optimizers():
    def broken(w, dw, config):
        return w - config["lr"] * dw, config  # CS231n's key is learning_rate

    report = cr.check_step(broken, cr.SGD(0.1, momentum=0.5), W0)
    assert report.problem == "your function raised KeyError: 'lr' (at w after step 1)."
    with pytest.raises(TypeError, match=r"takes cr\.SGD \(without nesterov\), cr\.Adam"):
        cr.check_step(broken, cr.SGD(0.1, momentum=0.5, nesterov=True), W0)


def test_review_fixes_adamw_refused_zero_gradients_right_and_the_hinge_checked():
    with pytest.raises(TypeError, match="AdamW's decoupled decay has no place"):
        cr.check_step(adam(), cr.AdamW(0.1, weight_decay=0.5), W0)
    # a bias before batch norm has a gradient of exactly 0 (rounding leaves ~1e-17)
    net = cr.Sequential(cr.Dense(3, 4, rng=0), cr.BatchNorm(4), cr.ReLU(), cr.Dense(4, 2, rng=1))
    rng = np.random.default_rng(7)
    Xn, yn = rng.normal(size=(6, 3)), np.array([0, 1, 1, 0, 1, 0])

    def exact(X, y, **params):  # chainrule's own gradients, with db1 written as 0
        report = cr.check_backward(lambda **kw: None, net, X, y)
        grads = {v.name: v.expected for v in report.verdicts}
        grads["db1"] = np.zeros(4)
        return grads

    report = cr.check_backward(exact, net, Xn, yn)
    assert report["db1"].ok, str(report)
    assert report.reference_error < 1e-7
    hinge = cr.MulticlassHinge()
    Yh, yh = rng.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])

    def hinge_grad(Y, T, n):
        s_y = (Y * T).sum(axis=1, keepdims=True)
        active = ((Y - s_y + 1) > 0) & (T == 0)
        return (active - T * active.sum(axis=1, keepdims=True)) / n

    assert cr.check_backward(hinge_grad, hinge, Yh, yh).ok


class _Unreadable:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("no numbers here")


def dense_answer(X, W, dY):
    return dY @ W.T, X.T @ dY, dY.sum(0)


def test_every_answer_is_a_verdict_never_an_exception():
    """A torch tensor that requires grad, an object whose __array__ raises, a complex
    array, an empty list: each was a RuntimeError or graded right (issue 25)."""
    torch = pytest.importorskip("torch")
    dense = cr.Dense(3, 2, rng=0)

    def tensor_answer(X, W, dY):
        dX, dW, db = dense_answer(X, W, dY)
        return torch.tensor(dX, requires_grad=True), dW, db

    verdict = cr.check_backward(tensor_answer, dense, X)["dX"]
    assert verdict.status == "not an array"
    assert verdict.describe() == (
        "not an array: return a NumPy array\n    converting it raised RuntimeError: Can't "
        "call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead. "
        "(a torch tensor: return t.detach().numpy())"
    )
    report = cr.check_backward(lambda X, W, dY: (_Unreadable(), *dense_answer(X, W, dY)[1:]),
                               dense, X)  # fmt: skip
    assert report["dX"].describe() == (
        "not an array: return a NumPy array\n    converting it raised RuntimeError: no numbers here"
    )
    assert report["dW"].ok and report["db"].ok
    complex_dX = cr.check_backward(lambda X, W, dY: (dY @ W.T + 0j, X.T @ dY, dY.sum(0)), dense, X)[
        "dX"
    ]
    assert complex_dX.status == "not real numbers" and not complex_dX.ok
    assert complex_dX.describe().startswith("not real numbers: it is complex128; a gradient")
    empty = cr.check_backward(lambda Y, y: [], cr.MeanSquaredError(), Z, T_reg)
    assert empty.problem == "your function returned 0 values; expected (dY), in that order."
    assert "0 of 1 right." in str(empty)


def test_check_step_judges_unreadable_steps_and_refuses_zero_steps():
    def unreadable(w, dw, config):
        return _Unreadable(), config

    report = cr.check_step(unreadable, cr.SGD(0.1, momentum=0.5), W0)
    assert [v.status for v in report.verdicts] == ["not an array", "missing", "missing"]
    assert "0 of 3 right." in str(report)

    def complex_step(w, dw, config):
        return w - config["learning_rate"] * dw + 0j, config

    report = cr.check_step(complex_step, cr.SGD(0.1), W0)
    assert report["W after step 1"].status == "not real numbers"
    for steps in (0, -1, 1.5, True):
        with pytest.raises(ValueError) as err:
            cr.check_step(complex_step, cr.SGD(0.1), W0, steps=steps)
        assert str(err.value) == (
            f"check_step: steps (the number of updates to judge) must be a positive "
            f"integer, got {steps!r}."
        )


def test_an_activations_diagnosis_speaks_the_students_names():
    """One set of names: a function taking the library's X, dY is told about dX and dY;
    one taking a network's dA, A about dZ and dA (issue 22)."""
    own = " (relu'(z) = 1 if z > 0 else 0)"
    library = cr.check_backward(lambda X, dY: dY, cr.ReLU(), X)
    assert library["dX"].diagnosis == (
        f"the derivative of the ReLU is missing: dX = dY * ReLU'(X){own}, not dY"
    )
    network = cr.check_backward(lambda dA, A: dA, cr.ReLU(), X)
    assert [v.name for v in network.verdicts] == ["dZ"]
    assert network["dZ"].diagnosis == (
        f"the derivative of the ReLU is missing: dZ = dA * ReLU'(Z){own}, not dA"
    )
    wrong_tensor = cr.check_backward(lambda X, dY: dY * (1 - X**2), cr.Tanh(), X)
    assert wrong_tensor["dX"].diagnosis == (
        "tanh' evaluated at the wrong tensor: 1 - Y**2 uses the OUTPUT Y = tanh(X), "
        "but you used the input X"
    )
