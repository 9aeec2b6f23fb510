"""Sanity helpers: initial loss near ln C, overfitting a tiny batch, pairing warnings."""

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import sanity


def data(n=60, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, rng.integers(0, k, size=n)


def test_initial_loss_near_ln_c_for_a_well_initialised_network():
    X, y = data()
    net = cr.Sequential(cr.Dense(4, 16, rng=0), cr.Tanh(), cr.Dense(16, 3, rng=1))
    net.layers[2].params["W"] *= 0.01  # a small output layer: probabilities near 1/3
    report = sanity.initial_loss(net, cr.CrossEntropy(), X, y)
    assert report.ok and report.expected == pytest.approx(math.log(3))
    assert abs(report.value - math.log(3)) < 0.05
    assert "as expected" in str(report)


def test_initial_loss_flags_huge_initial_weights():
    X, y = data()

    def big(rng, shape, dtype):
        return 10 * rng.normal(size=shape)

    net = cr.Sequential(
        cr.Dense(4, 16, init=big, rng=0), cr.Tanh(), cr.Dense(16, 3, init=big, rng=1)
    )
    report = sanity.initial_loss(net, cr.CrossEntropy(), X, y)
    assert not report.ok and report.value > 3 * math.log(3)
    assert "confidently wrong" in report.message


def test_initial_loss_for_binary_and_regression():
    X, y = data(k=2)
    net = cr.Sequential(cr.Dense(4, 1, init="zeros"))
    r = sanity.initial_loss(net, cr.BinaryCrossEntropy(), X, y)
    assert r.ok and r.value == pytest.approx(math.log(2))
    t = np.random.default_rng(1).normal(loc=2.0, size=60)
    r = sanity.initial_loss(net, cr.MeanSquaredError(), X, t)
    assert r.ok and r.value == pytest.approx(np.mean(t**2))


def test_overfit_small_batch_healthy_and_broken():
    X, y = data(n=100)
    net = cr.Sequential(cr.Dense(4, 32, init="he", rng=0), cr.ReLU(), cr.Dense(32, 3, rng=1))
    good = sanity.overfit_small_batch(net, cr.CrossEntropy(), X, y, steps=300, rng=0)
    assert good.ok and good.final < 0.05 * good.initial, good.message
    assert "can learn" in good.message
    # A network whose only hidden layer is dead (ReLU with a huge negative bias)
    dead = cr.Sequential(cr.Dense(4, 32, rng=0), cr.ReLU(), cr.Dense(32, 3, rng=1))
    dead.layers[0].params["b"][:] = -100.0
    bad = sanity.overfit_small_batch(dead, cr.CrossEntropy(), X, y, steps=100, rng=0)
    assert not bad.ok and "did not fall" in bad.message
    # the network passed in is untouched
    assert (dead.layers[0].params["b"] == -100.0).all()


@pytest.mark.parametrize(
    "last,loss,words",
    [
        (cr.Sigmoid(), cr.MeanSquaredError(), "gradient vanishes"),
        (cr.Softmax(), cr.CrossEntropy(), "applied twice"),
        (cr.Sigmoid(), cr.BinaryCrossEntropy(), "applied twice"),
        (None, cr.CrossEntropy(from_logits=False), "expects probabilities"),
    ],
)
def test_pairing_warnings(last, loss, words):
    layers = [cr.Dense(2, 2, rng=0)] + ([last] if last else [])
    with pytest.warns(sanity.PairingWarning, match=words):
        assert words in sanity.check_pairing(cr.Sequential(*layers), loss)


@pytest.mark.parametrize(
    "layers,loss",
    [
        ([cr.Dense(2, 2, rng=0)], cr.CrossEntropy()),
        ([cr.Dense(2, 1, rng=0)], cr.MeanSquaredError()),
        ([cr.Dense(2, 2, rng=0), cr.Softmax()], cr.CrossEntropy(from_logits=False)),
    ],
)
def test_sound_pairings_are_silent(layers, loss):
    assert sanity.check_pairing(cr.Sequential(*layers), loss) is None


def test_fit_warns_about_a_mismatched_pairing():
    X, y = data(n=20, k=2)
    net = cr.Sequential(cr.Dense(4, 1, rng=0), cr.Sigmoid())
    with pytest.warns(sanity.PairingWarning, match="gradient vanishes"):
        cr.fit(net, cr.MeanSquaredError(), X, y, optimizer=cr.SGD(0.1), epochs=1, rng=0)


def test_a_softmax_before_the_hinge_is_a_pairing_warning():
    """Review: the multiclass hinge wants raw scores; probabilities cannot clear a margin of 1."""
    net = cr.Sequential(cr.Dense(3, 4, rng=0), cr.Softmax())
    with pytest.warns(cr.sanity.PairingWarning, match="MulticlassHinge compares raw scores"):
        reason = cr.sanity.check_pairing(net, cr.MulticlassHinge())
    assert "Remove the Softmax layer" in reason
    scores = cr.Sequential(cr.Dense(3, 4, rng=0))
    assert cr.sanity.check_pairing(scores, cr.MulticlassHinge()) is None


def test_shapes_that_train_to_nothing_warn_like_the_pairings():
    """LayerNorm(1) (each row's output is beta) and a class loss on one output column
    (always 0) trained silently (issue 25)."""
    from chainrule.sanity import PairingWarning, check_pairing

    X = np.random.default_rng(0).normal(size=(8, 3))
    net = cr.Sequential(cr.Dense(3, 1, rng=0), cr.LayerNorm(1), cr.Dense(1, 2, rng=1))
    with pytest.warns(PairingWarning) as record:
        cr.fit(net, "cross_entropy", X, np.arange(8) % 2, optimizer=cr.SGD(0.1), epochs=1)
    assert [str(w.message) for w in record] == [
        "layer 1 is LayerNorm(1): it normalises each row over its one feature, (x - x) / "
        "sqrt(0 + eps) = 0, so its output is beta whatever the input and nothing before it "
        "can learn. Normalise over more features, or remove it."
    ]
    out = net.layers[1](net.layers[0](X))  # beta in every row, whatever X
    np.testing.assert_array_equal(out, np.broadcast_to(net.layers[1].params["beta"], out.shape))
    one_column = (
        "the network has one output column but {} compares classes: with one class the "
        "loss is always 0 and the weights never move. Give the last layer one output per "
        "class, or use BinaryCrossEntropy for two classes."
    )
    for loss in (cr.CrossEntropy(), cr.MulticlassHinge()):
        with pytest.warns(PairingWarning) as record:
            reason = check_pairing(cr.Sequential(cr.Dense(3, 1, rng=0)), loss)
        assert reason == one_column.format(type(loss).__name__)
        assert [str(w.message) for w in record] == [reason]
        assert loss(np.ones((4, 1)), np.zeros(4, dtype=int))[0] == 0.0  # the fact warned of
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the sound pairings stay silent
        sound = cr.Sequential(cr.Dense(3, 2), cr.LayerNorm(2))
        assert check_pairing(sound, cr.CrossEntropy()) is None
        assert check_pairing(cr.Sequential(cr.Dense(3, 1)), cr.BinaryCrossEntropy()) is None


class FlippedTanh(cr.Tanh):
    """A tanh whose backward pass returns -dX: the classic sign slip."""

    def forward(self, X, training=False):
        Y, back = super().forward(X, training=training)
        return Y, lambda dY, **kw: -back(dY, **kw)


def test_overfit_small_batch_does_not_reassure_when_a_hidden_backward_is_sign_flipped():
    X, y = data(n=100)

    def net(first_activation):
        return cr.Sequential(
            cr.Dense(4, 32, rng=0), first_activation(), cr.Dense(32, 32, rng=1), cr.Tanh(),
            cr.Dense(32, 3, rng=2),
        )  # fmt: skip

    healthy = sanity.overfit_small_batch(net(cr.Tanh), cr.CrossEntropy(), X, y, rng=0)
    assert healthy.ok and healthy.gradients.ok
    assert healthy.message.endswith("and its gradients agree with central differences.")
    flipped = net(FlippedTanh)
    # the loss alone is fooled: the two layers above the flipped one memorise the batch
    alone = sanity.overfit_small_batch(
        flipped, cr.CrossEntropy(), X, y, rng=0, check_gradients=False
    )
    assert alone.ok and alone.final < 0.05 * alone.initial and alone.gradients is None
    # paired with the gradient check, it is not
    report = sanity.overfit_small_batch(flipped, cr.CrossEntropy(), X, y, rng=0)
    assert report.final == alone.final and not report.ok
    bad = [e.name for e in report.gradients.entries if e.verdict == "wrong"]
    assert bad == ["layers[0].W", "layers[0].b"]
    W = report.gradients["layers[0].W"]
    assert float(W.analytic) == pytest.approx(-float(W.numeric), rel=1e-6)  # the sign
    assert "it memorised the batch, but the gradients are wrong" in report.message
    assert "wrong: layers[0].W, layers[0].b" in report.message


def test_directional_check_is_a_gradient_check_at_two_passes_per_array():
    X, y = data(n=10)
    net = cr.Sequential(cr.Dense(4, 8, rng=0), cr.Sigmoid(), cr.Dense(8, 3, rng=1))
    report = cr.gradcheck.directional_check(net, cr.CrossEntropy(), X, y)
    assert report.verdict == "excellent" and len(report.entries) == 4
    full = cr.gradient_check(net, cr.CrossEntropy(), X, y, check_input=False)
    rng = np.random.default_rng(0)  # the same directions, drawn the same way
    for entry, exact in zip(report.entries, full.entries, strict=True):
        V = rng.normal(size=entry.shape)
        V /= np.linalg.norm(V)
        assert float(entry.analytic) == pytest.approx(np.vdot(exact.analytic, V), rel=1e-12)
