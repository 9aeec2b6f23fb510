"""gradient_check: the user-facing checker must pass right layers and catch wrong ones."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.gradcheck import verdict


def small_net(dtype=np.float64):
    rng = np.random.default_rng(0)
    return cr.Sequential(
        cr.Dense(3, 4, rng=rng, dtype=dtype), cr.Tanh(), cr.Dense(4, 2, rng=rng, dtype=dtype)
    )


def test_correct_network_is_excellent_and_report_is_readable():
    X = np.random.default_rng(1).normal(size=(5, 3))
    report = cr.gradient_check(small_net(), cr.CrossEntropy(), X, np.array([0, 1, 1, 0, 1]))
    assert report.ok and report.verdict == "excellent"
    assert [e.name for e in report.entries] == [
        "layers[0].W", "layers[0].b", "layers[2].W", "layers[2].b", "X"
    ]  # fmt: skip
    text = str(report)
    assert "layers[0].W" in text and "excellent" in text and "overall" in text
    assert report["X"].shape == (5, 3)
    assert "| `layers[0].W` |" in report._repr_markdown_()


class WrongSigmoid(cr.Sigmoid):
    """A student's sigmoid whose backward forgot the (1 - Y) factor."""

    def forward(self, X, training=False):
        Y, _ = super().forward(X, training)
        return Y, lambda dY: dY * Y


def test_a_wrong_backward_is_caught_and_located():
    rng = np.random.default_rng(2)
    net = cr.Sequential(cr.Dense(3, 4, rng=rng), WrongSigmoid(), cr.Dense(4, 1, rng=rng))
    X = rng.normal(size=(6, 3))
    report = cr.gradient_check(net, cr.MeanSquaredError(), X, rng.normal(size=6))
    assert not report.ok and report.verdict == "wrong"
    assert report["layers[2].W"].verdict == "excellent"  # after the bug: still right
    assert report["layers[0].W"].verdict == "wrong"  # before it: wrong
    assert "check the backward pass" in str(report)


def test_float32_network_is_checked_in_float64_and_left_untouched():
    net = small_net(np.float32)
    before = [p.copy() for _, _, p, _ in net.parameters()]
    X = np.random.default_rng(3).normal(size=(4, 3)).astype(np.float32)
    report = cr.gradient_check(net, cr.CrossEntropy(), X, np.array([0, 1, 0, 1]))
    assert report.ok
    assert net.dtype == np.float32
    for b, (_, _, p, _) in zip(before, net.parameters(), strict=True):
        np.testing.assert_array_equal(b, p)


@pytest.mark.parametrize(
    "err,expected",
    [(1e-10, "excellent"), (1e-6, "fine"), (1e-4, "suspicious"), (0.5, "wrong"), (np.nan, "wrong")],
)
def test_verdict_thresholds(err, expected):
    assert verdict(err) == expected


def test_argument_errors():
    X = np.zeros((2, 3))
    with pytest.raises(TypeError, match="chainrule loss"):
        cr.gradient_check(small_net(), lambda Y, T: (0, Y), X, np.zeros(2))
    with pytest.raises(ValueError, match="eps must be a small positive number"):
        cr.gradient_check(small_net(), cr.CrossEntropy(), X, np.zeros(2), eps=0)
