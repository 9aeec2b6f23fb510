"""cr.lr_find: Smith's learning-rate range test, on copies of the network and optimizer."""

import math
import re

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import chainrule as cr


def _iris(dtype=np.float64):
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    return X.astype(dtype), y


def _net(dtype=np.float64):
    return cr.Sequential(
        cr.Dense(4, 16, rng=0, dtype=dtype),
        cr.BatchNorm(16, dtype=dtype),
        cr.ReLU(),
        cr.Dropout(0.1, rng=3),
        cr.Dense(16, 3, rng=1, dtype=dtype),
    )


def _state(net, opt):
    arrays = [p.copy() for _, _, p, _ in net.parameters()]
    arrays += [b.copy() for _, _, b in cr.layers.base.iter_buffers(net)]
    return arrays, opt.state_dict(net), net.layers[3].rng.bit_generator.state, opt.lr


def test_weights_buffers_and_optimizer_state_untouched_bit_for_bit():
    X, y = _iris()
    net, opt = _net(), cr.Adam(0.01)
    cr.fit(net, cr.CrossEntropy(), X, y, optimizer=opt, epochs=2, rng=0)  # state to keep
    arrays, opt_state, drop_rng, lr = _state(net, opt)
    result = cr.lr_find(net, cr.CrossEntropy(), X, y, optimizer=opt, rng=0)
    assert result.suggestion is not None
    arrays2, opt_state2, drop_rng2, lr2 = _state(net, opt)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(arrays, arrays2, strict=True))
    assert opt_state.keys() == opt_state2.keys()
    for key, value in opt_state.items():
        if isinstance(value, np.ndarray):
            assert value.tobytes() == opt_state2[key].tobytes(), key
        else:
            assert value == opt_state2[key], key
    assert drop_rng == drop_rng2 and lr == lr2 == 0.01
    assert opt.schedule is None


def test_the_copied_optimizer_starts_from_the_state_it_had():
    """A run from an optimizer with state differs from one with a fresh optimizer."""
    X, y = _iris()
    net, opt = _net(), cr.Adam(0.01)
    cr.fit(net, cr.CrossEntropy(), X, y, optimizer=opt, epochs=2, rng=0)
    warm = cr.lr_find(net, cr.CrossEntropy(), X, y, optimizer=opt, rng=0, steps=20)
    cold = cr.lr_find(net, cr.CrossEntropy(), X, y, optimizer=cr.Adam(0.01), rng=0, steps=20)
    assert warm.losses[0] == cold.losses[0]  # the same weights, before any step
    assert not np.array_equal(warm.losses, cold.losses)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_suggestion_lies_in_the_falling_region(dtype):
    X, y = _iris(dtype)
    result = cr.lr_find(_net(dtype), cr.CrossEntropy(), X, y, rng=0)
    k, s = result.index, result.smoothed
    assert result.rates.dtype == np.float64 and len(result.rates) == len(result.losses)
    assert 0 <= k < int(np.argmin(s))  # before the lowest point
    assert s[k] < s[0]  # already falling there
    assert s[min(k + 5, len(s) - 1)] < s[max(k - 5, 0)]  # and falling across it
    assert result.suggestion == result.rates[k]
    assert 1e-4 < result.suggestion < 1.0  # Adam on standardised iris


def test_rates_grow_geometrically_and_the_run_stops_when_the_loss_explodes():
    X, y = _iris()
    result = cr.lr_find(_net(), cr.CrossEntropy(), X, y, rng=0, start=1e-6, end=100.0)
    n = len(result.rates)
    full = 1e-6 * (1e8) ** (np.arange(100) / 99)
    np.testing.assert_allclose(result.rates, full[:n], rtol=1e-12)
    assert result.stopped == "the loss exploded" and n < 100
    lowest = np.minimum.accumulate(result.smoothed)  # the lowest so far
    assert result.smoothed[-1] > 4 * lowest[-1]
    assert (result.smoothed[:-1] <= 4 * lowest[:-1]).all()


def test_deterministic_for_a_seed():
    X, y = _iris()
    a = cr.lr_find(_net(), cr.CrossEntropy(), X, y, rng=7)
    b = cr.lr_find(_net(), cr.CrossEntropy(), X, y, rng=7)
    c = cr.lr_find(_net(), cr.CrossEntropy(), X, y, rng=8)
    assert np.array_equal(a.losses, b.losses) and a.suggestion == b.suggestion
    assert not np.array_equal(a.losses[:20], c.losses[:20])


