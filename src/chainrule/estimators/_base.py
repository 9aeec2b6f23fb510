"""The shared base of ``MLPClassifier`` and ``MLPRegressor`` (private).

The estimators keep scikit-learn's API and reproduce its training procedure, but the
network is a :class:`chainrule.Sequential` and every gradient comes from chainrule's
hand-written backward passes::

    network_ = Sequential(Dense, act, [Dropout], Dense, act, [Dropout], ..., Dense)
                                                   act: Identity/Sigmoid/Tanh/ReLU
    one step:   Z, backward_l = layer.forward(A, training=True)   for each layer
                value, dZ = objective(Z, T, sample_weight)         (output activation
                                                                    fused into the loss)
                backward_l(dA) from the last layer to the first    (the first Dense
                                                                    skips its dX)
                dW += (alpha / sum(w)) * W                         (the L2 term)
                loss = value + (alpha / 2) * sum ||W||^2 / sum(w)
                W += update(dW)                                    (SGDRule / AdamRule)

"sgd" and "adam" run these steps in chainrule's one training loop, the loop of
``cr.fit`` (``chainrule.training.loop.run_epochs``), with scikit-learn's procedure filled
in by ``_training.EstimatorRun``; "lbfgs" is a full-batch solver beside it (scipy).

``coefs_[i]`` and ``intercepts_[i]`` *are* the arrays ``W`` and ``b`` of the i-th Dense
layer of ``network_`` (the same objects, updated in place), so the fitted attributes
and the network never disagree; if a user assigns new arrays to ``coefs_`` they are
adopted by the network before the next prediction or fit.
"""

from __future__ import annotations

import math
import threading
import warnings
from itertools import pairwise
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._checks import state_array, state_float
from ..layers.dense import Dense
from ..layers.dropout import Dropout
from ..layers.mlp import build_mlp
from ..layers.registry import SKLEARN_ACTIVATIONS, activation_name, get_activation
from ..layers.sequential import Sequential
from ..persistence.state import join_state, layer_from_state, layer_to_state, split_state
from ..training import History, TrainingDivergedError, TrainingInterrupted
from ..training.checkpoint import layer_rng_states, set_layer_rng_states
from ..training.loop import (
    TrainingData,
    add_penalty_grad,
    check_callbacks,
    l2_penalty,
    norm,
    run_epochs,
)
from ._objective import Objective
from ._solvers import AdamRule, SGDRule, init_layer
from ._training import EstimatorRun, batch_size_for, split_validation

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _sk_validate_data
except ImportError:  # pragma: no cover - scikit-learn 1.5
    _sk_validate_data = None

STOCHASTIC_SOLVERS = ("sgd", "adam")
# scikit-learn's words for a diverged fit; our errors begin with them, so that code
# matching on scikit-learn's message keeps working.
SKLEARN_DIVERGED = (
    "Solver produced non-finite parameter weights. The input data may contain large "
    "values and need to be preprocessed."
)
#: scikit-learn's hidden activations: a view of the one registry (chainrule.layers)
HIDDEN_ACTIVATIONS = {name: get_activation(name) for name in SKLEARN_ACTIVATIONS}


# ids of the estimators being fitted now, in any thread: estimators are not
# thread-safe, so a second fit, or a prediction, of one of them is refused meanwhile.
_FITTING: set[int] = set()
_FITTING_LOCK = threading.Lock()


def validate_data(estimator, *args, **kwargs):
    """scikit-learn's ``validate_data`` (1.6+), or the 1.5 method it replaced."""
    if _sk_validate_data is not None:
        return _sk_validate_data(estimator, *args, **kwargs)
    return estimator._validate_data(*args, **kwargs)  # pragma: no cover


