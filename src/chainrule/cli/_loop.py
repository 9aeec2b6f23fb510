"""How ``chainrule train`` fits: one ``fit`` of the estimator, with the command's callbacks.

The estimators stop as scikit-learn's do, on the validation *score* (accuracy or R²).
On a small validation set that score saturates: 15 wine rows are all classified right
after two epochs, the score can no longer improve, and the model is frozen there. The
command therefore turns the estimator's own stopping off and calls its ``fit`` once
with callbacks that watch the validation loss, which keeps falling while the model
becomes more sure of its answers, and which rises when it starts to overfit:

    split:  hold out ``validation_fraction`` of the training rows (stratified), but
            only when that gives at least ``MIN_VALIDATION_ROWS`` rows; with fewer,
            early stopping is off (a handful of rows measures nothing) and the run
            trains for --epochs, stopping only when the training loss stalls.
    epoch:  the rows in a new order (``np.random.default_rng(seed).permutation``, see
            :class:`EpochOrder`), one pass of minibatches, then (:class:`ValidationLoss`)
            val_loss = cross-entropy or half mean squared error on the held-out rows.
    keep:   the weights of the epoch with the lowest val_loss (restored at the end).
    stop:   when val_loss has not fallen by ``tol`` (relative) for ``patience`` epochs.
    diverge: an epoch's ``data_loss`` (the estimator's loss without its L2 term) that is
            not finite or exceeds DIVERGENCE_FACTOR times the loss of the untrained
            network raises :class:`Diverged` (:class:`DivergenceCheck`); so does the
            estimator's own divergence error (a NaN or inf loss: a ValueError whose
            cause is a ``TrainingDivergedError``).
    Ctrl-C: the estimator turns it into a ``TrainingInterrupted`` warning; around the
            fit that category is an error, raised again as ``KeyboardInterrupt``; and
            a Ctrl-C whose exception was lost (see ``chainrule._interrupt``) is raised
            after the fit. The progress bar stays where the interrupt found it.

The ``lbfgs`` solver has no epochs; it is fitted with a plain ``fit`` and none of this
applies (except the divergence check on its final loss and the Ctrl-C rule).
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import _interrupt
from .._checks import check_state_keys
from ..callbacks import Callback, EarlyStopping
from ..layers.activations import sigmoid, softmax
from ..training import History, TrainingDivergedError, TrainingInterrupted
from ..training.checkpoint import check_generator_state, generator_state
from ._resume import TrainCheckpoint, data_identity

#: Fewer held-out rows than this and early stopping is off (see the module docstring).
MIN_VALIDATION_ROWS = 50
#: A training loss this many times the untrained network's loss means divergence.
DIVERGENCE_FACTOR = 10.0


class Diverged(ValueError):
    """The training loss blew up: ``epoch`` is where it was noticed, ``loss`` its value."""

    def __init__(self, epoch: int, loss: float, initial: float) -> None:
        super().__init__(
            f"training diverged: the training loss rose from {initial:.4g} (untrained) to "
            f"{loss:.4g} in epoch {epoch}"
        )
        self.epoch, self.loss, self.initial = epoch, loss, initial


@dataclass
class LoopResult:
    """What the loop did: epochs run, the epoch whose weights were kept, and why it stopped.

    ``val_loss`` has one value per epoch (empty without early stopping); ``best_epoch``
    is 1-based, None when the last epoch's weights were kept.
    """

    n_epochs: int = 0
    best_epoch: int | None = None
    stop_reason: str = ""
    n_val: int = 0
    val_loss: list[float] = field(default_factory=list)
    early_stopping: bool = False
    #: at the kept weights: validation accuracy (classifier) or minus the validation loss
    val_score: float = -math.inf
    #: the run at its last epoch, for ``--resume`` (a ``_resume.TrainCheckpoint``)
    checkpoint: object = None
    #: each epoch's training loss without the L2 term, as val_loss measures it (the
    #: epochs of this call; for a resumed run the command adds the earlier ones)
    data_loss: list[float] = field(default_factory=list)


def data_loss(Z: np.ndarray, y: np.ndarray, classes) -> float:
    """Mean cross-entropy (``classes`` given) or half mean squared error, no L2 term.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_outputs)
        The network's raw output: logits (one column for two classes) or values.
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Class labels (each one of ``classes``) or target values.
    classes : ndarray of shape (n_classes,) or None
        The sorted class labels; None for regression.
    """
    if classes is not None:
        idx = np.searchsorted(classes, y)
        if Z.shape[1] == 1:  # as predict_proba: [sigmoid(-z), sigmoid(z)]
            z = Z.ravel()
            p = np.where(idx == 1, sigmoid(z), sigmoid(-z))
        else:
            p = softmax(Z.copy())[np.arange(len(y)), idx]
        return float(-np.mean(np.log(np.clip(p, 1e-15, 1.0))))
    R = np.asarray(Z, dtype=np.float64).reshape(len(y), -1)
    R = R - np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    return float(0.5 * np.mean(np.sum(R * R, axis=1)))


def outputs(net, X: np.ndarray) -> np.ndarray:
    """The network's raw output in inference mode (overflow gives inf, not a warning)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return net.forward(X, training=False)[0]


