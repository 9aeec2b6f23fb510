"""The epoch loop of ``chainrule train``: early stopping on the validation LOSS.

The estimators stop as scikit-learn's do, on the validation *score* (accuracy or R²).
On a small validation set that score saturates: 15 wine rows are all classified right
after two epochs, the score can no longer improve, and the model is frozen there. The
command therefore drives the estimator one epoch at a time (``partial_fit``) and
watches the validation loss, which keeps falling while the model becomes more sure of
its answers, and which rises when it starts to overfit:

    split:  hold out ``validation_fraction`` of the training rows (stratified), but
            only when that gives at least ``MIN_VALIDATION_ROWS`` rows; with fewer,
            early stopping is off (a handful of rows measures nothing) and the run
            trains for --epochs, stopping only when the training loss stalls.
    epoch:  shuffle (own generator, a new order every epoch), one partial_fit pass,
            then val_loss = cross-entropy or half mean squared error on the held-out rows.
    keep:   the weights of the epoch with the lowest val_loss (restored at the end).
    stop:   when val_loss has not fallen by ``tol`` (relative) for ``patience`` epochs.
    diverge: a training loss that is not finite or exceeds DIVERGENCE_FACTOR times the
            loss of the untrained network raises :class:`Diverged` at once.

The ``lbfgs`` solver has no epochs; it is fitted with ``fit`` and none of this applies
(except the divergence check on its final loss).
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..training import TrainingInterrupted

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


def _loss(est, X, y, classification: bool) -> float:
    """Mean cross-entropy (classification) or half mean squared error, no L2 term."""
    if classification:
        P = est.predict_proba(X)
        idx = np.searchsorted(est.classes_, y)
        p = P[np.arange(len(y)), idx] if P.ndim == 2 else np.where(idx == 1, P, 1 - P)
        return float(-np.mean(np.log(np.clip(p, 1e-15, 1.0))))
    R = np.asarray(est.predict(X), dtype=np.float64).reshape(len(y), -1)
    R = R - np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    return float(0.5 * np.mean(np.sum(R * R, axis=1)))


def _initial_loss(est, X, y, classification: bool, classes) -> float:
    """The loss of the untrained network (one zero-step partial_fit would move it; so
    it is computed from the class frequencies / target variance, what a network near
    its initialisation predicts)."""
    if classification:
        return float(math.log(max(len(classes), 2)))
    Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    return float(0.5 * np.mean(np.sum((Y - Y.mean(axis=0)) ** 2, axis=1))) or 1.0


def data_loss(est, n: int) -> float:
    """``est.loss_`` without its L2 term ``0.5 * alpha * sum(W**2) / n``."""
    with np.errstate(over="ignore", invalid="ignore"):  # exploded weights: inf, not a warning
        penalty = sum(float(np.dot(W.ravel(), W.ravel())) for W in est.coefs_)
    if not math.isfinite(penalty):
        return math.inf
    return float(est.loss_) - 0.5 * float(est.alpha) * penalty / n


def diverged(est, n: int, initial: float) -> bool:
    """The loss is not finite, or its data part exceeds DIVERGENCE_FACTOR * initial."""
    loss = float(est.loss_)
    return not math.isfinite(loss) or data_loss(est, n) > DIVERGENCE_FACTOR * initial


def _split(X, y, fraction: float, seed: int, classification: bool):
    from sklearn.model_selection import train_test_split

    n_val = math.ceil(fraction * len(y))
    if n_val < MIN_VALIDATION_ROWS or len(y) - n_val < MIN_VALIDATION_ROWS:
        return None
    stratify = None
    if classification:
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= 2 and n_val >= len(counts):
            stratify = y
    return train_test_split(X, y, test_size=n_val, random_state=seed, stratify=stratify)


def run_recording(call) -> list:
    """Run ``call()`` (an estimator's fit), recording its warnings, and return them.

    The estimator turns Ctrl-C into a warning and returns (scikit-learn's behaviour for
    fit); the command must stop and publish nothing, so it is raised again here.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    if any(issubclass(w.category, TrainingInterrupted) for w in caught):
        raise KeyboardInterrupt
    return caught


def _partial_fit(est, X, y, kwargs) -> None:
    """One epoch; the estimator's warnings are passed on."""
    for w in run_recording(lambda: est.partial_fit(X, y, **kwargs)):
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


class _Bar:
    """A tqdm bar over epochs that is completed (100%) whenever the loop ends."""

    def __init__(self, total: int, enabled: bool, label: str | None = None) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="epoch", file=sys.stderr, leave=True, desc=label)

    def update(self, **postfix) -> None:
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()}, refresh=False)
            self.bar.update(1)

    def close(self, n_epochs: int) -> None:
        if self.bar is not None:
            self.bar.total = n_epochs  # early stop: the bar ends full, at the last epoch
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
) -> LoopResult:
    """Train ``est`` (solver "sgd" or "adam") for up to ``epochs`` epochs, in place.

    Parameters
    ----------
    est : MLPClassifier or MLPRegressor
        Unfitted; its ``early_stopping`` is ignored (this loop does the stopping).
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
    epochs : int
        At most this many passes over the training rows.

    Returns
    -------
    LoopResult

    Raises
    ------
    Diverged
        When the training loss is not finite or exceeds ``DIVERGENCE_FACTOR`` times the
        untrained network's loss.
    """
    classification = hasattr(est, "predict_proba")
    classes = np.unique(y) if classification else None
    parts = _split(X, y, validation_fraction, seed, classification) if early_stopping else None
    if parts is None:
        X_fit, y_fit, X_val, y_val = X, y, None, None
    else:
        X_fit, X_val, y_fit, y_val = parts
    result = LoopResult(n_val=0 if X_val is None else len(y_val), early_stopping=X_val is not None)
    initial = _initial_loss(est, X_fit, y_fit, classification, classes)
    rng = np.random.default_rng(seed)
    est.set_params(early_stopping=False, shuffle=False)
    if isinstance(est.batch_size, int) and est.batch_size > len(y_fit):
        # one batch of all rows: what scikit-learn would clip it to, said quietly
        est.set_params(batch_size=len(y_fit))
    best, best_loss, stale = None, math.inf, 0
    bar = _Bar(epochs, progress, label)
    try:
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(y_fit))
            kwargs = {"classes": classes} if classification and epoch == 1 else {}
            try:
                _partial_fit(est, X_fit[order], y_fit[order], kwargs)
            except ValueError as exc:
                if "non-finite" in str(exc) or "diverged" in str(exc):
                    raise Diverged(epoch, math.inf, initial) from exc
                raise
            loss = float(est.loss_)
            if diverged(est, len(y_fit), initial):
                raise Diverged(epoch, loss, initial)
            result.n_epochs = epoch
            if X_val is None:
                bar.update(loss=loss)
                # the training loss alone: stop when it stalls, as scikit-learn does
                curve = est.loss_curve_
                if epoch > patience and min(curve[-patience:]) > min(curve[:-patience]) - tol:
                    result.stop_reason = f"the training loss did not improve for {patience} epochs"
                    break
                continue
            val = _loss(est, X_val, y_val, classification)
            result.val_loss.append(val)
            bar.update(loss=loss, val_loss=val)
            if val < best_loss * (1 - tol):
                best_loss, stale, result.best_epoch = val, 0, epoch
                best = ([W.copy() for W in est.coefs_], [b.copy() for b in est.intercepts_])
            elif val < best_loss:  # a tiny gain: keep these weights, but count as stale
                best_loss, result.best_epoch, stale = val, epoch, stale + 1
                best = ([W.copy() for W in est.coefs_], [b.copy() for b in est.intercepts_])
            else:
                stale += 1
            if stale >= patience:
                result.stop_reason = (
                    f"early stopping: the validation loss did not improve for {patience} epochs"
                )
                break
    finally:
        bar.close(result.n_epochs)
    if not result.stop_reason:
        result.stop_reason = "the epoch limit"
    if best is not None:
        for W, W_best in zip(est.coefs_, best[0], strict=True):
            W[...] = W_best
        for b, b_best in zip(est.intercepts_, best[1], strict=True):
            b[...] = b_best
    if X_val is not None:
        if classification:
            result.val_score = float(np.mean(est.predict(X_val) == y_val))
        else:
            result.val_score = -min(result.val_loss)
    return result


