"""fit(): convergence, the loop's arithmetic, L2, weights, metrics, History, errors."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import metrics

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_y = np.array([0, 1, 1, 0])


def small_regression(n=40, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(dtype)
    y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rng.normal(size=(n, 1))).astype(dtype)
    return X, y


def small_net(seed=0, dtype=np.float64, n_in=3, n_out=1, dropout=None):
    rng = np.random.default_rng(seed)
    layers = [cr.Dense(n_in, 8, rng=rng, dtype=dtype), cr.Tanh()]
    if dropout is not None:
        layers.append(cr.Dropout(dropout, rng=seed))
    layers.append(cr.Dense(8, n_out, rng=rng, dtype=dtype))
    return cr.Sequential(*layers)


def weights_of(net):
    return [p.copy() for _, _, p, _ in net.parameters()]


# --------------------------------------------------------------------------- convergence
def test_xor_by_full_batch_gradient_descent():
    net = cr.Sequential(cr.Dense(2, 4, rng=1), cr.Tanh(), cr.Dense(4, 1, rng=2))
    history = cr.fit(
        net,
        cr.BinaryCrossEntropy(),
        XOR_X,
        XOR_y,
        optimizer=cr.SGD(1.0),
        epochs=1000,
        batch_size=None,
        metrics=["accuracy"],
    )
    assert history.accuracy[-1] == 1.0
    assert ((net.predict(XOR_X)[:, 0] > 0) == XOR_y).all()
    assert history.loss[-1] < 0.05 < history.loss[0]


def test_xor_with_sigmoid_hidden_units():
    net = cr.Sequential(cr.Dense(2, 4, rng=3), cr.Sigmoid(), cr.Dense(4, 1, rng=4))
    cr.fit(
        net,
        cr.BinaryCrossEntropy(),
        XOR_X,
        XOR_y,
        optimizer=cr.SGD(2.0, momentum=0.9),
        epochs=1000,
        batch_size=None,
    )
    assert metrics.accuracy(net.predict(XOR_X), XOR_y) == 1.0


def test_moons_with_relu_and_adam():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.make_moons(n_samples=600, noise=0.15, random_state=0)
    X_train, y_train, X_test, y_test = X[:400], y[:400], X[400:], y[400:]
    rng = np.random.default_rng(0)
    net = cr.Sequential(
        cr.Dense(2, 32, init="he", rng=rng),
        cr.ReLU(),
        cr.Dense(32, 32, init="he", rng=rng),
        cr.ReLU(),
        cr.Dense(32, 2, rng=rng),
    )
    history = cr.fit(
        net,
        cr.CrossEntropy(),
        X_train,
        y_train,
        optimizer=cr.Adam(0.01),
        epochs=60,
        validation_split=0.2,
        metrics=["accuracy"],
        rng=0,
    )
    assert metrics.accuracy(net.predict(X_test), y_test) > 0.95
    assert history.val_accuracy[-1] > 0.95


def test_noisy_sine_regression():
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(500, 1))
    y = np.sin(X) + 0.1 * rng.normal(size=X.shape)
    net = cr.Sequential(
        cr.Dense(1, 32, rng=rng),
        cr.Tanh(),
        cr.Dense(32, 32, rng=rng),
        cr.Tanh(),
        cr.Dense(32, 1, rng=rng),
    )
    history = cr.fit(
        net,
        cr.MeanSquaredError(),
        X[:400],
        y[:400],
        optimizer=cr.Adam(0.01),
        epochs=80,
        validation_data=(X[400:], y[400:]),
        metrics=["r2", "mae"],
        rng=0,
    )
    assert history.val_r2[-1] > 0.95
    assert metrics.r2(net.predict(X[400:]), y[400:]) == history.val_r2[-1]


# --------------------------------------------------------------------------- the loop
def test_full_batch_fit_is_the_textbook_loop_bit_for_bit():
    X, y = small_regression()
    a, b = small_net(seed=3), small_net(seed=3)
    loss = cr.MeanSquaredError()
    history = cr.fit(a, loss, X, y, optimizer=cr.SGD(0.05), epochs=20, batch_size=None)
    losses = []
    for _ in range(20):
        Y, backward = b.forward(X, training=True)
        value, dY = loss(Y, y)
        b.zero_grad()
        backward(dY)
        for _, _, param, grad in b.parameters():
            param -= 0.05 * grad
        losses.append(value)
    for p, q in zip(weights_of(a), weights_of(b), strict=True):
        np.testing.assert_array_equal(p, q)
    assert history.loss == losses


def test_minibatches_follow_a_fresh_permutation_each_epoch_and_keep_the_last_partial_batch():
    X, y = small_regression(n=23)
    a, b = small_net(seed=5), small_net(seed=5)
    loss, bs = cr.MeanSquaredError(), 5
    history = cr.fit(
        a,
        loss,
        X,
        y,
        optimizer=cr.SGD(0.05, momentum=0.5),
        epochs=3,
        batch_size=bs,
        rng=np.random.default_rng(11),
    )
    opt, rng, epoch_losses = cr.SGD(0.05, momentum=0.5), np.random.default_rng(11), []
    for _ in range(3):
        order = rng.permutation(23)
        total = 0.0
        for start in range(0, 23, bs):  # batches of 5, 5, 5, 5 and 3
            idx = order[start : start + bs]
            Y, backward = b.forward(X[idx], training=True)
            value, dY = loss(Y, y[idx])
            b.zero_grad()
            backward(dY)
            opt.step(b)
            total += value * len(idx)
        epoch_losses.append(total / 23)
    for p, q in zip(weights_of(a), weights_of(b), strict=True):
        np.testing.assert_array_equal(p, q)
    assert history.loss == pytest.approx(epoch_losses, rel=1e-15)
    assert history.params["batch_size"] == 5 and history.params["n_samples"] == 23


def test_shuffle_false_and_batch_larger_than_data():
    X, y = small_regression(n=10)
    a, b = small_net(seed=1), small_net(seed=1)
    cr.fit(a, "mse", X, y, optimizer=cr.SGD(0.1), epochs=3, batch_size=1000, rng=0)
    cr.fit(b, "mse", X, y, optimizer=cr.SGD(0.1), epochs=3, batch_size=None, shuffle=False)
    for p, q in zip(weights_of(a), weights_of(b), strict=True):
        np.testing.assert_array_equal(p, q)


def test_l2_adds_half_l2_norm_squared_to_the_loss_and_l2_w_to_the_gradient():
    X, y = small_regression()
    net, ref = small_net(seed=2), small_net(seed=2)
    l2, lr = 0.3, 0.01
    loss = cr.MeanSquaredError()
    history = cr.fit(net, loss, X, y, optimizer=cr.SGD(lr), epochs=1, batch_size=None, l2=l2)
    # by hand at the initial weights: L = data + (l2/2) sum ||W||^2;  W -= lr (dW + l2 W)
    Y, backward = ref.forward(X, training=True)
    value, dY = loss(Y, y)
    ref.zero_grad()
    backward(dY)
    Ws = [ref.layers[0].params["W"], ref.layers[2].params["W"]]
    assert history.loss[0] == pytest.approx(
        value + 0.5 * l2 * sum((W**2).sum() for W in Ws), rel=1e-14
    )
    for (_layer, name, p, g), (_, _, trained, _) in zip(
        ref.parameters(), net.parameters(), strict=True
    ):
        decay = l2 * p if name == "W" else 0.0  # biases are not decayed
        np.testing.assert_allclose(trained, p - lr * (g + decay), rtol=1e-14, atol=1e-15)
    # and L2 shrinks the weights compared with no decay
    plain = small_net(seed=2)
    cr.fit(plain, loss, X, y, optimizer=cr.SGD(lr), epochs=200, batch_size=None)
    cr.fit(net, loss, X, y, optimizer=cr.SGD(lr), epochs=199, batch_size=None, l2=l2)
    assert np.linalg.norm(net.layers[0].params["W"]) < np.linalg.norm(plain.layers[0].params["W"])


def test_l1_adds_l1_abs_w_to_the_loss_and_its_subgradient_to_the_gradient():
    X, y = small_regression()
    net, ref = small_net(seed=2), small_net(seed=2)
    ref.layers[0].params["W"][0, 0] = net.layers[0].params["W"][0, 0] = 0.0  # a kink
    l1, l2, lr = 0.2, 0.3, 0.01
    loss = cr.MeanSquaredError()
    history = cr.fit(net, loss, X, y, optimizer=cr.SGD(lr), epochs=1, batch_size=None, l1=l1, l2=l2)
    # by hand: L = data + (l2/2) sum ||W||^2 + l1 sum |W|;  W -= lr (dW + l2 W + l1 sign W)
    Y, backward = ref.forward(X, training=True)
    value, dY = loss(Y, y)
    ref.zero_grad()
    backward(dY)
    Ws = [ref.layers[0].params["W"], ref.layers[2].params["W"]]
    penalty = sum(0.5 * l2 * (W**2).sum() + l1 * np.abs(W).sum() for W in Ws)
    assert history.loss[0] == pytest.approx(value + penalty, rel=1e-14)
    assert history.params["l1"] == l1
    for (_layer, name, p, g), (_, _, trained, _) in zip(
        ref.parameters(), net.parameters(), strict=True
    ):
        decay = l2 * p + l1 * np.sign(p) if name == "W" else 0.0  # biases are not penalised
        np.testing.assert_allclose(trained, p - lr * (g + decay), rtol=1e-14, atol=1e-15)
    # the subgradient at the kink is 0: that weight moved by the data gradient alone
    g00 = ref.layers[0].grads["W"][0, 0]
    assert net.layers[0].params["W"][0, 0] == -lr * g00


def _sparse_problem():
    """20 features of which the target uses 2: the weights of the other 18 are not needed
    (the noise gives them least-squares values of a few hundredths)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 20))
    y = (X[:, :1] - 2 * X[:, 1:2]) + 0.5 * rng.normal(size=(200, 1))
    return X, y