def initial_loss(y, classes) -> float:
    """The loss of the untrained network, from the class count / the target variance
    (what a network near its initialisation predicts)."""
    if classes is not None:
        return float(math.log(max(len(classes), 2)))
    Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    return float(0.5 * np.mean(np.sum((Y - Y.mean(axis=0)) ** 2, axis=1))) or 1.0


def _split(X, y, fraction: float, seed: int, classification: bool):
    """(X_fit, X_val, y_fit, y_val), or None when a side would have too few rows.

    A class with a single row may land on the validation side only; it is moved to the
    fitting side, so that the model has an output for every class of the training rows.
    """
    from sklearn.model_selection import train_test_split

    n_val = math.ceil(fraction * len(y))
    if n_val < MIN_VALIDATION_ROWS or len(y) - n_val < MIN_VALIDATION_ROWS:
        return None
    stratify = None
    if classification:
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= 2 and n_val >= len(counts):
            stratify = y
    X_fit, X_val, y_fit, y_val = train_test_split(
        X, y, test_size=n_val, random_state=seed, stratify=stratify
    )
    if classification:
        alone = ~np.isin(y_val, y_fit)
        if alone.any():
            X_fit, y_fit = np.concatenate([X_fit, X_val[alone]]), np.append(y_fit, y_val[alone])
            X_val, y_val = X_val[~alone], y_val[~alone]
        if len(y_val) < MIN_VALIDATION_ROWS:  # most classes had a single row: no split
            return None
    return X_fit, X_val, y_fit, y_val


def fit_checked(est, X, y, callbacks=None) -> list:
    """``est.fit(X, y, callbacks=...)``; returns the warnings it gave (recorded, not shown).

    Ctrl-C comes out as ``KeyboardInterrupt``, whatever the estimator was doing: the
    estimator turns it into a ``TrainingInterrupted`` warning and returns (scikit-learn's
    behaviour), so that category is an error for the whole call, and the error becomes
    a ``KeyboardInterrupt`` again; the command then publishes nothing.
    """
    kwargs = {} if callbacks is None else {"callbacks": callbacks}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("error", TrainingInterrupted)
        try:
            est.fit(X, y, **kwargs)
        except TrainingInterrupted:
            raise KeyboardInterrupt from None
        _interrupt.check()  # a Ctrl-C whose exception a finaliser swallowed
    return caught


class EpochOrder(np.random.RandomState):
    """``RandomState(random_state)`` for the initial weights; the command's epoch order.

    The estimator draws each epoch's order as scikit-learn does: ``shuffle(order)`` of
    ``arange(n)``, then ``sample_idx = sample_idx[order]``. Here ``shuffle`` gives the
    ``order`` that makes ``sample_idx`` equal ``default_rng(seed).permutation(n)``, a new
    one every epoch: the order ``chainrule train`` has always used, so a seed trains the
    same model as before.
    """

    def __init__(self, random_state: int | None, seed: int) -> None:
        super().__init__(random_state)
        self._rng = np.random.default_rng(seed)
        self._sample_idx: np.ndarray | None = None  # the estimator's, after the last call

    def shuffle(self, x) -> None:
        if self._sample_idx is None:
            self._sample_idx = np.arange(len(x))
        wanted = self._rng.permutation(len(x))
        x[...] = np.argsort(self._sample_idx)[wanted]
        self._sample_idx = wanted

    def state_dict(self) -> dict:
        """The epoch order's generator state (JSON values); a new ``fit`` starts the
        estimator's order from ``arange(n)`` again, so that is all a resume needs."""
        return generator_state(self._rng.bit_generator.state)

    def load_state_dict(self, state: dict) -> None:
        check_generator_state(state)
        if state["bit_generator"] != type(self._rng.bit_generator).__name__:
            raise ValueError(f"the epoch order's generator is not a {state['bit_generator']}.")
        self._rng.bit_generator.state = state


