"""scikit-learn drop-ins: ``MLPClassifier`` and ``MLPRegressor`` built on chainrule.

Change one import and existing code keeps working::

    from chainrule import MLPClassifier      # was: from sklearn.neural_network import ...

    clf = MLPClassifier(hidden_layer_sizes=(64,), random_state=0).fit(X_train, y_train)
    clf.score(X_test, y_test)
    clf.network_                              # the fitted chainrule.Sequential
    clf.history_.to_frame()                   # loss, lr, gradient norms per layer, ...

Same constructor parameters and defaults, same fitted attributes, same methods, and the
same training procedure as scikit-learn (1.9): its initialisation, batch order,
loss definitions, Adam/SGD update rules, learning-rate schedules, stopping rules and
early stopping, and L-BFGS through ``scipy.optimize.minimize``. With the same
``random_state``, float64 data and ``solver="adam"`` or ``"sgd"``, the loss curve equals
scikit-learn's to rounding. The network is a :class:`chainrule.Sequential` and every
gradient comes from chainrule's hand-written backward passes.

Deliberate differences from scikit-learn (everything else is meant to be identical):

* float32 data trains in float32 throughout, L-BFGS included (scikit-learn's L-BFGS
  turns the weights into float64); ``predict`` casts X to the model's dtype.
* the log-loss is computed from the logits (fused, stable), not from probabilities
  clipped at machine epsilon; the two differ only for a probability below epsilon.
  For binary targets ``predict_proba`` computes both columns from the logit
  (``sigmoid(-z)``, ``sigmoid(z)``), so a small probability is not rounded to 0 by
  ``1 - p`` (nor its ``predict_log_proba`` to ``-inf``).
* early stopping in the classifier stratifies the validation split for binary *and*
  multiclass targets; scikit-learn 1.9 stratifies binary targets only. For binary
  targets the split is scikit-learn's, draw for draw, and a class with a single sample
  raises scikit-learn's error ("The least populated class in y has only 1 member").
  For multiclass targets we fall back to a plain random split (scikit-learn's) when a
  class is too rare to stratify, so the results differ from scikit-learn's only by the
  choice of the validation rows. Multilabel targets are never stratified.
* ``sample_weight`` must be non-negative; a minibatch whose weights are all zero is
  skipped (scikit-learn divides by zero there). The weights are scaled by a power of
  two (exact: training is bit for bit the same) so that extreme magnitudes work:
  weights of 1e307, whose sum overflows, train as the limit of scikit-learn's objective
  (its L2 term ``alpha / sum(w)`` tends to 0; scikit-learn raises), and subnormal
  weights train too; weights whose L2 term ``alpha / sum(w)`` overflows, or whose range
  the data's dtype cannot hold, are refused with the reason.
* ``class_weight`` (classifier, keyword-only, default None): "balanced" or a
  ``{label: weight}`` dict, multiplied into ``sample_weight``; scikit-learn's MLP has
  none.
* ``partial_fit`` exists only for ``solver="sgd"`` and ``"adam"`` in both classes
  (scikit-learn's regressor also exposes it for "lbfgs", where it runs a full fit).
* with ``verbose``, L-BFGS prints one "Iteration %d, loss = %.8f" line per iteration
  (scikit-learn with SciPy >= 1.15 prints nothing for L-BFGS).
* a ``fit`` or ``partial_fit`` that raises (bad data, bad parameters, divergence) leaves
  the estimator exactly as it was before the call: the same attributes and
  bit-identical weights (an unfitted estimator stays unfitted), and a RandomState
  passed as ``random_state`` in the state it had. A diverging fit stops at the first
  epoch whose loss is NaN or inf (scikit-learn runs on to ``max_iter``), with
  scikit-learn's "Solver produced non-finite parameter weights. The input data may
  contain large values and need to be preprocessed." ValueError, followed here by the
  epoch and the learning rate; NumPy's overflow warnings are silenced during a fit in
  its favour. With ``early_stopping=True`` a diverging fit does not raise (as in
  scikit-learn, issue 29504): it stops at that epoch (its loss and a NaN validation
  score end ``loss_curve_`` and ``validation_scores_``), keeps the weights with the
  best validation score, and warns (``ConvergenceWarning``) saying so; it raises only
  if no epoch ever gave a finite validation score.
* every error message begins with scikit-learn's own words where scikit-learn has a
  message for the case (so code matching on them keeps working); chainrule's advice
  follows. scikit-learn's ``sklearn/neural_network/tests/test_mlp.py`` passes against
  these classes (tests/test_sklearn_mlp_suite.py), but for two tests of its private
  internals.
* ``predict``, ``predict_proba`` and ``score`` never return NaN or inf: if the network's
  output overflows (inputs far outside the training range), or the Poisson
  regressor's ``exp(Z)`` does, they raise a ValueError saying so.
* estimators are not thread-safe. A ``fit``/``partial_fit`` of an estimator while it is
  being fitted in another thread, or a ``predict`` meanwhile, raises a RuntimeError at
  once and leaves the running fit undisturbed (give each thread its own estimator:
  ``sklearn.base.clone(est)``). Predicting from many threads with a fitted estimator is
  safe.
* ``warm_start`` or ``partial_fit`` with a network that does not fit the new settings
  (other ``hidden_layer_sizes``, other number of outputs) raises a ValueError saying
  so; a warm start may switch between "lbfgs" and the stochastic solvers.

Saving: ``chainrule.save(est, path)`` / ``chainrule.load(path)`` store the
hyper-parameters, the fitted attributes, ``classes_`` (strings or numbers, never
pickled) and the network in one ``.npz``, with what ``partial_fit`` needs to go on
exactly: the stochastic solver's state (SGD's velocities, or Adam's moments and step
count, and the current learning rate), the no-improvement counter, the best loss or
validation score and the best weights, and the dropout masks' generator. So k calls
of ``partial_fit`` give bit for bit the weights of j calls, ``save``, ``load`` (in a
new process too) and k - j more calls, with an integer ``random_state`` (a
``random_state`` that is a RandomState instance is stored as None). Pickle works too.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from ..layers.activations import sigmoid, softmax
from ..layers.dropout import Dropout
from ..layers.sequential import Sequential
from ..persistence.npz import register_kind
from ._base import _FITTING, _FITTING_LOCK, BaseMLP, validate_data

__all__ = ["MLPClassifier", "MLPRegressor"]

_COMMON_PARAMETERS = """\
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The i-th element is the number of units in the i-th hidden layer; ``()`` gives
        no hidden layer (a linear model with the output activation).
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers: ``Identity``, ``Sigmoid``, ``Tanh`` or ``ReLU``
        in ``network_``.
    solver : {"lbfgs", "sgd", "adam"}, default="adam"
        "lbfgs": full-batch L-BFGS-B (``scipy.optimize.minimize``) on the flat vector of
        all weights, with our gradient. "sgd": minibatch SGD with (Nesterov) momentum.
        "adam": minibatch Adam. L-BFGS often wins on small datasets, Adam on large ones.
    alpha : float, default=0.0001
        Strength of the L2 penalty ``(alpha / 2) * sum ||W||^2 / n_samples`` (weights
        only, not intercepts; ``n_samples`` is the batch size, or the sum of the batch's
        sample weights).
    batch_size : int or "auto", default="auto"
        Minibatch size for "sgd" and "adam"; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Schedule of the step size, for "sgd" only. "constant": ``learning_rate_init``.
        "invscaling": ``learning_rate_init / (t + 1) ** power_t`` after each epoch, t the
        number of samples seen. "adaptive": divided by 5 whenever the training loss (or
        validation score) has not improved by ``tol`` for ``n_iter_no_change`` epochs;
        training stops once it falls below 1e-6.
    learning_rate_init : float, default=0.001
        Initial step size, for "sgd" and "adam".
    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.
    max_iter : int, default=200
        Maximum number of epochs ("sgd", "adam") or of iterations ("lbfgs"). Reaching
        it raises a ``ConvergenceWarning``.
    shuffle : bool, default=True
        Shuffle the samples before each epoch ("sgd", "adam").
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the validation split of early stopping, the batch
        order and (when ``dropout > 0``) the dropout masks. The same int gives the same
        draws as scikit-learn's MLP.
    tol : float, default=1e-4
        Improvement threshold: training stops when the loss (or validation score) has
        not improved by at least ``tol`` for ``n_iter_no_change`` consecutive epochs
        (unless ``learning_rate="adaptive"``); for "lbfgs" it is the gradient tolerance
        ``gtol``.
    verbose : bool or int, default=False
        Print "Iteration %d, loss = %.8f" after each epoch (each L-BFGS iteration).
    warm_start : bool, default=False
        Keep the fitted weights and continue from them at the next ``fit``. As in
        scikit-learn, a warm start keeps ``coefs_``, ``intercepts_``, ``t_``,
        ``loss_curve_``, ``best_loss_`` (or ``best_validation_score_`` and the best
        weights) and the no-improvement counter, but **not the optimizer's state**: each
        ``fit`` starts a new rule (SGD's velocities and Adam's moments at zero, Adam's
        step count at 0, the learning rate back at ``learning_rate_init``) and counts
        ``n_iter_`` from 0. ``partial_fit`` keeps the optimizer's state between calls
        (and ``chainrule.save``/``load`` keep it for ``partial_fit``).
    momentum : float, default=0.9
        Momentum of "sgd", in [0, 1].
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum ("sgd" with momentum > 0).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data and stop when the
        validation score has not improved by ``tol`` for ``n_iter_no_change`` epochs;
        the best weights are restored at the end ("sgd", "adam").
    validation_fraction : float, default=0.1
        Fraction of the training data held out for early stopping, in [0, 1).
    beta_1 : float, default=0.9
        Decay rate of Adam's first-moment estimate, in [0, 1).
    beta_2 : float, default=0.999
        Decay rate of Adam's second-moment estimate, in [0, 1).
    epsilon : float, default=1e-8
        Adam's denominator offset, added to ``sqrt(v)`` (before bias correction).
    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` before stopping ("sgd", "adam").
    max_fun : int, default=15000
        Maximum number of loss evaluations of "lbfgs".
    dropout : float, default=0.0
        chainrule's extra (keyword-only). Probability of dropping each hidden unit while
        training: a :class:`chainrule.Dropout` layer after each hidden activation (0
        adds none and keeps scikit-learn's behaviour). Off at prediction.
    progress : bool, default=False
        chainrule's extra (keyword-only). Show a tqdm progress bar with the current loss.
"""

_COMMON_ATTRIBUTES = """\
    loss_ : float
        The loss at the end of training, in scikit-learn's definition (see Notes),
        L2 term included.
    best_loss_ : float or None
        The smallest ``loss_curve_`` value; None with early stopping.
    loss_curve_ : list of float of length n_iter_
        ``loss_`` after each epoch: the mean of the epoch's batch losses, weighted by
        batch size (accumulates over warm-started fits). As in scikit-learn, this and
        the validation attributes below exist only for "sgd" and "adam" (L-BFGS's
        per-iteration losses are in ``history_``).
    validation_scores_ : list of float or None
        The score (accuracy or R^2) on the held-out set after each epoch, with early
        stopping; else None.
    validation_loss_curve_ : list of float or None
        chainrule's extra: the training objective (L2 term included) on the held-out
        set after each epoch, with early stopping; else None.
    best_validation_score_ : float or None
        The best of ``validation_scores_``; None without early stopping.
    t_ : int
        Number of training samples seen by the solver (``n_iter_ * n_samples``).
    coefs_ : list of ndarray of shape (n_units[i], n_units[i + 1])
        The weights W of each layer: the very arrays of ``network_``'s Dense layers.
    intercepts_ : list of ndarray of shape (n_units[i + 1],)
        The biases b of each layer, likewise shared with ``network_``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when X had string column names.
    n_iter_ : int
        Number of epochs (L-BFGS iterations) run by the last fit.
    n_layers_ : int
        Number of layers, input and output included (``len(hidden_layer_sizes) + 2``).
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        The output activation (fused into the loss during training).
    network_ : chainrule.Sequential
        chainrule's extra: the fitted network, ``Dense -> activation [-> Dropout] ->
        ... -> Dense``. It outputs the *raw* scores Z (logits, log-means or values):
        the output activation is applied by ``predict``/``predict_proba``. Its Dense
        layers are built with ``init="zeros"`` and then given scikit-learn's initial
        weights.
    history_ : chainrule.History
        chainrule's extra: one row per epoch (per L-BFGS iteration) since the network
        was created; ``history_.to_frame()`` has columns "loss", "val_loss" and
        "val_<score>" (with early stopping), "lr" ("sgd", "adam"), and for each Dense
        layer i of ``network_.layers`` "grad_norm_<i>" (the norm of dL/dW, mean over the
        epoch's batches) and "update_ratio_<i>" (||W_end - W_start|| / ||W_start||).
"""

_NOTES = """\
    Training step, per minibatch (X_b, T_b) of n_b samples with weights w (all 1 by
    default)::

        Z, backward = forward through network_, training=True      Z (n_b, n_outputs)
        value, dZ   = objective(Z, T_b, w)                         see below
        backward(dZ)                       fills dW, db of every Dense layer (chainrule)
        dW += alpha * W / sum(w)
        loss = value + (alpha / 2) * sum_l ||W_l||^2 / sum(w)
        W, b updated by Adam or SGD (scikit-learn's rules, chainrule._sk_solvers)

    The epoch's ``loss_`` is ``sum_b loss_b * n_b / n``. L-BFGS minimises the same loss
    over the whole training set.
"""


class _Checkpoint:
    """What a fit may change in an estimator, kept so that a failed fit can undo it.

    ``fit`` and ``partial_fit`` change an estimator in three ways: they rebind
    attributes (``n_features_in_``, ``classes_``, ``network_``, ...), update arrays in
    place (the weights and their gradients, the optimizer's moments, the dropout
    generators) and append to lists (``loss_curve_``, ``validation_scores_``,
    ``history_``). A checkpoint keeps the bindings, copies of the arrays and the
    lengths of the lists (so that many ``partial_fit`` calls do not copy a growing
    history); :meth:`restore` undoes all three, leaving the estimator bit for bit as it
    was.
    """

    _CURVES = ("loss_curve_", "validation_scores_", "validation_loss_curve_")

    def __init__(self, est, incremental: bool) -> None:
        self.est = est
        self.attrs = dict(est.__dict__)
        self.layers = []
        network = self.attrs.get("network_")
        for layer in _all_layers(network) if network is not None else ():
            rng = layer.rng.bit_generator.state if isinstance(layer, Dropout) else None
            values = {name: array.copy() for name, array in layer.params.items()}
            grads = {name: array.copy() for name, array in layer.grads.items()}
            self.layers.append((layer, dict(layer.params), values, grads, rng))
        self.lists = [
            (lst, list(lst))
            for name in ("coefs_", "intercepts_")
            if isinstance(lst := self.attrs.get(name), list)
        ]
        self.curves = [
            (lst, len(lst))
            for name in self._CURVES
            if isinstance(lst := self.attrs.get(name), list)
        ]
        history = self.attrs.get("history_")
        self.history = None
        if history is not None:
            saved = (len(history.epochs), list(history.history), dict(history.params))
            self.history = (history, *saved, history.stopped_epoch)
        # partial_fit updates the optimizer in place (fit builds a new one)
        optimizer = self.attrs.get("_optimizer") if incremental else None
        self.optimizer = copy.deepcopy(optimizer) if optimizer is not None else None
        # a RandomState passed as random_state is the caller's object, advanced in place
        random_state = self.attrs.get("random_state")
        self.random_state = None
        if isinstance(random_state, np.random.RandomState):
            self.random_state = (random_state, random_state.get_state())

    def restore(self) -> None:
        est = self.est
        est.__dict__.clear()
        est.__dict__.update(self.attrs)
        for layer, params, values, grads, rng in self.layers:
            layer.params.clear()
            layer.params.update(params)
            for name, value in values.items():
                params[name][...] = value  # in place: coefs_ are these very arrays
            for name, value in grads.items():
                layer.grads[name][...] = value
            if rng is not None:
                layer.rng.bit_generator.state = rng
        for lst, contents in self.lists:
            lst[:] = contents
        for lst, length in self.curves:
            del lst[length:]
        if self.history is not None:
            history, n, keys, params, stopped = self.history
            del history.epochs[n:]
            for key in list(history.history):
                if key in keys:
                    del history.history[key][n:]
                else:
                    del history.history[key]
            history.params.clear()
            history.params.update(params)
            history.stopped_epoch = stopped
        if self.optimizer is not None:
            est._optimizer = self.optimizer
        if self.random_state is not None:
            random_state, state = self.random_state
            random_state.set_state(state)


def _all_layers(net):
    """Every layer of ``net``, nested ``Sequential`` layers included."""
    for layer in net.layers if isinstance(net, Sequential) else (net,):
        yield layer
        if isinstance(layer, Sequential):
            yield from _all_layers(layer)


def _check_stored_activation(est) -> None:
    """A loaded estimator's ``out_activation_`` must be the one its targets imply."""
    expected = est._output_activation()
    if est.out_activation_ != expected:
        raise ValueError(
            f"the stored out_activation_ {est.out_activation_!r} does not match the model "
            f"(a {type(est).__name__} of these targets uses {expected!r}): the file is "
            "inconsistent."
        )


def _fit_or_restore(est, fit: Callable[[], object], incremental: bool = False):
    """Run ``fit()``; if it raises (bad data, divergence), restore ``est`` as it was.

    Floating-point warnings are silenced while it runs: an overflow during training is
    a divergence, which ``fit`` reports as one clear error instead of NumPy warnings.

    Estimators are not thread-safe: a second ``fit``/``partial_fit`` of the same
    estimator while one runs (from another thread) raises a RuntimeError at once, and
    leaves the running fit undisturbed.
    """
    with _FITTING_LOCK:
        if id(est) in _FITTING:
            raise RuntimeError(
                f"this {type(est).__name__} is already being fitted (by another thread): "
                "estimators are not thread-safe, and two fits of one estimator would mix "
                "their weights. Give each thread its own estimator, e.g. "
                "sklearn.base.clone(est)."
            )
        _FITTING.add(id(est))
    try:
        checkpoint = _Checkpoint(est, incremental)
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return fit()
        except BaseException:
            checkpoint.restore()
            raise
    finally:
        with _FITTING_LOCK:
            _FITTING.discard(id(est))


def _doc(summary: str, parameters: str, attributes: str, notes: str, example: str) -> str:
    return (
        f"{summary}\n\n    Parameters\n    ----------\n{parameters}\n"
        f"    Attributes\n    ----------\n{attributes}\n"
        f"    Notes\n    -----\n{notes}\n"
        f"    Examples\n    --------\n{example}"
    )


class MLPClassifier(ClassifierMixin, BaseMLP):
    # The docstring is assembled below from the shared parameter descriptions.

    _parameter_constraints: ClassVar[dict] = {
        **BaseMLP._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }
    loss = "log_loss"  # as scikit-learn's MLPClassifier.loss (not a parameter)
    _validation_metric = "accuracy"

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        dropout: float = 0.0,
        progress: bool = False,
        class_weight: str | dict | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.progress = progress
        self.class_weight = class_weight

    # ------------------------------------------------------------------ public API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, callbacks=None) -> MLPClassifier:
        """Fit the network to X and the labels y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 data trains a float32 network.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Class labels (any hashable: ints, strings, ...), or a 0/1 indicator matrix
            for multilabel classification.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in the loss (multiplied by the weight of
            its class when ``class_weight`` is set).

        callbacks : list of Callback or functions f(epoch, logs), optional
            Keyword-only. Run by the training loop (``solver="sgd"`` or ``"adam"``):
            ``on_train_begin(network_, keys)`` once, ``on_epoch_end(epoch, logs)``
            after every epoch (``epoch``: its number in ``history_``; returning True
            ends the fit normally, without the max_iter ``ConvergenceWarning``, and
            sets ``history_.stopped_epoch``), ``on_train_end(network_, history_)`` at
            the end (not when the fit raises). ``logs`` holds ``"loss"`` (this
            epoch's ``loss_curve_`` value, L2 term included), ``"data_loss"`` (the
            same batches' mean loss without the L2 term), ``"val_loss"`` and
            ``"val_accuracy"`` with ``early_stopping``, ``"lr"``, and
            ``"grad_norm_<i>"``/``"update_ratio_<i>"``; ``keys`` lists them. With
            ``solver="lbfgs"`` only ``on_train_begin`` and ``on_train_end`` are called
            (L-BFGS has iterations, not epochs). See :mod:`chainrule.callbacks`.

        Returns
        -------
        self : MLPClassifier
        """
        return _fit_or_restore(
            self, lambda: self._fit(X, y, sample_weight, incremental=False, callbacks=callbacks)
        )

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None) -> MLPClassifier:
        """One epoch over (X, y), continuing from the current weights ("sgd", "adam").

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
        sample_weight : array-like of shape (n_samples,), default=None
        classes : array-like of shape (n_classes,), default=None
            All the classes of the whole dataset: required at the first call (``y`` need
            not contain all of them), optional afterwards.

        Returns
        -------
        self : MLPClassifier
        """

        def partial_fit():
            if _check_partial_fit_first_call(self, classes):
                self._label_binarizer = LabelBinarizer()
                if type_of_target(y).startswith("multilabel"):
                    self._label_binarizer.fit(y)
                else:
                    self._label_binarizer.fit(classes)
            return self._fit(X, y, sample_weight=sample_weight, incremental=True)

        return _fit_or_restore(self, partial_fit, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Labels from ``classes_`` (an indicator matrix for multilabel targets).
        """
        return self._labels_from_raw(self._raw_output(X))

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        P : ndarray of shape (n_samples, n_classes)
            ``P[i, j]`` is the probability of ``classes_[j]``: softmax(Z) for multiclass,
            one independent sigmoid per label for multilabel, and ``[sigmoid(-z),
            sigmoid(z)]`` for binary targets (both columns from the logit z, so a small
            probability keeps its precision where scikit-learn's ``1 - p`` rounds it to 0).
        """
        Z = self._raw_output(X)
        if self.n_outputs_ == 1:
            z = Z.ravel()
            return np.vstack([sigmoid(-z), sigmoid(z)]).T
        return self._proba_from_raw(Z)

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of the class probabilities: ``log(predict_proba(X))``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_P : ndarray of shape (n_samples, n_classes)
            ``-inf`` only where a probability underflows to exactly 0.
        """
        P = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(P, out=P)

    # ------------------------------------------------------------------ target handling
    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` has "
                        f"{classes}. Set warm_start=False to train on new classes."
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}. Pass every class in `classes` at "
                    "the first call to partial_fit."
                )
        Y = self._label_binarizer.transform(y).astype(bool)
        return X, Y

    def _class_weights(self, Y: np.ndarray, incremental: bool) -> np.ndarray | None:
        """Each sample's class weight (n_samples,) from ``class_weight``, or None.

        "balanced": ``n_samples / (n_classes * count(class))`` of the classes in y, as
        ``sklearn.utils.class_weight.compute_class_weight("balanced", ...)``; a dict:
        its weight for each class it names, 1 for the others.
        """
        class_weight = self.class_weight
        if class_weight is None:
            return None
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError(
                f"class_weight={class_weight!r} needs one class per sample, but y is "
                "multilabel. Pass per-sample weights through sample_weight instead."
            )
        index = Y[:, 0].astype(np.intp) if Y.shape[1] == 1 else Y.argmax(axis=1)
        classes = self.classes_
        if isinstance(class_weight, str):  # "balanced" (the only string allowed)
            if incremental:
                raise ValueError(
                    "class_weight='balanced' is not supported for partial_fit: one batch "
                    "does not show the class frequencies. Compute them once with "
                    "sklearn.utils.class_weight.compute_class_weight('balanced', "
                    "classes=classes, y=y) on enough of the training targets and pass "
                    "class_weight=dict(zip(classes, weights))."
                )
            present = np.unique(index)
            weights = np.ones(len(classes))
            weights[present] = compute_class_weight(
                "balanced", classes=classes[present], y=classes[index]
            )
            return weights[index]
        return _class_weight_dict(class_weight, classes)[index]

    def _output_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _objective_name(self) -> str:
        return "log_loss" if self.out_activation_ == "softmax" else "binary_log_loss"

    def _loss_targets(self, Y: np.ndarray, dtype) -> np.ndarray:
        """Class indices (n,) for softmax; 0/1 floats (n, k) for the sigmoid outputs."""
        if self.out_activation_ == "softmax":
            return Y.argmax(axis=1)
        return Y.astype(dtype)

    def _val_targets(self, Y_val: np.ndarray):
        return self._label_binarizer.inverse_transform(Y_val)

    def _stratify_labels(self, Y: np.ndarray, n_val: int):
        """What to stratify the early-stopping split by, or None.

        Binary targets: the 0/1 column, as scikit-learn does (so a class with one
        sample raises scikit-learn's error). Multiclass targets (chainrule's extension):
        the class indices, unless some class has fewer than 2 samples or cannot appear
        on both sides, where the split falls back to scikit-learn's plain random split.
        Multilabel targets are not stratified.
        """
        if self._label_binarizer.y_type_.startswith("multilabel"):
            return None
        if Y.shape[1] == 1:
            return Y
        labels = Y.argmax(axis=1)
        counts = np.bincount(labels)
        counts = counts[counts > 0]
        n_classes = counts.size
        if counts.min() < 2 or n_val < n_classes or Y.shape[0] - n_val < n_classes:
            return None
        return labels

    def _proba_from_raw(self, Z: np.ndarray) -> np.ndarray:
        if self.out_activation_ == "softmax":
            return softmax(Z.copy())
        return sigmoid(Z)

    def _labels_from_raw(self, Z: np.ndarray):
        P = self._proba_from_raw(Z)
        if self.n_outputs_ == 1:
            P = P.ravel()
        return self._label_binarizer.inverse_transform(P)

    def _score_raw(self, Z, y, sample_weight) -> float:
        y_pred = self._labels_from_raw(Z)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"multilabel": True}

    # ------------------------------------------------------------------ persistence
    _SAFE_LABEL_DTYPES = (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float32",
        "float64",
    )

    def _labels_to_state(self, spec: dict, arrays: dict) -> None:
        classes = np.asarray(self.classes_)
        if classes.dtype.kind == "O":
            values = list(classes)
            if all(isinstance(v, str) for v in values):
                stored, kind = np.array(values, dtype=str), "object_str"
            elif all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
                stored, kind = np.array(values, dtype=np.int64), "object_int"
            else:
                raise TypeError(
                    "cannot save classes_ that mix types or hold objects other than str and "
                    f"int ({classes!r}); encode the labels as strings or integers."
                )
        elif classes.dtype.kind == "U":
            stored, kind = classes, "str"
        elif classes.dtype.name in self._SAFE_LABEL_DTYPES:
            wide = {"b": np.bool_, "i": np.int64, "u": np.int64, "f": np.float64}
            stored, kind = classes.astype(wide[classes.dtype.kind]), classes.dtype.name
        else:
            raise TypeError(f"cannot save classes_ of dtype {classes.dtype}.")
        arrays["classes_"] = stored
        spec["classes_kind"] = kind
        spec["y_type"] = self._label_binarizer.y_type_

    def _labels_from_state(self, spec: dict, arrays: dict) -> None:
        stored, kind, y_type = arrays["classes_"], spec["classes_kind"], spec["y_type"]
        if kind == "object_str" or kind == "object_int":
            classes = np.array(stored.tolist(), dtype=object)
        elif kind == "str":
            classes = stored
        elif kind in self._SAFE_LABEL_DTYPES:
            classes = stored.astype(kind)
        else:
            raise ValueError(f"unknown classes_kind {kind!r}.")
        lb = LabelBinarizer()
        if y_type == "multilabel-indicator":
            lb.fit(np.eye(classes.size, dtype=int))
        else:
            lb.fit(classes)
        if lb.y_type_ != y_type or not np.array_equal(lb.classes_, classes):
            raise ValueError(f"the stored classes {classes!r} do not match target type {y_type!r}.")
        n_out = 1 if (y_type == "binary" and classes.size <= 2) else classes.size
        if n_out != self.n_outputs_:
            raise ValueError(
                f"{classes.size} stored classes need {n_out} outputs, the network has "
                f"{self.n_outputs_}."
            )
        self._label_binarizer = lb
        self.classes_ = lb.classes_
        _check_stored_activation(self)