class BaseMLP(BaseEstimator):
    """Shared machinery of :class:`~chainrule.MLPClassifier` and ``MLPRegressor``.

    Not to be used directly. Subclasses define ``__init__`` (scikit-learn's parameters
    plus chainrule's keyword-only extras) and the target handling: ``_validate_input``,
    ``_output_activation``, ``_objective_name``, ``_loss_targets``, ``_val_targets``,
    ``_stratify_labels`` and ``_score_raw``.
    """

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(SKLEARN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        # chainrule's extras
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "progress": ["boolean"],
    }

    _validation_metric = "score"  # the name of validation_scores_ in history_

    # ------------------------------------------------------------------ structure
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, Integral) or s <= 0:
                raise ValueError(
                    f"hidden_layer_sizes must be > 0, got {sizes}. Give one positive "
                    "integer per hidden layer, e.g. hidden_layer_sizes=(100,) or (64, 32)."
                )
        return [int(s) for s in sizes]

    def _dense_layers(self) -> list[Dense]:
        return [layer for layer in self.network_.layers if isinstance(layer, Dense)]

    def _assemble(self, denses: list[Dense], dropout_rng) -> Sequential:
        """The network: Dense layers with the hidden activation (and dropout) between."""
        return build_mlp(
            denses=denses, activation=self.activation, dropout=self.dropout, rng=dropout_rng
        )

    def _network_signature(self) -> tuple[str | None, float]:
        """(hidden activation, dropout rate) of ``network_`` as built."""
        activation, p = None, 0.0
        for layer in self.network_.layers:
            if activation is None:
                activation = activation_name(layer, SKLEARN_ACTIVATIONS)
            if isinstance(layer, Dropout):
                p = layer.p
        return activation, p

    def _dtype(self) -> np.dtype:
        return self._dense_layers()[0].dtype

    def _sync_network(self) -> None:
        """Adopt arrays a user assigned to ``coefs_``/``intercepts_`` into ``network_``."""
        denses = self._dense_layers()
        if len(self.coefs_) != len(denses) or len(self.intercepts_) != len(denses):
            raise ValueError(
                f"coefs_ and intercepts_ must hold one array per layer ({len(denses)}), got "
                f"{len(self.coefs_)} and {len(self.intercepts_)}; refit the estimator."
            )
        for attr, key in (("coefs_", "W"), ("intercepts_", "b")):
            arrays = getattr(self, attr)
            for i, dense in enumerate(denses):
                if arrays[i] is dense.params[key]:
                    continue
                new = np.array(arrays[i], dtype=dense.dtype)
                if new.shape != dense.params[key].shape:
                    raise ValueError(
                        f"{attr}[{i}] has shape {new.shape}, but layer {i} needs "
                        f"{dense.params[key].shape}; assign an array of that shape."
                    )
                dense.params[key] = new
                arrays[i] = new

    # ------------------------------------------------------------------ fitting
    def _fit(self, X, y, sample_weight=None, incremental: bool = False, callbacks=None):
        callbacks = check_callbacks(callbacks)
        X, Y, sw, random_state = self._prepare_fit(X, y, sample_weight, incremental)
        recovered = False
        if self.solver in STOCHASTIC_SOLVERS:
            recovered = self._fit_stochastic(X, Y, sw, random_state, incremental, callbacks)
        else:  # L-BFGS: a full-batch solver beside the loop; callbacks begin and end only
            for cb in callbacks:
                cb.on_train_begin(self.network_, tuple(self._lbfgs_keys()))
            self._fit_lbfgs(X, Y, sw)
            for cb in callbacks:
                cb.on_train_end(self.network_, self.history_)
        if not recovered and not math.isfinite(self.loss_):  # e.g. L-BFGS ending on NaN
            raise self._diverged(f"the training loss is {self.loss_}")
        if not all(np.isfinite(W).all() for W in (*self.coefs_, *self.intercepts_)):
            raise self._diverged()
        return self

    def _prepare_fit(self, X, y, sample_weight, incremental: bool) -> tuple:
        """Validate X, y and the weights; initialise ``network_`` (a first fit) or go on
        from it. Returns ``(X, Y, sw, random_state)``."""
        hidden = self._hidden_sizes()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        if not first_pass:
            dtype = self._dtype()
            if X.dtype != dtype:  # continue in the precision the model was built in
                X = X.astype(dtype)
        if sp.issparse(X) and X.format != "csr" and self.solver in STOCHASTIC_SOLVERS:
            X = X.tocsr()  # minibatches are row slices; a CSC copy of them would be slow
        sw = self._check_sample_weight(sample_weight, X, self._class_weights(Y, incremental))
        n_features = X.shape[1]
        self.n_outputs_ = Y.shape[1]
        layer_units = [n_features, *hidden, self.n_outputs_]
        random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(layer_units, X.dtype, random_state)
        else:
            self._continue(layer_units, random_state)
        self.out_activation_ = self._output_activation()
        return X, Y, sw, random_state

    def _range_test_run(self, X, y) -> EstimatorRun:
        """The run ``chainrule.lr_find`` drives: a clone of this estimator (this one is
        untouched), initialised as a first fit on ``(X, y)`` draws it, with its solver
        (sgd or adam), loss, L2 term, batch size and shuffling; no early stopping."""
        if self.solver not in STOCHASTIC_SOLVERS:
            raise ValueError(
                f"lr_find: solver={self.solver!r} has no learning rate to find; use "
                "solver='adam' or 'sgd'."
            )
        est = clone(self).set_params(early_stopping=False, verbose=False, warm_start=False)
        X, Y, sw, random_state = est._prepare_fit(X, y, None, False)
        est._optimizer = est._new_optimizer()
        return est._stochastic_run(X, Y, sw, random_state)

    def _diverged(self, what: str = "") -> ValueError:
        """The error of a fit whose loss or weights became NaN or inf: scikit-learn's
        message word for word, then when, with which learning rate, and what happened
        to the model (``fit`` and ``partial_fit`` restore the estimator as it was).

        It is a ``ValueError``, exactly, as scikit-learn raises; its ``__cause__`` is a
        :class:`~chainrule.training.TrainingDivergedError` (epoch, lr, history), so that
        code can recognise a divergence by type, never by the message's text."""
        stochastic = self.solver in STOCHASTIC_SOLVERS
        lr = float(self.learning_rate_init)
        settings = f"solver={self.solver!r}"
        fix = "Scale X"
        if stochastic:
            settings += f", learning_rate_init={lr:g}"
            fix = f"Lower learning_rate_init (e.g. to {lr / 10:g}) and scale X"
        message = (
            f"{SKLEARN_DIVERGED} Training diverged{f': {what},' if what else ''} with "
            f"{settings}. The estimator was left as it was before this call (unfitted, "
            f"or with its earlier, finite weights). {fix} (e.g. with "
            "sklearn.preprocessing.StandardScaler): large input values or a too large "
            "learning rate make training diverge."
        )
        error = ValueError(message)
        error.__cause__ = TrainingDivergedError(
            message,
            epoch=int(getattr(self, "n_iter_", 0)),
            lr=lr,
            history=getattr(self, "history_", None),
        )
        return error

    def _class_weights(self, Y: np.ndarray, incremental: bool) -> np.ndarray | None:
        """Per-sample weights from the classifier's ``class_weight`` (None here)."""
        return None

    def _check_sample_weight(self, sample_weight, X, class_w=None) -> np.ndarray | None:
        """The weights (times ``class_w``, the per-sample class weights, if given), checked
        and scaled by a power of two so that the largest is in [0.5, 1); the power is
        kept in ``_sample_weight_exp``.

        Only the weights' ratios matter to the weighted mean of the loss, and a power of
        two scales every product and sum exactly, so training is bit for bit what it is
        with the weights as given; but weights such as 1e307 (whose sum overflows) or
        1e-320 (subnormal, with alpha=0: with an L2 term, alpha / sum(w) overflows and
        such weights are refused) stay trainable. ``_weight_sum`` gives back the true sum of
        the weights, on which the L2 term depends (``alpha * W / sum(w)``).
        """
        self._sample_weight_exp = 0
        if sample_weight is None and class_w is None:
            return None
        sw = _weight_array(sample_weight, X.shape[0])
        sw = _checked_weights(sw, class_w)
        exp = math.frexp(float(sw.max()))[1]
        scaled = _scaled_weights(sw, exp, X.dtype)
        alpha = float(self.alpha)
        total = self._weight_sum(scaled, exp)
        if alpha > 0 and not math.isfinite(alpha / total if total > 0 else math.inf):
            raise ValueError(
                f"sample_weight sums to {total:g}, so the L2 term alpha / sum(sample_weight) "
                f"= {alpha:g} / {total:g} overflows. Multiply the weights by a large constant "
                "(their ratios are what weighs the samples; alpha acts per unit of weight) "
                "or set alpha=0."
            )
        self._sample_weight_exp = exp
        return scaled

    def _weight_sum(self, sw: np.ndarray | None, exp: int | None = None) -> float:
        """The true sum of the weights that ``_check_sample_weight`` scaled (inf if it
        overflows float64, which makes the L2 term 0, its limit)."""
        if exp is None:
            exp = self._sample_weight_exp
        with np.errstate(over="ignore"):
            return float(np.ldexp(float(sw.sum(dtype=np.float64)), exp))

    def _initialize(self, layer_units: list[int], dtype, random_state) -> None:
        """First fit: draw the weights as scikit-learn does and build ``network_``."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        denses = []
        for fan_in, fan_out in pairwise(layer_units):
            W, b = init_layer(random_state, fan_in, fan_out, self.activation, dtype)
            # init="zeros" only allocates; the drawn values replace the arrays, and the
            # label names the distribution they were drawn from (repr, saved config)
            dense = Dense(fan_in, fan_out, init="zeros", dtype=dtype)
            dense.params["W"], dense.params["b"] = W, b
            logistic = self.activation == "logistic"
            dense.init = "glorot_uniform_logistic" if logistic else "glorot_uniform"
            denses.append(dense)
        # Drawn after the weights, so that dropout=0 leaves scikit-learn's draws intact.
        dropout_rng = (
            np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
            if self.dropout > 0
            else None
        )
        self.network_ = self._assemble(denses, dropout_rng)
        self.coefs_ = [d.params["W"] for d in denses]
        self.intercepts_ = [d.params["b"] for d in denses]
        self._best_coefs = [W.copy() for W in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        if self.solver in STOCHASTIC_SOLVERS:
            self._init_stochastic_attributes()
        self.history_ = History()

    def _init_stochastic_attributes(self) -> None:
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.validation_loss_curve_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.validation_loss_curve_ = None
            self.best_validation_score_ = None

    def _continue(self, layer_units: list[int], random_state) -> None:
        """warm_start / partial_fit: check the network fits the data; keep its weights."""
        self._sync_network()
        denses = self._dense_layers()
        have = [denses[0].n_in] + [d.n_out for d in denses]
        if have != layer_units:
            raise ValueError(
                f"the fitted network has layer sizes {have}, but hidden_layer_sizes="
                f"{self.hidden_layer_sizes!r} and the data ({layer_units[0]} features, "
                f"{layer_units[-1]} outputs) need {layer_units}. Set warm_start=False (or "
                "call fit instead of partial_fit) to start a new network."
            )
        activation, p = self._network_signature()
        if (len(denses) > 1 and activation != self.activation) or p != float(self.dropout):
            rng = None
            if self.dropout > 0:
                rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
            self.network_ = self._assemble(denses, rng)
        if self.solver in STOCHASTIC_SOLVERS and not hasattr(self, "loss_curve_"):
            self._init_stochastic_attributes()  # the previous fit used lbfgs
        if not hasattr(self, "_no_improvement_count"):
            self._no_improvement_count = 0  # e.g. a model loaded from a file
        if self.early_stopping and getattr(self, "validation_scores_", None) is None:
            self.validation_scores_, self.validation_loss_curve_ = [], []
            self.best_validation_score_, self.best_loss_ = -np.inf, None
        if not hasattr(self, "_best_coefs"):
            self._best_coefs = [W.copy() for W in self.coefs_]
            self._best_intercepts = [b.copy() for b in self.intercepts_]
        if not hasattr(self, "history_"):
            self.history_ = History()

    def _objective(self) -> Objective:
        return Objective(self._objective_name(), self.n_outputs_, getattr(self, "huber_delta", 1.0))

    def _loss_and_grads(
        self, X, T, sw, sw_sum: float, objective: Objective, checked: bool = False
    ) -> float:
        """Forward, loss, backward and the L2 term; fills the Dense layers' grads.

        Returns scikit-learn's loss: the objective plus (alpha / 2) sum ||W||^2 / sum(w)
        (sum(w) = n_samples without weights); dW gets the matching alpha * W / sum(w).
        ``checked``: T comes from ``objective.check_all_targets`` (see ``Objective``).
        """
        Z, backward = self.network_.forward(X, training=True)
        value, dZ = objective(Z, T, sw, checked=checked)
        backward(dZ, need_dX=False, accumulate=False)  # grads set; dX of the input unused
        alpha = float(self.alpha)
        if alpha == 0:
            return value
        for dense in self._dense_layers():
            add_penalty_grad(dense.params["W"], dense.grads["W"], alpha, sw_sum)
        return value + l2_penalty(self.coefs_, alpha, sw_sum)

    def _new_optimizer(self):
        """A fresh update rule for the Dense layers' weights, then biases."""
        denses = self._dense_layers()
        return self._make_optimizer(
            [d.params["W"] for d in denses] + [d.params["b"] for d in denses]
        )

    def _make_optimizer(self, params):
        if self.solver == "sgd":
            return SGDRule(
                params,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        return AdamRule(params, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon)

    def _fit_stochastic(self, X, Y, sw, random_state, incremental: bool, callbacks=()) -> bool:
        """Epochs of minibatch SGD or Adam through chainrule's one loop (``run_epochs``,
        with the steps of ``_training.EstimatorRun``); True if training diverged and
        early stopping kept its best finite weights (scikit-learn issue 29504).

        A fit with ``warm_start`` starts a new solver, as scikit-learn's does, unless
        ``_continue_solver`` is set (``chainrule train --resume``): then the solver's
        state and ``n_iter_`` go on from the last fit, as after one longer fit."""
        go_on = getattr(self, "_continue_solver", False) and hasattr(self, "_optimizer")
        if not (incremental or go_on) or not hasattr(self, "_optimizer"):
            self._optimizer = self._new_optimizer()
        if self.early_stopping and incremental:
            raise ValueError(
                "partial_fit does not support early_stopping=True. Set early_stopping=False "
                "(partial_fit sees one batch of data at a time, with no held-out set)."
            )
        run = self._stochastic_run(X, Y, sw, random_state)
        for cb in callbacks:
            cb.on_train_begin(self.network_, tuple(run.keys))
        bar = self._progress_bar(1 if incremental else self.max_iter)
        if not go_on:
            self.n_iter_ = 0
        try:
            stopped = run_epochs(run, 1 if incremental else self.max_iter, callbacks, bar)
        except KeyboardInterrupt:
            stopped = True
            warnings.warn(TrainingInterrupted("Training interrupted by user."), stacklevel=3)
        finally:
            if bar is not None:
                bar.close()
        if not stopped and not incremental:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        if self.early_stopping:  # restore the best weights, in place
            for dense, W, b in zip(
                self._dense_layers(), self._best_coefs, self._best_intercepts, strict=True
            ):
                dense.params["W"][...] = W
                dense.params["b"][...] = b
        if run.diverged_what:
            lr = float(self.learning_rate_init)
            warnings.warn(
                f"Training diverged: {run.diverged_what}, with solver={self.solver!r}, "
                f"learning_rate_init={lr:g}. early_stopping=True kept the weights with the "
                f"best validation score so far ({self.best_validation_score_:.6g}); loss_ "
                f"is the diverged epoch's. Lower learning_rate_init (e.g. to {lr / 10:g}) "
                "and scale X to train further.",
                ConvergenceWarning,
                stacklevel=3,
            )
        for cb in callbacks:
            cb.on_train_end(self.network_, self.history_)
        return bool(run.diverged_what)

    def _stochastic_run(self, X, Y, sw, random_state) -> EstimatorRun:
        """The data (validation split, checked targets, batch size) and the run."""
        X_train, Y_train, sw_train, X_val, Y_val, sw_val = split_validation(
            self, X, Y, sw, random_state
        )
        val = None
        if X_val is not None:  # the targets as the score and as the loss take them
            val = (self._val_targets(Y_val), self._loss_targets(Y_val, X.dtype))
        objective = self._objective()
        # checked once here, not at every batch (the rows are then passed checked=True)
        T_train = objective.check_all_targets(self._loss_targets(Y_train, X.dtype), X.dtype)
        batch_size = batch_size_for(self, X_train.shape[0])
        data = TrainingData(
            X_train, Y_train, sw_train, T_train, X_val, None, sw_val, self.n_outputs_, batch_size
        )
        self.history_.params.update(
            solver=self.solver,
            batch_size=batch_size,
            n_samples=X_train.shape[0],
            n_val=0 if X_val is None else X_val.shape[0],
            loss=objective.name,
            l2=float(self.alpha),
        )
        return EstimatorRun(self, data, val, objective, random_state)

    def _update_no_improvement_count(self, data, val, objective):
        """scikit-learn's stopping bookkeeping; returns the validation loss (or None).
        ``data``: the run's TrainingData; ``val``: (y_val, T_val) or None."""
        if self.early_stopping:
            y_val, T_val = val
            Z = self.network_.forward(data.X_val, training=False)[0]
            val_score = self._score_raw(Z, y_val, data.w_val)
            self.validation_scores_.append(val_score)
            val_loss = self._raw_loss(Z, T_val, data.w_val, objective)
            self.validation_loss_curve_.append(val_loss)
            if self.verbose:
                print(f"Validation score: {self.validation_scores_[-1]:f}")
            last_valid_score = self.validation_scores_[-1]
            if last_valid_score < (self.best_validation_score_ + self.tol):
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last_valid_score > self.best_validation_score_:
                self.best_validation_score_ = last_valid_score
                self._best_coefs = [W.copy() for W in self.coefs_]
                self._best_intercepts = [b.copy() for b in self.intercepts_]
            return val_loss
        if self.loss_curve_[-1] > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if self.loss_curve_[-1] < self.best_loss_:
            self.best_loss_ = self.loss_curve_[-1]
        return None

    def _raw_loss(self, Z, T, sw, objective) -> float:
        """The training objective (L2 term included) at raw outputs Z, in inference mode."""
        n = Z.shape[0]
        if not np.isfinite(Z).all() or (sw is not None and not sw.sum() > 0):
            return math.nan
        value, _ = objective(Z, T, sw)
        sw_sum = float(n) if sw is None else self._weight_sum(sw)
        return value + l2_penalty(self.coefs_, float(self.alpha), sw_sum)

    def _weight_labels(self) -> list[str]:
        """The index in ``network_.layers`` of each Dense layer (the logs' ``<i>``)."""
        return [str(i) for i, layer in enumerate(self.network_.layers) if isinstance(layer, Dense)]

    def _lbfgs_keys(self) -> list[str]:
        """The values L-BFGS logs per iteration in ``history_``."""
        labels = self._weight_labels()
        return ["loss", *(f"grad_norm_{i}" for i in labels), *(f"update_ratio_{i}" for i in labels)]

    def _fit_lbfgs(self, X, Y, sw) -> None:
        """Full-batch L-BFGS-B (scipy) on the flat vector [W_1, ..., W_L, b_1, ..., b_L].

        scipy works in float64; the network keeps its own dtype: each evaluation copies
        the vector into the parameters (rounding to float32 for a float32 model) and
        returns the gradient, computed in the model's dtype, as float64.
        """
        denses = self._dense_layers()
        params = [d.params["W"] for d in denses] + [d.params["b"] for d in denses]
        grads = [d.grads["W"] for d in denses] + [d.grads["b"] for d in denses]
        bounds = np.cumsum([0] + [p.size for p in params])
        T = self._loss_targets(Y, X.dtype)
        sw_sum = float(X.shape[0]) if sw is None else self._weight_sum(sw)
        objective = self._objective()
        self.history_.params.update(
            solver="lbfgs",
            batch_size=X.shape[0],
            n_samples=X.shape[0],
            n_val=0,
            loss=objective.name,
            l2=float(self.alpha),
        )

        def unpack(x: np.ndarray) -> None:
            for p, start, stop in zip(params, bounds[:-1], bounds[1:], strict=True):
                p[...] = x[start:stop].reshape(p.shape)

        def loss_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
            unpack(x)
            loss = self._loss_and_grads(X, T, sw, sw_sum, objective)
            return loss, np.concatenate([g.ravel() for g in grads]).astype(np.float64)

        bar = self._progress_bar(self.max_iter)
        callback = self._lbfgs_logger(denses, bar, loss_and_grad)
        x0 = np.concatenate([p.ravel() for p in params]).astype(np.float64)
        try:
            result = scipy.optimize.minimize(
                loss_and_grad,
                x0,
                method="L-BFGS-B",
                jac=True,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
                callback=callback,
            )
        finally:
            if bar is not None:
                bar.close()
        self.n_iter_ = min(int(result.nit), self.max_iter)
        if result.status != 0:
            self._warn_lbfgs(result)
        self.loss_ = float(result.fun)
        unpack(result.x)

    def _lbfgs_logger(self, denses, bar, loss_and_grad):
        """scipy's per-iteration callback: log the loss, each dW's norm and each W's
        change in ``history_`` (and print the loss with ``verbose``)."""
        labels = self._weight_labels()
        previous = [d.params["W"].copy() for d in denses]
        n_iterations = 0

        def callback(intermediate_result) -> None:
            nonlocal n_iterations
            n_iterations += 1
            fun = getattr(intermediate_result, "fun", None)
            if fun is None:  # scipy < 1.11 passes only x
                fun = loss_and_grad(np.asarray(intermediate_result))[0]
            logs = {"loss": float(fun)}
            for label, dense in zip(labels, denses, strict=True):
                logs[f"grad_norm_{label}"] = norm(dense.grads["W"])
            for label, dense, W0 in zip(labels, denses, previous, strict=True):
                W0_norm = norm(W0)
                logs[f"update_ratio_{label}"] = (
                    norm(dense.params["W"] - W0) / W0_norm if W0_norm else 0.0
                )
                W0[...] = dense.params["W"]
            if self.verbose:
                print(f"Iteration {n_iterations}, loss = {fun:.8f}")
            self._log_epoch(logs, bar)

        return callback

    def _warn_lbfgs(self, result) -> None:
        """scikit-learn's ConvergenceWarning for an L-BFGS run that did not converge."""
        message = (
            f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
            f"(status={result.status}):\n{result.message}\n"
        )
        if self.n_iter_ == self.max_iter:
            message += (
                "\nIncrease the number of iterations to improve the convergence "
                f"(max_iter={self.max_iter})."
            )
        message += (
            "\nYou might also want to scale the data as shown in:\n"
            "    https://scikit-learn.org/stable/modules/preprocessing.html"
        )
        warnings.warn(message, ConvergenceWarning, stacklevel=4)

    def _progress_bar(self, total: int):
        if not self.progress:
            return None
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            raise ImportError(
                "progress=True needs tqdm: pip install tqdm (or set progress=False)."
            ) from None
        unit = "epoch" if self.solver in STOCHASTIC_SOLVERS else "iter"
        return tqdm(total=total, desc=f"{type(self).__name__}({self.solver})", unit=unit)

    def _log_epoch(self, logs: dict, bar) -> None:
        """Append one epoch to ``history_`` (NaN for values this fit does not log)."""
        for key in self.history_.keys():
            logs.setdefault(key, math.nan)
        self.history_.append(len(self.history_) + 1, logs)
        if bar is not None:
            bar.update(1)
            shown = {
                k: f"{v:.4g}"
                for k, v in logs.items()
                if not k.startswith(("grad_norm", "update_ratio")) and k != "lr"
            }
            bar.set_postfix(shown, refresh=False)

    # ------------------------------------------------------------------ inference
    def _raw_output(self, X, check_input: bool = True) -> np.ndarray:
        """The network's raw output Z (logits, log-means or values), shape (n, k)."""
        check_is_fitted(self)
        if id(self) in _FITTING:
            raise RuntimeError(
                f"this {type(self).__name__} is being fitted (by another thread), so its "
                "weights are changing: estimators are not thread-safe. Predict after fit "
                "returns, or fit a copy (sklearn.base.clone(est)) in the other thread."
            )
        if check_input:
            X = validate_data(
                self, X, accept_sparse=["csr", "csc"], reset=False, dtype=self._dtype()
            )
        self._sync_network()
        with np.errstate(over="ignore", invalid="ignore"):
            Z = self.network_.forward(X, training=False)[0]
        if not np.isfinite(Z).all():  # never return NaN predictions: say why instead
            if not all(np.isfinite(p).all() for p in (*self.coefs_, *self.intercepts_)):
                raise ValueError(
                    "coefs_ or intercepts_ hold NaN or inf, so every prediction would be "
                    "NaN; refit the estimator or assign finite arrays."
                )
            rows = np.flatnonzero(~np.isfinite(Z).all(axis=1))
            raise ValueError(
                f"the network's output overflows (NaN or inf) for {rows.size} of "
                f"{Z.shape[0]} samples (the first is row {rows[0]}): their values are far "
                "outside the range seen in training. Scale X as the training data was "
                "scaled (e.g. with the same StandardScaler)."
            )
        return Z

    def _check_solver(self) -> bool:
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is "
                "not stochastic. Use solver='sgd' or 'adam'."
            )
        return True

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {}

    # ------------------------------------------------------------------ persistence
    _FITTED_SCALARS = ("n_features_in_", "n_outputs_", "n_layers_", "n_iter_", "t_")
    _FITTED_OPTIONAL = (
        "loss_",
        "loss_curve_",
        "best_loss_",
        "validation_scores_",
        "validation_loss_curve_",
        "best_validation_score_",
    )

    def _to_chainrule_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """``(spec, arrays)`` for :func:`chainrule.save`: hyper-parameters, weights, labels.

        No pickle: the spec is JSON (a ``random_state`` that is a RandomState instance is
        stored as None, since its state is not part of the model), the arrays are the
        network's parameters, ``classes_`` and ``feature_names_in_``. So that
        ``partial_fit`` goes on exactly, the stochastic solver's state is stored too:
        its rule's ``state_dict()`` (spec ``"solver_state"``, arrays ``solver.*``: the
        velocities, or Adam's moments and t), the best weights early stopping keeps
        (``best_coefs.<i>``, ``best_intercepts.<i>``) and the dropout generators' states
        (spec ``"layer_rngs"``).
        """
        check_is_fitted(self)
        self._sync_network()
        params = {}
        for name, value in self.get_params(deep=False).items():
            if name == "hidden_layer_sizes":
                sizes = self._hidden_sizes()
                value = sizes if hasattr(value, "__iter__") else sizes[0]
            elif name == "random_state" and not (value is None or isinstance(value, Integral)):
                value = None
            elif name == "class_weight" and isinstance(value, dict):
                value = _class_weight_to_json(value)
            elif isinstance(value, Integral) and not isinstance(value, bool):
                value = int(value)
            elif isinstance(value, Real) and not isinstance(value, bool):
                value = float(value)
                if math.isinf(value):
                    value = "inf"
            params[name] = value
        fitted = {name: int(getattr(self, name)) for name in self._FITTED_SCALARS}
        fitted["out_activation_"] = self.out_activation_
        if hasattr(self, "_no_improvement_count"):  # so that warm_start resumes exactly
            fitted["no_improvement_count"] = int(self._no_improvement_count)
        for name in self._FITTED_OPTIONAL:
            if hasattr(self, name):
                value = getattr(self, name)
                fitted[name] = _json_number(value)
        architecture, arrays = layer_to_state(self.network_, prefix="network.")
        spec = {
            "estimator": type(self).__name__,
            "params": params,
            "fitted": fitted,
            "network": architecture,
            "dtype": str(self._dtype()),
        }
        if hasattr(self, "feature_names_in_"):
            arrays["feature_names_in_"] = np.asarray(self.feature_names_in_, dtype=str)
        self._labels_to_state(spec, arrays)
        self._solver_to_state(spec, arrays)
        return spec, arrays

    def _solver_to_state(self, spec: dict, arrays: dict) -> None:
        """The stochastic solver's state (see ``_to_chainrule_state``)."""
        rule = getattr(self, "_optimizer", None)
        if rule is not None and self.solver in STOCHASTIC_SOLVERS:
            spec["solver_state"], more = split_state(rule.state_dict(), "solver.")
            arrays.update(more)
        if hasattr(self, "_best_coefs"):
            for i, (W, b) in enumerate(zip(self._best_coefs, self._best_intercepts, strict=True)):
                arrays[f"best_coefs.{i}"], arrays[f"best_intercepts.{i}"] = W, b
        spec["layer_rngs"] = layer_rng_states(self.network_)

    def _solver_from_state(self, spec: dict, arrays: dict) -> None:
        """Restore what ``_solver_to_state`` stored, checked against the network."""
        denses = self._dense_layers()
        if "solver_state" in spec:
            state = join_state(spec["solver_state"], arrays, "solver.")
            params = [d.params["W"] for d in denses] + [d.params["b"] for d in denses]
            self._optimizer = _rule_from_state(state, params)
        if "best_coefs.0" in arrays:
            where = "the stored best weights"
            self._best_coefs = [
                state_array(arrays, f"best_coefs.{i}", W, where).copy()
                for i, W in enumerate(self.coefs_)
            ]
            self._best_intercepts = [
                state_array(arrays, f"best_intercepts.{i}", b, where).copy()
                for i, b in enumerate(self.intercepts_)
            ]
        if "layer_rngs" in spec:
            set_layer_rng_states(self.network_, spec["layer_rngs"])

    @classmethod
    def _from_chainrule_state(cls, spec: dict, arrays: dict[str, np.ndarray]):
        """Rebuild a fitted estimator from what ``_to_chainrule_state`` returned."""
        if not isinstance(spec, dict) or spec.get("estimator") != cls.__name__:
            raise ValueError(
                f"the file holds a {spec.get('estimator') if isinstance(spec, dict) else spec!r}, "
                f"not a {cls.__name__}."
            )
        params = dict(spec["params"])
        if params.get("n_iter_no_change") == "inf":
            params["n_iter_no_change"] = np.inf
        if isinstance(params.get("hidden_layer_sizes"), list):
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        if isinstance(params.get("class_weight"), list):
            params["class_weight"] = _class_weight_from_json(params["class_weight"])
        est = cls(**params)
        est._validate_params()
        network_arrays = {k: v for k, v in arrays.items() if k.startswith("network.")}
        est.network_ = layer_from_state(spec["network"], network_arrays)
        if not isinstance(est.network_, Sequential):
            raise ValueError("the stored network is not a Sequential.")
        denses = est._dense_layers()
        fitted = spec["fitted"]
        if not isinstance(fitted, dict):
            raise ValueError("the fitted attributes must be a JSON object.")
        for name in cls._FITTED_SCALARS:
            setattr(est, name, _stored_count(fitted, name))
        if not isinstance(fitted["out_activation_"], str):
            raise ValueError("the stored out_activation_ must be a string.")
        est.out_activation_ = fitted["out_activation_"]
        if "no_improvement_count" in fitted:
            est._no_improvement_count = _stored_count(fitted, "no_improvement_count")
        for name in cls._FITTED_OPTIONAL:
            if name in fitted:
                setattr(est, name, _from_json_number(fitted[name]))
        sizes = [denses[0].n_in] + [d.n_out for d in denses] if denses else []
        expected = [est.n_features_in_, *est._hidden_sizes(), est.n_outputs_]
        if sizes != expected or est.n_layers_ != len(expected):
            raise ValueError(
                f"the stored network has layer sizes {sizes}, but the stored hyper-parameters "
                f"and fitted attributes describe {expected}: the file is inconsistent."
            )
        if str(est._dtype()) != spec["dtype"] or any(
            p.dtype != est._dtype() for _, _, p, _ in est.network_.parameters()
        ):
            raise ValueError(f"the stored parameters are not all {spec['dtype']}.")
        est.coefs_ = [d.params["W"] for d in denses]
        est.intercepts_ = [d.params["b"] for d in denses]
        if "feature_names_in_" in arrays:
            names = arrays["feature_names_in_"]
            if names.shape != (est.n_features_in_,):
                raise ValueError("feature_names_in_ does not hold one name per feature.")
            est.feature_names_in_ = names.astype(object)
        est._labels_from_state(spec, arrays)
        est._solver_from_state(spec, arrays)
        est.history_ = History()
        return est

    def _labels_to_state(self, spec: dict, arrays: dict) -> None:
        """Subclass hook: store what the targets need (the classifier's classes_)."""

    def _labels_from_state(self, spec: dict, arrays: dict) -> None:
        """Subclass hook: restore what ``_labels_to_state`` stored."""