class Snapshot:
    """The run as ``--resume`` needs it, taken by the stopping callback when training
    ends (:meth:`take`), before :class:`ValidationLoss` puts the best weights back: the
    estimator at its last epoch with its solver's state (its own hyper-parameters
    ``own`` back), the history, the stopping rule's and the epoch order's states, and
    the rows' identity."""

    def __init__(self, est, stopping, order: EpochOrder, own: dict, data: dict) -> None:
        self.est, self.stopping, self.order, self.own, self.data = est, stopping, order, own, data
        self.checkpoint = None

    def take(self, net, history) -> None:
        fitted = self.est.get_params()
        self.est.set_params(**self.own)
        spec, arrays = self.est._to_chainrule_state()
        self.est.set_params(**{k: fitted[k] for k in self.own})
        arrays = {k: np.array(v, copy=True) for k, v in arrays.items()}
        kept = History(dict(history.params))
        kept.epochs, kept.stopped_epoch = list(history.epochs), history.stopped_epoch
        kept.history = {k: list(v) for k, v in history.history.items()}
        stopping = [type(self.stopping).__name__, self.stopping.state_dict(net)]
        self.checkpoint = TrainCheckpoint(
            (spec, arrays), kept, stopping, self.order.state_dict(), self.data
        )


def diverged_cause(exc: ValueError) -> TrainingDivergedError | None:
    """The ``TrainingDivergedError`` behind an estimator's divergence ``ValueError``
    (scikit-learn's type, exactly; the estimators put the typed error in its
    ``__cause__``), or None for any other ValueError."""
    cause = exc.__cause__
    return cause if isinstance(cause, TrainingDivergedError) else None


class DivergenceCheck(Callback):
    """Raise :class:`Diverged` when an epoch's ``data_loss`` is not finite or exceeds
    ``DIVERGENCE_FACTOR`` times ``initial``, the untrained network's loss."""

    def __init__(self, initial: float) -> None:
        self.initial = initial

    def diverged(self, loss: float) -> bool:
        return not math.isfinite(loss) or loss > DIVERGENCE_FACTOR * self.initial

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        if self.diverged(float(logs["data_loss"])):
            raise Diverged(epoch, float(logs["data_loss"]), self.initial)


class ValidationLoss(EarlyStopping):
    """Early stopping on the loss of held-out rows, which it computes after each epoch.

    Adds ``val_loss`` to the logs. The weights of the lowest val_loss so far are kept
    (restored at the end); training stops when it has not fallen by ``tol`` (relative)
    for ``patience`` epochs. A smaller fall keeps the weights but counts as no progress.
    """

    def __init__(self, X_val, y_val, classes, patience: int, tol: float) -> None:
        super().__init__("val_loss", patience=patience)
        self.X_val, self.y_val, self.classes, self.tol = X_val, y_val, classes, tol
        self.history: list[float] = []

        self._resumed: dict | None = None
        self.snapshot: Snapshot | None = None  # taken before the best weights come back

    def on_train_end(self, net, history) -> None:
        if self.snapshot is not None:
            self.snapshot.take(net, history)
        super().on_train_end(net, history)

    def on_train_begin(self, net, keys) -> None:
        self.net = net
        super().on_train_begin(net, [*keys, "val_loss"])
        if self._resumed is not None:
            self.load_state_dict(self._resumed, net)

    def resume_from(self, state: dict) -> None:
        """Start from ``state`` (:meth:`state_dict`'s) when training begins."""
        self._resumed = state

    def state_dict(self, net) -> dict:
        """EarlyStopping's state and the val_loss of every epoch (``"val_loss"``)."""
        state = {**super().state_dict(net), "class": type(self).__name__}
        return {**state, "val_loss": np.asarray(self.history, np.float64)}

    def load_state_dict(self, state: dict, net) -> None:
        state = dict(state)
        self.history = _curve(state.pop("val_loss", None), "ValidationLoss")
        super().load_state_dict(state, net)

    def on_epoch_end(self, epoch: int, logs: dict) -> bool:
        val = data_loss(outputs(self.net, self.X_val), self.y_val, self.classes)
        logs["val_loss"] = val
        self.history.append(val)
        if val < self.best_value:
            self.wait = 0 if val < self.best_value * (1 - self.tol) else self.wait + 1
            self.best_value, self.best_epoch = val, epoch
            for saved, p in zip(self._best, self._params, strict=True):
                np.copyto(saved, p)
        else:
            self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False