def _class_weight_dict(class_weight: dict, classes: np.ndarray) -> np.ndarray:
    """The weight of each of ``classes`` from a ``{label: weight}`` dict (1 if absent)."""
    position = {label: i for i, label in enumerate(classes.tolist())}
    weights = np.ones(len(classes))
    for label, weight in class_weight.items():
        key = label.item() if isinstance(label, np.generic) else label
        if key not in position:
            raise ValueError(
                f"class_weight has a weight for {label!r}, which is not a class of y (the "
                f"classes are {classes.tolist()}). Use the labels of y as keys, e.g. "
                f"class_weight={{{classes.tolist()[0]!r}: 2.0}}."
            )
        is_number = isinstance(weight, Real) and not isinstance(weight, bool)
        if not is_number or not (math.isfinite(weight) and weight >= 0):
            raise ValueError(
                f"class_weight[{label!r}] = {weight!r} is not a valid weight: give each "
                f"class a finite number >= 0, e.g. class_weight={{{label!r}: 2.0}}."
            )
        weights[position[key]] = float(weight)
    return weights


class MLPRegressor(RegressorMixin, BaseMLP):
    # The docstring is assembled below from the shared parameter descriptions.

    _parameter_constraints: ClassVar[dict] = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson", "absolute_error", "huber"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }
    _validation_metric = "r2"

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        dropout: float = 0.0,
        progress: bool = False,
        huber_delta: float = 1.0,
    ) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.progress = progress
        self.huber_delta = huber_delta

    # ------------------------------------------------------------------ public API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, callbacks=None) -> MLPRegressor:
        """Fit the network to X and the targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 data trains a float32 network.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real targets (non-negative for ``loss="poisson"``).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in the loss.

        callbacks : list of Callback or functions f(epoch, logs), optional
            Keyword-only; called as in :meth:`MLPClassifier.fit`, with
            ``"val_score"`` (R^2) in the logs instead of ``"val_accuracy"``.

        Returns
        -------
        self : MLPRegressor
        """
        return _fit_or_restore(
            self, lambda: self._fit(X, y, sample_weight, incremental=False, callbacks=callbacks)
        )

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None) -> MLPRegressor:
        """One epoch over (X, y), continuing from the current weights ("sgd", "adam").

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MLPRegressor
        """
        return _fit_or_restore(
            self,
            lambda: self._fit(X, y, sample_weight=sample_weight, incremental=True),
            incremental=True,
        )

    def predict(self, X) -> np.ndarray:
        """Predict the targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``exp(Z)`` for ``loss="poisson"``, else the network's output Z; one column
            is returned as a 1-D array. Never inf or NaN: a ValueError says which
            samples' predictions overflow instead.
        """
        Z = self._raw_output(X)
        with np.errstate(over="ignore"):
            Y = self._predict_from_raw(Z)
        if not np.isfinite(Y).all():  # exp(Z) of the Poisson loss, for Z > ~709
            rows = np.flatnonzero(~np.isfinite(Y.reshape(Z.shape)).all(axis=1))
            raise ValueError(
                f"the predicted mean exp(Z) overflows {Y.dtype} for {rows.size} of "
                f"{Z.shape[0]} samples (the first is row {rows[0]}, where Z = "
                f"{Z[rows[0]].max():.4g} > log(max {Y.dtype}) = "
                f"{math.log(np.finfo(Y.dtype).max):.4g}): their values are far outside "
                "the range seen in training. Scale X as the training data was scaled."
            )
        return Y

    # ------------------------------------------------------------------ target handling
    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError(
                "loss='poisson' needs non-negative targets (counts or rates), but y has a "
                f"minimum of {y.min()}; use loss='squared_error' for signed targets."
            )
        return X, (y.reshape(-1, 1) if y.ndim == 1 else y)

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _objective_name(self) -> str:
        return self.loss

    def _loss_targets(self, Y: np.ndarray, dtype) -> np.ndarray:
        return Y.astype(dtype, copy=False)

    def _val_targets(self, Y_val: np.ndarray):
        return Y_val

    def _stratify_labels(self, Y: np.ndarray, n_val: int):
        return None

    def _labels_from_state(self, spec: dict, arrays: dict) -> None:
        _check_stored_activation(self)

    def _predict_from_raw(self, Z: np.ndarray) -> np.ndarray:
        if self.out_activation_ == "exp":
            Z = np.exp(Z)
        return Z.ravel() if Z.shape[1] == 1 else Z

    def _score_raw(self, Z, y, sample_weight) -> float:
        y_pred = self._predict_from_raw(Z)
        if not np.isfinite(y_pred).all():
            return np.nan
        return r2_score(y, y_pred, sample_weight=sample_weight)


