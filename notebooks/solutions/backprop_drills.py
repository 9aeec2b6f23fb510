"""Solutions to ``notebooks/backprop_drills.ipynb``: one function per exercise, same names.

Try the exercise first. Each function here passes ``chainrule.exercises.check(name, fn)``
(``tests/test_drills.py`` runs them all through the same checks as the notebook). The
derivation is in the comments, in the code's own names and shapes; docs/derivations.md
has it in LaTeX.
"""

from __future__ import annotations

import numpy as np

from chainrule.exercises import batchnorm_steps, cross_entropy_steps


def _sigmoid(Z):
    # stable for any Z: exp of a non-positive number never overflows
    E = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1 / (1 + E), E / (1 + E))


def _softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))  # shift by the row max: no overflow
    return E / E.sum(axis=1, keepdims=True)


def sigmoid_backward(X, dY):
    # Y = sigmoid(X); sigmoid'(X) = Y * (1 - Y), read off the output: dX = dY * Y * (1 - Y)
    Y = _sigmoid(X)
    return dY * Y * (1 - Y)


def softmax_cross_entropy_backward(Z, T, n):
    # L = -(1/n) sum_i sum_j T_ij log P_ij with P = softmax(Z): dL/dZ = (P - T) / n
    return (_softmax(Z) - T) / n


def mse_backward(Y, T, n, k):
    # L = (1/(n k)) sum (Y - T)^2 over all n*k entries: dL/dY = 2 (Y - T) / (n k)
    return 2 * (Y - T) / (n * k)


def sigmoid_bce_backward(Z, T, n, k):
    # L = -(1/(n k)) sum [T log P + (1 - T) log(1 - P)], P = sigmoid(Z): dZ = (P - T) / (n k)
    return (_sigmoid(Z) - T) / (n * k)


def dense_backward(X, W, dY):
    # Y = X @ W + b:  dX = dY @ W.T (n, n_in), dW = X.T @ dY (n_in, n_out), db = sum of rows
    return dY @ W.T, X.T @ dY, dY.sum(axis=0)


def two_layer_backward(X, T, W1, b1, W2, b2, n):
    Z1 = X @ W1 + b1  # (n, h)
    A1 = np.tanh(Z1)
    P = _softmax(A1 @ W2 + b2)  # (n, k)
    dZ2 = (P - T) / n  # softmax + cross-entropy, fused
    dW2, db2 = A1.T @ dZ2, dZ2.sum(axis=0)  # (h, k), (k,)
    dA1 = dZ2 @ W2.T  # (n, h)
    dZ1 = dA1 * (1 - A1**2)  # tanh'(Z1) = 1 - A1^2, from the saved output
    dW1, db1 = X.T @ dZ1, dZ1.sum(axis=0)  # (d, h), (h,)
    return dW1, db1, dW2, db2


def l_layer_backward(X, T, params):
    L = len(params) // 2
    A, cache = X, []
    for l in range(1, L + 1):  # forward, keeping each layer's input and output
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        cache.append((A, Z))
        A = np.maximum(Z, 0) if l < L else Z  # ReLU hidden layers, linear output
    n, k = T.shape
    dZ = 2 * (A - T) / (n * k)  # mean squared error over all n*k entries
    grads = {}
    for l in range(L, 0, -1):
        A_prev, _ = cache[l - 1]
        grads[f"dW{l}"], grads[f"db{l}"] = A_prev.T @ dZ, dZ.sum(axis=0)
        if l > 1:
            dA_prev = dZ @ params[f"W{l}"].T
            dZ = dA_prev * (cache[l - 2][1] > 0)  # ReLU'(Z) = 1 where Z > 0
    return grads


def sgd_momentum(w, dw, config):
    # PyTorch's rule: v = mu * v + dw (the buffer starts at the first gradient); w -= lr * v
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v + dw
    config["velocity"] = v
    return w - config["learning_rate"] * v, config


def adam(w, dw, config):
    t = config["t"] = config.get("t", 0) + 1
    b1, b2 = config["beta1"], config["beta2"]
    m = config["m"] = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = config["v"] = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw**2
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)  # bias correction, t from 1
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


def batchnorm_backward(X, dY, gamma, eps):
    n = X.shape[0]
    mu, var = X.mean(axis=0), X.var(axis=0)  # the biased variance: divided by n
    sigma = np.sqrt(var + eps)
    Xhat = (X - mu) / sigma
    dgamma, dbeta = (dY * Xhat).sum(axis=0), dY.sum(axis=0)
    dXhat = dY * gamma
    # three paths from X: direct, through mu, through var; they collapse to
    dX = (n * dXhat - dXhat.sum(axis=0) - Xhat * (dXhat * Xhat).sum(axis=0)) / (n * sigma)
    return dX, dgamma, dbeta


def cross_entropy_steps_backward(Z, T, n):
    v = cross_entropy_steps(Z, T)  # Zmax, S, E, s, logs, logP, picked: the forward pass
    dpicked = np.full((n, 1), -1 / n)  # L = -mean(picked)
    dlogP = T * dpicked  # picked = sum(logP * T, axis=1): only the target's entry
    dlogs = -dlogP.sum(axis=1, keepdims=True)  # logP = S - logs, logs broadcast over k
    ds = dlogs / v["s"]  # logs = log(s)
    dE = ds * np.ones_like(v["E"])  # s = sum(E, axis=1): each E copies its row's ds
    dS = dlogP + dE * v["E"]  # S feeds logP directly and E = exp(S): the two add
    dZmax = -dS.sum(axis=1, keepdims=True)  # S = Z - Zmax: zero, the shift changes nothing
    rows = np.arange(n)
    dZ = dS.copy()
    dZ[rows, Z.argmax(axis=1)] += dZmax[:, 0]  # Zmax = max(Z): to each row's maximum
    return {"dpicked": dpicked, "dlogP": dlogP, "dlogs": dlogs, "ds": ds, "dE": dE,
            "dS": dS, "dZmax": dZmax, "dZ": dZ}  # fmt: skip  # dZ == (P - T) / n


def batchnorm_steps_backward(X, dY, gamma, beta, eps):
    v = batchnorm_steps(X, gamma, beta, eps)  # mu, Xc, sq, var, inv_std, Xhat, Y
    n = X.shape[0]
    dgamma, dbeta = (dY * v["Xhat"]).sum(axis=0), dY.sum(axis=0)  # Y = gamma * Xhat + beta
    dXhat = dY * gamma
    dinv_std = (dXhat * v["Xc"]).sum(axis=0, keepdims=True)  # Xhat = Xc * inv_std
    dvar = dinv_std * -0.5 * (v["var"] + eps) ** -1.5  # inv_std = (var + eps) ** -0.5
    dsq = dvar / n * np.ones_like(v["sq"])  # var = mean(sq, axis=0)
    dXc = dXhat * v["inv_std"] + 2 * v["Xc"] * dsq  # Xc feeds Xhat and sq: the two add
    dmu = -dXc.sum(axis=0, keepdims=True)  # Xc = X - mu
    dX = dXc + dmu / n  # X feeds Xc directly and mu = mean(X): the three-path formula
    return {"dXhat": dXhat, "dinv_std": dinv_std, "dvar": dvar, "dsq": dsq, "dXc": dXc,
            "dmu": dmu, "dX": dX, "dgamma": dgamma, "dbeta": dbeta}  # fmt: skip