def _weight_array(sample_weight, n: int) -> np.ndarray:
    """``sample_weight`` (None, a number or one number per sample) as float64 (n,)."""
    if sample_weight is None:
        return np.ones(n)
    if isinstance(sample_weight, Real) and not isinstance(sample_weight, bool):
        return np.full(n, sample_weight, dtype=np.float64)
    try:
        sw = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{exc}. sample_weight must be numeric: one number per sample.") from None
    if sw.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {sw.ndim}D array. "
            f"Expected either a scalar value or a 1D array of length {n}."
        )
    if sw.shape[0] != n:
        raise ValueError(
            f"sample_weight.shape == {sw.shape}, expected {(n,)}! Give one weight per sample."
        )
    return sw


def _checked_weights(sw: np.ndarray, class_w: np.ndarray | None) -> np.ndarray:
    """The weights, finite and >= 0, times ``class_w`` if given; not all zero."""
    if np.isnan(sw).any():
        raise ValueError(
            "Input sample_weight contains NaN. Give every sample a finite weight >= 0."
        )
    if np.isinf(sw).any():
        raise ValueError(
            "Input sample_weight contains infinity or a value too large for "
            "dtype('float64'). Give every sample a finite weight >= 0."
        )
    if (sw < 0).any():
        raise ValueError(
            "sample_weight must be non-negative (a negative weight would reward errors); "
            f"got a minimum of {sw.min()}."
        )
    if class_w is not None:
        with np.errstate(over="ignore"):
            sw = sw * class_w
        if not np.isfinite(sw).all():
            raise ValueError(
                "sample_weight times class_weight overflows float64; scale down "
                "sample_weight or class_weight (only their ratios matter)."
            )
    if not sw.any():
        raise ValueError(
            "Sample weights must contain at least one non-zero number. All are zero"
            + (" after multiplying by class_weight." if class_w is not None else ".")
        )
    return sw


