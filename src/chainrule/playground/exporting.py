"""Downloads: the trained network as chainrule's .npz, the history as CSV, a Python snippet.

The snippet rebuilds the same data, network and optimizer and runs the same training
loop as the session (``session.py``), for the same number of steps, so running it gives
the same weights as the page.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile

import numpy as np

from ..optimizers import OPTIMIZERS
from .config import OPTIMIZER_SPECS, mlp_spec


def model_bytes(session) -> bytes:
    """``cr.save(net)`` written to a temporary file and read back."""
    import chainrule as cr

    with tempfile.TemporaryDirectory(prefix="chainrule-playground-") as tmp:
        path = cr.save(session.net, os.path.join(tmp, "model.npz"))
        return path.read_bytes()


def history_csv(session) -> str:
    """One row per logged tick: step, epoch, losses, metrics, gradient norms."""
    buf = io.StringIO()
    keys = list(session.history[0])
    writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for row in session.history:
        writer.writerow({k: row.get(k, "") for k in keys})
    return buf.getvalue()


def _data_code(session) -> list[str]:
    d = session.config["data"]
    data = session.data
    if d["name"] in session.tables:  # a table: its projected points, written out
        # floatmode="unique": the shortest digits that read back as the same float
        X = np.array2string(data.X, separator=", ", floatmode="unique", threshold=data.X.size)
        y = np.array2string(data.y, separator=", ", floatmode="unique", threshold=data.y.size)
        return [
            f"# {data.name}: features {data.feature_names}, standardised as on the page",
            f"X = np.array({X})",
            f"y = np.array({y})",
            f"train = np.array({data.train.tolist()})",
        ]
    return [
        "from chainrule.playground.data import make_toy, split",
        "",
        f"X, y = make_toy({d['name']!r}, n_points={d['n_points']}, noise={d['noise']!r}, "
        f"seed={d['seed']})",
        f"train, test = split(len(X), {d['train_ratio']!r}, seed={d['seed']})",
    ]


def _inputs_code(session) -> list[str]:
    """The input features the network sees (none when they are the coordinates)."""
    inputs = session.config["data"]["inputs"]
    if inputs == ["x1", "x2"][: session.data.n_features]:
        return []
    return [
        "from chainrule.playground.data import input_features",
        "",
        f"X = input_features(X, {inputs!r})  # the columns the network sees",
    ]


def _network_code(session) -> list[str]:
    """The session's ``build_mlp`` call, and the layers it builds as a comment."""
    spec = mlp_spec(session.config["network"], session.Z.shape[1], session.n_out)
    args = ", ".join(f"{k}={v!r}" if k != "rng" else "rng=rng" for k, v in spec.items())
    lines = [
        f"# {' -> '.join(type(layer).__name__ for layer in session.net.layers)}",
        f"net = cr.layers.build_mlp({args})",
    ]
    if spec["output"] is not None:
        lines[-1] += "  # chainrule warns: this output does not suit the loss"
    return lines


def _optimizer_code(config: dict) -> str:
    """``cr.SGD(0.03, momentum=0.9)``: the page's optimizer as a constructor call."""
    name, settings = OPTIMIZER_SPECS[config["optimizer"]]
    args = ", ".join([repr(config["lr"]), *(f"{k}={v!r}" for k, v in settings.items())])
    return f"cr.{OPTIMIZERS[name].__name__}({args})"


def _edits_code(session) -> list[str]:
    """The weights set on the page, by the step they were set before (none: no lines)."""
    if not session.edits:
        return []
    by_step: dict[int, list] = {}
    for step, l, i, j, w in session.edits:
        by_step.setdefault(step, []).append((l, i, j, w))
    return [
        f"edits = {by_step!r}  # weights set on the page: step -> [(l, i, j, w)]",
        "dense = [layer for layer in net.layers if isinstance(layer, cr.Dense)]",
        "",
        "",
        "def edit(step):",
        "    for l, i, j, w in edits.get(step, []):",
        "        dense[l - 1].params['W'][i, j] = w  # W_l[i, j] = w, as on the page",
    ]


def _changes_code(session) -> list[str]:
    """The settings changed on the page while training went on, by the step they took
    effect at (none: no lines)."""
    if not session.changes:
        return []
    changes = ", ".join(f"{step}: {settings!r}" for step, settings in session.changes)
    return [f"changes = {{{changes}}}  # changed on the page; training went on"]


def _changes_loop_code(session) -> list[str]:
    if not session.changes:
        return []
    return [
        "    if step in changes:",
        "        c = changes[step]",
        "        optimizer.lr, l2, l1 = c['lr'], c['l2'], c['l1']",
        "        batch_size = c['batch_size']",
    ]


def snippet(session) -> str:
    """Python code that rebuilds the network and repeats the session's training."""
    n = session.config["network"]
    first = session.first_settings  # the settings training began with
    if session.data.task == "regression":
        target = "T = y.reshape(-1, 1).astype(float)"
    elif n["loss"] == "cross_entropy":
        target = "T = y  # class indices"
    elif session.n_out == 1:
        target = "T = y.reshape(-1, 1).astype(float)  # 0/1 labels"
    else:
        target = f"T = np.eye({session.n_out})[y]  # one-hot"
    lines = [
        '"""Rebuild the chainrule playground\'s network and training (generated)."""',
        "",
        "import numpy as np",
        "",
        "import chainrule as cr",
        "",
        *_data_code(session),
        *_inputs_code(session),
        target,
        "",
        f"rng = np.random.default_rng({n['seed']})",
        *_network_code(session),
        f"loss = cr.{type(session.loss).__name__}()",
        f"optimizer = {_optimizer_code({**n, **first})}",
        f"batch_size, l2, steps = {first['batch_size']}, {first['l2']!r}, {session.steps}",
        f"l1 = {first['l1']!r}",
        *_changes_code(session),
        *_edits_code(session),
        "",
        f"order_rng = np.random.default_rng({n['seed']})  # shuffles the training rows",
        "order, pos = np.empty(0, dtype=int), 0",
        "for step in range(steps):",
        *_changes_loop_code(session),
        *(["    edit(step)"] if session.edits else []),
        "    if pos >= len(order):  # a new epoch",
        "        order, pos = order_rng.permutation(len(train)), 0",
        "    B = train[order[pos : pos + batch_size]]",
        "    pos += batch_size",
        "    Y, backward = net.forward(X[B], training=True)  # forward",
        "    value, dY = loss(Y, T[B])  # the loss and dL/dY",
        "    net.zero_grad()",
        "    backward(dY)  # backward: fills every dW, db",
        "    for layer in net.layers:",
        "        if isinstance(layer, cr.Dense) and l2:",
        "            layer.grads['W'] += l2 * layer.params['W']  # L2: dW += l2 * W",
        "        if isinstance(layer, cr.Dense) and l1:",
        "            layer.grads['W'] += l1 * np.sign(layer.params['W'])  # L1: dW += l1 sign(W)",
        "    optimizer.step(net)  # the update",
        *(["", "edit(steps)  # set after the last step", ""] if session.edits else [""]),
        "print(net.summary())",
        "print('training loss:', loss(net.forward(X[train])[0], T[train])[0])",
        "",
    ]
    return "\n".join(lines)
