"""A catalogue of classic backprop slips (losses, layers, batch norm, whole networks,
optimizer steps): each one is caught, at least 95% are named with the right slip, and
every equally right variant (float32, an explicit Jacobian, CS231n's momentum, the other
slope at a kink, a bias before batch norm, dropout's own mask) is accepted (issue 22)."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

rng = np.random.default_rng(22)
Z = rng.normal(size=(5, 4))
y = np.array([0, 3, 1, 2, 3])
T = np.eye(4)[y]
T_reg = rng.normal(size=(5, 4))
Zb = rng.normal(size=(6, 3))
T_bin = (rng.random((6, 3)) < 0.5).astype(float)
X = rng.normal(size=(5, 3))
XB = X * 2 + 1


def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def _bn():
    layer = cr.BatchNorm(3)
    layer.params["gamma"][...] = [1.5, 0.5, 2.0]
    layer.params["beta"][...] = [0.1, -0.2, 0.3]
    return layer


def batchnorm(slip: str = ""):
    def backward(X, dY, gamma, eps):
        mu, var = X.mean(axis=0), X.var(axis=0, ddof=1 if slip == "unbiased" else 0)
        sigma = np.sqrt(var + eps)
        Xhat = (X - mu) / sigma
        dXhat = dY if slip == "no gamma" else dY * gamma
        through_mu = 0 if slip == "no mu path" else dXhat.mean(axis=0)
        through_var = 0 if slip == "no var path" else Xhat * (dXhat * Xhat).mean(axis=0)
        dX = dXhat / sigma if slip == "direct only" else (dXhat - through_mu - through_var) / sigma
        dgamma = (dY * (X if slip == "dgamma with X" else Xhat)).sum(axis=0)
        dbeta = dY if slip == "dbeta not summed" else dY.sum(axis=0)
        return (dX, dbeta, dgamma) if slip == "swapped" else (dX, dgamma, dbeta)

    return backward


ACT = {"sigmoid": sigmoid, "tanh": np.tanh, "relu": lambda Z: np.maximum(Z, 0)}
SLOPE = {
    "sigmoid": lambda Z, A: A * (1 - A),
    "tanh": lambda Z, A: 1 - A**2,
    "relu": lambda Z, A: (Z > 0) * 1.0,
}


def network(act: str = "sigmoid", slip: str = ""):
    """A 2-layer network's backward pass (softmax + cross-entropy), with one slip."""

    def backward(X, T, W1, b1, W2, b2, n):
        Z1 = X @ W1 + b1
        A1 = ACT[act](Z1)
        P = softmax(A1 @ W2 + b2)
        dZ2 = {"no 1/n": P - T, "sign": (T - P) / n}.get(slip, (P - T) / n)
        dW2 = dZ2.T @ A1 if slip == "transpose" else A1.T @ dZ2
        dA1 = dZ2 @ W2.T
        slope = {
            "no derivative": 1.0,
            "at Z": Z1 * (1 - Z1),
            "wrong activation": sigmoid(Z1) * (1 - sigmoid(Z1)),
        }.get(slip, SLOPE[act](Z1, A1))
        dZ1 = dA1 * slope
        grads = [X.T @ dZ1, dZ1.sum(axis=0), dW2, dZ2.sum(axis=0)]
        return grads[2:] + grads[:2] if slip == "order" else grads

    return backward


def deep(slip: str = ""):
    """An L-layer ReLU network with MSE, its layers numbered l = 1..L."""

    def backward(X, T, params):
        L, A, cache = len(params) // 2, X, []
        for l in range(1, L + 1):
            Zl = A @ params[f"W{l}"] + params[f"b{l}"]
            cache.append((A, Zl))
            A = np.maximum(Zl, 0) if l < L else Zl
        dZ, grads = 2 * (A - T) / T.size, {}
        for l in range(L, 0, -1):
            A_prev, _ = cache[l - 1]
            grads[f"dW{l}"], grads[f"db{l}"] = A_prev.T @ dZ, dZ.sum(axis=0)
            if l > 1:
                Z_prev = cache[l - 2][1]
                dZ = dZ @ params[f"W{l}"].T * (1.0 if slip == "no relu" and l == 3 else Z_prev > 0)
        return grads

    return backward