def test_smoothing_is_the_bias_corrected_moving_average():
    X, y = _iris()
    r = cr.lr_find(_net(), cr.CrossEntropy(), X, y, rng=0, steps=10, end=1e-3, smoothing=0.5)
    assert r.smoothed[0] == r.losses[0]
    assert math.isclose(r.smoothed[1], (0.25 * r.losses[0] + 0.5 * r.losses[1]) / 0.75)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"start": 0},
            "lr_find: start must be a finite rate > 0 (e.g. start=1e-7), got 0.",
        ),
        (
            {"end": math.inf},
            "lr_find: end must be a finite rate > 0 (e.g. end=10), got inf.",
        ),
        (
            {"start": 1.0, "end": 0.1},
            "lr_find: end must be larger than start (the rate grows from start to end), "
            "got start=1.0, end=0.1; e.g. start=1e-7, end=10.",
        ),
        (
            {"steps": 2},
            "lr_find: steps must be an integer >= 5 (the number of batches, one rate "
            "each), got 2; e.g. steps=100.",
        ),
        (
            {"steps": 50.0},
            "lr_find: steps must be an integer >= 5 (the number of batches, one rate "
            "each), got 50.0; e.g. steps=100.",
        ),
        (
            {"smoothing": 1.0},
            "lr_find: smoothing must be in [0, 1), got 1.0; e.g. 0.9.",
        ),
    ],
)
def test_clear_errors_for_a_bad_range(kwargs, message):
    X, y = _iris()
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        cr.lr_find(_net(), cr.CrossEntropy(), X, y, **kwargs)


def test_plot_has_a_log_axis_labels_and_the_suggestion():
    X, y = _iris()
    result = cr.lr_find(_net(), cr.CrossEntropy(), X, y, rng=0)
    (ax,) = result.plot().axes
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "learning rate (log scale)"
    assert ax.get_ylabel() == "training loss"
    labels = [line.get_label() for line in ax.get_lines()]
    assert f"suggestion: lr = {result.suggestion:.3g}" in labels
    import matplotlib.pyplot as plt

    fig, ax2 = plt.subplots()
    assert result.plot(ax=ax2) is fig and len(ax2.get_lines()) == 4
    plt.close(fig)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_an_estimator_is_cloned_and_left_untouched(solver):
    X, y = _iris()
    est = cr.MLPClassifier(hidden_layer_sizes=(16,), solver=solver, random_state=0)
    result = cr.lr_find(est, None, X, y)
    assert not hasattr(est, "coefs_")  # still unfitted
    assert result.suggestion is not None and result.index < np.argmin(result.smoothed)
    assert np.array_equal(cr.lr_find(est, None, X, y).losses, result.losses)
    with pytest.warns(ConvergenceWarning):
        est.set_params(max_iter=5).fit(X, y)
    coefs = [W.copy() for W in est.coefs_]
    cr.lr_find(est, None, X, y)
    assert all(np.array_equal(a, b) for a, b in zip(coefs, est.coefs_, strict=True))


def test_an_estimator_brings_its_own_settings_and_lbfgs_has_no_rate():
    X, y = _iris()
    with pytest.raises(
        ValueError, match=r"^lr_find: an estimator uses its own .* do not pass loss, batch_size\."
    ):
        cr.lr_find(cr.MLPClassifier(), cr.CrossEntropy(), X, y, batch_size=16)
    with pytest.raises(ValueError, match=r"^lr_find: solver='lbfgs' has no learning rate"):
        cr.lr_find(cr.MLPClassifier(solver="lbfgs"), None, X, y)


def test_an_epochs_smaller_last_batch_is_taken_but_not_recorded():
    """33 rows in batches of 32: every other batch has 1 row, whose loss (the estimators
    divide the L2 term by the batch's size) would be 32 times the L2 term of the others."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(33, 3)), rng.normal(size=33)
    est = cr.MLPRegressor(hidden_layer_sizes=(4,), alpha=10.0, batch_size=32, random_state=0)
    result = cr.lr_find(est, None, X, y, end=1e-4, steps=10)
    assert len(result.losses) == 10 and result.stopped == "end reached"
    assert result.losses.max() < 1.1 * result.losses.min()  # all full batches, alike
