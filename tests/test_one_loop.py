"""One loop: ``cr.fit``, the estimators and the playground train through
``chainrule.training.loop.run_epochs``; the estimators' callbacks and ``data_loss``."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import chainrule as cr
from chainrule import MLPClassifier, MLPRegressor
from chainrule.estimators._solvers import SGDRule
from chainrule.playground.session import Session
from chainrule.training import loop


def classification_data(n=90, seed=0):
    rs = np.random.RandomState(seed)
    X = rs.randn(n, 4)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


@pytest.fixture
def spy(monkeypatch):
    """Count the loop's epochs (calls of _train_epoch) and the batches they trained."""
    calls = []
    original = loop._train_epoch

    def spied(run, data, budget):
        sums = original(run, data, budget)
        calls.append((type(run).__name__, sums.n_steps))
        return sums

    monkeypatch.setattr(loop, "_train_epoch", spied)
    return calls


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_every_estimator_step_goes_through_the_loop(spy, solver):
    X, y = classification_data()
    kw = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=4, batch_size=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(**kw).fit(X, y)
        MLPRegressor(**kw).fit(X, X[:, 0])
    assert [name for name, _ in spy] == ["EstimatorRun"] * 8
    assert sum(n for _, n in spy[:4]) == 4 * 5  # every batch of every epoch
    if solver == "adam":
        assert clf._optimizer.t == 20  # and no step was taken elsewhere
    spy.clear()
    clf.partial_fit(X[:30], y[:30])
    assert spy == [("EstimatorRun", 2)]
    if solver == "adam":
        assert clf._optimizer.t == 22


