"""Callbacks and early stopping."""

import numpy as np
import pytest

import chainrule as cr


def regression_data(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 1))
    return X, np.sin(2 * X) + 0.4 * rng.normal(size=(n, 1))


def overfitting_setup():
    """A wide network, few noisy samples: the validation loss turns up after a while."""
    X, y = regression_data(16, seed=0)
    Xv, yv = regression_data(200, seed=1)
    rng = np.random.default_rng(0)
    net = cr.Sequential(
        cr.Dense(1, 64, rng=rng),
        cr.Tanh(),
        cr.Dense(64, 64, rng=rng),
        cr.Tanh(),
        cr.Dense(64, 1, rng=rng),
    )
    return net, X, y, Xv, yv


class Recorder(cr.Callback):
    """Copies of every parameter at the end of every epoch, and the hooks it saw."""

    def __init__(self):
        self.weights, self.calls = {}, []

    def on_train_begin(self, net, keys):
        self.net, self.keys = net, keys
        self.calls.append("begin")

    def on_epoch_end(self, epoch, logs):
        self.weights[epoch] = [p.copy() for _, _, p, _ in self.net.parameters()]
        self.calls.append(epoch)

    def on_train_end(self, net, history):
        self.calls.append("end")
        self.history = history


def test_early_stopping_restores_exactly_the_best_epoch_weights():
    net, X, y, Xv, yv = overfitting_setup()
    arrays = [p for _, _, p, _ in net.parameters()]
    rec = Recorder()
    stopper = cr.EarlyStopping(patience=8)
    history = cr.fit(
        net,
        cr.MeanSquaredError(),
        X,
        y,
        optimizer=cr.Adam(0.01),
        epochs=500,
        batch_size=None,
        validation_data=(Xv, yv),
        callbacks=[rec],
        early_stopping=stopper,
    )
    n = len(history)
    assert n < 500, "expected the validation loss to turn up and training to stop early"
    best = int(np.argmin(history.val_loss)) + 1
    assert stopper.best_epoch == best and stopper.stopped_epoch == n == best + 8
    assert history.stopped_epoch == n
    assert stopper.best_value == min(history.val_loss)
    # the weights now are bit for bit those at the end of the best epoch, in the same arrays
    for p, a, saved in zip(
        [p for _, _, p, _ in net.parameters()], arrays, rec.weights[best], strict=True
    ):
        assert p is a
        np.testing.assert_array_equal(p, saved)
    assert not all(
        np.array_equal(a, b) for a, b in zip(rec.weights[best], rec.weights[n], strict=True)
    )
    # and the restored network reproduces the best validation loss
    assert cr.MeanSquaredError()(net.predict(Xv), yv)[0] == history.val_loss[best - 1]


def test_early_stopping_restores_the_best_weights_when_epochs_run_out():
    net, X, y, Xv, yv = overfitting_setup()
    rec = Recorder()
    history = cr.fit(
        net,
        "mse",
        X,
        y,
        optimizer=cr.Adam(0.01),
        epochs=60,
        batch_size=None,
        validation_data=(Xv, yv),
        callbacks=[rec],
        early_stopping=cr.EarlyStopping(patience=1000),
    )
    assert len(history) == 60 and history.stopped_epoch is None
    best = int(np.argmin(history.val_loss)) + 1
    for (_, _, p, _), saved in zip(net.parameters(), rec.weights[best], strict=True):
        np.testing.assert_array_equal(p, saved)


def test_restore_best_false_keeps_the_last_weights():
    net, X, y, Xv, yv = overfitting_setup()
    rec = Recorder()
    history = cr.fit(
        net,
        "mse",
        X,
        y,
        optimizer=cr.Adam(0.01),
        epochs=500,
        batch_size=None,
        validation_data=(Xv, yv),
        callbacks=[rec],
        early_stopping=cr.EarlyStopping(patience=8, restore_best=False),
    )
    for (_, _, p, _), saved in zip(net.parameters(), rec.weights[len(history)], strict=True):
        np.testing.assert_array_equal(p, saved)