def test_l1_makes_the_unneeded_weights_sparse_and_l2_does_not():
    X, y = _sparse_problem()
    near_zero, largest = {}, {}
    for name, kwargs in {"none": {}, "l2": {"l2": 0.2}, "l1": {"l1": 0.2}}.items():
        net = cr.Sequential(cr.Dense(20, 1, rng=0))
        cr.fit(net, "mse", X, y, optimizer=cr.SGD(0.01), epochs=300, batch_size=None,
               rng=0, **kwargs)  # fmt: skip
        unneeded = np.abs(net.layers[0].params["W"][2:, 0])
        near_zero[name] = int(np.sum(unneeded < 0.005))
        largest[name] = float(unneeded.max())
    # L1 subtracts lr * l1 from |w| whatever its size, so a weight whose data gradient is
    # smaller than l1 reaches 0 and stays within a step of it; L2 subtracts lr * l2 * w,
    # which vanishes with w: it shrinks every weight and zeroes none
    assert near_zero["l1"] == 18 and largest["l1"] < 0.003
    assert near_zero["none"] <= 2 and near_zero["l2"] <= 2
    assert largest["none"] > 0.07 and largest["l2"] > 0.09


def test_integer_sample_weights_equal_repeated_samples():
    X, y = small_regression(n=12)
    counts = np.array([1, 2, 0, 3, 1, 1, 0, 2, 1, 1, 4, 1])
    a, b = small_net(seed=7), small_net(seed=7)
    ha = cr.fit(
        a, "mse", X, y, optimizer=cr.SGD(0.05), epochs=10, batch_size=None, sample_weight=counts
    )
    hb = cr.fit(
        b,
        "mse",
        np.repeat(X, counts, axis=0),
        np.repeat(y, counts, axis=0),
        optimizer=cr.SGD(0.05),
        epochs=10,
        batch_size=None,
    )
    for p, q in zip(weights_of(a), weights_of(b), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-14)
    assert ha.loss == pytest.approx(hb.loss, rel=1e-12)