def _scaled_weights(sw: np.ndarray, exp: int, dtype) -> np.ndarray:
    """``sw / 2**exp`` in ``dtype`` (exact); refused when a weight would round to 0."""
    scaled = np.ldexp(sw, -exp).astype(dtype)
    lost = (scaled == 0) & (sw > 0)
    if lost.any():
        i = int(np.flatnonzero(lost)[0])
        raise ValueError(
            f"sample_weight spans too many orders of magnitude for {dtype}: the "
            f"weight of sample {i} ({sw[i]:g}) is below {dtype}'s smallest number "
            f"relative to the largest weight ({sw.max():g}). Set such weights to 0, "
            "or clip the weights to a narrower range."
        )
    return scaled


def _rule_from_state(state: dict, params: list[np.ndarray]):
    """The stochastic solver's rule, built from its stored class and config (the
    hyper-parameters it was made with, which ``set_params`` may have changed since) and
    loaded with its stored state; every value checked (ValueError)."""
    rules = {"SGDRule": SGDRule, "AdamRule": AdamRule}
    config = state.get("config")
    if state.get("class") not in rules or not isinstance(config, dict):
        raise ValueError(
            f"the stored solver state must be of class {sorted(rules)} with a config, got "
            f"{state.get('class')!r:.40}."
        )
    for name, value in config.items():
        if name == "lr_schedule":
            if value not in ("constant", "invscaling", "adaptive"):
                raise ValueError(f"the stored solver's lr_schedule {value!r:.40} is unknown.")
        elif name == "nesterov":
            if not isinstance(value, bool):
                raise ValueError(f"the stored solver's nesterov must be a bool, got {value!r:.40}.")
        else:
            state_float(config, name, "the stored solver's config")
    rule = rules[state["class"]](params, **config)
    rule.load_state_dict(state)
    return rule