#: ``--alpha auto`` tries these L2 penalties, strongest first (a tie keeps the first).
AUTO_ALPHAS = (1.0, 0.1)
#: ... and uses this one when there is no validation set (too few rows).
SMALL_DATA_ALPHA = 3.0


def fit_auto_alpha(make_est, X, y, *, alphas=AUTO_ALPHAS, **loop_kwargs):
    """Fit one estimator per L2 penalty in ``alphas``; keep the best on the validation set.

    ``make_est(alpha)`` returns an unfitted estimator. Every candidate sees the same
    split and the same shuffles (same seed), so only the penalty differs. Each is
    early-stopped on its validation loss; then the candidates are compared by the score
    the user reads, at their kept epochs: validation accuracy for a classifier (a tie,
    common on a hundred rows, keeps the stronger penalty, the simpler model), the
    validation loss for a regressor (on one validation set R² orders the candidates
    exactly as the squared error does). Without a validation set (fewer than
    ``MIN_VALIDATION_ROWS`` held-out rows) nothing can be compared, and
    ``SMALL_DATA_ALPHA`` is used alone.

    Returns
    -------
    est, result, tried : estimator, LoopResult, dict alpha -> LoopResult
    """
    progress = loop_kwargs.pop("progress", False)
    fraction = loop_kwargs.get("validation_fraction", 0.1)
    classification = hasattr(make_est(alphas[0]), "predict_proba")
    has_val = loop_kwargs.get("early_stopping", True) and (
        _split(X, y, fraction, 0, classification) is not None
    )
    if not has_val:
        est = make_est(SMALL_DATA_ALPHA)
        return est, fit_epochs(est, X, y, progress=progress, **loop_kwargs), {}
    best, tried = None, {}
    for alpha in alphas:
        est = make_est(alpha)
        result = fit_epochs(est, X, y, progress=progress, label=f"alpha {alpha:g}", **loop_kwargs)
        tried[alpha] = result
        if best is None or result.val_score > best[1].val_score:
            best = (est, result)
    return best[0], best[1], tried