def test_sample_weights_go_through_minibatches_and_all_zero_batches_are_skipped():
    X, y = small_regression(n=20)
    w = np.zeros(20)
    w[:5] = 1.0  # with shuffle=False the last three batches of 5 carry no weight
    a, b = small_net(seed=8), small_net(seed=8)
    cr.fit(
        a,
        "mse",
        X,
        y,
        optimizer=cr.Adam(0.01),
        epochs=4,
        batch_size=5,
        shuffle=False,
        sample_weight=w,
    )
    cr.fit(b, "mse", X[:5], y[:5], optimizer=cr.Adam(0.01), epochs=4, batch_size=5)
    for p, q in zip(weights_of(a), weights_of(b), strict=True):
        np.testing.assert_array_equal(p, q)


def test_validation_split_holds_out_a_random_ceil_fraction():
    X, y = small_regression(n=41)
    seen = []

    class Spy(cr.Callback):
        def on_train_begin(self, net, keys):
            self.net = net

    net = small_net()
    history = cr.fit(
        net,
        "mse",
        X,
        y,
        optimizer=cr.SGD(0.01),
        epochs=2,
        validation_split=0.25,
        rng=0,
        callbacks=[Spy(), lambda e, logs: seen.append(logs)],
    )
    assert history.params["n_val"] == 11 and history.params["n_samples"] == 30
    # the held-out rows are those of rng(0)'s first permutation
    val_idx = np.sort(np.random.default_rng(0).permutation(41)[:11])
    assert history.val_loss[-1] == cr.MeanSquaredError()(net.predict(X[val_idx]), y[val_idx])[0]