def _class_weight_to_json(class_weight: dict) -> list:
    """A ``class_weight`` dict as JSON: ``[[label, weight], ...]`` (JSON object keys
    would turn integer labels into strings)."""
    pairs = []
    for label, weight in class_weight.items():
        label = label.item() if isinstance(label, np.generic) else label
        if not isinstance(label, (str, int, float)):
            raise TypeError(
                f"cannot save class_weight with the key {label!r}: use str or int labels."
            )
        pairs.append([label, float(weight)])
    return pairs


def _class_weight_from_json(pairs: list) -> dict:
    if not all(
        isinstance(p, list)
        and len(p) == 2
        and isinstance(p[0], (str, int, float))
        and isinstance(p[1], (int, float))
        for p in pairs
    ):
        raise ValueError(f"class_weight must be stored as [[label, weight], ...], got {pairs!r}.")
    return {label: weight for label, weight in pairs}


# The least value of each stored count (a network has an input and an output layer).
_COUNT_MINIMUM = {"n_features_in_": 1, "n_outputs_": 1, "n_layers_": 2}


def _stored_count(fitted: dict, name: str) -> int:
    """A count from a model file: an integer in range (a file is untrusted input)."""
    value, low = fitted[name], _COUNT_MINIMUM.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < 2**63:
        raise ValueError(
            f"the stored {name} must be an integer >= {low}, got {value!r:.40}: the file is "
            "damaged or was edited."
        )
    return value


def _json_number(value):
    """Floats, lists of floats and None as JSON (inf and nan spelled as strings)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_json_number(v) for v in value]
    value = float(value)
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _from_json_number(value):
    if value is None:
        return None
    if isinstance(value, list):
        return [_from_json_number(v) for v in value]
    if isinstance(value, str):
        if value not in ("nan", "inf", "-inf"):
            raise ValueError(f"expected a number, 'nan', 'inf' or '-inf', got {value!r}.")
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number or a list of numbers, got {value!r}.")
    return float(value)
