"""Shared test helpers: central differences and relative errors, written independently
of chainrule.gradcheck so that the library's own checker is not checking itself."""

from __future__ import annotations

import contextlib

import numpy as np

import chainrule as cr


def numeric_grad(f, A: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """dF/dA by central differences, perturbing A in place (and restoring it)."""
    G = np.zeros_like(A)
    flat, g = A.reshape(-1), G.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        g[i] = (plus - minus) / (2 * eps)
    return G


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def layer_grads(layer, X, R):
    """Analytic gradients of L = sum(R * layer(X)) (a random linear probe of the output).

    Returns (dX, {name: dparam}).
    """
    layer.zero_grad()
    _, backward = layer.forward(X, training=True)
    dX = backward(R)
    return dX, {k: g.copy() for k, g in layer.grads.items()}


def probe_loss(layer, X, R) -> float:
    return float(np.sum(R * layer.forward(X, training=True)[0]))


ACTIVATIONS = [
    cr.Identity,
    cr.Sigmoid,
    cr.Tanh,
    cr.ReLU,
    cr.LeakyReLU,
    lambda: cr.LeakyReLU(alpha=0.2),
    cr.ELU,
    lambda: cr.ELU(alpha=0.5),
    cr.GELU,
    cr.Softplus,
    cr.Softmax,
]


@contextlib.contextmanager
def loopback_dask_client(n_workers: int = 2):
    """A Dask ``Client`` on a LocalCluster of ``n_workers`` single-threaded worker
    processes, on 127.0.0.1 only and without the web dashboard; closed afterwards."""
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        host="127.0.0.1",  # loopback only
        dashboard_address=None,  # no web dashboard
        processes=True,
    )
    try:
        with distributed.Client(cluster) as client:
            assert len(client.scheduler_info()["workers"]) == n_workers
            yield client
    finally:
        cluster.close()