# --------------------------------------------------------------------------- history
def test_history_columns_and_frame():
    pd = pytest.importorskip("pandas")
    X, y = small_regression()
    net = small_net(dropout=0.1)  # layers 0 and 3 have weights
    history = cr.fit(
        net,
        "mse",
        X,
        y,
        optimizer=cr.Adam(0.01),
        epochs=5,
        validation_split=0.2,
        metrics=("mse", "mae", "r2"),
        rng=0,
    )
    expected = [
        "loss",
        "mse",
        "mae",
        "r2",
        "val_loss",
        "val_mse",
        "val_mae",
        "val_r2",
        "lr",
        "grad_norm_0",
        "grad_norm_3",
        "update_ratio_0",
        "update_ratio_3",
    ]
    assert history.keys() == expected
    frame = history.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == expected
    assert frame.index.name == "epoch" and list(frame.index) == [1, 2, 3, 4, 5]
    assert history.epochs == [1, 2, 3, 4, 5] and len(history) == 5
    assert history.history["val_loss"] is history["val_loss"] is history.val_loss
    assert frame["val_loss"].tolist() == history.val_loss
    assert np.isfinite(frame.to_numpy()).all()
    assert "val_loss" in history and "nope" not in history
    with pytest.raises(AttributeError):
        history.nope
    with pytest.raises(KeyError, match="holds"):
        history["nope"]
    assert repr(history).startswith("History(epochs=5, last: loss=")


def test_grad_norm_and_update_ratio_are_what_the_docs_say():
    X, y = small_regression()
    net, ref = small_net(seed=4), small_net(seed=4)
    history = cr.fit(net, "mse", X, y, optimizer=cr.SGD(0.1), epochs=1, batch_size=None)
    Y, backward = ref.forward(X, training=True)
    ref.zero_grad()
    backward(cr.MeanSquaredError()(Y, y)[1])
    for i in (0, 2):
        W0, dW = ref.layers[i].params["W"], ref.layers[i].grads["W"]
        assert history[f"grad_norm_{i}"][0] == pytest.approx(np.linalg.norm(dW), rel=1e-13)
        W1 = net.layers[i].params["W"]
        ratio = np.linalg.norm(W1 - W0) / np.linalg.norm(W0)
        assert history[f"update_ratio_{i}"][0] == pytest.approx(ratio, rel=1e-12)