NET = cr.Sequential(cr.Dense(3, 4, rng=1), cr.Sigmoid(), cr.Dense(4, 4, rng=2))
TANH_NET = cr.Sequential(cr.Dense(3, 4, rng=1), cr.Tanh(), cr.Dense(4, 4, rng=2))
RELU_NET = cr.Sequential(cr.Dense(3, 4, rng=1), cr.ReLU(), cr.Dense(4, 4, rng=2))
DEEP = cr.Sequential(
    cr.Dense(3, 5, init="he", rng=3), cr.ReLU(), cr.Dense(5, 4, init="he", rng=4), cr.ReLU(),
    cr.Dense(4, 4, rng=5),
)  # fmt: skip
DROP = cr.Dropout(0.5, rng=3)
W0 = np.random.default_rng(4).normal(size=(3, 2))


def momentum(slip: str = ""):
    def step(w, dw, config):
        mu, lr = config["momentum"], config["learning_rate"]
        v = 0 if slip == "not carried" else config.get("velocity", 0)
        v = (1 if slip == "no mu" else mu) * v + (1 - mu if slip == "dampened" else 1) * dw
        config["velocity"] = v
        return w - (1.0 if slip == "no lr" else lr) * v, config

    return step


def adam(slip: str = ""):
    def step(w, dw, config):
        b1, b2, eps = config["beta1"], config["beta2"], config["epsilon"]
        state = {} if slip == "not carried" else config
        t = state.get("t", 0) + (0 if slip == "t0" else 1)
        m = b1 * state.get("m", 0) + (1 - b1) * dw
        v = b2 * state.get("v", 0) + (1 - b2) * dw * dw
        with np.errstate(divide="ignore", invalid="ignore"):
            m_hat = m if slip in ("no correction", "v only") else m / (1 - b1**t)
            v_hat = v if slip in ("no correction", "m only") else v / (1 - b2**t)
            denominator = np.sqrt(v_hat + eps) if slip == "eps inside" else np.sqrt(v_hat) + eps
            update = config["learning_rate"] * m_hat / denominator
        config.update(m=m, v=v, t=t + (1 if slip == "t0" else 0))
        return (w + update if slip == "added" else w - update), config

    return step


def rmsprop(slip: str = ""):
    def step(w, dw, config):
        rho, lr = config["decay_rate"], config["learning_rate"]
        v = config["cache"] = rho * config.get("cache", 0) + (1 - rho) * dw * dw
        return w - (lr * lr if slip == "lr twice" else lr) * dw / (
            np.sqrt(v) + config["epsilon"]
        ), config

    return step


