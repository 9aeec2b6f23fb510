"""scikit-learn's stochastic training procedure, through chainrule's one loop (private).

``MLPClassifier``/``MLPRegressor`` with ``solver="sgd"`` or ``"adam"`` train with
:func:`chainrule.training.loop.run_epochs`, the loop of ``cr.fit``; an
:class:`EstimatorRun` fills in the steps where scikit-learn's procedure differs::

    draw_order     sample_idx = shuffle(sample_idx) with the estimator's RandomState,
                   each epoch from the last one's order (sklearn.utils.shuffle)
    batch_weight   the batch's size, or the true sum of its sample weights
    objective      scikit-learn's loss (``Objective``) on the batch
    L2 term        (alpha / 2) * sum ||W||^2 / sum(w_batch) per batch (l2_per_weight)
    update         SGDRule / AdamRule
    share          loss_ = sum(batch_loss * batch_size) / n_samples
    end_epoch      loss_, loss_curve_, t_, the validation score and n_iter_no_change
                   bookkeeping, divergence (raise, or keep the best weights)
    after_epoch    the schedule (iteration_ends) and tol / n_iter_no_change stopping
                   (trigger_stopping: stop, or divide the adaptive lr by 5)
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.model_selection import train_test_split

from ..training.loop import TrainingData, TrainingRun, weight_logs
from ._solvers import AdamRule, shuffled


class EstimatorRun(TrainingRun):
    """One ``fit``/``partial_fit`` of a stochastic estimator ``est``, as a run of the loop.

    Parameters
    ----------
    est : BaseMLP
        The estimator, with ``network_``, ``_optimizer`` and its curves set up.
    data : TrainingData
        The training rows (``T``: the checked targets) and the validation rows.
    val : tuple (y_val, T_val) or None
        The validation targets as the score and as the loss take them.
    objective : Objective
    random_state : numpy.random.RandomState
        Shuffles the rows, as scikit-learn does.
    """

    l2_per_weight = True

    def __init__(self, est, data: TrainingData, val, objective, random_state) -> None:
        # rollback=False: a fit that raises restores the whole estimator instead
        super().__init__(
            est.network_, objective, est._optimizer, data, l2=float(est.alpha), rollback=False
        )
        self.est, self.val, self.random_state = est, val, random_state
        denses = est._dense_layers()
        self.rule_params = [d.params["W"] for d in denses] + [d.params["b"] for d in denses]
        self.rule_grads = [d.grads["W"] for d in denses] + [d.grads["b"] for d in denses]
        self.sample_idx = np.arange(data.n, dtype=int)
        self.epoch = len(est.history_)
        self.diverged_what = ""
        metric = f"val_{est._validation_metric}"
        val_keys = ["val_loss", metric] if est.early_stopping else []
        rest = [k for k in self.keys if k not in ("loss", "val_loss")]
        self.keys = ["loss", "data_loss", *val_keys, *rest]

    def current_lr(self) -> float:
        if isinstance(self.optimizer, AdamRule):
            return self.optimizer.learning_rate_init
        return getattr(self.optimizer, "learning_rate", 0.0)

    def set_lr(self, lr: float) -> None:
        """Adam's lr0 (its step scales it by the bias corrections), SGD's current rate."""
        if isinstance(self.optimizer, AdamRule):
            self.optimizer.learning_rate_init = lr
        else:
            self.optimizer.learning_rate = lr

    def draw_order(self) -> np.ndarray | None:
        if not self.est.shuffle:
            return None
        self.sample_idx = shuffled(self.sample_idx, self.random_state)
        return self.sample_idx

    def batch_weight(self, wb, start: int, stop: int) -> float:
        return float(stop - start) if wb is None else self.est._weight_sum(wb)

    def objective(self, Y, idx, wb) -> tuple[float, np.ndarray]:
        return self.loss(Y, self.data.T[idx], wb, checked=True)

    def check_batch(self, value: float, b: int) -> None:
        """Nothing: a non-finite loss is handled at the epoch's end, as scikit-learn does."""

    def update(self) -> None:
        self.optimizer.step(self.rule_params, self.rule_grads)

    def share(self, count: int, weight: float) -> int:
        return count

    def denominator(self, sums) -> int:
        return self.data.n

    def end_epoch(self, sums) -> dict:
        """scikit-learn's end of an epoch: ``loss_``, ``t_``, the validation score and
        the no-improvement count; the logs."""
        est = self.est
        loss, data_loss = self.epoch_losses(sums)
        est.n_iter_ += 1
        est.loss_ = loss
        if not math.isfinite(loss):
            return self._diverged_epoch(loss, data_loss)
        est.t_ += self.data.n
        est.loss_curve_.append(loss)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
        val_loss = est._update_no_improvement_count(self.data, self.val, self.loss)
        logs = {"loss": loss, "data_loss": data_loss}
        if est.early_stopping:
            logs["val_loss"] = val_loss
            logs[f"val_{est._validation_metric}"] = est.validation_scores_[-1]
        logs["lr"] = self.lr_used
        weight_logs(self, sums, logs)
        return logs

    def _diverged_epoch(self, loss: float, data_loss: float) -> dict:
        """A non-finite epoch loss: raise, or (early stopping with a finite validation
        score so far) log the epoch and stop, keeping the best weights."""
        est = self.est
        what = f"the training loss became {loss} in epoch {est.n_iter_}"
        if not est.early_stopping or est.best_validation_score_ == -np.inf:
            raise est._diverged(f"{what} of this fit")
        self.diverged_what = what  # keep the best finite weights, as scikit-learn does
        est.t_ += self.data.n
        est.loss_curve_.append(loss)
        est.validation_scores_.append(math.nan)
        est.validation_loss_curve_.append(math.nan)
        logs = {"loss": loss, "data_loss": data_loss, "val_loss": math.nan, "lr": self.lr_used}
        logs[f"val_{est._validation_metric}"] = math.nan
        return logs

    def record(self, logs: dict, bar) -> None:
        """``history_`` (which has no data_loss column) and the progress bar."""
        self.est._log_epoch({k: v for k, v in logs.items() if k != "data_loss"}, bar)

    def after_epoch(self, logs: dict) -> bool:
        """The schedule, then scikit-learn's tol / n_iter_no_change stopping rule."""
        est = self.est
        if self.diverged_what:
            return True
        est._optimizer.iteration_ends(est.t_)
        if est._no_improvement_count > est.n_iter_no_change:
            on = "Validation score" if est.early_stopping else "Training loss"
            msg = (
                f"{on} did not improve more than tol={est.tol:f} for "
                f"{est.n_iter_no_change} consecutive epochs."
            )
            if est._optimizer.trigger_stopping(msg, est.verbose):
                return True
            est._no_improvement_count = 0
        return False

    def stopped(self, early: bool) -> None:
        if not self.diverged_what:
            self.est.history_.stopped_epoch = len(self.est.history_)