def test_grad_norm_is_averaged_over_the_epochs_batches():
    X, y = small_regression(n=10)
    net, ref = small_net(seed=6), small_net(seed=6)
    history = cr.fit(net, "mse", X, y, optimizer=cr.SGD(0.1), epochs=1, batch_size=5, shuffle=False)
    norms, opt = [], cr.SGD(0.1)
    for idx in (slice(0, 5), slice(5, 10)):
        Y, backward = ref.forward(X[idx], training=True)
        ref.zero_grad()
        backward(cr.MeanSquaredError()(Y, y[idx])[1])
        norms.append(np.linalg.norm(ref.layers[0].grads["W"]))
        opt.step(ref)
    assert history.grad_norm_0[0] == pytest.approx(np.mean(norms), rel=1e-13)


def test_grad_norms_show_vanishing_gradients_in_a_deep_sigmoid_network():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 8))
    y = rng.integers(0, 2, size=64)
    layers = []
    for _ in range(6):
        layers += [cr.Dense(8, 8, init="normal", rng=rng), cr.Sigmoid()]
    net = cr.Sequential(*layers, cr.Dense(8, 1, rng=rng))
    history = cr.fit(net, cr.BinaryCrossEntropy(), X, y, optimizer=cr.SGD(0.1), epochs=1)
    # each sigmoid multiplies the backward signal by at most 1/4, and W ~ N(0, 0.01^2)
    assert history.grad_norm_0[0] < 1e-6 * history.grad_norm_12[0]


# --------------------------------------------------------------------------- metrics
def test_training_and_validation_metrics_per_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    Xv, yv = X[:20], y[:20]

    def build():
        r = np.random.default_rng(1)
        return cr.Sequential(cr.Dense(2, 8, rng=r), cr.Tanh(), cr.Dense(8, 2, rng=r))

    net, initial = build(), build()
    history = cr.fit(
        net,
        cr.CrossEntropy(),
        X,
        y,
        optimizer=cr.SGD(0.1),
        epochs=3,
        batch_size=None,
        validation_data=(Xv, yv),
        metrics=["acc"],
    )
    # validation metrics: the final network on the validation data
    assert history.val_accuracy[-1] == (net.predict(Xv).argmax(axis=1) == yv).mean()
    # training metrics: on the outputs of the epoch's batches (here the one full batch,
    # computed before the epoch's step), so epoch 1's is the initial network's accuracy
    assert history.accuracy[0] == (initial.predict(X).argmax(axis=1) == y).mean()


@pytest.mark.parametrize(
    ("loss", "out"),
    [
        (cr.CrossEntropy(), "logits2"),
        (cr.CrossEntropy(from_logits=False), "softmax"),
        (cr.BinaryCrossEntropy(), "logit1"),
        (cr.BinaryCrossEntropy(from_logits=False), "sigmoid"),
    ],
)
def test_accuracy_reads_the_output_the_way_the_loss_does(loss, out):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    n_out = 2 if out in ("logits2", "softmax") else 1
    layers = [cr.Dense(2, n_out, rng=0)]
    if out == "softmax":
        layers.append(cr.Softmax())
    if out == "sigmoid":
        layers.append(cr.Sigmoid())
    net = cr.Sequential(*layers)
    history = cr.fit(
        net,
        loss,
        X,
        y,
        optimizer=cr.Adam(0.05),
        epochs=30,
        validation_data=(X, y),
        metrics=["accuracy"],
        rng=0,
    )
    Y = net.predict(X)
    pred = Y.argmax(axis=1) if n_out == 2 else (Y[:, 0] > (0.5 if out == "sigmoid" else 0.0))
    assert history.val_accuracy[-1] == (pred == y).mean() > 0.95