# (a short name, the student's function, how it is checked, the array, the words of its slip)
CE, MSE, BCE = cr.CrossEntropy(), cr.MeanSquaredError(), cr.BinaryCrossEntropy()
CATALOGUE = [
    # losses
    ("CE without 1/n", lambda Z, T: softmax(Z) - T, (CE, Z, y), "dY", "factor n = 5"),
    ("CE target minus prediction", lambda Z, T, n: (T - softmax(Z)) / n, (CE, Z, y), "dY",
     "prediction minus target"),
    ("CE with logits", lambda Z, T, n: (Z - T) / n, (CE, Z, y), "dY", "logits Z were used"),
    ("CE softmax over columns", lambda Z, T, n: (softmax(Z.T).T - T) / n, (CE, Z, y), "dY",
     "wrong axis"),
    ("CE diagonal Jacobian", lambda Z, T, n: -T / (n * softmax(Z)) * softmax(Z) * (1 - softmax(Z)),
     (CE, Z, y), "dY", "reduced to its diagonal"),
    ("CE all zeros", lambda Z: np.zeros_like(Z), (CE, Z, y), "dY", "all zeros"),
    ("MSE without the 2", lambda Y, T, n, k: (Y - T) / (n * k), (MSE, Z, T_reg), "dY",
     "brings down a 2"),
    ("MSE mean over n", lambda Y, T, n: 2 * (Y - T) / n, (MSE, Z, T_reg), "dY", "factor k = 4"),
    ("MSE two slips", lambda Y, T, n: 2 * (Y - T) / n**2, (MSE, Z, T_reg), "dY", "two slips"),
    ("BCE with logits", lambda Z, T, n, k: (Z - T) / (n * k), (BCE, Zb, T_bin), "dY",
     "logits Z were used"),
    ("BCE mean over n", lambda Z, T, n: (sigmoid(Z) - T) / n, (BCE, Zb, T_bin), "dY",
     "factor k = 3"),
    ("BCE sign", lambda Z, T, n, k: (T - sigmoid(Z)) / (n * k), (BCE, Zb, T_bin), "dY",
     "sign flipped"),
    # layers
    ("Dense dW transposed", lambda X, W, dY: (dY @ W.T, dY.T @ X, dY.sum(0)),
     (cr.Dense(3, 2, rng=0), X), "dW", "transposed"),
    ("Dense db not summed", lambda X, W, dY: (dY @ W.T, X.T @ dY, dY),
     (cr.Dense(3, 2, rng=0), X), "db", "not summed over the batch"),
    ("Dense divides by n", lambda X, W, dY: (dY @ W.T, X.T @ dY / 5, dY.sum(0)),
     (cr.Dense(3, 2, rng=0), X), "dW", "applied twice"),
    ("Dense dX and dW swapped", lambda X, W, dY: (X.T @ dY, dY @ W.T, dY.sum(0)),
     (cr.Dense(3, 2, rng=0), X), "dX", "swapped with dW"),
    ("Dense dX is dY", lambda X, W, dY: (dY, X.T @ dY, dY.sum(0)), (cr.Dense(3, 3, rng=0), X),
     "dX", "this is dY itself"),
    ("Dense dX sign", lambda X, W, dY: (-dY @ W.T, X.T @ dY, dY.sum(0)),
     (cr.Dense(3, 2, rng=0), X), "dX", "a minus sign too many"),
    ("Sigmoid no derivative", lambda dA: dA, (cr.Sigmoid(), X), "dX",
     "derivative of the Sigmoid is missing"),
    ("Sigmoid' at Z", lambda Z, dA: dA * Z * (1 - Z), (cr.Sigmoid(), X), "dX",
     "you used the input Z"),
    ("Sigmoid' of A", lambda A, dA: dA * sigmoid(A) * (1 - sigmoid(A)), (cr.Sigmoid(), X),
     "dX", "you gave it the output A"),
    ("Sigmoid value for slope", lambda A, dA: dA * A, (cr.Sigmoid(), X), "dX",
     "value A = Sigmoid(Z) used where its derivative"),
    ("Tanh' at Z", lambda Z, dA: dA * (1 - Z**2), (cr.Tanh(), X), "dX", "tanh' evaluated at"),
    ("Tanh with sigmoid'", lambda Z, dA: dA * sigmoid(Z) * (1 - sigmoid(Z)), (cr.Tanh(), X),
     "dX", "wrong activation: Sigmoid'"),
    ("ReLU value for slope", lambda A, dA: dA * A, (cr.ReLU(), X), "dX", "value A = ReLU(Z)"),
    ("ReLU sign", lambda Z, dA: -dA * (Z > 0), (cr.ReLU(), X), "dX", "a minus sign too many"),
    ("LeakyReLU no slope", lambda X, dY: dY * (X > 0), (cr.LeakyReLU(0.1), X), "dX",
     "leaky slope is missing"),
    ("LeakyReLU extra alpha", lambda X, dY, alpha: 0.1 * dY * np.where(X > 0, 1, alpha),
     (cr.LeakyReLU(0.1), X), "dX", "an extra factor alpha"),
    ("ELU' of A", lambda A, dA: dA * np.where(A > 0, 1, np.exp(A)), (cr.ELU(), X), "dX",
     "you gave it the output A"),
    ("GELU no derivative", lambda dA: dA, (cr.GELU(), X), "dX", "derivative of the GELU"),
    ("Softplus with sigmoid'", lambda Z, dA: dA * sigmoid(Z) * (1 - sigmoid(Z)),
     (cr.Softplus(), X), "dX", "wrong activation: Sigmoid'"),
    ("Softmax diagonal Jacobian", lambda Y, dY: dY * Y * (1 - Y), (cr.Softmax(), X), "dX",
     "reduced to its diagonal"),
    ("Dropout without 1/(1-p)", lambda dY, mask: dY * mask, (DROP, X), "dX",
     "1/(1 - p) of inverted dropout is missing"),
    ("Dropout mask inverted", lambda dY, mask, p: dY * ~mask / (1 - p), (DROP, X), "dX",
     "mask inverted"),
    ("Dropout without mask", lambda dY, p: dY / (1 - p), (DROP, X), "dX", "mask is missing"),
    # batch norm
    ("BN direct path only", batchnorm("direct only"), (_bn(), XB), "dX", "only the direct path"),
    ("BN no mean path", batchnorm("no mu path"), (_bn(), XB), "dX", "batch mean mu is missing"),
    ("BN no variance path", batchnorm("no var path"), (_bn(), XB), "dX", "batch variance"),
    ("BN unbiased variance", batchnorm("unbiased"), (_bn(), XB), "dX", "unbiased variance"),
    ("BN dgamma with X", batchnorm("dgamma with X"), (_bn(), XB), "dgamma", "normalised x_hat"),
    ("BN gamma missing", batchnorm("no gamma"), (_bn(), XB), "dX", "the factor gamma"),
    ("BN dbeta not summed", batchnorm("dbeta not summed"), (_bn(), XB), "dbeta", "not summed"),
    ("BN dgamma, dbeta swapped", batchnorm("swapped"), (_bn(), XB), "dgamma",
     "swapped with dbeta"),
    # whole networks
    ("net no sigmoid'", network("sigmoid", "no derivative"), (NET, X, y), "dW1",
     "layer 1 (Sigmoid): the derivative of the Sigmoid is missing"),
    ("net sigmoid' at Z", network("sigmoid", "at Z"), (NET, X, y), "db1", "the input Z"),
    ("net without 1/n", network("sigmoid", "no 1/n"), (NET, X, y), "dW2", "factor n = 5"),
    ("net dW2 transposed", network("sigmoid", "transpose"), (NET, X, y), "dW2", "transposed"),
    ("net sign", network("sigmoid", "sign"), (NET, X, y), "dW2", "sign flipped"),
    ("net tanh with sigmoid'", network("tanh", "wrong activation"), (TANH_NET, X, y), "dW1",
     "wrong activation: Sigmoid'"),
    ("net relu no derivative", network("relu", "no derivative"), (RELU_NET, X, y), "dW1",
     "layer 1 (ReLU): the derivative"),
    ("net layers in reverse", network("sigmoid", "order"), (NET, X, y), "db1",
     "swapped with db2"),
    ("deep net, layer 2's relu'", deep("no relu"), (DEEP, X, T_reg), "dW2",
     "layer 2 (ReLU): the derivative of the ReLU is missing"),
]  # fmt: skip
SGD_M, ADAM, RMS = cr.SGD(0.1, momentum=0.9), cr.Adam(0.01), cr.RMSProp(0.01)
STEPS = [
    ("momentum dampened", momentum("dampened"), SGD_M, "an exponential average"),
    ("momentum no lr", momentum("no lr"), SGD_M, "learning rate is missing"),
    ("momentum state lost", momentum("not carried"), SGD_M, "state is not carried"),
    ("momentum no mu", momentum("no mu"), SGD_M, "momentum mu = 0.9 is missing"),
    ("Adam no bias correction", adam("no correction"), ADAM, "bias correction is missing"),
    ("Adam corrects m only", adam("m only"), ADAM, "bias correction of v is missing"),
    ("Adam corrects v only", adam("v only"), ADAM, "bias correction of m is missing"),
    ("Adam t from 0", adam("t0"), ADAM, "t started at 0"),
    ("Adam eps inside", adam("eps inside"), cr.Adam(0.01, eps=1e-1), "eps inside"),
    ("Adam added", adam("added"), ADAM, "the gradient was added"),
    ("Adam state lost", adam("not carried"), ADAM, "state is not carried"),
    ("RMSProp lr twice", rmsprop("lr twice"), RMS, "learning rate applied twice"),
]