def split_validation(est, X, Y, sw, random_state) -> tuple:
    """``(X_train, Y_train, sw_train, X_val, Y_val, sw_val)``: scikit-learn's validation
    split for ``early_stopping`` (stratified by class for classifiers); the last three
    are None without early stopping."""
    if not est.early_stopping:
        return X, Y, sw, None, None, None
    n_val = math.ceil(est.validation_fraction * X.shape[0])
    stratify = est._stratify_labels(Y, n_val)
    arrays = [X, Y] if sw is None else [X, Y, sw]
    try:
        parts = train_test_split(
            *arrays,
            random_state=random_state,
            test_size=est.validation_fraction,
            stratify=stratify,
        )
    except ValueError as exc:
        if stratify is None:
            raise
        raise ValueError(
            f"{exc} (early_stopping=True holds out a validation set stratified by "
            "class, as scikit-learn does for binary targets: every class needs at "
            "least 2 samples, and validation_fraction must leave room for each "
            "class on both sides. Set early_stopping=False, or add samples of "
            "the rare class.)"
        ) from None
    X_train, X_val, Y_train, Y_val = parts[:4]
    sw_train, sw_val = (parts[4], parts[5]) if sw is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or "
            "the size of your dataset."
        )
    return X_train, Y_train, sw_train, X_val, Y_val, sw_val


def batch_size_for(est, n_samples: int) -> int:
    """scikit-learn's batch size: ``min(200, n)`` for "auto", else clipped to [1, n]."""
    if est.batch_size == "auto":
        return min(200, n_samples)
    if est.batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
            UserWarning,
            stacklevel=5,
        )
    return int(np.clip(est.batch_size, 1, n_samples))