def test_a_callback_returning_true_stops_training():
    X, y = regression_data(30, seed=2)
    net = cr.Sequential(cr.Dense(1, 4, rng=0), cr.Tanh(), cr.Dense(4, 1, rng=1))
    seen = []

    def stop_at_three(epoch, logs):
        seen.append((epoch, sorted(logs)))
        return epoch == 3

    rec = Recorder()
    history = cr.fit(
        net, "mse", X, y, optimizer=cr.SGD(0.1), epochs=50, rng=0, callbacks=[rec, stop_at_three]
    )
    assert len(history) == 3 and history.epochs == [1, 2, 3] and history.stopped_epoch == 3
    assert [e for e, _ in seen] == [1, 2, 3]
    assert rec.calls == ["begin", 1, 2, 3, "end"] and rec.history is history
    assert tuple(rec.keys) == tuple(history.keys())
    assert seen[0][1] == sorted(history.keys())


def test_a_subclass_can_stop_training_too():
    class StopWhenSmall(cr.Callback):
        def on_epoch_end(self, epoch, logs):
            return logs["loss"] < 0.5

    X, y = regression_data(40, seed=3)
    net = cr.Sequential(cr.Dense(1, 8, rng=0), cr.Tanh(), cr.Dense(8, 1, rng=1))
    history = cr.fit(
        net, "mse", X, y, optimizer=cr.Adam(0.01), epochs=500, rng=0, callbacks=[StopWhenSmall()]
    )
    assert history.loss[-1] < 0.5 <= min(history.loss[:-1])


def test_early_stopping_on_the_training_loss_and_true_shortcut():
    X, y = regression_data(40, seed=3)
    net = cr.Sequential(cr.Dense(1, 1, rng=0))  # a line: the loss plateaus fast
    history = cr.fit(
        net,
        "mse",
        X,
        y,
        optimizer=cr.SGD(0.1),
        epochs=1000,
        batch_size=None,
        early_stopping=True,
    )
    assert len(history) < 1000


def test_early_stopping_needs_its_monitored_value():
    X, y = regression_data(20, seed=0)
    net = cr.Sequential(cr.Dense(1, 1, rng=0))
    with pytest.raises(ValueError, match=r"val_loss.*validation_split"):
        cr.fit(net, "mse", X, y, optimizer=cr.SGD(0.1), epochs=3, early_stopping=cr.EarlyStopping())


def test_early_stopping_rule_step_by_step():
    net = cr.Sequential(cr.Dense(1, 1, rng=0))
    stopper = cr.EarlyStopping(monitor="loss", patience=2, min_delta=0.1)
    stopper.on_train_begin(net, ("loss",))
    # 1.0 improves on inf; 0.95 is not better by more than 0.1 (wait 1); 0.85 is (wait 0);
    # 0.8 and 0.84 are not (wait 1, 2): stop after epoch 5
    decisions = [
        stopper.on_epoch_end(e, {"loss": v}) for e, v in enumerate([1, 0.95, 0.85, 0.8, 0.84], 1)
    ]
    assert decisions == [False, False, False, False, True]
    assert stopper.best_epoch == 3 and stopper.best_value == 0.85


def test_mode_auto_maximises_accuracy_and_r2():
    assert cr.EarlyStopping(monitor="val_accuracy").mode == "max"
    assert cr.EarlyStopping(monitor="r2").mode == "max"
    assert cr.EarlyStopping(monitor="val_mae").mode == "min"
    net = cr.Sequential(cr.Dense(1, 1, rng=0))
    stopper = cr.EarlyStopping(monitor="val_accuracy", patience=1)
    stopper.on_train_begin(net, ("val_accuracy",))
    assert [
        stopper.on_epoch_end(e, {"val_accuracy": v}) for e, v in ((1, 0.5), (2, 0.7), (3, 0.6))
    ] == [
        False,
        False,
        True,
    ]
    assert stopper.best_epoch == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"patience": -1}, ValueError, "patience"),
        ({"min_delta": -0.1}, ValueError, "min_delta"),
        ({"mode": "up"}, ValueError, "mode"),
        ({"monitor": 3}, TypeError, "monitor"),
    ],
)
def test_bad_early_stopping_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        cr.EarlyStopping(**kwargs)


def test_callbacks_must_be_callbacks_or_functions():
    X, y = regression_data(10, seed=0)
    net = cr.Sequential(cr.Dense(1, 1, rng=0))
    with pytest.raises(TypeError, match="callbacks"):
        cr.fit(net, "mse", X, y, optimizer=cr.SGD(0.1), epochs=2, callbacks=[42])
    with pytest.raises(TypeError, match="early_stopping"):
        cr.fit(net, "mse", X, y, optimizer=cr.SGD(0.1), epochs=2, early_stopping=5)