class LossStall(Callback):
    """Stop when the training loss has not fallen below its earlier minimum by ``tol``
    in the last ``patience`` epochs (the rule when there is no validation set)."""

    def __init__(self, patience: int, tol: float) -> None:
        self.patience, self.tol, self.curve = patience, tol, []
        self.snapshot: Snapshot | None = None

    def on_train_end(self, net, history) -> None:
        if self.snapshot is not None:
            self.snapshot.take(net, history)

    def resume_from(self, state: dict) -> None:
        """Go on from ``state`` (:meth:`state_dict`'s)."""
        check_state_keys(state, ("curve",), "LossStall", ("curve",))
        self.curve = _curve(state["curve"], "LossStall")

    def state_dict(self, net=None) -> dict:
        """The training loss of every epoch so far (``"curve"``)."""
        return {"curve": np.asarray(self.curve, np.float64)}

    def on_epoch_end(self, epoch: int, logs: dict) -> bool:
        self.curve.append(float(logs["loss"]))
        recent, before = self.curve[-self.patience :], self.curve[: -self.patience]
        return epoch > self.patience and min(recent) > min(before) - self.tol


def _curve(values, owner: str) -> list[float]:
    """A stored 1-D float64 array of losses, as a list (ValueError otherwise)."""
    if not (isinstance(values, np.ndarray) and values.dtype == np.float64 and values.ndim == 1):
        raise ValueError(f"{owner}: the stored losses must be a 1-D float64 array.")
    return values.tolist()


class DataLossCurve(Callback):
    """Each epoch's ``data_loss``: the mean training loss without the L2 term, the
    quantity the validation loss measures (the loss plot and the report show it)."""

    def __init__(self) -> None:
        self.curve: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self.curve.append(float(logs["data_loss"]))


class ProgressBar(Callback):
    """A tqdm bar over epochs showing the loss (and val_loss); :meth:`close` fills it."""

    def __init__(self, total: int, label: str | None = None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="epoch", file=sys.stderr, leave=True, desc=label)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        shown = {k: f"{logs[k]:.4g}" for k in ("loss", "val_loss") if k in logs}
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def close(self, n_epochs: int | None) -> None:
        """Close the bar; ``n_epochs`` (the epochs run) becomes its total, so that an
        early stop ends full; None (Ctrl-C) leaves it where it was."""
        if n_epochs is not None:
            self.bar.total = n_epochs
        self.bar.refresh()
        self.bar.close()