MLPClassifier.__doc__ = _doc(
    """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier``, on chainrule.

    A drop-in for ``sklearn.neural_network.MLPClassifier``: the same parameters,
    defaults, fitted attributes, methods and training procedure (see the module
    docstring of :mod:`chainrule.estimators` for the few deliberate differences), with
    the network open to inspection (``network_``, ``history_``). Softmax output for
    multiclass targets, one sigmoid per column for binary and multilabel targets.""",
    _COMMON_PARAMETERS
    + """\
    class_weight : None, "balanced" or dict, default=None
        chainrule's extra (keyword-only). Weights of the classes in the loss, multiplied
        into ``sample_weight`` (None: every class weighs 1, scikit-learn's behaviour).
        "balanced": ``n_samples / (n_classes * count(class))``, as
        ``sklearn.utils.class_weight.compute_class_weight("balanced", ...)`` on y (not
        supported by ``partial_fit``: pass the dict it computes). A dict ``{label:
        weight}`` with finite weights >= 0; classes it omits weigh 1. Not for
        multilabel targets (use ``sample_weight``).
""",
    "    classes_ : ndarray of shape (n_classes,)\n        The class labels.\n"
    + _COMMON_ATTRIBUTES,
    _NOTES
    + """
    The objective (``loss_``), k classes, P the output probabilities::

        multiclass (softmax):         value = (1/n) sum_i -log P[i, y_i]
                                      dZ = (P - T) / n        T one-hot (n, k)
        binary, multilabel (sigmoid): value = (1/n) sum_ij -(T log P + (1 - T) log(1 - P))
                                      dZ = (P - T) / n

    both computed from the logits Z by chainrule's fused ``CrossEntropy`` and
    ``BinaryCrossEntropy`` (the latter rescaled by k: scikit-learn sums over labels).
""",
    """    >>> import numpy as np
    >>> from chainrule import MLPClassifier
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> X = (X - X.mean(axis=0)) / X.std(axis=0)
    >>> clf = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=500,
    ...                     random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    >>> clf.coefs_[0].shape, clf.network_.layers[0].params["W"] is clf.coefs_[0]
    ((4, 16), True)
""",
)