def test_metric_functions_against_scikit_learn():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    Y, T = rng.normal(size=(30, 2)), rng.normal(size=(30, 2))
    w = rng.uniform(0, 2, size=30)
    assert metrics.mse(Y, T) == pytest.approx(skm.mean_squared_error(T, Y), rel=1e-13)
    assert metrics.mae(Y, T, w) == pytest.approx(
        skm.mean_absolute_error(T, Y, sample_weight=w), rel=1e-13
    )
    assert metrics.r2(Y, T) == pytest.approx(skm.r2_score(T, Y), rel=1e-13)
    assert metrics.r2(Y, T, w) == pytest.approx(skm.r2_score(T, Y, sample_weight=w), rel=1e-13)
    assert metrics.r2(Y[:, :1], T[:, 0]) == pytest.approx(skm.r2_score(T[:, 0], Y[:, 0]))
    labels = rng.integers(0, 3, size=30)
    logits = rng.normal(size=(30, 3))
    assert metrics.accuracy(logits, labels, w) == pytest.approx(
        skm.accuracy_score(labels, logits.argmax(axis=1), sample_weight=w), rel=1e-13
    )
    assert metrics.accuracy(logits, np.eye(3)[labels]) == metrics.accuracy(logits, labels)


def test_accuracy_by_hand():
    # logits 2.0, -1.0, 0.5, -0.2 -> labels 1, 0, 1, 0 against 1, 0, 0, 0: 3 of 4 right
    Y = np.array([[2.0], [-1.0], [0.5], [-0.2]])
    assert metrics.accuracy(Y, np.array([1, 0, 0, 0])) == 0.75
    # as probabilities (threshold 0.5): 2.0 -> 1, -1.0 -> 0, 0.5 -> 0, -0.2 -> 0: all right
    assert metrics.accuracy(Y, np.array([1, 0, 0, 0]), from_logits=False) == 1.0
    # weights 1, 1, 2, 0: (1 + 1 + 0 + 0) / 4
    assert metrics.accuracy(Y, np.array([1, 0, 0, 0]), np.array([1, 1, 2, 0])) == 0.5
    # multilabel: 2 columns thresholded separately, each sample scores its right fraction
    Y2 = np.array([[1.0, -1.0], [1.0, 1.0]])
    assert metrics.accuracy(Y2, np.array([[1, 1], [1, 1]]), multilabel=True) == 0.75
    assert metrics.r2(np.ones((3, 1)), np.ones(3)) == 1.0  # constant target, exact fit
    assert metrics.r2(np.zeros((3, 1)), np.ones(3)) == 0.0  # constant target, missed


def test_custom_metric_functions():
    X, y = small_regression()

    def max_error(Y, T, sample_weight=None):
        return float(np.abs(Y - T).max())

    history = cr.fit(
        small_net(),
        "mse",
        X,
        y,
        optimizer=cr.SGD(0.01),
        epochs=2,
        validation_split=0.2,
        metrics=[max_error],
        rng=0,
    )
    assert "max_error" in history and "val_max_error" in history


def test_unknown_metric_is_refused_with_the_options():
    X, y = small_regression()
    with pytest.raises(ValueError, match=r"unknown metric 'f1'.*accuracy"):
        cr.fit(small_net(), "mse", X, y, optimizer=cr.SGD(0.1), epochs=1, metrics=["f1"])


# --------------------------------------------------------------------------- divergence
def test_divergence_raises_and_leaves_the_last_finite_weights():
    X, y = small_regression(n=64)
    X = X * 10  # unscaled inputs and a large learning rate: the classic blow-up
    net = small_net(seed=0)
    snapshots = {0: weights_of(net)}

    def record(epoch, logs):
        snapshots[epoch] = weights_of(net)

    with pytest.raises(TrainingDivergedError) as info:
        cr.fit(net, "mse", X, y, optimizer=cr.SGD(5.0), epochs=1000, rng=0, callbacks=[record])
    err = info.value
    assert isinstance(err, ArithmeticError)
    message = str(err)
    assert f"epoch {err.epoch}" in message and "lr=5" in message
    assert "lower learning rate" in message and "lr=0.5" in message
    assert err.lr == 5.0 and len(err.history) == err.epoch - 1
    for p, saved in zip(weights_of(net), snapshots[err.epoch - 1], strict=True):
        assert np.isfinite(p).all()
        np.testing.assert_array_equal(p, saved)


