"""The training loop: ``fit(net, loss, X, y, optimizer=..., epochs=...) -> History``.

This is chainrule's one loop over epochs and batches (:func:`run_epochs`): ``fit``,
the estimators (``MLPClassifier``/``MLPRegressor`` with "sgd" or "adam") and the
playground's ticks all train through it; what differs between them is a step of a
:class:`TrainingRun` (the order, the L2 convention, the update, the epoch's logs and
stopping rules), see its docstring. ``fit`` is the workflow a student learns, one named
function per step::

    prepare the data           _prepare_data: check X, y, weights; hold out validation
    for each epoch:            run_epochs, _train_epoch
        order = a fresh permutation of the training indices (from rng)
        for each batch B of order (the last one may be smaller):
            1. forward         Y, backward = net.forward(X[B], training=True)
            2. loss            value, dY = loss(Y, y[B], sample_weight[B])
                                           value += (l2 / 2) * sum ||W||^2 + l1 * sum |W|
            3. backward        backward(dY, need_dX=False, accumulate=False);
                               dW += l2 * W + l1 * sign(W)
            4. clip            clip_norm / clip_value (optional; see chainrule.clipping)
            5. update          optimizer.step(net)
            6. log             the batch's loss, gradient norms, outputs
        log the epoch          _epoch_logs: validation, metrics, History
        schedule, callbacks, early stopping

(``need_dX=False``: the first layer does not compute dL/dX, the gradient with respect
to the data, which nobody reads; the other layers' dX are the chain rule itself.
``accumulate=False``: the gradients are set, not added, as if after ``net.zero_grad()``.)

``batch_size=None`` puts every sample in one batch: full-batch gradient descent, e.g.
``fit(net, loss, X, y, optimizer=SGD(0.5), epochs=1000, batch_size=None)``.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .._checks import as_rng
from ..callbacks import Callback, EarlyStopping
from ..clipping import NORM_EPS, clip_grad_norm, clip_grad_value
from ..layers.base import Layer, iter_buffers
from ..layers.normalization import check_training_batches
from ..losses import Loss, check_sample_weight
from ..metrics import get_metric
from ..optimizers import Optimizer, iter_parameters
from ..sanity import check_pairing
from ..schedules import Schedule, get_schedule
from ._checks import (
    _check_against_net,
    _check_arguments,
    _check_callbacks,
    _check_clipping,
    _check_features,
    _check_loss,
    _check_metrics,
    _check_targets,
    _parameters_dtype,
)
from .checkpoint import open_checkpoints, write_checkpoint
from .history import History, TrainingDivergedError


# ----------------------------------------------------------------------------- fit
def fit(
    net: Layer,
    loss: Loss | str,
    X: np.ndarray,
    y: np.ndarray,
    *,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int | None = 32,
    shuffle: bool = True,
    validation_split: float = 0.0,
    validation_data: tuple | None = None,
    l2: float = 0.0,
    l1: float = 0.0,
    early_stopping: EarlyStopping | bool | None = None,
    callbacks: Iterable[Callback | Callable] = (),
    metrics: Sequence[str | Callable] = (),
    progress: bool = False,
    rng: np.random.Generator | int | None = None,
    sample_weight: np.ndarray | None = None,
    schedule: Schedule | str | None = None,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
) -> History:
    """Train ``net`` on ``(X, y)`` by minibatch gradient descent; return the History.

    Parameters
    ----------
    net : Sequential or Layer
        The network; trained in place. Its parameters' dtype decides the precision, and
        ``X`` must match it (float32 or float64).
    loss : Loss or str
        E.g. ``CrossEntropy()``, ``BinaryCrossEntropy()``, ``MeanSquaredError()``.
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Targets as ``loss`` takes them (class indices, 0/1 labels, one-hot, values).
    optimizer : Optimizer
        ``SGD(lr)``, ``Adam()``, ``AdamW()``, ``RMSProp()``; its state carries over
        between calls.
    epochs : int
        Number of passes over the training data.
    batch_size : int or None, default 32
        Samples per gradient step (the last batch of an epoch may be smaller; larger
        than the data means one batch). None: every sample in one batch, i.e.
        full-batch gradient descent.
    shuffle : bool, default True
        Draw a new order of the samples every epoch (nothing is drawn when there is a
        single batch, whose gradient does not depend on the order).
    validation_split : float in [0, 1), default 0.0
        Fraction of the samples held out (drawn at random with ``rng``, once) to compute
        ``val_loss`` and the validation metrics after each epoch.
    validation_data : tuple (X_val, y_val) or (X_val, y_val, sample_weight_val), optional
        Explicit validation data instead of ``validation_split``.
    l2 : float, default 0.0
        L2 penalty: ``(l2 / 2) * sum ||W||^2`` over the weight matrices "W" (not the
        biases) is added to the loss, and ``l2 * W`` to each dW.
    l1 : float, default 0.0
        L1 penalty: ``l1 * sum |W|`` over the same weight matrices is added to the loss,
        and its subgradient ``l1 * sign(W)`` (0 where a weight is exactly 0) to each dW.
        It pulls every weight towards 0 by the same amount whatever its size, so the
        weights the data does not need end near 0 (sparsity); with ``l2`` too it is the
        elastic net.
    early_stopping : EarlyStopping, True or None
        True means ``EarlyStopping()`` on "val_loss" (or "loss" without validation).
    callbacks : list of Callback or functions f(epoch, logs)
        Run after every epoch (see :mod:`chainrule.callbacks`); one returning True stops
        training. A list even for one: ``callbacks=[f]``.
    metrics : list of str or callables
        Computed every epoch on the training batches and the validation data, e.g.
        ``["accuracy"]`` (see :mod:`chainrule.metrics`).
    progress : bool, default False
        Show a tqdm progress bar over the epochs.
    rng : np.random.Generator or int, optional
        Drives the validation split and the shuffling: the same seed (with the same
        network initialisation) gives bit-identical weights and history. Dropout layers
        draw from their own ``rng``. A Generator is left untouched by a fit that fails
        its checks.
    sample_weight : ndarray of shape (n_samples,), optional
        Per-sample weights, passed batch by batch to the loss (a weighted mean) and the
        metrics. A batch whose weights are all zero is skipped. Only the ratios of the
        weights matter; extreme ones (such as 1e307) are divided by their largest first.
    schedule : Schedule or str, optional
        Learning-rate schedule; replaces the optimizer's own (``optimizer.schedule``).
        At the end of epoch t ``fit`` calls ``optimizer.end_epoch(t, monitored)`` with
        the validation loss (or the training loss without validation), and the schedule
        sets ``optimizer.lr`` for epoch t + 1. With a schedule every ``fit`` starts
        again from ``lr0`` at epoch 1.
    clip_norm : float, optional
        Clip the gradient by its global L2 norm over every parameter (weights and
        biases), as ``torch.nn.utils.clip_grad_norm_``: when the norm exceeds
        ``clip_norm`` all gradients are scaled by ``clip_norm / (norm + 1e-6)``.
    clip_value : float, optional
        Clip each gradient element to ``[-clip_value, clip_value]``, as
        ``torch.nn.utils.clip_grad_value_``. Pass one of the two, not both.
    checkpoint : str or path, optional
        Write a checkpoint there when training ends (normally or stopped by a callback;
        not after an exception), before the callbacks' ``on_train_end``: the weights and
        buffers, the optimizer's state (buffers, step counts, lr), the schedule's and the
        callbacks' states (early stopping's counter and best weights), the random
        generators' states, the epoch and the History. One ``.npz`` file, pickle-free,
        written atomically (see :mod:`chainrule.training.checkpoint`).
    resume : str or path, optional
        Go on from a checkpoint: restore all of the above and train epochs
        ``checkpoint epoch + 1 .. epochs`` (``epochs`` counts from the first epoch), so
        that 50 epochs with ``checkpoint=path`` then ``epochs=100, resume=path`` give
        bit for bit the weights and History of 100 epochs in one call, in a new process
        too. ``net``, ``optimizer``, ``schedule``, ``callbacks``, ``metrics`` and the
        data must be built and passed as for the run that wrote it (checked: a
        ValueError says what differs); ``rng`` is set to the state the checkpointed run
        started from, so the validation split is the same. A file that is not a valid
        checkpoint raises :class:`~chainrule.persistence.ModelFileError`. ``resume`` and
        ``checkpoint`` may be the same path.

    Returns
    -------
    History
        Per-epoch values; ``history.to_frame()`` is a DataFrame (see :class:`History`).

    Raises
    ------
    ValueError, TypeError
        For bad data or arguments (NaN in X, a wrong number of features, class indices
        out of range, a metric that does not suit the targets, a callback's own check,
        ...): all are found before the first step, so a fit that fails them leaves the
        network, the optimizer (learning rate, schedule, state) and a Generator given as
        ``rng`` untouched.
    TrainingDivergedError
        When the loss or a weight becomes NaN or infinite. The network is rolled back
        to the weights at the end of the last good epoch (all finite), the optimizer's
        buffers are cleared, and the message names the epoch and the learning rate.

    Notes
    -----
    The steps, each a function below: prepare the data (:func:`_prepare_data`), then
    every epoch (:func:`_train_epoch`) and every batch: forward, loss, backward, clip,
    update, and log what happened (:func:`_epoch_logs`).

    Callbacks' ``on_train_end`` (which restores early stopping's best weights) runs when
    training ends normally or is stopped by a callback, not when an exception is raised.
    """
    epochs, batch_size = _check_arguments(net, optimizer, epochs, batch_size, shuffle, progress,
                                          l2, l1, (validation_split, validation_data))  # fmt: skip
    loss, (clip_norm, clip_value) = _check_loss(loss), _check_clipping(clip_norm, clip_value)
    schedule = None if schedule is None else get_schedule(schedule)
    rng = as_rng(rng)
    rng_state = rng.bit_generator.state
    try:  # every check, before anything (weights, lr, schedule, rng) moves
        resumed = open_checkpoints(resume, checkpoint, rng)  # rng as the resumed run began
        rng_start = rng.bit_generator.state
        data = _prepare_data(  # step 0
            net, loss, X, y, sample_weight, validation_split, validation_data, batch_size, rng
        )
        run = TrainingRun(net, loss, optimizer, data, metrics, float(l2), clip_norm, clip_value,
                          l1=float(l1))  # fmt: skip
        run.rng, run.shuffle = rng, shuffle
        callbacks = _check_callbacks(callbacks, early_stopping, data.has_val)
        for cb in callbacks:
            cb.on_train_begin(net, tuple(run.keys))
        if resumed is not None:
            resumed.check(run, data, callbacks, epochs, schedule)
        bar = _progress_bar(epochs) if progress else None  # last: nothing fails after it
    except BaseException:
        rng.bit_generator.state = rng_state  # a failed fit has drawn nothing
        raise

    if schedule is not None:
        optimizer.schedule = schedule
    optimizer.start_training()
    run.history = History(run.settings(epochs))
    stopped = _train(run, resumed, epochs, callbacks, bar)
    if checkpoint is not None:
        write_checkpoint(checkpoint, run, data, callbacks, rng, rng_start, stopped)
    for cb in callbacks:
        cb.on_train_end(net, run.history)
    return run.history


def _train(run: TrainingRun, resumed, epochs: int, callbacks, bar) -> bool:
    """``fit``'s epochs: all of them, or those after a resumed checkpoint's epoch. True
    when a callback ended training (now, or in the run that wrote the checkpoint)."""
    first = 1 if resumed is None else resumed.restore(run, run.rng, epochs)
    run.epoch, stopped = first - 1, False
    if bar is not None and first > 1:
        bar.update(min(first - 1, epochs))
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if first <= epochs:
                stopped = run_epochs(run, epochs - first + 1, callbacks, bar)
    finally:
        if bar is not None:
            bar.close()
    return stopped or getattr(resumed, "stopped", False)  # a stopped run stays stopped


# ----------------------------------------------------------------------------- the data
@dataclass
class TrainingData:
    """The training data, checked and split, cut into batches of ``batch_size``."""

    X: np.ndarray  # (n_train, n_features), or a scipy.sparse matrix
    y: np.ndarray  # the targets as given
    w: np.ndarray | None  # sample weights
    T: np.ndarray | None  # y as the loss takes it, checked once (None: call the loss)
    X_val: np.ndarray | None
    y_val: np.ndarray | None
    w_val: np.ndarray | None
    n_outputs: int  # the network's output width
    batch_size: int
    rows: np.ndarray | None = None  # the rows of X to train on (None: all)

    @property
    def n(self) -> int:
        return self.X.shape[0] if self.rows is None else len(self.rows)

    @property
    def n_batches(self) -> int:
        return math.ceil(self.n / self.batch_size)

    @property
    def has_val(self) -> bool:
        return self.X_val is not None

    def batches(
        self, order: np.ndarray | None, first: int = 0
    ) -> Iterator[tuple[int, int, slice | np.ndarray]]:
        """``(start, stop, idx)`` per batch from position ``first`` on: rows ``idx`` of X,
        positions ``start:stop`` of the epoch (``order`` None: in their stored order)."""
        bs, n = self.batch_size, self.n
        for start in range(first, n, bs):
            stop = min(start + bs, n)
            yield start, stop, slice(start, stop) if order is None else order[start:stop]


def _prepare_data(
    net, loss, X, y, sample_weight, validation_split, validation_data, batch_size, rng
) -> TrainingData:
    """Step 0: check X, y and the weights, hold out the validation data, and check the
    targets against the loss and the network's width (so that a failed fit leaves the
    network untouched)."""
    dtype = _parameters_dtype(net)
    X = _check_features(X, dtype, "fit")
    y = _check_targets(y, X.shape[0], "fit")
    w = check_sample_weight(sample_weight, X.shape[0], dtype, "fit")
    X_tr, y_tr, w_tr, X_val, y_val, w_val = _split_validation(
        X, y, w, validation_split, validation_data, dtype, rng
    )
    n_outputs = _check_against_net(net, loss, X, y)
    if validation_data is not None:
        _check_against_net(net, loss, X_val, y_val, "validation_data")
    T = None  # the loss's target checks, once for all batches
    if type(loss).__call__ is Loss.__call__:
        T = loss._check_all_targets(y_tr, n_outputs, dtype)
    check_pairing(net, loss)  # warns when the output layer and the loss do not match
    n_train = X_tr.shape[0]
    bs = n_train if batch_size is None else min(batch_size, n_train)
    check_training_batches(net, n_train, bs)  # no batch of one sample for a BatchNorm
    return TrainingData(X_tr, y_tr, w_tr, T, X_val, y_val, w_val, n_outputs, bs)


def _split_validation(X, y, w, validation_split, validation_data, dtype, rng) -> tuple:
    """``(X_train, y_train, w_train, X_val, y_val, w_val)``; the last three are None
    without validation. ``validation_split`` draws the held-out rows from ``rng``."""
    if validation_data is not None:
        where = "fit (validation_data)"
        X_val = _check_features(validation_data[0], dtype, where)
        y_val = _check_targets(validation_data[1], X_val.shape[0], where, "X_val")
        w_val = None
        if len(validation_data) == 3:
            w_val = check_sample_weight(validation_data[2], X_val.shape[0], dtype, where)
        return X, y, w, X_val, y_val, w_val
    if validation_split == 0:
        return X, y, w, None, None, None
    n = X.shape[0]
    n_val = math.ceil(validation_split * n)
    if n - n_val < 1:
        raise ValueError(
            f"fit: validation_split={validation_split} of {n} samples leaves none to "
            "train on; use a smaller fraction or more data."
        )
    perm = rng.permutation(n)
    val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    w_train = None if w is None else w[train_idx]
    w_val = None if w is None else w[val_idx]
    if w_val is not None and not w_val.sum() > 0:
        raise ValueError("fit: the validation samples all have zero sample_weight.")
    if w_train is not None and not w_train.sum() > 0:
        raise ValueError("fit: the training samples all have zero sample_weight.")
    # one copy of each part, at the start
    return X[train_idx], y[train_idx], w_train, X[val_idx], y[val_idx], w_val


# ----------------------------------------------------------------------------- the run
class TrainingRun:
    """What one training run works with, and the steps of the loop as methods.

    :func:`run_epochs` (THE loop) calls these methods. ``fit`` uses them as they are;
    the loop's other users (the estimators, the playground) subclass this class and
    override the few steps that differ, the loop's extension points:

    ===================  ==========================================================
    begin_epoch()        the epoch's start: snapshot the weights, note the learning
                         rate (:meth:`current_lr`), draw the order (:meth:`draw_order`)
    draw_order()         the order of the training rows this epoch (None: as stored)
    set_lr(lr)           the rate of the next update (``lr_find``: one per batch)
    batch_weight(...)    a batch's weight: its size, or its samples' weight sum
    objective(...)       a batch's data loss (no L2 term) and dL/dY
    check_batch(...)     what a non-finite batch loss does (``fit``: roll back, raise)
    update()             the optimizer's step
    share(...)           a batch's share of the epoch's mean loss
    denominator(sums)    what the shares are divided by (their sum, in ``fit``)
    end_epoch(sums)      the epoch's logs (validation, stopping bookkeeping)
    record(logs, bar)    write the logs down (History, progress bar)
    after_epoch(logs)    schedule and built-in stopping rules; True stops
    stopped(early)       what a stop records
    ===================  ==========================================================

    The weight penalty is used here once (:meth:`penalty`, :meth:`backward`; defined by
    :func:`l2_penalty` and :func:`add_penalty_grad`): each batch adds
    ``((l2 / 2) * sum ||W||^2 + l1 * sum |W|) / d`` to its loss and
    ``(l2 * W + l1 * sign(W)) / d`` to each dW, with d = 1 (``fit``) or, when
    ``l2_per_weight`` (the estimators: scikit-learn's convention), d = the batch's weight
    sum. ``l1`` is keyword only (default 0).
    """

    l2_per_weight = False

    def __init__(
        self,
        net,
        loss,
        optimizer,
        data: TrainingData,
        metrics=(),
        l2: float = 0.0,
        clip_norm=None,
        clip_value=None,
        *,
        rollback: bool = True,
        l1: float = 0.0,
    ) -> None:
        self.net, self.loss, self.optimizer, self.data = net, loss, optimizer, data
        self.l2, self.clip_norm, self.clip_value = l2, clip_norm, clip_value
        self.l1 = l1
        self.dtype = _parameters_dtype(net)
        self.metric_fns = [get_metric(m, loss) for m in metrics]
        names = [name for name, _ in self.metric_fns]
        if len(set(names)) != len(names):
            raise ValueError(f"fit: metrics requested twice: {names}.")
        if {"loss", "lr", "clipped"} & set(names):
            raise ValueError("fit: a metric may not be called 'loss', 'lr' or 'clipped'.")
        _check_metrics(metrics, self.metric_fns, data.y, data.n_outputs, self.dtype)
        self.weights = _weight_layers(net)  # (label, W, dW) of each weight matrix
        self.keys = _log_keys(names, data.has_val, self.clipping, self.weights)
        # rollback: what diverged() restores (every parameter and buffer); otherwise
        # only the weight matrices are kept, for the update ratios
        self.params = [W for _, W, _ in self.weights]
        if rollback:
            self.params = [p for _, _, p, _ in iter_parameters(net)]
            self.params += [B for _, _, B in iter_buffers(net)]
        self.snapshot = [p.copy() for p in self.params]  # weights at the epoch's start
        self.weight_snapshots = [
            self.snapshot[_index_of(self.params, W)] for _, W, _ in self.weights
        ]
        self.scratch = [np.empty_like(W) for _, W, _ in self.weights]
        self.Y_epoch = None  # training outputs of the epoch, for the training metrics
        self.history: History | None = None
        self.rng, self.shuffle = None, True  # draw_order's
        self.epoch = 0  # epochs completed
        self.steps = 0  # updates made
        self.order, self.pos = None, data.n  # at an epoch's end: the next one starts
        self.lr_used = None
        self.batch_loss = math.nan  # the last batch's loss, L2 term included (lr_find)

    @property
    def clipping(self) -> bool:
        return self.clip_norm is not None or self.clip_value is not None

    def settings(self, epochs: int) -> dict:
        """``History.params``."""
        data = self.data
        params = {
            "epochs": epochs,
            "batch_size": data.batch_size,
            "n_samples": data.n,
            "n_val": 0 if not data.has_val else data.X_val.shape[0],
            "optimizer": repr(self.optimizer),
            "loss": repr(self.loss),
            "l2": self.l2,
        }
        if self.l1:
            params["l1"] = self.l1
        if self.clipping:
            params["clip_norm" if self.clip_norm is not None else "clip_value"] = (
                self.clip_norm if self.clip_norm is not None else self.clip_value
            )
        return params

    # ------------------------------------------------------------- the epoch's start
    def begin_epoch(self) -> None:
        for snap, p in zip(self.snapshot, self.params, strict=True):
            np.copyto(snap, p)
        self.lr_used = self.current_lr()
        self.order, self.pos = self.draw_order(), 0

    def current_lr(self) -> float:
        """The learning rate this epoch uses (logged as "lr")."""
        return self.optimizer.lr

    def set_lr(self, lr: float) -> None:
        """Set the rate of the next update (``lr_find`` sets one per batch)."""
        self.optimizer.lr = lr

    def draw_order(self) -> np.ndarray | None:
        """A fresh permutation from ``rng`` (none for a single batch, or unshuffled)."""
        if self.shuffle and self.data.n_batches > 1:
            return self.rng.permutation(self.data.n)
        return None

    # ------------------------------------------------------------- one batch, step by step
    def batch_weight(self, wb, start: int, stop: int) -> float:
        return float(stop - start) if wb is None else float(wb.sum())

    def objective(self, Y, idx, wb) -> tuple[float, np.ndarray]:
        """Step 2: the batch's data loss (without the L2 term) and dL/dY."""
        data = self.data
        if data.T is not None and Y.ndim == 2 and Y.dtype == self.dtype:
            return self.loss._mean_and_grad(Y, data.T[idx], wb)  # checked targets
        return self.loss(Y, data.y[idx], wb)

    def penalty(self, weight: float = 1.0) -> float:
        """The penalty of a batch of weight sum ``weight`` (see the class docstring)."""
        if not (self.l2 or self.l1):
            return 0.0
        d = weight if self.l2_per_weight else 1.0
        return l2_penalty([W for _, W, _ in self.weights], self.l2, d, self.l1)

    def check_batch(self, value: float, b: int) -> None:
        if not math.isfinite(value):
            raise self.diverged(
                self.epoch + 1, f"the training loss became {value} in batch {b + 1}"
            )

    def backward(self, backward, dY, weight: float, grad_norm_sums: list[float]) -> None:
        """Step 3: fill every gradient, add the penalty's to each dW, and add each dW's
        norm to ``grad_norm_sums`` (the log's grad_norm, before any clipping)."""
        if self.net.fast_backward:  # set the grads; skip dL/d(data), nobody reads it
            backward(dY, need_dX=False, accumulate=False)
        else:
            self.net.zero_grad()
            backward(dY)
        d = weight if self.l2_per_weight else 1.0
        for j, (_, W, dW) in enumerate(self.weights):
            add_penalty_grad(W, dW, self.l2, d, self.l1, self.scratch[j])
            grad_norm_sums[j] += norm(dW)

    def clip(self) -> bool:
        """Step 4: clip the gradients of all parameters; True when they were changed."""
        if not self.clipping:
            return False
        grads = [g for _, _, _, g in iter_parameters(self.net)]
        if self.clip_norm is not None:
            total = clip_grad_norm(grads, self.clip_norm)
            return self.clip_norm / (total + NORM_EPS) < 1
        return clip_grad_value(grads, self.clip_value)

    def update(self) -> None:
        """Step 5."""
        self.optimizer.step(self.net)

    def share(self, count: int, weight: float) -> float:
        return weight

    def keep_outputs(self, Y, start: int, stop: int, n: int) -> None:
        """For the training metrics: the batch's outputs, in the epoch's order."""
        if self.metric_fns:
            if self.Y_epoch is None:
                self.Y_epoch = np.zeros((n, Y.shape[1]), dtype=Y.dtype)
            self.Y_epoch[start:stop] = Y

    # ------------------------------------------------------------- the epoch's end
    def denominator(self, sums: _EpochSums) -> float:
        return sums.total_share

    def epoch_losses(self, sums: _EpochSums) -> tuple[float, float]:
        """``(loss, data_loss)``: the epoch's mean batch loss with and without the L2 term."""
        d = self.denominator(sums)
        return sums.total / d, sums.data_total / d

    def end_epoch(self, sums: _EpochSums) -> dict:
        if not all(np.isfinite(p).all() for p in self.params):
            raise self.diverged(self.epoch, "a weight became NaN or inf in the last step")
        return _epoch_logs(self, self.data, sums)

    def record(self, logs: dict, bar) -> None:
        self.history.append(self.epoch, logs)
        if bar is not None:
            _show_progress(bar, logs)

    def after_epoch(self, logs: dict) -> bool:
        monitored = logs["val_loss"] if self.data.has_val else logs["loss"]
        self.optimizer.end_epoch(self.epoch, monitored)
        return False

    def stopped(self, early: bool) -> None:
        """A callback stopped training (``early``: before the last epoch)."""
        if early:
            self.history.stopped_epoch = self.epoch

    def diverged(self, epoch: int, what: str) -> TrainingDivergedError:
        """Roll the weights back to the epoch's start, clear the optimizer's state, and
        return the error to raise."""
        for snap, p in zip(self.snapshot, self.params, strict=True):
            np.copyto(p, snap)
        self.optimizer.reset_state()
        lr = self.optimizer.lr
        back_to = f"the end of epoch {epoch - 1}" if epoch > 1 else "their initial values"
        return TrainingDivergedError(
            f"training diverged in epoch {epoch}: {what} with learning rate lr={lr:g}. "
            f"The weights were rolled back to {back_to} (all finite) and the optimizer's "
            f"state was cleared. Try a lower learning rate, e.g. lr={lr / 10:g}, and check "
            "that the inputs are standardized.",
            epoch=epoch,
            lr=lr,
            history=self.history,
        )


def _log_keys(names: list[str], has_val: bool, clipping: bool, weights) -> list[str]:
    """The names of the values logged every epoch, in the order of ``History``."""
    keys = ["loss", *names]
    if has_val:
        keys += ["val_loss", *(f"val_{name}" for name in names)]
    keys += ["lr", *(["clipped"] if clipping else [])]
    keys += [f"grad_norm_{lbl}" for lbl, _, _ in weights]
    keys += [f"update_ratio_{lbl}" for lbl, _, _ in weights]
    return keys


def l2_penalty(weights: Iterable[np.ndarray], l2: float, d: float = 1.0, l1: float = 0.0) -> float:
    """``((l2 / 2) * sum ||W||^2 + l1 * sum |W|) / d``: THE penalty term, L2 (and L1
    when ``l1`` is given; ``fit``: d = 1; the estimators: d = the weight sum of the
    samples it goes with, scikit-learn's convention). Its gradient:
    :func:`add_penalty_grad`."""
    if not (l2 or l1):
        return 0.0
    weights = list(weights)
    value = (0.5 * l2) * sum(float(np.vdot(W, W)) for W in weights) if l2 else 0.0
    if l1:
        value += l1 * sum(float(np.abs(W).sum()) for W in weights)
    return value / d


def add_penalty_grad(
    W: np.ndarray, dW: np.ndarray, l2: float, d: float = 1.0, l1: float = 0.0, scratch=None
) -> None:
    """``dW += (l2 * W + l1 * sign(W)) / d`` in place: the gradient of
    :func:`l2_penalty` with respect to one weight matrix ``W`` (same shape as
    ``dW``). ``|w|`` has no derivative at 0; ``sign(0) = 0`` picks the subgradient 0
    there (any value in [-l1, l1] is a subgradient). ``scratch``: an array like ``W``
    to compute in (no allocation)."""
    if not (l2 or l1):
        return
    out = np.empty_like(W) if scratch is None else scratch
    if l2:
        np.multiply(W, dW.dtype.type(l2 / d), out=out)
        dW += out
    if l1:
        np.sign(W, out=out)
        out *= dW.dtype.type(l1 / d)
        dW += out


# ----------------------------------------------------------------------------- the loop
@dataclass
class _EpochSums:
    """What the batches of one epoch add up, for its logs."""

    grad_norm_sums: list[float]
    total: float = 0.0  # sum of batch losses (L2 term included), each times its share
    data_total: float = 0.0  # the same without the L2 term
    total_share: float = 0.0
    n_batches: int = 0  # batches visited (steps and skipped ones)
    n_steps: int = 0
    n_clipped: int = 0

    def add(self, value: float, data_value: float, share: float) -> None:
        self.total += value * share
        self.data_total += data_value * share
        self.total_share += share
        self.n_steps += 1


def run_epochs(
    run: TrainingRun,
    epochs: int | None,
    callbacks: Sequence[Callback] = (),
    bar=None,
    max_batches: int | None = None,
) -> bool:
    """THE loop over epochs and batches: ``fit``, the estimators and the playground
    all train through it (each with its ``run``, see :class:`TrainingRun`).

    Runs ``epochs`` epochs (None: no limit), or stops after ``max_batches`` batches,
    possibly within an epoch: the next call continues from there (the playground's
    ticks). After each epoch: its logs, then ``run.after_epoch``, then every
    callback's ``on_epoch_end(epoch, logs)``; any of them returning True stops.
    Returns True when training was stopped that way.
    """
    budget = math.inf if max_batches is None else max_batches
    for i in itertools.count(1) if epochs is None else range(1, epochs + 1):
        if run.pos >= run.data.n:  # at an epoch's end: start the next one
            if budget <= 0:
                return False
            run.begin_epoch()
        sums = _train_epoch(run, run.data, budget)
        budget -= sums.n_batches
        if run.pos < run.data.n:
            return False  # max_batches reached within the epoch
        run.epoch += 1
        logs = run.end_epoch(sums)
        run.record(logs, bar)
        stop = run.after_epoch(logs)
        requests = [bool(cb.on_epoch_end(run.epoch, logs)) for cb in callbacks]  # all see it
        if stop or any(requests):
            run.stopped(epochs is None or i < epochs)
            return True
    return False


def _train_epoch(run: TrainingRun, data: TrainingData, budget: float) -> _EpochSums:
    """The epoch's batches from ``run.pos`` on (at most ``budget`` of them): forward,
    loss, backward, clip, update, log."""
    sums = _EpochSums([0.0] * len(run.weights))
    for b, (start, stop, idx) in enumerate(data.batches(run.order, run.pos)):
        if sums.n_batches >= budget:
            break
        sums.n_batches += 1
        run.pos = stop
        wb = None if data.w is None else data.w[idx]
        weight = run.batch_weight(wb, start, stop)
        if not weight > 0:
            continue  # no sample counts: no gradient, no step
        Y, backward = run.net.forward(data.X[idx], training=True)  # 1. forward
        data_value, dY = run.objective(Y, idx, wb)  # 2. loss
        value = data_value + run.penalty(weight)  # with the L2 term
        run.batch_loss = value
        run.check_batch(value, b)
        run.backward(backward, dY, weight, sums.grad_norm_sums)  # 3. backward
        sums.n_clipped += run.clip()  # 4. clip
        run.update()  # 5. update
        run.steps += 1  # 6. log
        sums.add(value, data_value, run.share(stop - start, weight))
        run.keep_outputs(Y, start, stop, data.n)
    return sums


def _epoch_logs(run: TrainingRun, data: TrainingData, sums: _EpochSums) -> dict:
    """``fit``'s logs of the epoch (see :class:`History`), validation included."""
    order = run.order
    logs: dict[str, float] = {"loss": run.epoch_losses(sums)[0]}
    if run.metric_fns:
        y_ord = data.y if order is None else data.y[order]
        w_ord = data.w if (data.w is None or order is None) else data.w[order]
        for name, fn in run.metric_fns:
            logs[name] = float(fn(run.Y_epoch, y_ord, sample_weight=w_ord))
    if data.has_val:
        Y_val = run.net.forward(data.X_val, training=False)[0]
        val_loss = run.loss(Y_val, data.y_val, data.w_val)[0] + run.penalty()
        if not math.isfinite(val_loss):
            raise run.diverged(run.epoch, f"the validation loss became {val_loss}")
        logs["val_loss"] = val_loss
        for name, fn in run.metric_fns:
            logs[f"val_{name}"] = float(fn(Y_val, data.y_val, sample_weight=data.w_val))
    logs["lr"] = run.lr_used
    if run.clipping:
        logs["clipped"] = sums.n_clipped / max(sums.n_steps, 1)
    weight_logs(run, sums, logs)
    return logs


def weight_logs(run: TrainingRun, sums: _EpochSums, logs: dict) -> None:
    """Add ``grad_norm_<i>`` (the epoch's mean ||dW||) and ``update_ratio_<i>``
    (||W_end - W_start|| / ||W_start||) of every weight matrix to ``logs``."""
    for j, (lbl, _, _) in enumerate(run.weights):
        logs[f"grad_norm_{lbl}"] = sums.grad_norm_sums[j] / max(sums.n_steps, 1)
    for j, (lbl, W, _) in enumerate(run.weights):
        snap = run.weight_snapshots[j]
        np.subtract(W, snap, out=run.scratch[j])
        logs[f"update_ratio_{lbl}"] = _ratio(norm(run.scratch[j]), norm(snap))


def _progress_bar(epochs: int):
    from tqdm.auto import tqdm

    return tqdm(total=epochs, unit="epoch", desc="training")


def _show_progress(bar, logs: dict) -> None:
    shown = {"loss": f"{logs['loss']:.4g}"}
    if "val_loss" in logs:
        shown["val_loss"] = f"{logs['val_loss']:.4g}"
    bar.set_postfix(shown, refresh=False)
    bar.update(1)


# ----------------------------------------------------------------------------- helpers
def _weight_layers(net: Layer) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(label, W, dW)`` for every layer with a weight "W", labelled by its index."""
    layers = getattr(net, "layers", None)
    if layers is None:
        return [("0", net.params["W"], net.grads["W"])] if "W" in net.params else []
    out = []
    for i, layer in enumerate(layers):
        if hasattr(layer, "layers"):
            out += [(f"{i}.{label}", W, dW) for label, W, dW in _weight_layers(layer)]
        elif "W" in layer.params:
            out.append((str(i), layer.params["W"], layer.grads["W"]))
    return out


def norm(A: np.ndarray) -> float:
    """The Frobenius norm sqrt(sum A**2), as a Python float."""
    return math.sqrt(float(np.vdot(A, A)))


def _ratio(num: float, den: float) -> float:
    if den == 0:
        return 0.0 if num == 0 else math.inf
    return num / den


def _index_of(arrays: list[np.ndarray], A: np.ndarray) -> int:
    """Position of the array object ``A`` in ``arrays`` (by identity, not value)."""
    for i, B in enumerate(arrays):
        if B is A:
            return i
    raise ValueError("array not found among the parameters")


def check_callbacks(callbacks) -> list[Callback]:
    """``callbacks`` (a list of Callback instances or functions f(epoch, logs), or None)
    as the Callback instances the loop calls; a TypeError names what is wrong."""
    return (
        _check_callbacks((), None, False)
        if callbacks is None
        else _check_callbacks(callbacks, None, False)
    )
