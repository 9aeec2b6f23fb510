"""One browser tab's playground: its data, network, optimizer and training history.

Training runs chainrule's one loop (``chainrule.training.loop.run_epochs``, the loop of
``cr.fit`` and the estimators) for a fixed number of batches per tick, continuing the
epoch where the last tick stopped (:class:`TickRun`). What it does, step by step (the
exported snippet writes it out line for line, so it rebuilds the same weights)::

    at the start of an epoch: order = rng.permutation(n_train)
    B = train[order[pos:pos + batch_size]]
    Y, backward = net.forward(X[B], training=True)
    value, dY = loss(Y, T[B])
    net.zero_grad(); backward(dY)
    dW += l2 * W + l1 * sign(W)   (every Dense layer; the biases are not penalised)
    optimizer.step(net)

Everything the page draws is computed here: the output surface on a grid, each hidden
neuron's own surface, the weights, the losses and the gradient norms.
"""

from __future__ import annotations

import base64
import math

import numpy as np

from ..training.loop import TrainingData, TrainingRun, run_epochs
from .config import (
    ConfigError,
    build_network,
    build_optimizer,
    check_task,
    clean_config,
    output_width,
)
from .data import PlayData, input_features, numeric_columns, table_data, toy_data, usable_inputs

GRID = 50  # the surfaces are GRID x GRID (2-D) or 2 * GRID points (1-D)
#: each hidden neuron's surface is HIDDEN_GRID x HIDDEN_GRID: the means of the 2 x 2 blocks
#: of the grid (the page draws it 34 px wide; a quarter of the bytes to send and colour)
HIDDEN_GRID = GRID // 2
MAX_CURVE = 400  # points of each loss curve sent to the page
MAX_HISTORY = 20_000  # logged ticks kept; beyond, every other older one is dropped
#: the settings the page may change while training goes on (anything else restarts it)
CONTINUING = ("lr", "l2", "l1", "batch_size")


def _thin(n_rows: int, n: int = MAX_CURVE) -> list[int]:
    """At most ``n`` row indices spread evenly over ``range(n_rows)``, first and last kept."""
    if n_rows <= n:
        return list(range(n_rows))
    return np.unique(np.linspace(0, n_rows - 1, n).round().astype(int)).tolist()