def _named(report, array: str, words: str) -> bool:
    diagnosis = report[array].diagnosis
    return diagnosis is not None and words in diagnosis


def test_every_slip_of_the_catalogue_is_caught_and_95_percent_are_named():
    named, misnamed = 0, []
    for label, fn, (model, *inputs), array, words in CATALOGUE:
        report = cr.check_backward(fn, model, *inputs)
        assert not report.ok and report.problem is None, f"{label}: {report}"
        assert report[array].status in ("wrong values", "wrong shape"), f"{label}: {report}"
        if _named(report, array, words):
            named += 1
        else:
            misnamed.append(f"{label}: {report[array].diagnosis}")
    for label, step, optimizer, words in STEPS:
        report = cr.check_step(step, optimizer, W0)
        assert not report.ok, f"{label}: {report}"
        if _named(report, "W after step 2", words):
            named += 1
        else:
            misnamed.append(f"{label}: {report['W after step 2'].diagnosis}")
    total = len(CATALOGUE) + len(STEPS)
    share = named / total
    print(f"slip catalogue: {named} of {total} named with the right slip ({share:.0%})")
    assert total >= 40
    assert share >= 0.95, misnamed
    assert (named, total) == (CATALOGUE_NAMED, len(CATALOGUE) + len(STEPS))