def test_cr_fit_and_the_playground_tick_go_through_the_loop(spy):
    X, y = classification_data()
    net = cr.Sequential(cr.Dense(4, 3, rng=0), cr.Tanh(), cr.Dense(3, 2, rng=1))
    cr.fit(net, "cross_entropy", X, y, optimizer=cr.SGD(0.1), epochs=2, batch_size=30, rng=0)
    assert spy == [("TrainingRun", 3), ("TrainingRun", 3)]
    spy.clear()
    session = Session()
    n_train = len(session.data.train)
    batch_size = session.config["network"]["batch_size"]
    session.train(7)
    assert [name for name, _ in spy] == ["TickRun"] and sum(n for _, n in spy) == 7
    assert session.steps == 7 and session.epoch == 0
    spy.clear()
    session.train(epochs=1)  # the rest of the epoch, where the last tick stopped
    per_epoch = -(-n_train // batch_size)
    assert sum(n for _, n in spy) == per_epoch - 7
    assert session.steps == per_epoch and session.epoch == 1


def test_a_tick_continues_the_epoch_exactly_as_one_long_tick():
    one, many = Session(), Session()
    one.train(45)
    for k in (1, 13, 0, 31):
        many.train(k)
    assert one.steps == many.steps == 45 and one.epoch == many.epoch
    for (_, _, p, _), (_, _, q, _) in zip(one.net.parameters(), many.net.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("weighted", [False, True])
def test_data_loss_plus_the_l2_term_is_the_loss(monkeypatch, weighted):
    """Per epoch: loss - data_loss = mean over batches of (alpha / 2) ||W||^2 / sum(w_b),
    each batch counted by its size (scikit-learn's loss_), computed here from the
    weights each batch saw."""
    X, y = classification_data(70)
    sw = np.random.RandomState(1).uniform(0.5, 2.0, 70) if weighted else None
    alpha, batch_size = 0.3, 16
    seen = []  # sum ||W||^2 before each step (the weights the batch's loss saw)
    original = SGDRule.step

    def step(self, params, grads):
        n_coefs = len(params) // 2
        seen.append(sum(float(np.sum(W**2)) for W in params[:n_coefs]))
        return original(self, params, grads)

    monkeypatch.setattr(SGDRule, "step", step)
    logs = []
    clf = MLPClassifier(
        hidden_layer_sizes=(6,),
        solver="sgd",
        alpha=alpha,
        batch_size=batch_size,
        max_iter=3,
        shuffle=False,
        random_state=0,
        learning_rate_init=0.1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sw, callbacks=[lambda epoch, l: logs.append(dict(l))])
    starts = range(0, 70, batch_size)
    sizes = [min(batch_size, 70 - s) for s in starts]
    weight_sums = [
        s if sw is None else sw[a : a + s].sum() for a, s in zip(starts, sizes, strict=True)
    ]
    assert len(seen) == 3 * len(sizes) and len(logs) == 3
    for e, l in enumerate(logs):
        S = seen[e * len(sizes) : (e + 1) * len(sizes)]
        penalty = (
            sum(0.5 * alpha * s / d * n for s, d, n in zip(S, weight_sums, sizes, strict=True)) / 70
        )
        assert l["loss"] == clf.loss_curve_[e]
        assert l["data_loss"] < l["loss"]
        assert l["loss"] - l["data_loss"] == pytest.approx(penalty, rel=1e-9)


class Recorder(cr.callbacks.Callback):
    def __init__(self, stop_at=None):
        self.calls, self.logs, self.stop_at = [], [], stop_at

    def on_train_begin(self, net, keys):
        self.calls.append("begin")
        self.net, self.keys = net, tuple(keys)

    def on_epoch_end(self, epoch, logs):
        self.calls.append(epoch)
        self.logs.append(dict(logs))
        return epoch == self.stop_at

    def on_train_end(self, net, history):
        self.calls.append("end")
        self.end = (net, history)


def test_estimator_callbacks_see_every_epoch_and_stop_by_returning_true():
    X, y = classification_data()
    rec, seen = Recorder(stop_at=3), []
    clf = MLPClassifier(hidden_layer_sizes=(5,), early_stopping=True, random_state=0, max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a stop is not a max_iter end
        clf.fit(X, y, callbacks=[rec, lambda epoch, logs: seen.append(epoch)])
    assert rec.calls == ["begin", 1, 2, 3, "end"] and seen == [1, 2, 3]
    assert rec.net is clf.network_ and rec.end == (clf.network_, clf.history_)
    assert rec.keys == (
        "loss",
        "data_loss",
        "val_loss",
        "val_accuracy",
        "lr",
        "grad_norm_0",
        "grad_norm_2",
        "update_ratio_0",
        "update_ratio_2",
    )
    assert all(tuple(logs) == rec.keys for logs in rec.logs)
    assert clf.n_iter_ == 3 and len(clf.history_) == 3 and clf.history_.stopped_epoch == 3
    assert [logs["loss"] for logs in rec.logs] == clf.loss_curve_
    assert [logs["val_accuracy"] for logs in rec.logs] == clf.validation_scores_
    assert "data_loss" not in clf.history_  # the history's columns are unchanged


def test_estimator_callbacks_do_not_change_training():
    X = classification_data()[0]
    y = X @ np.array([1.0, -2.0, 0.5, 0.0])
    kw = dict(hidden_layer_sizes=(4,), solver="sgd", random_state=0, max_iter=5, alpha=0.01)
    rec = Recorder()
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(5\)"):
        plain = MLPRegressor(**kw).fit(X, y)
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(5\)"):
        watched = MLPRegressor(**kw).fit(X, y, callbacks=[rec])
    assert plain.loss_curve_ == watched.loss_curve_ and watched.history_.stopped_epoch is None
    assert rec.calls == ["begin", 1, 2, 3, 4, 5, "end"]
    assert rec.keys[:3] == ("loss", "data_loss", "lr")
    for W, V in zip(plain.coefs_, watched.coefs_, strict=True):
        np.testing.assert_array_equal(W, V)


def test_lbfgs_calls_only_the_begin_and_end_hooks():
    X, y = classification_data()
    rec = Recorder(stop_at=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5, random_state=0)
        clf.fit(X, y, callbacks=[rec])
    assert rec.calls == ["begin", "end"]
    assert rec.keys == ("loss", "grad_norm_0", "grad_norm_2", "update_ratio_0", "update_ratio_2")
    assert rec.keys == tuple(clf.history_.keys())


def test_bad_callbacks_are_refused_before_training():
    X, y = classification_data()
    clf = MLPClassifier(max_iter=2)
    with pytest.raises(TypeError, match=r"pass it in a list: callbacks=\[f\]"):

        def f(epoch, logs):
            return None

        clf.fit(X, y, callbacks=f)
    with pytest.raises(TypeError, match="got int"):
        clf.fit(X, y, callbacks=[3])
    assert not hasattr(clf, "coefs_")


def test_the_penalty_is_written_once():
    assert loop.l2_penalty([np.array([[3.0, 4.0]])], 0.5, 5.0) == 0.5 * 0.5 * 25.0 / 5.0
    assert loop.l2_penalty([np.ones(3)], 0.0) == 0.0
