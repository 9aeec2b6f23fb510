"""The backprop drills' checks, in one place: ``check("dense_backward", my_function)``.

Each exercise of ``notebooks/backprop_drills.ipynb`` is one function the student writes;
this module says what it is checked against (which model, which inputs, which seeds),
so the notebook's check cell is one line and the tests run the solutions
(``notebooks/solutions/backprop_drills.py``) and the classic wrong answers through
exactly the same checks::

    from chainrule.exercises import check
    print(check("dense_backward", dense_backward))   # right, or which array and why

Backward passes are judged by :func:`chainrule.check_backward`, optimizer steps by
:func:`chainrule.check_step`. Exercises 11 and 12 (the "backprop ninja") take
cross-entropy and batch norm apart into atomic steps (:func:`cross_entropy_steps`,
:func:`batchnorm_steps` give the forward pass, one intermediate per line); every
intermediate's gradient is judged by ``check_backward`` on its own, and the last ones
against the fused formulas they collapse to. The arguments a function receives are the ones its
parameters name (see ``check_backward``); the exercise's docstring in the notebook
lists them with their shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..layers import Dense, ReLU, Sequential, Sigmoid, Tanh
from ..layers.normalization import BatchNorm
from ..losses import BinaryCrossEntropy, CrossEntropy, MeanSquaredError
from ..optimizers import SGD, Adam
from ._steps import batchnorm_check, batchnorm_steps, cross_entropy_check, cross_entropy_steps
from .backward_check import BackwardCheckReport, check_backward, check_step

__all__ = ["EXERCISES", "Exercise", "batchnorm_steps", "check", "cross_entropy_steps",
           "scoreboard"]  # fmt: skip


def _normal(seed: int, shape: tuple[int, ...], scale: float = 1.0, shift: float = 0.0):
    return np.random.default_rng(seed).normal(size=shape) * scale + shift


def _labels(seed: int, n: int, k: int) -> np.ndarray:
    """n class indices in 0..k-1 with every class present."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.arange(n) % k)


def _sigmoid(fn):
    return check_backward(fn, Sigmoid(), _normal(1, (6, 4), scale=2.0))


def _softmax_ce(fn):
    return check_backward(fn, CrossEntropy(), _normal(2, (6, 4), scale=2.0), _labels(2, 6, 4))


def _mse(fn):
    return check_backward(fn, MeanSquaredError(), _normal(3, (5, 3)), _normal(33, (5, 3)))


def _sigmoid_bce(fn):
    labels = (np.random.default_rng(4).random((6, 3)) < 0.5).astype(float)
    return check_backward(fn, BinaryCrossEntropy(), _normal(4, (6, 3), scale=2.0), labels)


def _dense(fn):
    return check_backward(fn, Dense(4, 3, rng=5), _normal(5, (6, 4)))


def _two_layer(fn):
    net = Sequential(Dense(4, 5, rng=61), Tanh(), Dense(5, 3, rng=62))
    return check_backward(fn, net, _normal(6, (8, 4)), _labels(6, 8, 3), loss=CrossEntropy())


def _l_layer(fn):
    net = Sequential(
        Dense(4, 6, init="he", rng=71), ReLU(),
        Dense(6, 5, init="he", rng=72), ReLU(),
        Dense(5, 2, rng=73),
    )  # fmt: skip
    X, T = _normal(7, (8, 4)), _normal(77, (8, 2))
    return check_backward(fn, net, X, T, loss=MeanSquaredError())


def _momentum(fn):
    return check_step(fn, SGD(0.1, momentum=0.9), _normal(8, (3, 2)))


def _adam(fn):
    return check_step(fn, Adam(0.01), _normal(9, (3, 2)))


def _batchnorm(fn):
    return check_backward(fn, _batchnorm_layer(), _normal(10, (6, 4), scale=3.0, shift=1.0))


def _batchnorm_layer() -> BatchNorm:
    layer = BatchNorm(4)
    layer.params["gamma"][...] = [1.5, 0.5, 2.0, -1.0]
    layer.params["beta"][...] = [0.1, -0.2, 0.3, 0.0]
    return layer


def _cross_entropy_steps(fn):
    return cross_entropy_check(fn, _normal(11, (6, 4), scale=2.0), _labels(11, 6, 4))


def _batchnorm_steps(fn):
    X = _normal(12, (6, 4), scale=3.0, shift=1.0)
    return batchnorm_check(fn, _batchnorm_layer(), X, _normal(112, (6, 4)))


@dataclass(frozen=True)
class Exercise:
    """One drill: the function's name, a title, and how it is checked."""

    name: str
    title: str
    run: Callable[[Callable], BackwardCheckReport]


EXERCISES: dict[str, Exercise] = {
    e.name: e
    for e in [
        Exercise("sigmoid_backward", "1. The sigmoid and its derivative", _sigmoid),
        Exercise("softmax_cross_entropy_backward", "2. Softmax + cross-entropy", _softmax_ce),
        Exercise("mse_backward", "3. Mean squared error", _mse),
        Exercise("sigmoid_bce_backward", "4. Sigmoid + binary cross-entropy", _sigmoid_bce),
        Exercise("dense_backward", "5. A Dense layer: dX, dW, db", _dense),
        Exercise("two_layer_backward", "6. A whole 2-layer network", _two_layer),
        Exercise("l_layer_backward", "7. L layers in a loop", _l_layer),
        Exercise("sgd_momentum", "8. One step of SGD with momentum", _momentum),
        Exercise("adam", "9. One step of Adam", _adam),
        Exercise("batchnorm_backward", "10. Batch normalisation's backward pass", _batchnorm),
        Exercise(
            "cross_entropy_steps_backward",
            "11. Cross-entropy, one atomic step at a time",
            _cross_entropy_steps,
        ),
        Exercise(
            "batchnorm_steps_backward",
            "12. Batch norm, one atomic step at a time",
            _batchnorm_steps,
        ),
    ]
}


def check(name: str, fn: Callable) -> BackwardCheckReport:
    """Check the student's ``fn`` for the exercise ``name``; the report says what is
    right and, array by array, what is wrong and why. Never raises for a wrong answer.

    Parameters
    ----------
    name : str
        One of :data:`EXERCISES` (the function's name in the notebook).
    fn : callable
        The student's function.
    """
    if name not in EXERCISES:
        raise KeyError(f"check: no exercise {name!r}; the exercises are {list(EXERCISES)}.")
    report = EXERCISES[name].run(fn)
    report.title = f"{EXERCISES[name].title} ({report.title})"
    return report


def scoreboard(functions: dict[str, Callable]) -> str:
    """One line per exercise: done, not yet, or not written, for the functions found
    in ``functions`` (pass ``globals()`` from a notebook)."""
    lines, done = [], 0
    for name, exercise in EXERCISES.items():
        fn = functions.get(name)
        report = None if fn is None else check(name, fn)
        if report is None:
            status = "missing: run the cell that defines it"
        elif report.ok:
            status, done = "done", done + 1
        elif (report.problem or "").startswith("not written yet"):
            status = "not written yet"
        else:
            status = "not right yet: run its check"
        lines.append(f"{exercise.title:<45} {status}")
    lines.append(f"{done} of {len(EXERCISES)} done")
    return "\n".join(lines)