#: the slips named right today; the README states this share
CATALOGUE_NAMED = 64


def test_the_readme_states_the_measured_share():
    from pathlib import Path

    readme = " ".join((Path(__file__).resolve().parent.parent / "README.md").read_text().split())
    total = len(CATALOGUE) + len(STEPS)
    assert f"{total} classic slips" in readme
    assert f"{CATALOGUE_NAMED} of {total} named with the right slip" in readme


def cs231n_momentum(w, dw, config):
    v = config["momentum"] * config.get("velocity", 0) - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def explicit_jacobian(Z, T, n):
    P = softmax(Z)
    J = np.einsum("ij,jk->ijk", P, np.eye(Z.shape[1])) - np.einsum("ij,ik->ijk", P, P)
    dP = -T / (n * P)
    return np.einsum("ij,ijk->ik", dP, J)  # the full softmax Jacobian, written out


def relu_at_kink(Z, dA):
    return dA * (Z >= 0)  # slope 1 at Z == 0: the other one-sided slope


X_kink = X.copy()
X_kink[0, 1] = X_kink[3, 2] = 0.0
X_zero_row = X.copy()
X_zero_row[2] = 0.0  # with zero biases, Z1's row 2 is exactly 0: every ReLU at its kink
BN_NET = cr.Sequential(cr.Dense(3, 4, rng=0), cr.BatchNorm(4), cr.ReLU(), cr.Dense(4, 4, rng=1))


def bn_net_grads(X, y, **params):  # chainrule's own, with db1 written as the exact 0
    grads = {v.name: v.expected for v in cr.check_backward(lambda: None, BN_NET, X, y).verdicts}
    return {**grads, "db1": np.zeros(4)}


DROP_NET = cr.Sequential(cr.Dense(3, 4, rng=1), cr.ReLU(), cr.Dropout(0.5, rng=2),
                         cr.Dense(4, 2, rng=3))  # fmt: skip


def dropout_net(X, T, W1, b1, W2, b2, n, masks):
    Z1 = X @ W1 + b1
    D = np.maximum(Z1, 0) * masks[0] / 0.5  # the same masks as every check's
    dZ2 = (softmax(D @ W2 + b2) - T) / n
    dZ1 = dZ2 @ W2.T * masks[0] / 0.5 * (Z1 > 0)
    return X.T @ dZ1, dZ1.sum(axis=0), D.T @ dZ2, dZ2.sum(axis=0)


RIGHT = [
    ("float32 cross-entropy", lambda Z, T, n: ((softmax(Z.astype(np.float32)) - T) / n)
     .astype(np.float32), (CE, Z, y)),
    ("float32 Dense", lambda X, W, dY: tuple(a.astype(np.float32) for a in (
        dY.astype(np.float32) @ W.T.astype(np.float32), X.T.astype(np.float32) @
        dY.astype(np.float32), dY.astype(np.float32).sum(0))), (cr.Dense(3, 2, rng=0), X)),
    ("float32 batch norm", lambda X, dY, gamma, eps: tuple(a.astype(np.float32) for a in
     batchnorm()(X.astype(np.float32), dY.astype(np.float32), gamma.astype(np.float32), eps)),
     (_bn(), XB)),
    ("explicit softmax Jacobian", explicit_jacobian, (CE, Z, y)),
    ("sigmoid in the lessons' names", lambda dA, A: dA * A * (1 - A), (cr.Sigmoid(), X)),
    ("ReLU, slope 1 at an exact 0", relu_at_kink, (cr.ReLU(), X_kink)),
    ("ReLU, slope 0 at an exact 0", lambda Z, dA: dA * (Z > 0), (cr.ReLU(), X_kink)),
    ("network, slope 1 at the kinks", lambda X, T, W1, b1, W2, b2, n: _relu_net_ge(
        X, T, W1, b1, W2, b2, n), (RELU_NET, X_zero_row, y)),
    ("bias before batch norm: exact 0", bn_net_grads, (BN_NET, X, np.array([0, 1, 1, 0, 1]))),
    ("dropout with its mask", lambda dY, mask, p: dY * mask / (1 - p), (DROP, X)),
    ("a network with dropout, its masks", dropout_net, (DROP_NET, X, np.array([0, 1, 1, 0, 1]))),
]  # fmt: skip