def fit_epochs(
    est,
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    early_stopping: bool = True,
    validation_fraction: float = 0.1,
    patience: int = 20,
    tol: float = 1e-4,
    seed: int = 0,
    progress: bool = False,
    label: str | None = None,
    resume=None,
    initial: float | None = None,
) -> LoopResult:
    """Train ``est`` (solver "sgd" or "adam") for up to ``epochs`` epochs, in place.

    Parameters
    ----------
    est : MLPClassifier or MLPRegressor
        Unfitted, with an int ``random_state`` (its initial weights); its own early
        stopping is turned off (the callbacks here do the stopping).
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
    epochs : int
        At most this many passes over the training rows.
    initial : float, optional
        The untrained network's loss the divergence check compares with; by default
        :func:`initial_loss` of the rows fitted on (cross-validation passes all rows').

    Returns
    -------
    LoopResult

    Raises
    ------
    Diverged
        When the training loss is not finite or exceeds ``DIVERGENCE_FACTOR`` times the
        untrained network's loss.
    ValueError
        With ``resume`` (a ``_resume.TrainCheckpoint`` whose estimator ``est`` is), when
        the rows or the stopping rule differ from the checkpointed run's.
    KeyboardInterrupt
        On Ctrl-C (the estimator is then as it was before the call).
    """
    from sklearn.exceptions import ConvergenceWarning

    classes = np.unique(y) if hasattr(est, "predict_proba") else None
    parts = _split(X, y, validation_fraction, seed, classes is not None) if early_stopping else None
    X_fit, X_val, y_fit, y_val = (X, None, y, None) if parts is None else parts
    initial = initial_loss(y_fit, classes) if initial is None else initial
    stopping = LossStall(patience, tol)
    if X_val is not None:
        stopping = ValidationLoss(X_val, y_val, classes, patience, tol)
    own = {k: est.get_params()[k] for k in ("random_state", "n_iter_no_change", "warm_start")}
    order, done = EpochOrder(est.random_state, seed), 0
    if resume is not None:
        done = resume.prepare(est, X, y, stopping, order)
    bar = ProgressBar(epochs - done, label) if progress else None
    stopping.snapshot = snapshot = Snapshot(est, stopping, order, own, data_identity(X, y))
    curve = DataLossCurve()
    callbacks = [DivergenceCheck(initial), stopping, curve, *([bar] if bar else [])]
    est.set_params(early_stopping=False, shuffle=True, max_iter=epochs - done,
                   n_iter_no_change=np.inf, random_state=order)  # fmt: skip
    if isinstance(est.batch_size, int) and est.batch_size > len(y_fit):
        # one batch of all rows: what scikit-learn would clip it to, said quietly
        est.set_params(batch_size=len(y_fit))
    caught = None
    try:
        caught = fit_checked(est, X_fit, y_fit, callbacks)
    except ValueError as exc:  # a NaN or inf loss, found by the estimator
        cause = diverged_cause(exc)
        if cause is None:
            raise
        raise Diverged(cause.epoch, math.inf, initial) from exc
    finally:
        est.set_params(**own, max_iter=epochs)
        est.__dict__.pop("_continue_solver", None)
        if bar is not None:
            bar.close(None if caught is None else bar.bar.n)
    for w in caught:  # the epoch limit is reported by the command
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    result = _result(est, stopping, X_val, y_val, patience)
    result.checkpoint, result.data_loss = snapshot.checkpoint, curve.curve
    return result


def _result(est, stopping: Callback, X_val, y_val, patience: int) -> LoopResult:
    """The LoopResult of a finished fit, from the estimator and its stopping callback."""
    result = LoopResult(n_epochs=len(est.history_), stop_reason="the epoch limit")
    if est.history_.stopped_epoch is not None:
        result.stop_reason = f"the training loss did not improve for {patience} epochs"
    if X_val is None:
        return result
    if est.history_.stopped_epoch is not None:
        result.stop_reason = (
            f"early stopping: the validation loss did not improve for {patience} epochs"
        )
    result.n_val, result.early_stopping = len(y_val), True
    result.val_loss, result.best_epoch = stopping.history, stopping.best_epoch
    if hasattr(est, "predict_proba"):
        result.val_score = float(np.mean(est.predict(X_val) == y_val))
    else:
        result.val_score = -min(result.val_loss)
    return result


#: ``--alpha auto`` tries these L2 penalties, strongest first (a tie keeps the first).
AUTO_ALPHAS = (1.0, 0.1)
#: ... and these, by cross-validation, when there is no validation set (too few rows).
SMALL_DATA_ALPHAS = (3.0, 1.0, 0.1)
#: ... in this many folds: ``len(SMALL_DATA_ALPHAS) * CV_FOLDS`` fits, then one on all rows.
CV_FOLDS = 5
#: lbfgs (no epochs, no folds fitted by the loop) with ``--alpha auto`` uses this one.
SMALL_DATA_ALPHA = 3.0


@dataclass
class CrossValidation:
    """What ``--alpha auto`` measured without a validation set: ``losses[alpha]`` is the
    mean out-of-fold ``data_loss`` over ``folds`` folds of the training rows."""

    folds: int
    losses: dict[float, float]

    @property
    def n_fits(self) -> int:
        return self.folds * len(self.losses)