class Session:
    """The state of one tab: ``configure`` (re)builds, ``train`` advances, and
    ``full_view`` / ``tick_view`` give the page everything it draws."""

    def __init__(self, tables: dict | None = None) -> None:
        self.tables = dict(tables or {})  # "file" (--data) and/or "upload" -> Dataset
        self.config: dict = {}
        self.data = None
        self.configure(self.first_config())

    def first_config(self) -> dict:
        """The toy circles, or the ``--data`` table ("file") when the command was given one."""
        if "file" not in self.tables:
            return {}
        regression = self.tables["file"].task == "regression"
        output, loss = ("linear", "mse") if regression else ("softmax", "cross_entropy")
        return {"data": {"name": "file"}, "network": {"output": output, "loss": loss}}

    # ------------------------------------------------------------------ building
    def configure(self, config: dict) -> None:
        """Check ``config``; rebuild the data (if it changed) and the network."""
        config = clean_config(config, tables=tuple(self.tables))
        if self.config and self._only_continuing_changed(config):
            self.retune(config)
            return
        data, Z = self.data, getattr(self, "Z", None)
        if config["data"] != self.config.get("data"):
            data = self._make_data(config["data"])
            config["data"]["inputs"] = usable_inputs(config["data"]["inputs"], data.n_features)
            Z = input_features(data.X, config["data"]["inputs"])
        check_task(config["network"], data.task)
        self.data, self.config, self.Z = data, config, Z
        self.reset()

    def _only_continuing_changed(self, config: dict) -> bool:
        """True when ``config`` differs from the session's only in ``CONTINUING`` settings."""
        old, new = self.config["network"], config["network"]
        rest = [k for k in {*old, *new} if k not in CONTINUING]
        return config["data"] == self.config["data"] and all(old.get(k) == new.get(k) for k in rest)

    def retune(self, config: dict) -> None:
        """Take the new learning rate, regularisation and batch size; keep the network,
        the optimizer's state, the epoch's order and position, and the history.
        ``changes`` records each change at its step (the exported snippet replays them)."""
        self.config = config
        n = config["network"]
        self.optimizer.lr = n["lr"]
        self.run.l2, self.run.l1 = float(n["l2"]), float(n["l1"])
        self.run.data.batch_size = n["batch_size"]
        settings = {k: n[k] for k in CONTINUING}
        if self.steps == 0:  # before the first step: the settings training begins with
            self.first_settings = settings
            return
        if self.changes and self.changes[-1][0] == self.steps:
            self.changes.pop()  # two changes before a step: the last one counts
        if settings != self.settings_at(self.steps):
            self.changes.append((self.steps, settings))

    def settings_at(self, step: int) -> dict:
        """The ``CONTINUING`` settings in force at ``step`` (the first ones, then changes)."""
        settings = self.first_settings
        for at, changed in self.changes:
            if at <= step:
                settings = changed
        return settings

    def adopt_table(self, name: str, dataset) -> None:
        """Offer ``dataset`` as table ``name`` and switch to it, on two of its numeric
        columns (or PCA), with an output and loss that suit its task (softmax and
        cross-entropy for three classes or more, as the page picks for the blobs). If it
        cannot be shown, the session keeps what it had, the previous table of that name
        included."""
        previous = self.tables.get(name)
        self.tables[name] = dataset
        numeric = numeric_columns(dataset)
        net = dict(self.config["network"])
        if dataset.task == "regression":
            net.update(output="linear", loss="mse")
        elif n_classes(dataset) > 2 or (net["loss"] == "mse" and net["output"] == "linear"):
            net.update(output="softmax", loss="cross_entropy")  # as the page does for blobs
        features = numeric[:2] if len(numeric) >= 2 else "pca"
        data = {**self.config["data"], "name": name, "features": features}
        try:
            self.configure({"data": data, "network": net})
        except ValueError:
            if previous is None:
                del self.tables[name]
            else:
                self.tables[name] = previous
            raise

    def _make_data(self, d: dict) -> PlayData:
        if d["name"] in self.tables:
            return table_data(self.tables[d["name"]], d["features"], d["train_ratio"], d["seed"])
        return toy_data(d["name"], d["n_points"], d["noise"], d["train_ratio"], d["seed"])

    def reset(self) -> None:
        """A fresh network from the seed, a fresh optimizer, an empty history."""
        n = self.config["network"]
        data = self.data
        self.n_out = output_width(n, data.task, data.n_classes)
        self.net, self.loss, self.warning = build_network(n, self.Z.shape[1], self.n_out)
        self.optimizer = build_optimizer(n)
        self.dense = [layer for layer in self.net.layers if hasattr(layer, "n_in")]
        self.T = self._targets(data.y)
        self.run = TickRun(self.net, self.loss, self.optimizer, self.Z, data, self.T, n, self.n_out)
        self.grad_norms = [0.0] * len(self.dense)
        self.message = None
        self.history: list[dict] = []
        self.first_settings = {k: n[k] for k in CONTINUING}
        self.changes: list[tuple[int, dict]] = []  # (step, settings) from retune
        self.edits: list[tuple[int, int, int, int, float]] = []  # (step, l, i, j, w)
        self._log()

    def _targets(self, y: np.ndarray) -> np.ndarray:
        """Targets as the loss takes them: class indices, (n, 1) 0/1, one-hot or values."""
        if self.data.task == "regression":
            return y.reshape(-1, 1).astype(np.float64)
        if self.config["network"]["loss"] == "cross_entropy":
            return y
        if self.n_out == 1:
            return y.reshape(-1, 1).astype(np.float64)
        return np.eye(self.n_out)[y]

    # ------------------------------------------------------------------ training
    @property
    def steps(self) -> int:
        """Steps (batches) trained since the last reset."""
        return self.run.steps

    @property
    def epoch(self) -> int:
        """Epochs completed since the last reset."""
        return self.run.epoch

    def _grad_norms(self) -> list[float]:
        """||dW|| of each Dense layer at the last step (L2 term included)."""
        return [float(np.linalg.norm(layer.grads["W"])) for layer in self.dense]

    def step(self, record: bool = True) -> None:
        """One mini-batch step through the loop (no log); ``record`` keeps the dW norms."""
        run_epochs(self.run, None, max_batches=1)
        if record:
            self.grad_norms = self._grad_norms()

    def train(self, steps: int = 1, epochs: int = 0) -> None:
        """``steps`` steps, or to the end of the current epoch (``epochs=1``)."""
        if self.message:  # diverged: wait for a reset
            return
        with np.errstate(all="ignore"):
            if epochs:
                run_epochs(self.run, epochs)
            else:
                run_epochs(self.run, None, max_batches=steps)
            if epochs or steps:
                self.grad_norms = self._grad_norms()
            self._log()

    def _log(self) -> None:
        """Append the losses (data loss, no L2 term), metrics and dW norms to the history."""
        with np.errstate(all="ignore"):
            Y = self.net.forward(self.Z, training=False)[0]  # one pass over all rows
            row = {"step": self.steps, "epoch": self.epoch}
            for part in ("train", "test"):
                rows = getattr(self.data, part)
                row[f"{part}_loss"] = float(self.loss(Y[rows], self.T[rows])[0])
            row.update(self._metrics(self.probabilities(Y)))
        for l, g in enumerate(self.grad_norms, start=1):
            row[f"grad_norm_W{l}"] = g
        self.history.append(row)
        if len(self.history) > MAX_HISTORY:  # an hour of play: drop every other old row
            self.history = [*self.history[:-1:2], self.history[-1]]
        params_finite = all(np.isfinite(p).all() for _, _, p, _ in self.net.parameters())
        if not (math.isfinite(row["train_loss"]) and params_finite):
            lr = self.config["network"]["lr"]
            self.message = (
                f"training diverged at step {self.steps} (the loss or a gradient is no longer "
                f"finite) with learning rate {lr:g}; press reset and try a smaller one, e.g. "
                f"{lr / 10:g}."
            )

    # ------------------------------------------------------------------ predictions
    def scores(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (m, k) for classification; values (m,) for regression."""
        return self.probabilities(self.net.forward(X, training=False)[0])

    def probabilities(self, out: np.ndarray) -> np.ndarray:
        """The network's output ``out`` (m, n_out) read as :meth:`scores` returns it."""
        if self.data.task == "regression":
            return out[:, 0]
        ends_with_probs = type(self.net.layers[-1]).__name__ in ("Softmax", "Sigmoid")
        loss = self.config["network"]["loss"]
        if ends_with_probs:
            P = out
        elif loss == "cross_entropy":
            E = np.exp(out - out.max(axis=1, keepdims=True))
            P = E / E.sum(axis=1, keepdims=True)
        elif loss == "bce":
            P = 0.5 * (1 + np.tanh(0.5 * out))  # the sigmoid, without overflow
        else:
            P = np.clip(out, 0.0, 1.0)
        if P.shape[1] == 1:
            P = np.c_[1 - P, P]
        return P

    def _metrics(self, S: np.ndarray) -> dict:
        """Accuracy or R^2 of the train and test parts, from ``S = scores(X)``."""
        out = {}
        for part in ("train", "test"):
            rows = getattr(self.data, part)
            s = S[rows]
            y = self.data.y[rows]
            if self.data.task == "classification":
                out[f"{part}_accuracy"] = float(np.mean(s.argmax(axis=1) == y))
            else:
                ss = float(np.sum((y - y.mean()) ** 2))
                out[f"{part}_r2"] = 1 - float(np.sum((y - s) ** 2)) / ss if ss > 0 else 0.0
        return out

    # ------------------------------------------------------------------ views
    def grid(self) -> np.ndarray:
        """The points where the surfaces are evaluated: (GRID**2, 2) rows, or (2*GRID, 1)."""
        x0, x1, y0, y1 = self.data.extent()
        if self.data.n_features == 1:
            return np.linspace(x0, x1, 2 * GRID).reshape(-1, 1)
        xs = np.linspace(x0, x1, GRID)
        ys = np.linspace(y1, y0, GRID)  # top row first, as a canvas draws
        gx, gy = np.meshgrid(xs, ys)
        return np.c_[gx.ravel(), gy.ravel()]

    def surfaces(self) -> dict:
        """The output surface on the grid, and each hidden neuron's (its activation A_l)
        on the coarser HIDDEN_GRID (:meth:`_pooled`)."""
        A = input_features(self.grid(), self.config["data"]["inputs"])
        hidden = []
        with np.errstate(all="ignore"):
            for layer in self.net.layers:
                A = layer.forward(A, training=False)[0]
                is_act = not hasattr(layer, "n_in") and type(layer).__name__ != "Dropout"
                if is_act and len(hidden) < len(self.dense) - 1:  # not the output's
                    hidden.append(self._tiles(self._pooled(A)))
            S = self.probabilities(A)
        if self.data.task == "regression":
            y = self.data.y
            lo, hi = float(min(y.min(), S.min())), float(max(y.max(), S.max()))
            output = self._tiles(S[:, None], lo, hi)[0]
        elif S.shape[1] == 2:
            output = {**self._tiles(S[:, 1:], 0.0, 1.0)[0], "kind": "binary"}
        else:
            output = {
                **self._tiles(S.max(axis=1)[:, None], 0.0, 1.0)[0],
                "kind": "multi",
                "cls": base64.b64encode(S.argmax(axis=1).astype(np.uint8).tobytes()).decode(),
                "classes": self._tiles(S, 0.0, 1.0),  # each class's probability
            }
        return {"output": output, "hidden": hidden}

    def _pooled(self, A: np.ndarray) -> np.ndarray:
        """Values on the grid, A (GRID**2, k), as (HIDDEN_GRID**2, k): the mean of each
        2 x 2 block of grid points (rows top first, as :meth:`grid`); 1-D curves as given."""
        if self.data.n_features == 1:
            return A
        k, h = A.shape[1], HIDDEN_GRID
        return A.reshape(h, GRID // h, h, GRID // h, k).mean(axis=(1, 3)).reshape(h * h, k)

    def _tiles(self, A: np.ndarray, lo=None, hi=None) -> list[dict]:
        """One tile per column of A (m, n): 1-D curves as numbers, 2-D surfaces as bytes.

        A 2-D tile is ``{"lo", "hi", "b64"}``: the column quantised from [lo, hi] (its own
        minimum and maximum unless given) to bytes 0..255, base64-encoded.
        """
        A = np.nan_to_num(np.asarray(A, dtype=np.float64), posinf=1e30, neginf=-1e30)
        if self.data.n_features == 1:
            return [{"values": col.round(5).tolist()} for col in A.T]
        lo = A.min(axis=0) if lo is None else np.full(A.shape[1], lo)
        hi = A.max(axis=0) if hi is None else np.full(A.shape[1], hi)
        width = hi - lo
        scale = np.divide(255.0, width, out=np.zeros_like(width), where=width > 0)
        Q = np.clip(np.rint((A - lo) * scale), 0, 255).astype(np.uint8).T.copy()
        return [
            {"lo": float(a), "hi": float(b), "b64": base64.b64encode(q.tobytes()).decode()}
            for a, b, q in zip(lo, hi, Q, strict=True)
        ]

    def set_weight(self, l, i, j, w) -> None:
        """Set ``W_l[i, j] = w`` (the edge from unit i of column l - 1 to unit j of
        column l); the next step starts from it. Recorded in ``edits`` for the snippet."""
        _whole("layer", l, 1, len(self.dense))
        n_in, n_out = self.dense[l - 1].params["W"].shape
        _whole("i", i, 0, n_in - 1)
        _whole("j", j, 0, n_out - 1)
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not abs(w) <= 100:
            raise ConfigError(f"the weight must be a number from -100 to 100, got {w!r}.")
        self.dense[l - 1].params["W"][i, j] = float(w)
        self.edits.append((self.steps, l, i, j, float(w)))
        self._log()

    def gradients(self) -> list[list] | None:
        """dL/dW of each Dense layer at the last step (the penalty included), or None
        before the first step."""
        if self.steps == 0:
            return None
        return [layer.grads["W"].round(7).tolist() for layer in self.dense]

    def weights(self) -> list[dict]:
        return [
            {"W": layer.params["W"].round(5).tolist(), "b": layer.params["b"].round(5).tolist()}
            for layer in self.dense
        ]

    def tick_view(self) -> dict:
        """What the page redraws after training: surfaces, weights, curves, numbers."""
        last = self.history[-1]
        rows = _thin(len(self.history))
        return {
            "step": self.steps,
            "epoch": self.epoch,
            "last": last,
            "grad_norms": self.grad_norms,
            "weights": self.weights(),
            "grads": self.gradients(),
            "surfaces": self.surfaces(),
            "curve": {
                key: [self.history[i][key] for i in rows]
                for key in ("step", "train_loss", "test_loss")
            },
            "message": self.message,
        }

    def data_view(self) -> dict:
        d = self.data
        return {
            "name": d.name,
            "task": d.task,
            "X": d.X.round(5).tolist(),
            "y": d.y.round(5).tolist() if d.task == "regression" else d.y.tolist(),
            "train": d.train.tolist(),
            "test": d.test.tolist(),
            "classes": d.classes,
            "features": d.feature_names,
            "extent": d.extent(),
            "grid": GRID,
            "notes": d.notes,
        }

    def network_view(self) -> dict:
        return {
            "sizes": [self.Z.shape[1], *self.config["network"]["hidden"], self.n_out],
            "layers": [type(layer).__name__ for layer in self.net.layers],
            "summary": self.net.summary(self.Z.shape[1]),
            "inputs": self.config["data"]["inputs"],
            "input_tiles": self._tiles(input_features(self.grid(), self.config["data"]["inputs"])),
            "warning": self.warning,
        }

    def full_view(self) -> dict:
        """Everything the page needs after a (re)configuration."""
        return {
            "config": self.config,
            "tables": {name: table_info(t) for name, t in self.tables.items()},
            "data": self.data_view(),
            "network": self.network_view(),
            "tick": self.tick_view(),
        }


def _whole(name: str, v, lo: int, hi: int) -> None:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ConfigError(f"{name} must be a whole number from {lo} to {hi}, got {v!r}.")


class TickRun(TrainingRun):
    """The playground's run of the loop: its rows ``data.train`` of the inputs ``Z`` (no copy),
    a new order from the seed's generator at each epoch's start, the configured L2 term;
    no epoch logs (the session logs after each tick) and no stop at a non-finite loss
    (the session reports it)."""

    def __init__(self, net, loss, optimizer, Z, data: PlayData, T, n: dict, n_out: int) -> None:
        rows = TrainingData(Z, T, None, None, None, None, None, n_out, n["batch_size"], data.train)
        super().__init__(
            net, loss, optimizer, rows, l2=float(n["l2"]), rollback=False, l1=float(n["l1"])
        )
        self.rng = np.random.default_rng(n["seed"])

    def begin_epoch(self) -> None:
        self.order, self.pos = self.draw_order(), 0

    def draw_order(self) -> np.ndarray:
        rows = self.data.rows
        return rows[self.rng.permutation(len(rows))]

    def check_batch(self, value: float, b: int) -> None:
        """Nothing: the session's log reports a divergence."""

    def end_epoch(self, sums) -> dict:
        return {}

    def record(self, logs: dict, bar) -> None:
        """Nothing: the session logs once per tick."""

    def after_epoch(self, logs: dict) -> bool:
        return False


def table_info(dataset) -> dict:
    """What the page shows of a table: its name, shape, numeric columns, task, and the
    reader's notes (the ``note:`` lines ``chainrule train`` prints for it)."""
    return {
        "name": dataset.name,
        "describe": dataset.describe(),
        "numeric": numeric_columns(dataset),
        "task": dataset.task,
        "n_classes": n_classes(dataset),
        "notes": list(dataset.notes),
    }


def n_classes(dataset) -> int:
    """The number of classes of a classification table's one target (0 for a regression
    or a table of several targets, which the playground refuses)."""
    if dataset.task != "classification" or len(dataset.target) != 1:
        return 0
    return int(dataset.y.nunique())