def _relu_net_ge(X, T, W1, b1, W2, b2, n):
    Z1 = X @ W1 + b1
    A1 = np.maximum(Z1, 0)
    dZ2 = (softmax(A1 @ W2 + b2) - T) / n
    dZ1 = dZ2 @ W2.T * (Z1 >= 0)
    return X.T @ dZ1, dZ1.sum(axis=0), A1.T @ dZ2, dZ2.sum(axis=0)


@pytest.mark.parametrize("label, fn, case", RIGHT, ids=[r[0] for r in RIGHT])
def test_every_right_variant_is_accepted(label, fn, case):
    model, *inputs = case
    report = cr.check_backward(fn, model, *inputs)
    assert report.ok, str(report)


def test_cs231n_momentum_form_is_right():
    assert cr.check_step(cs231n_momentum, SGD_M, W0).ok


def test_dropout_is_checked_with_one_mask_and_its_missing_scale_is_named():
    report = cr.check_backward(lambda dY, mask: dY * mask, DROP, X)
    assert report.reference_error < 1e-7  # the same mask in every forward
    assert str(report).endswith(
        f"(chainrule's own gradients agree with central differences: relative error "
        f"{report.reference_error:.1e})"
    )
    assert report["dX"].diagnosis == (
        "too small by 1/(1-p) = 2: the 1/(1 - p) of inverted dropout is missing: "
        "dX = dY * mask / (1 - p)"
    )


def test_at_a_kink_the_report_says_central_differences_cannot_vouch():
    report = cr.check_backward(lambda Z, dA: dA * (Z > 0), cr.ReLU(), X_kink)
    assert report.ok and report.kinks == 2
    text = str(report)
    assert "agree" not in text
    assert "2 inputs of an activation sit at its kink (0, or within" in text
    assert "central differences are unreliable there" in text
    assert report["dZ"].describe() == "right (relative error 0.0e+00)"
    assert cr.check_backward(relu_at_kink, cr.ReLU(), X_kink)["dZ"].describe() == (
        "right (the other one-sided slope at a kink (an input exactly 0): equally right)"
    )


def test_stories_fit_their_context():
    layer_sign = cr.check_backward(lambda Z, dA: -dA * (Z > 0), cr.ReLU(), X)["dZ"].diagnosis
    assert "target" not in layer_sign and layer_sign.startswith("sign flipped")
    loss_sign = cr.check_backward(lambda Z, T, n: (T - softmax(Z)) / n, CE, Z, y)["dZ"]
    assert "prediction minus target" in loss_sign.diagnosis
    db1 = cr.check_backward(bn_net_grads, BN_NET, X, np.array([0, 1, 1, 0, 1]))["db1"]
    assert db1.describe().startswith("right (zero up to rounding: no entry is further than")
    assert "relative error" not in db1.describe()
    zeros = cr.check_backward(lambda Z: np.zeros_like(Z), CE, Z, y)["dY"].diagnosis
    assert zeros.startswith("all zeros: ") and "times the right one" not in zeros


def test_the_report_names_the_array_as_the_function_names_its_input():
    assert [v.name for v in cr.check_backward(lambda dA, A: dA, cr.Sigmoid(), X).verdicts] == ["dZ"]
    assert [v.name for v in cr.check_backward(lambda X, dY: dY, cr.Sigmoid(), X).verdicts] == ["dX"]
    assert [v.name for v in cr.check_backward(lambda Z, T, n: Z, CE, Z, y).verdicts] == ["dZ"]
    assert [v.name for v in cr.check_backward(lambda Y, T, n: Y, MSE, Z, T_reg).verdicts] == ["dY"]