def _folds(y, k: int, seed: int, classification: bool) -> list:
    """``k`` (train, held-out) index pairs: stratified by class when every class has
    ``k`` rows, shuffled with ``seed``."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if classification and np.unique(y, return_counts=True)[1].min() >= k:
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(y, y))
    return list(KFold(k, shuffle=True, random_state=seed).split(y))


def cross_validated_alpha(make_est, X, y, *, alphas=SMALL_DATA_ALPHAS, folds=CV_FOLDS,
                          **loop_kwargs) -> CrossValidation:  # fmt: skip
    """The mean out-of-fold loss of each L2 penalty in ``alphas``, by ``folds``-fold
    cross-validation on ``(X, y)``.

    Every penalty sees the same folds and the same seed, so only the penalty differs.
    Each fold's fit runs as :func:`fit_epochs` without early stopping (up to ``epochs``,
    stopping when the training loss stalls); its held-out rows are scored with
    :func:`data_loss` (cross-entropy, or half squared error of the standardised
    target), summed over the folds and divided by the number of rows. A row whose class
    the fold's model never saw counts ``-log(1e-15)``, as a clipped probability.
    """
    loop_kwargs = {**loop_kwargs, "early_stopping": False, "progress": False}
    classification = hasattr(make_est(alphas[0]), "predict_proba")
    classes = np.unique(y) if classification else None
    loop_kwargs["initial"] = initial_loss(y, classes)  # a fold diverges as the run would
    pairs = _folds(y, folds, loop_kwargs.get("seed", 0), classification)
    losses = {}
    for alpha in alphas:
        total = 0.0
        for fit_rows, held in pairs:
            est = make_est(alpha)
            fit_epochs(est, X[fit_rows], y[fit_rows], **loop_kwargs)
            Z = outputs(est.network_, X[held])
            if classification and len(est.classes_) != len(classes):  # a class unseen
                Z = _widen(Z, est.classes_, classes)
            total += len(held) * data_loss(Z, y[held], classes)
        losses[alpha] = total / len(y)
    return CrossValidation(folds, losses)


def _widen(Z: np.ndarray, seen, classes) -> np.ndarray:
    """Logits over ``seen`` as logits over all ``classes``: an unseen class gets -inf
    (probability 0); two seen classes' single logit z becomes the columns (0, z)."""
    if Z.shape[1] == 1:
        Z = np.hstack([np.zeros_like(Z), Z])
    wide = np.full((len(Z), len(classes)), -np.inf)
    wide[:, np.searchsorted(classes, seen)] = Z
    return wide


def fit_auto_alpha(make_est, X, y, *, alphas=AUTO_ALPHAS, **loop_kwargs):
    """Fit one estimator per L2 penalty in ``alphas``; keep the best on the validation set.

    ``make_est(alpha)`` returns an unfitted estimator. Every candidate sees the same
    split and the same shuffles (same seed), so only the penalty differs. Each is
    early-stopped on its validation loss; then the candidates are compared by the score
    the user reads, at their kept epochs: validation accuracy for a classifier (a tie,
    common on a hundred rows, keeps the stronger penalty, the simpler model), the
    validation loss for a regressor (on one validation set R² orders the candidates
    exactly as the squared error does).

    Without a validation set (fewer than ``MIN_VALIDATION_ROWS`` held-out rows) the
    penalty is chosen by :func:`cross_validated_alpha` among ``SMALL_DATA_ALPHAS``: the
    lowest mean out-of-fold loss (a tie keeps the stronger), then one fit on all rows.

    Returns
    -------
    est, result, tried : estimator, LoopResult, dict alpha -> LoopResult or CrossValidation
    """
    progress = loop_kwargs.pop("progress", False)
    fraction = loop_kwargs.get("validation_fraction", 0.1)
    classification = hasattr(make_est(alphas[0]), "predict_proba")
    has_val = loop_kwargs.get("early_stopping", True) and (
        _split(X, y, fraction, 0, classification) is not None
    )
    if not has_val:
        cv = cross_validated_alpha(make_est, X, y, **loop_kwargs)
        est = make_est(min(cv.losses, key=lambda a: (cv.losses[a], -a)))
        return est, fit_epochs(est, X, y, progress=progress, **loop_kwargs), cv
    best, tried = None, {}
    for alpha in alphas:
        est = make_est(alpha)
        result = fit_epochs(est, X, y, progress=progress, label=f"alpha {alpha:g}", **loop_kwargs)
        tried[alpha] = result
        if best is None or result.val_score > best[1].val_score:
            best = (est, result)
    return best[0], best[1], tried