MLPRegressor.__doc__ = _doc(
    """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor``, on chainrule.

    A drop-in for ``sklearn.neural_network.MLPRegressor``: the same parameters,
    defaults, fitted attributes, methods and training procedure (see the module
    docstring of :mod:`chainrule.estimators` for the few deliberate differences), with
    the network open to inspection (``network_``, ``history_``). Identity output (or
    ``exp`` for the Poisson loss), one unit per target column.""",
    """\
    loss : {"squared_error", "poisson", "absolute_error", "huber"}, default="squared_error"
        "squared_error": half the squared error; "poisson": half the Poisson deviance
        with a log link (exp output, y >= 0), as scikit-learn >= 1.7. chainrule's extras:
        "absolute_error" (mean absolute error) and "huber" (chainrule's ``Huber`` with
        ``huber_delta``), both averaged over samples and outputs.
"""
    + _COMMON_PARAMETERS
    + """\
    huber_delta : float, default=1.0
        chainrule's extra (keyword-only): where the Huber loss turns from quadratic to
        linear, in the units of y.
""",
    _COMMON_ATTRIBUTES,
    _NOTES
    + """
    The objective (``loss_``), n samples, k outputs, Z the network's output::

        squared_error:  value = (1/(2 n k)) sum_ij (Z_ij - T_ij)^2,  dZ = (Z - T) / n
        poisson:        value = (1/n) sum_ij T log(T / mu) - T + mu,  mu = exp(Z),
                        dZ = (mu - T) / n
        absolute_error: value = (1/(n k)) sum_ij |Z_ij - T_ij|,  dZ = sign(Z - T) / (n k)
        huber:          value = (1/(n k)) sum_ij huber(Z_ij - T_ij),
                        dZ = clip(Z - T, -delta, delta) / (n k)

    For k > 1 scikit-learn reports the squared error averaged over outputs but follows
    the gradient of its sum (the two agree for k = 1); we do the same, to train alike.
""",
    """    >>> import numpy as np
    >>> from chainrule import MLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5])
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.99
    True
""",
)

register_kind("MLPClassifier", MLPClassifier)
register_kind("MLPRegressor", MLPRegressor)