def test_divergence_in_float32_also_rolls_back():
    X, y = small_regression(n=64, dtype=np.float32)
    net = small_net(seed=0, dtype=np.float32)
    opt = cr.SGD(5.0, momentum=0.5)
    with pytest.raises(TrainingDivergedError, match="diverged"):
        cr.fit(net, "mse", X * 10, y, optimizer=opt, epochs=500, rng=0)
    assert all(np.isfinite(p).all() for p in weights_of(net))
    assert opt.state_of(net.layers[0].params["W"]) == {}  # poisoned buffers were cleared


TrainingDivergedError = cr.TrainingDivergedError


# --------------------------------------------------------------------------- precision, seeds
def test_float32_runs_stay_float32():
    X, y = small_regression(dtype=np.float32)
    net = small_net(dtype=np.float32, dropout=0.2)
    opt = cr.Adam(0.01)
    history = cr.fit(
        net,
        "mse",
        X,
        y,
        optimizer=opt,
        epochs=5,
        validation_split=0.2,
        l2=1e-3,
        sample_weight=np.ones(40),
        metrics=["r2"],
        rng=0,
    )
    for _, _, p, g in net.parameters():
        assert p.dtype == np.float32 and g.dtype == np.float32
        assert all(v.dtype == np.float32 for k, v in opt.state_of(p).items() if k != "t")
    assert net.predict(X).dtype == np.float32
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert history.loss[-1] < history.loss[0]
    with pytest.raises(TypeError, match="float32"):
        cr.fit(net, "mse", X.astype(np.float64), y, optimizer=opt, epochs=1)


def run(seed):
    X, y = small_regression(n=50)
    net = small_net(seed=1, dropout=0.3)
    history = cr.fit(
        net,
        "mse",
        X,
        y,
        optimizer=cr.Adam(0.01),
        epochs=6,
        batch_size=8,
        validation_split=0.2,
        metrics=["mae"],
        rng=seed,
    )
    return weights_of(net), history


def test_the_same_rng_gives_bit_identical_weights_and_history():
    w1, h1 = run(123)
    w2, h2 = run(np.random.default_rng(123))
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert h1.history == h2.history
    assert h1.to_frame().equals(h2.to_frame())
    _, h3 = run(124)
    assert h3.history != h1.history


# --------------------------------------------------------------------------- odds and ends
def test_a_single_dense_layer_can_be_fitted():
    X, y = small_regression()
    layer = cr.Dense(3, 1, rng=0)
    history = cr.fit(layer, "mse", X, y, optimizer=cr.SGD(0.1), epochs=50, batch_size=None)
    assert "grad_norm_0" in history and history.loss[-1] < 0.02
    np.testing.assert_allclose(layer.params["W"][:, 0], [1.0, -2.0, 0.5], atol=0.05)


def test_progress_bar_shows_the_losses(capsys):
    X, y = small_regression()
    cr.fit(
        small_net(),
        "mse",
        X,
        y,
        optimizer=cr.SGD(0.01),
        epochs=3,
        validation_split=0.2,
        rng=0,
        progress=True,
    )
    err = capsys.readouterr().err
    assert "3/3" in err and "loss=" in err and "val_loss=" in err


def test_no_output_without_progress(capsys):
    X, y = small_regression()
    cr.fit(small_net(), "mse", X, y, optimizer=cr.SGD(0.01), epochs=2)
    assert capsys.readouterr() == ("", "")


def bad_call(**changes):
    X, y = small_regression(n=10)
    kwargs = {"optimizer": cr.SGD(0.1), "epochs": 2, "X": X, "y": y, "loss": "mse"}
    kwargs.update(changes)
    net = kwargs.pop("net", small_net())
    return lambda: cr.fit(net, kwargs.pop("loss"), kwargs.pop("X"), kwargs.pop("y"), **kwargs)


