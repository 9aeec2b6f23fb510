"""What a wrong gradient most likely got wrong (private; see ``check_backward``).

The evidence, tried in order: an array that is all zeros, then

* **Slips replayed.** For the layer or network being checked, chainrule recomputes the
  gradients with one classic slip made on purpose (an activation's derivative left out,
  or evaluated at the wrong tensor; a path through the batch statistics dropped; logits
  used where probabilities belong). If the student's array equals one of these, that
  slip is the diagnosis.
* **Shape and scale.** The student's array compared with the right one: transposed,
  not summed over the batch, a parameter's factor missing or extra (gamma, alpha,
  dropout's 1/(1-p)), or a constant multiple of it (-1: a sign; n: the 1/n of the mean
  missing; 1/n: divided twice; and where a loss is: 2 or 1/2, the factor of a square;
  k, a mean over n·k entries taken over n).

``check_backward`` then tries the other arrays (:func:`other_array`): the right value
of another array (or a swapped pair), or an input returned unchanged. Each story fits
its context (``"loss"``, ``"layer"``, ``"net"``): a layer has no target to subtract.
"""

from __future__ import annotations

import numpy as np

from ..gradcheck import rel_error

#: two arrays are "the same" below this relative error
SAME = 1e-6


_SIGN = {
    "loss": "(prediction minus target, not target minus prediction)",
    "layer": "(a minus sign too many or too few: the backward pass of a layer adds none)",
    "net": "(a minus sign too many or too few: the gradient of the loss is "
           "prediction minus target, and no layer adds a sign)",
}  # fmt: skip


def _factors(n: int, k: int, context: str) -> list[tuple[float, str]]:
    """The constant factors that classic slips multiply a gradient by, with their story;
    the factors of a loss's square and of a mean over n*k entries only where a loss is,
    none for the weights after an optimizer step (its slips are replayed instead)."""
    if context == "step":
        return []
    factors = [
        (-1.0, f"sign flipped: your array is -1 times the right one {_SIGN[context]}"),
        (float(n), f"too large by a factor n = {n}: the 1/n of the mean over the batch is "
                   "missing (it belongs in the loss's gradient, once)"),
        (1.0 / n, f"too small by a factor n = {n}: the 1/n of the mean was applied twice "
                  "(once in the loss's gradient is enough; layers never divide by n)"),
    ]  # fmt: skip
    if context == "layer":
        return factors
    return [
        *factors,
        (2.0, "too large by a factor 2: the 1/2 of a half squared error cancels the 2 "
              "of the derivative"),
        (0.5, "too small by a factor 2: the derivative of a square brings down a 2 "
              "(d(y-t)^2/dy = 2(y-t))"),
        (float(k), f"too large by a factor k = {k}: the mean is over all n*k entries, not "
                   f"over the n rows"),
    ]  # fmt: skip


def _factor_story(c: float, n: int, k: int, context: str) -> str | None:
    """Words for a gradient that is ``c`` times the right one: one slip, or two at once."""
    factors = [(f, story) for f, story in _factors(n, k, context) if f != 1.0]

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= SAME * max(1.0, abs(b))

    single = [story for f, story in factors if close(c, f)]
    if single:  # two stories when two factors coincide (k = 2, or n = k)
        return "; or ".join(single)
    for i, (f, first) in enumerate(factors):
        for g, second in factors[i + 1 :]:
            if close(c, f * g):
                return f"two slips at once: {first}; and {second}"
    return None


def parameter_factors(given: dict) -> list[tuple[object, str]]:
    """(factor, story) for a missing or extra factor of each parameter or hyper-parameter
    the function was given: a number or an array that broadcasts over the gradient
    (gamma, the leaky slope alpha, the dropout p as 1 / (1 - p), the learning rate)."""
    out = []
    for name, value in given.items():
        if name == "p":  # dropout scales the kept units by 1 / (1 - p)
            q = 1 - value
            missing = f"too small by 1/(1-p) = {1 / q:g}: the 1/(1 - p) of inverted dropout"
            out += [(q, f"{missing} is missing: dX = dY * mask / (1 - p)"),
                    (1 / q, f"too large by 1/(1-p) = {1 / q:g}: the 1/(1 - p) of inverted "
                            "dropout applied twice: dX = dY * mask / (1 - p), once")]  # fmt: skip
            continue
        value = np.asarray(value, dtype=np.float64)
        if not value.size or np.any(value == 0) or np.all(value == 1):
            continue
        shown = f"{float(value):g}" if value.ndim == 0 else "its values"
        out += [(1 / value, f"the factor {name} ({shown}) is missing: multiply by {name}"),
                (value, f"an extra factor {name} ({shown}): {name} enters once")]  # fmt: skip
    return out


