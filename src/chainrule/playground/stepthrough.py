"""Step-through mode: one training step of the session's network, from ``cr.explain``.

Each :class:`chainrule.explain.Step` becomes one stage the page shows per click: its
phase, formula (text and LaTeX), words, shape and the engine's own numbers, plus which
part of the network to highlight (the neurons of a column, or the edges into it).
"""

from __future__ import annotations

import re

import numpy as np

MAX_BATCH = 16
_SYMBOL = re.compile(r"^(d?)([A-Za-z])(\d+)('*)(_new)?$")


def highlight(name: str, n_dense: int) -> dict:
    """What to light up for a symbol: ``{"kind": "nodes"|"edges"|"output", "column": l}``.

    Column 0 is the input, column l the l-th Dense layer's units. Z_l, A_l and their
    gradients are the neurons of column l; W_l, b_l and theirs are the edges into it.
    """
    if name in ("X", "dX"):  # the input (explain's name for A0) and its gradient
        return {"kind": "nodes", "column": 0}
    m = _SYMBOL.match(name)
    if not m:  # the loss L, the targets T, the probabilities P
        return {"kind": "output", "column": n_dense}
    letter, column = m.group(2), int(m.group(3))
    kind = "edges" if letter in ("W", "b") else "nodes"
    return {"kind": kind, "column": column}


def batch_rows(train: np.ndarray, start: int, size: int, seed: int) -> np.ndarray:
    """The step-through's batch: row ``train[start]`` (the sample picked), then ``size - 1``
    other training rows drawn without replacement, as a mini-batch is drawn.

    The draw is seeded by ``(seed, start)``, so the same choice gives the same batch. (The
    rows are sorted by index and a toy set's classes come in blocks: consecutive rows
    would be a batch of one class.)

    Parameters
    ----------
    train : ndarray (n_train,)
        The training rows' indices into the data.
    start : int
        A position in ``train``.
    size : int
        1 to ``n_train``.
    seed : int

    Returns
    -------
    ndarray (size,)
        Indices into the data.
    """
    others = np.delete(np.arange(len(train)), start)
    drawn = np.random.default_rng([seed, start]).choice(others, size - 1, replace=False)
    return train[np.r_[start, drawn].astype(np.int64)]


def stages(session, start: int, size: int) -> dict:
    """Trace one step on ``size`` training rows: the one at position ``start`` of the
    train part, and ``size - 1`` others drawn at random (:func:`batch_rows`).

    Returns
    -------
    dict
        ``rows`` (indices into the data), ``X``, ``T`` (the targets as the loss takes
        them), ``lr``, ``loss_before``, ``loss_after`` and ``stages`` (one per equation).
    """
    import chainrule as cr

    from .config import ConfigError

    train = session.data.train
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start < len(train):
        raise ConfigError(
            f"sample must be a position in the training part, 0 to {len(train) - 1}; got {start!r}."
        )
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_BATCH:
        raise ConfigError(f"the step-through batch takes 1 to {MAX_BATCH} samples; got {size!r}.")
    if size > len(train):
        raise ConfigError(
            f"the step-through batch of {size} samples is larger than the training part "
            f"({len(train)} rows); choose at most {len(train)}."
        )
    rows = batch_rows(train, start, size, session.config["network"]["seed"])
    X, T = session.Z[rows], session.T[rows]
    lr = session.config["network"]["lr"]
    with np.errstate(all="ignore"):
        trace = cr.explain(session.net, session.loss, X, T, lr=lr)
    n_dense = len(session.dense)
    out = []
    for s in trace.steps:
        value = np.asarray(s.value, dtype=np.float64)
        out.append(
            {
                "phase": s.phase,
                "layer": s.layer,
                "name": s.name,
                "text": s.text,
                "latex": s.latex,
                "words": s.words,
                "shape": list(value.shape),
                "value": value.tolist(),
                "highlight": highlight(s.name, n_dense),
            }
        )
    return {
        "rows": rows.tolist(),
        "X": X.tolist(),
        "T": np.asarray(T).tolist(),
        "lr": lr,
        "loss_before": float(trace.loss_value),
        "loss_after": float(trace.loss_after),
        "stages": out,
    }
