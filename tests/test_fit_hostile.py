"""fit with hostile arguments: extreme sample weights, and a failed fit that must leave
the network, the optimizer (learning rate, schedule, state) and the rng as they were."""

import copy
import math

import numpy as np
import pytest

import chainrule as cr


def problem(dtype=np.float64):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 2)).astype(dtype)
    y = (X[:, 0] > 0).astype(np.int64)
    w = rng.uniform(0.5, 2.0, size=30)

    def net():
        r = np.random.default_rng(4)
        return cr.Sequential(
            cr.Dense(2, 4, rng=r, dtype=dtype), cr.Tanh(), cr.Dense(4, 2, rng=r, dtype=dtype)
        )

    return X, y, w, net


def run(net, X, y, w, **extra):
    opts = dict(optimizer=cr.Adam(0.05), epochs=3, batch_size=8, rng=0, metrics=["accuracy"])
    return cr.fit(net, cr.CrossEntropy(), X, y, sample_weight=w, **{**opts, **extra})


@pytest.mark.parametrize("factor", [1e307, 1e200, 1e-300])
def test_extreme_sample_weights_train_as_their_ratios(factor):
    # Only the ratios of the weights matter: W = w * 1e307 trains exactly as W / max(W)
    # (to which it is reduced), and as w itself up to rounding. Before, the sum of the
    # weights overflowed and the history was NaN.
    X, y, w, make_net = problem()
    big = w * factor
    h_big = run(net_big := make_net(), X, y, big)
    h_ref = run(net_ref := make_net(), X, y, big / big.max())
    h_w = run(make_net(), X, y, w)
    assert all(math.isfinite(v) for v in h_big["loss"])
    assert h_big.history == h_ref.history
    for (_, _, p, _), (_, _, q, _) in zip(net_big.parameters(), net_ref.parameters(), strict=True):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_allclose(h_big["loss"], h_w["loss"], rtol=1e-10)


def test_ordinary_weights_are_used_exactly_as_given():
    X, y, w, make_net = problem()
    h_w = run(make_net(), X, y, w)
    h_scaled = run(make_net(), X, y, w / w.max())  # another rounding: not bit-identical
    assert h_w["loss"] != h_scaled["loss"]
    np.testing.assert_allclose(h_w["loss"], h_scaled["loss"], rtol=1e-12)


def test_float32_network_takes_weights_beyond_float32_range():
    X, y, w, make_net = problem(np.float32)
    history = run(make_net(), X, y, w * 1e39)  # 1e39 is inf in float32
    assert all(math.isfinite(v) for v in history["loss"])
    np.testing.assert_allclose(history["loss"], run(make_net(), X, y, w)["loss"], rtol=1e-5)


def test_validation_data_weights_are_made_safe_too():
    X, y, w, make_net = problem()
    history = run(make_net(), X, y, None, validation_data=(X, y, w * 1e307))
    expected = run(make_net(), X, y, None, validation_data=(X, y, w))
    np.testing.assert_allclose(history["val_loss"], expected["val_loss"], rtol=1e-10)


# ------------------------------------------------------------------- failed fits
def state_of(net, opt, rng):
    return (
        [p.copy() for _, _, p, _ in net.parameters()],
        opt.lr,
        opt.schedule,
        copy.deepcopy(vars(opt.schedule)) if opt.schedule is not None else None,
        {k: v for k, v in opt.state_of(net.layers[0].params["W"]).items()},
        rng.bit_generator.state,
    )


def assert_same_state(before, after):
    (p0, lr0, s0, sv0, st0, r0), (p1, lr1, s1, sv1, st1, r1) = before, after
    assert all(np.array_equal(a, b) for a, b in zip(p0, p1, strict=True))
    assert lr1 == lr0
    assert s1 is s0
    assert sv1 == sv0
    assert st1.keys() == st0.keys() and st1.get("t") == st0.get("t")
    assert r1 == r0


def trained(schedule):
    """A network and optimizer after a first fit: lr and schedule have moved."""
    X, y, _w, make_net = problem()
    net, opt = make_net(), cr.SGD(0.4, momentum=0.9, schedule=schedule)
    cr.fit(net, cr.CrossEntropy(), X, y, optimizer=opt, epochs=4, rng=0)
    return X, y, net, opt