def _broadcast_story(got: np.ndarray, expected: np.ndarray) -> str | None:
    """A sum's gradient not handed back to every term, or a broadcast's not summed."""
    if got.ndim != expected.ndim:
        return None
    try:
        wide = np.broadcast_to(got, expected.shape)
    except ValueError:
        wide = None
    if wide is not None and rel_error(wide, expected) < SAME:
        return (f"not handed back to every term: the right values, shaped {got.shape}; a "
                f"sum gives its gradient to each term it added, so this has the shape "
                f"{expected.shape} (multiply by np.ones, or let NumPy broadcast)")  # fmt: skip
    axes = tuple(i for i, (a, b) in enumerate(zip(got.shape, expected.shape, strict=True))
                 if b == 1 and a != 1)  # fmt: skip
    try:
        np.broadcast_to(expected, got.shape)
    except ValueError:
        return None
    if axes and rel_error(got.sum(axis=axes, keepdims=True), expected) < SAME:
        where = ", ".join(map(str, axes))
        return (
            f"not summed over axis {where}: the forward pass broadcast this array over "
            f"that axis, so its gradient sums there (.sum(axis={where}, keepdims=True))"
        )
    return None


def all_zeros(got: np.ndarray, expected: np.ndarray) -> str | None:
    if got.shape == expected.shape and got.size and not np.any(got) and np.any(expected):
        return ("all zeros: nothing reached this array (still the np.zeros it started "
                "from, a mask that kept nothing, or a product with a zero factor)")  # fmt: skip
    return None


def other_array(name: str, got: np.ndarray, expected: dict, given: dict, answers: dict):
    """``got`` is the right value of another array (swapped, or in the wrong place), or one
    of the arrays the function was given, unchanged."""
    for other, exp in expected.items():
        if other != name and exp.shape == got.shape and rel_error(got, exp) < SAME:
            back = answers.get(other)
            right = expected[name]
            if (
                back is not None
                and np.shape(back) == right.shape
                and (rel_error(np.asarray(back, dtype=np.float64), right) < SAME)
            ):
                return f"swapped with {other}: return them in the order {', '.join(expected)}"
            return (f"this is the right {other}, in {name}'s place: return them in the order "
                    f"{', '.join(expected)}")  # fmt: skip
    for other, value in given.items():
        if isinstance(value, np.ndarray) and value.shape == got.shape and value.size:
            if (
                value.shape == expected[name].shape
                and rel_error(got, value) < SAME
                and (rel_error(value, expected[name]) >= SAME)
            ):
                return f"this is {other} itself, unchanged: {name} is what {other} becomes"
    return None


def scale_and_shape(  # long: each shape and scale test in turn
    got: np.ndarray,
    expected: np.ndarray,
    n: int,
    k: int,
    context: str = "loss",
    factors: list | None = None,
) -> str | None:
    """A diagnosis from the arrays alone, or None."""
    if got.shape == expected.T.shape and got.ndim == 2 and rel_error(got.T, expected) < SAME:
        return (
            "transposed: your array is the transpose of the right one (for a weight, "
            "dW = X.T @ dY has the shape of W: (n_in, n_out))"
        )
    if got.ndim == expected.ndim + 1 and got.shape[1:] == expected.shape:
        if got.shape[0] == 1 and rel_error(got[0], expected) < SAME:
            return (
                f"an extra axis: the right numbers, but shaped {got.shape} instead of "
                f"{expected.shape} (sum(axis=0) without keepdims=True, or reshape)"
            )
        if rel_error(got.sum(axis=0), expected) < SAME:
            return (
                "not summed over the batch: a bias is added to every row, so its "
                "gradient sums the rows, db = dY.sum(axis=0)"
            )
        if rel_error(got.mean(axis=0), expected) < SAME:
            return "averaged over the batch: sum the rows instead, db = dY.sum(axis=0)"
    if got.shape != expected.shape:
        return _broadcast_story(got, expected)
    for factor, story in factors or []:
        try:
            candidate = expected * factor
        except ValueError:  # does not broadcast over this gradient
            continue
        if candidate.shape == got.shape and rel_error(got, candidate) < SAME:
            return story
    dot = float(np.vdot(expected, expected))
    if dot == 0:
        return None
    c = float(np.vdot(got, expected)) / dot
    if rel_error(got, c * expected) < SAME:
        return _factor_story(c, n, k, context) or (
            f"off by a constant factor: your array is {c:.6g} times the right one"
        )
    return None


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal below :data:`SAME`, with inf and nan in the same places (a slip that divides
    by zero replays as the student's does)."""
    finite = np.isfinite(a)
    if a.shape != b.shape or not np.array_equal(finite, np.isfinite(b)):
        return False
    return bool(rel_error(a[finite], b[finite]) < SAME) if finite.any() else True


def from_slips(got: np.ndarray, expected: np.ndarray, slips: list[tuple[str, np.ndarray]]):
    """The description of the first replayed slip that ``got`` equals, or None."""
    for story, candidate in slips:
        if not same(candidate, expected) and same(got, candidate):
            return story
    return None


def diagnose(got, expected, slips, n: int, k: int, context: str = "loss", factors=None):
    """The most likely slip behind ``got``, in words, or None when nothing fits."""
    return (
        all_zeros(got, expected)
        or from_slips(got, expected, slips)
        or scale_and_shape(got, expected, n, k, context, factors)
    )
