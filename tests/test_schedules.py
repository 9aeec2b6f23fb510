"""Learning-rate schedules: the documented sequences, via the optimizer and via fit."""

import math

import numpy as np
import pytest

import chainrule as cr


def lr_sequence(optimizer, n_epochs, monitored=None):
    """The lr used in epochs 1..n_epochs, driven the way fit drives it."""
    optimizer.start_training()
    out = []
    for epoch in range(1, n_epochs + 1):
        out.append(optimizer.lr)
        value = None if monitored is None else monitored[epoch - 1]
        optimizer.end_epoch(epoch, value)
    return out


def test_constant_is_the_default():
    assert lr_sequence(cr.SGD(0.3), 4) == [0.3] * 4
    assert lr_sequence(cr.SGD(0.3, schedule=cr.ConstantLR()), 4) == [0.3] * 4
    assert lr_sequence(cr.SGD(0.3, schedule="constant"), 4) == [0.3] * 4


def test_inverse_scaling_counts_epochs_from_one():
    # lr_t = lr0 / t**power_t:  0.6, 0.6/2, 0.6/3, 0.6/4 for power_t = 1
    assert lr_sequence(cr.SGD(0.6, schedule=cr.InverseScalingLR(1.0)), 4) == pytest.approx(
        [0.6, 0.3, 0.2, 0.15], rel=1e-15
    )
    # power_t = 0.5 (the default): 1, 1/sqrt(2), 1/sqrt(3), 1/2
    seq = lr_sequence(cr.Adam(1.0, schedule=cr.InverseScalingLR()), 4)
    assert seq == pytest.approx([1, 1 / math.sqrt(2), 1 / math.sqrt(3), 0.5], rel=1e-15)
    assert cr.InverseScalingLR(0.5).lr_at(9, 3.0) == 1.0


def test_step_decay_multiplies_by_gamma_every_step_size_epochs():
    seq = lr_sequence(cr.SGD(1.0, schedule=cr.StepDecayLR(step_size=3, gamma=0.5)), 8)
    assert seq == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_step_decay_matches_pytorch_steplr():
    torch = pytest.importorskip("torch")
    p = torch.zeros(1, requires_grad=True)
    topt = torch.optim.SGD([p], lr=0.2)
    tsched = torch.optim.lr_scheduler.StepLR(topt, step_size=2, gamma=0.3)
    theirs = []
    for _ in range(7):
        theirs.append(topt.param_groups[0]["lr"])
        topt.step()
        tsched.step()
    ours = lr_sequence(cr.SGD(0.2, schedule=cr.StepDecayLR(2, gamma=0.3)), 7)
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_reduce_on_plateau_divides_after_patience_epochs_without_improvement():
    losses = [1.0, 0.9, 0.95, 0.92, 0.91, 0.5, 0.6, 0.6, 0.6]
    # patience 2, min_delta 0: epochs 3 and 4 do not beat 0.9 -> lr / 10 for epoch 5;
    # epoch 5 (0.91) does not improve either (wait restarts at 0 after a reduction: 1),
    # epoch 6 improves (0.5), epochs 7 and 8 do not -> lr / 10 again for epoch 9.
    opt = cr.SGD(1.0, schedule=cr.ReduceLROnPlateau(factor=10, patience=2))
    seq = lr_sequence(opt, 9, losses)
    assert seq == pytest.approx([1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1, 0.01], rel=1e-15)


def test_reduce_on_plateau_min_delta_and_min_lr():
    # improvements of 0.01 do not count with min_delta = 0.05
    losses = [1.0, 0.99, 0.98, 0.97, 0.96, 0.95]
    opt = cr.SGD(
        1.0, schedule=cr.ReduceLROnPlateau(factor=4, patience=1, min_delta=0.05, min_lr=0.1)
    )
    # epoch 1 improves on inf; epoch 2 does not -> 0.25; 3 -> 0.0625 floored at 0.1; ...
    assert lr_sequence(opt, 6, losses) == pytest.approx([1, 1, 0.25, 0.1, 0.1, 0.1])


def test_reduce_on_plateau_needs_a_monitored_value():
    opt = cr.SGD(1.0, schedule=cr.ReduceLROnPlateau())
    with pytest.raises(ValueError, match="monitored loss"):
        opt.end_epoch(1, None)
    with pytest.raises(TypeError, match="monitored"):
        cr.ReduceLROnPlateau().lr_at(2, 1.0)


def test_start_training_restarts_the_schedule():
    opt = cr.SGD(1.0, schedule=cr.StepDecayLR(1, gamma=0.5))
    assert lr_sequence(opt, 3) == [1.0, 0.5, 0.25]
    assert lr_sequence(opt, 3) == [1.0, 0.5, 0.25]  # a second run starts at lr0 again


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: cr.InverseScalingLR(-1), "power_t"),
        (lambda: cr.StepDecayLR(0), "step_size"),
        (lambda: cr.StepDecayLR(2, gamma=1.5), "gamma"),
        (lambda: cr.StepDecayLR(2, gamma=0.0), "gamma"),
        (lambda: cr.ReduceLROnPlateau(factor=0.1), "factor"),
        (lambda: cr.ReduceLROnPlateau(patience=-1), "patience"),
        (lambda: cr.SGD(0.1, schedule="cosine"), "unknown schedule"),
    ],
)
def test_bad_schedules_are_refused(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_fit_logs_the_lr_of_each_epoch_and_fit_schedule_overrides():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    y = X @ np.array([[1.0], [-2.0]])
    net = cr.Sequential(cr.Dense(2, 1, rng=0))
    opt = cr.SGD(0.1, schedule=cr.InverseScalingLR(1.0))
    history = cr.fit(net, cr.MeanSquaredError(), X, y, optimizer=opt, epochs=4, rng=0)
    assert history.lr == pytest.approx([0.1, 0.05, 0.1 / 3, 0.025], rel=1e-15)
    history = cr.fit(
        net,
        cr.MeanSquaredError(),
        X,
        y,
        optimizer=opt,
        epochs=5,
        rng=0,
        schedule=cr.StepDecayLR(2, gamma=0.1),
    )
    assert history.lr == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001], rel=1e-12)
    assert opt.schedule.step_size == 2


def test_fit_drives_reduce_on_plateau_with_the_validation_loss():
    # the weights cannot fit noise targets, so the validation loss stalls quickly
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    y = rng.normal(size=60)
    net = cr.Sequential(cr.Dense(2, 1, rng=0))
    seen = []
    opt = cr.SGD(0.05, schedule=cr.ReduceLROnPlateau(factor=2, patience=1))
    history = cr.fit(
        net,
        "mse",
        X,
        y,
        optimizer=opt,
        epochs=30,
        rng=0,
        validation_split=0.3,
        callbacks=[lambda epoch, logs: seen.append(logs["val_loss"])],
    )
    # replay the rule on the logged validation losses: the same lr sequence
    replay = lr_sequence(
        cr.SGD(0.05, schedule=cr.ReduceLROnPlateau(factor=2, patience=1)), 30, seen
    )
    assert history.lr == replay
    assert min(history.lr) < 0.05  # it did reduce