@pytest.mark.parametrize(
    "bad, error, words",
    [
        # a callback's own check (on_train_begin) refuses
        (
            dict(early_stopping=cr.EarlyStopping(monitor="val_accuracy")),
            ValueError,
            "EarlyStopping monitors 'val_accuracy'",
        ),
        # a metric that does not suit the targets, found after the validation split
        (dict(metrics=["r2"], validation_split=0.2), ValueError, "metric"),
        # a bare function as callbacks
        (dict(callbacks=print, validation_split=0.2), TypeError, "callbacks must be a list"),
    ],
)
@pytest.mark.parametrize("schedule", [cr.StepDecayLR(step_size=1, gamma=0.5), None])
def test_a_failed_fit_leaves_everything_untouched(bad, error, words, schedule):
    X, y, net, opt = trained(schedule)
    assert opt.lr != opt.lr0 or schedule is None  # the schedule has moved lr
    rng = np.random.default_rng(7)
    before = state_of(net, opt, rng)
    with pytest.raises(error, match=words):
        cr.fit(
            net,
            cr.CrossEntropy(),
            X,
            y,
            optimizer=opt,
            epochs=3,
            rng=rng,
            schedule=cr.StepDecayLR(step_size=1, gamma=0.1),
            **bad,
        )
    assert_same_state(before, state_of(net, opt, rng))


def test_the_rng_is_restored_even_after_the_validation_split_drew_from_it():
    X, y, net, opt = trained(None)
    rng = np.random.default_rng(7)
    expected = np.random.default_rng(7).permutation(len(X))
    with pytest.raises(ValueError):
        cr.fit(
            net,
            cr.CrossEntropy(),
            X,
            y,
            optimizer=opt,
            epochs=1,
            rng=rng,
            validation_split=0.2,
            metrics=["r2"],
        )
    np.testing.assert_array_equal(rng.permutation(len(X)), expected)


def my_callback(epoch, logs):
    return None


def test_callbacks_given_a_function_names_it_and_the_fix():
    X, y, _w, make_net = problem()
    with pytest.raises(TypeError) as info:
        cr.fit(
            make_net(),
            cr.CrossEntropy(),
            X,
            y,
            optimizer=cr.SGD(0.1),
            epochs=1,
            callbacks=my_callback,
        )
    assert str(info.value) == (
        "fit: callbacks must be a list of callbacks, got the function my_callback; pass it "
        "in a list: callbacks=[my_callback]."
    )


def test_callbacks_given_one_callback_names_it_and_the_fix():
    X, y, _w, make_net = problem()
    stop = cr.EarlyStopping(monitor="loss")
    with pytest.raises(TypeError) as info:
        cr.fit(make_net(), cr.CrossEntropy(), X, y, optimizer=cr.SGD(0.1), epochs=1, callbacks=stop)
    assert str(info.value) == (
        f"fit: callbacks must be a list of callbacks, got the single callback {stop!r}; "
        "pass it in a list: callbacks=[EarlyStopping(...)]."
    )


def test_callbacks_given_a_number_says_what_to_pass():
    X, y, _w, make_net = problem()
    with pytest.raises(TypeError) as info:
        cr.fit(make_net(), cr.CrossEntropy(), X, y, optimizer=cr.SGD(0.1), epochs=1, callbacks=3)
    assert str(info.value) == (
        "fit: callbacks must be a list of Callback instances or functions f(epoch, logs), "
        "got 3; pass e.g. callbacks=[EarlyStopping()] or callbacks=()."
    )


def test_a_random_state_as_rng_is_refused_before_it_is_used():
    X, y, _w, make_net = problem()
    legacy = np.random.RandomState(0)
    before = legacy.get_state()[1].copy()
    with pytest.raises(TypeError) as info:
        cr.fit(
            make_net(),
            cr.CrossEntropy(),
            X,
            y,
            optimizer=cr.SGD(0.1),
            epochs=1,
            rng=legacy,
            validation_split=0.2,
        )
    assert str(info.value) == (
        "rng must be a numpy.random.Generator, an int seed or None, got RandomState. "
        "Pass e.g. rng=0 or rng=np.random.default_rng(0)."
    )
    np.testing.assert_array_equal(legacy.get_state()[1], before)


def test_a_float32_loss_takes_weights_beyond_float32s_range():
    """Weights are checked and rescaled in float64, then cast: 1e39 is not inf."""
    Y = np.array([[0.5], [1.5]], dtype=np.float32)
    value, dY = cr.MeanSquaredError()(Y, [0.0, 1.0], sample_weight=[1e39, 1e39])
    plain, dY_plain = cr.MeanSquaredError()(Y, [0.0, 1.0])
    assert dY.dtype == np.float32 and np.isclose(value, plain)
    np.testing.assert_allclose(dY, dY_plain)