NAN_X = np.ones((10, 3))
NAN_X[4, 1] = np.nan


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (bad_call(y=np.ones(9)), ValueError, "X has 10 samples but y has 9"),
        (bad_call(X=NAN_X), ValueError, r"NaN or inf \(first at row 4, column 1\)"),
        (bad_call(y=np.r_[np.ones(9), np.inf]), ValueError, "y contains NaN"),
        (bad_call(X=np.ones((0, 3)), y=np.ones(0)), ValueError, "empty"),
        (bad_call(X=np.ones(10)), ValueError, "2-D"),
        (bad_call(y=np.array(["a"] * 10)), TypeError, "integers"),
        (bad_call(epochs=0), ValueError, "epochs must be a positive integer"),
        (bad_call(epochs=2.5), ValueError, "epochs"),
        (bad_call(batch_size=0), ValueError, "batch_size must be a positive integer"),
        (bad_call(validation_split=1.0), ValueError, r"validation_split.*\[0, 1\)"),
        (bad_call(validation_split=-0.1), ValueError, "validation_split"),
        (
            bad_call(validation_split=0.2, validation_data=(np.ones((2, 3)), np.ones(2))),
            ValueError,
            "not both",
        ),
        (bad_call(validation_data=(np.ones((2, 3)), np.ones(3))), ValueError, "X_val has 2"),
        (bad_call(validation_data=np.ones((2, 3))), ValueError, "tuple"),
        (bad_call(l2=-1.0), ValueError, "l2"),
        (bad_call(l1=-1.0), ValueError, r"l1 must be a finite number >= 0, got -1.0"),
        (bad_call(l1=True), ValueError, "l1 must be"),
        (bad_call(sample_weight=np.ones(3)), ValueError, r"shape \(10,\)"),
        (bad_call(sample_weight=-np.ones(10)), ValueError, "non-negative"),
        (bad_call(sample_weight=np.zeros(10)), ValueError, "sums to zero"),
        (bad_call(optimizer=cr.Adam), TypeError, r"optimizer=Adam\(lr=...\)"),
        (bad_call(optimizer="adam"), TypeError, "chainrule optimizer"),
        (bad_call(loss=cr.MeanSquaredError), TypeError, r"loss=MeanSquaredError\(\)"),
        (bad_call(net=cr.Sequential(cr.ReLU())), TypeError, "no trainable parameters"),
        (bad_call(net="net"), TypeError, "Sequential or layer"),
        (bad_call(rng=-1), ValueError, "non-negative"),
        (bad_call(metrics=["mse", "mean_squared_error"]), ValueError, "twice"),
    ],
)
def test_input_validation(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_validation_split_that_leaves_nothing_to_train_on():
    with pytest.raises(ValueError, match="none to train on"):
        cr.fit(
            small_net(),
            "mse",
            np.ones((1, 3)),
            np.ones(1),
            optimizer=cr.SGD(0.1),
            epochs=1,
            validation_split=0.5,
        )


def test_non_finite_initial_weights_are_refused():
    net = small_net()
    net.layers[0].params["W"][0, 0] = np.nan
    X, y = small_regression()
    with pytest.raises(ValueError, match="already contains NaN"):
        cr.fit(net, "mse", X, y, optimizer=cr.SGD(0.1), epochs=1)


def test_optimizer_state_carries_over_between_fit_calls():
    X, y = small_regression()
    a, b = small_net(seed=9), small_net(seed=9)
    opt_a, opt_b = cr.Adam(0.01), cr.Adam(0.01)
    cr.fit(a, "mse", X, y, optimizer=opt_a, epochs=4, batch_size=None)
    cr.fit(b, "mse", X, y, optimizer=opt_b, epochs=2, batch_size=None)
    cr.fit(b, "mse", X, y, optimizer=opt_b, epochs=2, batch_size=None)
    for p, q in zip(weights_of(a), weights_of(b), strict=True):
        np.testing.assert_array_equal(p, q)
    assert opt_b.state_of(b.layers[0].params["W"])["t"] == 4
    assert math.isfinite(opt_b.lr)
