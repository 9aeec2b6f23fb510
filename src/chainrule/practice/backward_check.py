"""``check_backward``: a backward pass written by hand, judged array by array.

A student writes the backward pass of a loss, a layer or a whole network as a plain
function. chainrule computes the same gradients itself (and checks its own against
central differences), then says for each array the student returned: right, wrong
shape (expected versus got), wrong values (the relative error and the worst entry) or
missing, and names the slip when it recognises one (see :mod:`chainrule._diagnosis`
and :mod:`chainrule._slips`). A wrong answer never raises: even an exception inside the
student's function becomes part of the report.
"""

from __future__ import annotations

import copy
import inspect
import re
from dataclasses import dataclass, field

import numpy as np

from .._checks import as_array, as_rng, check_positive_int
from ..gradcheck import central_differences
from ..layers.activations import sigmoid, softmax
from ..layers.base import Layer
from ..layers.dropout import Dropout
from ..layers.sequential import Sequential
from ..losses import BinaryCrossEntropy, CrossEntropy, Loss, MeanSquaredError, MulticlassHinge
from . import _diagnosis, _slips

# check_backward: a student's own backward pass, judged tensor by tensor
#: a student's array is right below this relative error against chainrule's
RIGHT = 1e-6
#: a float32 answer is right below this relative error (its rounding is ~1e-7 a step)
RIGHT_FLOAT32 = 1e-4
#: chainrule's own gradients "agree" with central differences below this relative error
NUMERIC_AGREE = 1e-5
#: numerical checks of chainrule's own gradient are skipped above this many entries
NUMERIC_LIMIT = 20_000


@dataclass
class TensorVerdict:
    """The verdict on one array the student's function returned.

    ``status`` is ``"right"``, ``"wrong shape"``, ``"wrong values"``, ``"missing"`` (not
    returned), ``"not an array"`` (NumPy cannot read it: ``diagnosis`` says why) or
    ``"not real numbers"`` (complex); ``diagnosis`` names the slip when one fits.
    """

    name: str
    status: str
    expected: np.ndarray = field(repr=False)
    got: np.ndarray | None = field(default=None, repr=False)
    rel_error: float | None = None
    worst_index: tuple | None = None
    diagnosis: str | None = None
    note: str | None = None  # why a right answer is right when it is not the reference

    @property
    def ok(self) -> bool:
        return self.status == "right"

    def describe(self) -> str:
        """One or two lines: the status and what is known about it."""
        exp = self.expected
        if self.status == "right":
            return f"right ({self.note or f'relative error {self.rel_error:.1e}'})"
        if self.status == "missing":
            return "missing: your function did not return it"
        if self.status == "not an array":
            text = "not an array: return a NumPy array"
            return text + (f"\n    {self.diagnosis}" if self.diagnosis else "")
        if self.status == "not real numbers":
            return (f"not real numbers: it is {self.got.dtype}; a gradient of a real loss is "
                    "real (did a complex number creep in, e.g. 1j or a complex sqrt?)")  # fmt: skip
        if self.status == "wrong shape":
            text = f"wrong shape: expected {exp.shape}, got {self.got.shape}"
            if self.name.startswith("d") and self.name[1:2].isalpha():
                text += f" ({self.name} always has the shape of {self.name[1:]})"
        else:
            i = self.worst_index
            text = (
                f"wrong values: relative error {self.rel_error:.2g}; worst entry {list(i)}: "
                f"expected {exp[i] + 0.0:.6g}, got {self.got[i] + 0.0:.6g}"  # no "-0"
            )
        if self.diagnosis:
            text += f"\n    diagnosis: {self.diagnosis}"
        return text


@dataclass
class BackwardCheckReport:
    """What ``check_backward`` found: one :class:`TensorVerdict` per expected array.

    ``report.ok`` is True when every array is right; ``report["dW"]`` is one verdict;
    ``str(report)`` reads as a teacher's marking.
    """

    what: str
    verdicts: list[TensorVerdict]
    reference_error: float | None
    problem: str | None = None
    title: str = "check_backward"
    kinks: int = 0  # inputs at an activation's kink, where central differences mislead

    @property
    def ok(self) -> bool:
        return self.problem is None and all(v.ok for v in self.verdicts)

    def __getitem__(self, name: str) -> TensorVerdict:
        for v in self.verdicts:
            if v.name == name:
                return v
        one = {"dX", "dY", "dZ"}  # a single input's gradient, by whichever name it goes
        if name in one and len(self.verdicts) == 1 and self.verdicts[0].name in one:
            return self.verdicts[0]
        raise KeyError(f"no array {name!r}; the arrays are {[v.name for v in self.verdicts]}")

    def __str__(self) -> str:
        lines = [f"{self.title}: {self.what}"]
        if self.problem:
            lines.append(f"  problem: {self.problem}")
        width = max(len(v.name) for v in self.verdicts)
        for v in self.verdicts:
            lines.append(f"  {v.name:<{width}}  " + v.describe().replace("\n", "\n" + " " * width))
        right = sum(v.ok for v in self.verdicts)
        lines.append(
            f"{right} of {len(self.verdicts)} right" + (" - well done." if self.ok else ".")
        )
        lines += [self.footer()] if self.footer() else []
        return "\n".join(lines)

    def footer(self) -> str | None:
        """What central differences say of chainrule's own gradients, in words."""
        error = self.reference_error
        if self.kinks:
            return (
                f"({self.kinks} input{'s' if self.kinks > 1 else ''} of an activation sit at "
                "its kink (0, or within central differences' step of 1e-6 of it), where the "
                "derivative jumps: central differences are unreliable "
                "there (they straddle the kink), so they cannot vouch for chainrule's "
                "gradients; chainrule takes the slope on the left, as PyTorch does, and "
                "either one-sided slope is accepted as right)"
            )
        if error is None:
            return None
        if error < NUMERIC_AGREE:
            return (f"(chainrule's own gradients agree with central differences: relative "
                    f"error {error:.1e})")  # fmt: skip
        return (f"(central differences give a relative error of {error:.1e} against "
                "chainrule's own gradients: the function is not smooth enough at these "
                "inputs for them to check it)")  # fmt: skip

    def _repr_markdown_(self) -> str:
        rows = ["| array | verdict |", "|---|---|"]
        rows += [f"| `{v.name}` | {v.describe().replace(chr(10), '<br>')} |" for v in self.verdicts]
        head = f"**{self.title}**: {self.what}" + (f"\n\n{self.problem}" if self.problem else "")
        return head + "\n\n" + "\n".join(rows)


def check_backward(
    my_backward,
    model,
    X,
    y=None,
    *,
    loss: Loss | None = None,
    dY: np.ndarray | None = None,
    rng=0,
) -> BackwardCheckReport:
    """Judge a backward pass written by hand, array by array, and say what went wrong.

    The function is called with the arrays it names as parameters (any of those listed
    below, in any order) and returns the gradients as a tuple in the listed order, a
    dict by name, or a single array when one is expected.

    ========================  =============================  ==========================
    ``model``                 your function may take         and returns
    ========================  =============================  ==========================
    a loss (``cr.MeanSqua-    ``Y`` (= ``Z`` = ``Y_hat``,    ``dY``: dL/dY of the mean
    redError()``, ...)        the output given as ``X``),    loss (``dZ`` when your
                              ``y``, ``T`` (targets shaped   function takes the logits
                              like Y; one-hot for Cross-     as ``Z`` or the
                              Entropy), ``n``, ``k``; ``P``  probabilities ``P``)
                              (softmax or sigmoid of the
                              logits) for a fused loss
    a layer (``Dense``,       ``X``, ``Y``, ``dY`` (random   ``dX`` then one gradient
    an activation,            unless given), its params      per parameter: ``dW,
    ``BatchNorm``,            (``W``, ``b``, ``gamma``...),  db`` (``dgamma, dbeta``);
    ``Dropout``, ...)         ``eps``, ``alpha``, ``n``;     ``dZ`` for an activation
                              an activation also by a        written in a network's
                              network's names ``Z``, ``A``,  names ``Z``, ``A``, ``dA``
                              ``dA``; Dropout's keep
                              ``mask`` and ``p``
    a ``Sequential``          ``X``, ``y``, ``T``, ``n``,    ``dW1, db1, dW2, db2, ...``
                              ``W1, b1, W2, b2, ...``        (layers with parameters
                              (``params``: all as a dict),   numbered from 1)
                              ``masks`` (each Dropout's
                              keep-mask, in order)
    ========================  =============================  ==========================

    Parameters
    ----------
    my_backward : callable
    model : Loss, Layer or Sequential
    X : ndarray (n_samples, n_features)
        The input (for a loss: the network's output Y, logits for a fused loss).
    y : ndarray, optional
        Targets; needed for a loss and a network.
    loss : Loss, optional
        The network's loss; by default ``CrossEntropy()`` for integer class labels with
        more than one output, ``BinaryCrossEntropy()`` for 0/1 labels and one output,
        ``MeanSquaredError()`` otherwise.
    dY : ndarray, optional
        The upstream gradient for a layer (default: standard normal, from ``rng``).
    rng : Generator or int, default 0

    Returns
    -------
    BackwardCheckReport
        Per array: right, wrong shape (expected vs got), wrong values (relative error,
        worst entry) or missing, with a diagnosis where one fits: off by a factor n,
        transposed, sign flipped, not summed over the batch, all zeros, another right
        array in its place (or a swapped pair), a missing or extra factor of a parameter
        (gamma, alpha, dropout's 1/(1-p)), an activation's derivative missing, evaluated
        at the wrong tensor or of the wrong activation, a softmax Jacobian reduced to
        its diagonal, a path of batch norm missing. Equally right answers are right:
        float32 arithmetic (relative error below 1e-4), either one-sided slope where an
        input sits exactly on a kink (the report then says that central differences
        cannot vouch there), a gradient that is zero in exact arithmetic. It never
        raises for a wrong answer: an exception inside your function is reported too,
        and so is an answer NumPy cannot read (``"not an array"``, with the reason) or a
        complex one (``"not real numbers"``).

    Notes
    -----
    Your function runs in this process, without a time limit: one that never returns
    (an endless loop) is yours to interrupt, with Ctrl-C (``KeyboardInterrupt`` is not
    caught) or the notebook's stop button.
    """
    if not callable(my_backward):
        raise TypeError(
            f"check_backward: my_backward must be your function, got {type(my_backward).__name__}."
        )
    X = np.array(as_array(X, "X", "check_backward"), dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"check_backward: X must be 2-D (n_samples, n_features), got {X.shape}.")
    if isinstance(model, Loss):
        case = _loss_case(model, X, y)
    elif isinstance(model, Sequential):
        case = _net_case(model, X, y, loss)
    elif isinstance(model, Layer):
        # an int seed is mixed with a constant, so that dY is not the very draws that
        # made X when both come from the same seed (batch norm would project them out)
        gen = np.random.default_rng([rng, 0x5EED]) if isinstance(rng, (int, np.integer)) else rng
        case = _layer_case(model, X, dY, as_rng(gen))
    else:
        raise TypeError(
            "check_backward: model must be a chainrule loss, layer or Sequential, got "
            f"{type(model).__name__}."
        )
    _in_students_names(case, my_backward)
    got, problem = _call_student(my_backward, case.available, list(case.expected))
    n, k = X.shape[0], next(iter(case.expected.values())).shape[-1]
    if isinstance(model, Sequential):  # k: the network's outputs, not dW1's columns
        k = model.output_dim(X.shape[1])
    verdicts = _judge_all(case, got, n, k)
    return BackwardCheckReport(case.what, verdicts, case.reference_error, problem,
                               kinks=case.kinks)  # fmt: skip


@dataclass
class _Case:
    """What one check needs: the arrays offered, the right answers, the slips replayed,
    the equally right variants, the context of the stories."""

    what: str
    available: dict
    expected: dict
    slips: list
    reference_error: float | None
    context: str  # "loss", "layer" or "net": which stories fit
    given: dict = field(default_factory=dict)  # parameters whose factor may be slipped
    alternatives: list = field(default_factory=list)  # [{name: array}], equally right
    kinks: int = 0
    scale: float = 0.0  # of the terms a gradient is summed from (dY for a layer)


def _in_students_names(case: _Case, fn) -> None:
    """Name the returned array as the student's function names its input: ``dZ`` when
    it takes ``Z`` (a network's name for an activation's input, or a fused loss's
    logits) and not ``X`` or ``Y``; ``dX`` (``dY`` for a loss) when it takes the
    library's names, as the lessons and the drills do. An activation's diagnoses then
    speak the same names: ``dX = dY * Sigmoid'(X)``, not ``dZ = dA * Sigmoid'(Z)``."""
    try:
        asked = set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return
    old = {"layer": "dX", "loss": "dY"}.get(case.context)
    lessons = {"Z", "A", "dA"} if case.context == "layer" else {"Z", "P"}
    if old not in case.expected or list(case.expected) != [old] or "Z" not in case.available:
        return
    if asked & lessons and not asked & {"X", "Y"}:
        case.expected = {"dZ": case.expected[old]}
        case.slips = [(story, {"dZ": arrays[old]}) for story, arrays in case.slips if old in arrays]
        case.alternatives = [{"dZ": alt[old]} for alt in case.alternatives if old in alt]
    elif case.context == "layer" and asked & {"X", "Y", "dY"}:
        case.slips = [(_LIBRARY_NAMES.sub(lambda m: _LIBRARY[m[0]], story), arrays)
                      for story, arrays in case.slips]  # fmt: skip


#: an activation's names in a network (Z -> A) and in the library (X -> Y)
_LIBRARY = {"Z": "X", "A": "Y", "dZ": "dX", "dA": "dY"}
_LIBRARY_NAMES = re.compile(r"\b(dZ|dA|Z|A)\b")


def _judge_all(case: _Case, got: dict, n: int, k: int) -> list[TensorVerdict]:
    atol = 1e-12 * max((float(np.abs(a).max()) for a in case.expected.values() if a.size),
                       default=case.scale)  # fmt: skip
    atol = max(atol, 1e-12 * case.scale)
    factors = _diagnosis.parameter_factors(case.given)
    verdicts = []
    for name, exp in case.expected.items():
        replayed = [(story, arrays[name]) for story, arrays in case.slips if name in arrays]
        others = [alt[name] for alt in case.alternatives if name in alt]
        verdict = _judge(name, got.get(name), exp, replayed, n, k, atol,
                         case.context, factors, others)  # fmt: skip
        if verdict.status in ("wrong values", "wrong shape"):
            answers = {a: v for a, v in got.items() if isinstance(v, np.ndarray)}
            placed = _diagnosis.other_array(name, verdict.got, case.expected,
                                            case.available, answers)  # fmt: skip
            if placed and (verdict.diagnosis is None or "right" in placed or "swapped" in placed):
                verdict.diagnosis = placed
        verdicts.append(verdict)
    return verdicts


# ------------------------------------------------------------- calling the student
def _call_student(fn, available: dict, names: list[str]) -> tuple[dict, str | None]:
    """Call ``fn`` with the arrays it asks for; its answer as {name: value}, and a
    problem in words (an exception, a missing ``return``, a wrong count) or None."""
    try:
        wanted = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        wanted = []
    kwargs, unknown = {}, []
    for p in wanted:
        if p.kind is p.VAR_KEYWORD:
            kwargs.update({k: copy.deepcopy(v) for k, v in available.items()})
        elif p.kind is not p.VAR_POSITIONAL and p.name in available:
            kwargs[p.name] = copy.deepcopy(available[p.name])  # the student may write into it
        elif p.kind is not p.VAR_POSITIONAL and p.default is p.empty:
            unknown.append(p.name)
    if unknown:
        return {}, (
            f"your function asks for {', '.join(map(repr, unknown))}, which check_backward "
            f"does not give; name your parameters after these: {', '.join(available)}."
        )
    try:
        answer = fn(**kwargs)
    except NotImplementedError as exc:
        return {}, f"not written yet ({_not_written(exc)}): write its body and check again."
    except Exception as exc:  # a student's bug is a verdict, not a crash
        hint = ""
        if "broadcast" in str(exc) or "matmul" in str(exc) or "shapes" in str(exc):
            hint = (
                " That is a shape mismatch inside your function: write each array's shape "
                "next to each line (X is (n, n_in), W (n_in, n_out), dY (n, n_out)) and "
                "check every product."
            )
        return {}, f"your function raised {type(exc).__name__}: {exc}.{hint}"
    return _as_named(answer, names)


def _not_written(exc: NotImplementedError) -> str:
    said = f": {exc}" if str(exc) else ""
    return f"your function raised NotImplementedError{said}"


def _as_named(answer, names: list[str]) -> tuple[dict, str | None]:
    order = f"({', '.join(names)})"
    if answer is None:
        return {}, f"your function returned None: did you forget `return {', '.join(names)}`?"
    if isinstance(answer, dict):
        aliases = {name: name for name in names}
        aliases.update({name[1:]: name for name in names if name.startswith("d")})
        if names in (["dX"], ["dY"], ["dZ"]):  # one input: whichever name it goes by
            aliases.update({"dX": names[0], "dY": names[0], "dZ": names[0]})
        got = {aliases[k]: v for k, v in answer.items() if k in aliases}
        extra = [k for k in answer if k not in aliases]
        return got, (f"ignored the keys {extra}; expected {order}." if extra else None)
    if isinstance(answer, (tuple, list)) and not (
        len(names) == 1 and answer and not isinstance(answer[0], np.ndarray)
    ):
        problem = None
        if len(answer) != len(names):
            problem = (
                f"your function returned {len(answer)} values; expected {order}, in that order."
            )
        return dict(zip(names, answer, strict=False)), problem
    problem = None if len(names) == 1 else f"your function returned one array; expected {order}."
    return {names[0]: answer}, problem


def _judge(
    name,
    value,
    expected,
    slips,
    n: int,
    k: int,
    atol: float = 0.0,
    context: str = "loss",
    factors=None,
    alternatives=(),
) -> TensorVerdict:
    """``atol``: differences this small count as equal (rounding of a gradient that is
    zero in exact arithmetic, e.g. a bias before batch norm, must not be "wrong");
    ``alternatives``: equally right answers (the other slope at a kink)."""
    if value is None:
        return TensorVerdict(name, "missing", expected)
    got = _as_real(value)
    if isinstance(got, str):
        return TensorVerdict(name, "not an array", expected, diagnosis=got or None)
    if got.dtype.kind == "c":
        return TensorVerdict(name, "not real numbers", expected, got)
    diagnosis = _diagnosis.diagnose(got, expected, slips, n, k, context, factors)
    if got.shape != expected.shape:
        return TensorVerdict(name, "wrong shape", expected, got, diagnosis=diagnosis)
    error = _diagnosis.rel_error(got, expected)
    single = getattr(value, "dtype", None) in (np.float32, np.dtype(np.float32))
    if error < RIGHT:
        return TensorVerdict(name, "right", expected, got, error)
    if got.size and np.abs(got - expected).max() <= atol:
        note = f"zero up to rounding: no entry is further than {atol:.0e} from the exact 0"
        if np.any(np.abs(expected) > atol):
            note = f"equal up to rounding: no entry is further than {atol:.0e}"
        return TensorVerdict(name, "right", expected, got, error, note=note)
    if single and error < RIGHT_FLOAT32:
        note = f"float32 arithmetic: relative error {error:.1e}, float32's rounding"
        return TensorVerdict(name, "right", expected, got, error, note=note)
    for other in alternatives:
        if _diagnosis.rel_error(got, other) < (RIGHT_FLOAT32 if single else RIGHT):
            note = "the other one-sided slope at a kink (an input exactly 0): equally right"
            return TensorVerdict(name, "right", expected, got, error, note=note)
    diff = np.abs(got - expected)
    diff[np.isnan(diff)] = np.inf
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    return TensorVerdict(name, "wrong values", expected, got, error, tuple(int(i) for i in worst),
                         diagnosis)  # fmt: skip


def _as_real(value) -> np.ndarray | str:
    """The student's answer as float64 (complex stays complex, for its verdict), or why
    NumPy cannot read it: whatever converting it raises (a torch tensor that requires
    grad, an ``__array__`` that fails) is a verdict, never an exception."""
    try:
        raw = np.asarray(value)
        return raw if raw.dtype.kind == "c" else raw.astype(np.float64)
    except (TypeError, ValueError):
        return ""
    except Exception as exc:  # the student's object: anything may fail in it
        fix = " (a torch tensor: return t.detach().numpy())" if "grad" in str(exc) else ""
        return f"converting it raised {type(exc).__name__}: {exc}{fix}"


# ------------------------------------------------------- chainrule's own answers
def _numeric_error(f, arrays: list[np.ndarray], analytic: list[np.ndarray], eps=1e-6):
    """Relative error of all of ``analytic`` together against central differences of the
    scalar ``f()`` with respect to each array (perturbed in place), or None when too large
    to check. Taken over all arrays at once, so that a gradient that is zero in exact
    arithmetic (rounding leaves ~1e-17) does not count as an error of 1."""
    if sum(a.size for a in arrays) > NUMERIC_LIMIT:
        return None
    numeric = [central_differences(f, A, eps).ravel() for A in arrays]
    return _diagnosis.rel_error(
        np.concatenate([G.ravel() for G in analytic]), np.concatenate(numeric)
    )


def _targets(loss: Loss, Y: np.ndarray, y) -> np.ndarray:
    """The targets T shaped like Y: one-hot rows for class indices."""
    y = np.asarray(y)
    if isinstance(loss, (CrossEntropy, MulticlassHinge)) and y.ndim == 1:
        return np.eye(Y.shape[1])[y.astype(int)]
    return np.asarray(y, dtype=np.float64).reshape(Y.shape)


def _loss_case(loss: Loss, Y: np.ndarray, y):
    if y is None:
        raise ValueError("check_backward: a loss needs the targets y as its fourth argument.")
    value, dY = loss(Y, y)
    y, T = np.asarray(y), _targets(loss, Y, y)
    n, k = Y.shape
    available = {"Y": Y, "Z": Y, "Y_hat": Y, "y": y, "T": T, "n": n, "k": k}
    if getattr(loss, "from_logits", False) and isinstance(loss, CrossEntropy):
        available["P"] = softmax(Y)  # a fused loss's gradient from the probabilities, P - T
    elif getattr(loss, "from_logits", False) and isinstance(loss, BinaryCrossEntropy):
        available["P"] = sigmoid(Y)
    error = _numeric_error(lambda: loss(Y, y)[0], [Y], [dY])
    what = f"the gradient of {loss!r} on {n} samples (mean loss {value:.6g})"
    slips = _slips.loss_slips(loss, Y, T) + _slips.jacobian_slips(loss, Y, T)
    return _Case(what, available, {"dY": dY}, slips, error, "loss")


def _layer_case(layer: Layer, X: np.ndarray, dY, rng):
    layer = copy.deepcopy(layer).astype(np.float64)
    given = {}
    if isinstance(layer, Dropout):  # one mask, the student's and every check's
        if layer.fixed_mask is None:
            layer.fixed_mask = layer.rng.random(X.shape) >= layer.p
        given = {"mask": np.asarray(layer.fixed_mask, dtype=bool), "p": layer.p}
    Y, backward = layer.forward(X, training=True)
    source = "random dY" if dY is None else "the given dY"
    dY = rng.standard_normal(Y.shape) if dY is None else np.asarray(dY, dtype=np.float64)
    if dY.shape != Y.shape:
        raise ValueError(f"check_backward: dY must have the shape of Y, {Y.shape}; got {dY.shape}.")
    layer.zero_grad()
    expected = {"dX": backward(dY)}
    expected.update({f"d{k}": g.copy() for k, g in layer.grads.items()})
    available = {"X": X, "Y": Y, "dY": dY, "n": X.shape[0], **layer.params, **given}
    available.update({a: getattr(layer, a) for a in ("eps", "alpha") if hasattr(layer, a)})
    if not layer.params:  # an activation: also by a network's names, Z -> A
        available.update({"Z": X, "A": Y, "dA": dY})
    params = list(layer.params.values())
    error = _numeric_error(
        lambda: float(np.sum(layer.forward(X, training=True)[0] * dY)),
        [X, *params], list(expected.values()),
    )  # fmt: skip
    what = f"{layer!r}, backward of a batch of {X.shape[0]} (Y = layer(X), {source})"
    factors = {a: getattr(layer, a) for a in ("alpha", "p") if hasattr(layer, a)}
    if "gamma" in layer.params:
        factors["gamma"] = layer.params["gamma"]
    other = _slips.other_subgradient(layer)
    kinks = _slips.count_kinks([layer], X)
    return _Case(what, available, expected, _slips.layer_slips(layer, X, Y, dY), error,
                 "layer", factors, [{"dX": other(X, Y, dY)}] if other and kinks else [],
                 kinks, float(np.abs(dY).max()) if dY.size else 0.0)  # fmt: skip


def _default_loss(net: Sequential, X: np.ndarray, y: np.ndarray) -> Loss:
    n_out = net.output_dim(X.shape[1])
    if y.dtype.kind in "iub" or (y.dtype.kind == "f" and np.array_equal(y, np.round(y))):
        if n_out > 1 and y.ndim == 1:
            return CrossEntropy()
        if n_out == 1 and set(np.unique(y)) <= {0, 1}:
            return BinaryCrossEntropy()
    return MeanSquaredError()


def _fix_dropout_masks(net: Sequential, X: np.ndarray) -> list[np.ndarray]:
    """Draw each Dropout layer's keep-mask once and fix it, so that the student, the
    reference and central differences all see the same masks; the masks, in order."""
    masks, A = [], X
    for layer in net.layers:
        if isinstance(layer, Dropout) and layer.p > 0:
            if layer.fixed_mask is None:
                layer.fixed_mask = layer.rng.random(A.shape) >= layer.p
            masks.append(np.asarray(layer.fixed_mask, dtype=bool))
        A = layer.forward(A, training=True)[0]
    return masks


def _net_case(net: Sequential, X: np.ndarray, y, loss: Loss | None):
    if y is None:
        raise ValueError("check_backward: a network needs the targets y as its fourth argument.")
    y = np.asarray(y)
    net = copy.deepcopy(net).astype(np.float64)
    masks = _fix_dropout_masks(net, X)
    loss = loss or _default_loss(net, X, y)
    names, counter, params = {}, 0, {}
    for layer, key, param, _ in net.parameters():
        if id(layer) not in names:
            counter += 1
            names[id(layer)] = counter
        params[f"{key}{names[id(layer)]}"] = param

    def gradients_of(network: Sequential) -> dict[str, np.ndarray]:
        Y, backward = network.forward(X, training=True)
        network.zero_grad()
        backward(loss(Y, y)[1])
        grads = [g.copy() for _, _, _, g in network.parameters()]
        return {f"d{name}": g for name, g in zip(params, grads, strict=True)}

    expected = gradients_of(net)
    T = _targets(loss, net.forward(X, training=True)[0], y)
    available = {"X": X, "y": y, "T": T, "n": X.shape[0], **params, "params": dict(params),
                 "masks": masks}  # fmt: skip
    error = _numeric_error(
        lambda: loss(net.forward(X, training=True)[0], y)[0],
        list(params.values()), list(expected.values()),
    )  # fmt: skip
    chain = " -> ".join(type(layer).__name__ for layer in net.layers)
    what = f"the network {chain} with {loss!r}, on {X.shape[0]} samples"
    kinks = _slips.count_kinks(net.layers, X)
    alternatives = _slips.net_subgradients(net, gradients_of, X) if kinks else []
    return _Case(what, available, expected, _slips.net_slips(net, gradients_of), error, "net",
                 alternatives=alternatives, kinks=kinks)  # fmt: skip


# ------------------------------------------------------------ optimizer updates
def _config_of(optimizer) -> dict:
    """The hyper-parameters in the names of CS231n's ``config`` dicts."""
    from ..optimizers import SGD, Adam, AdamW, RMSProp

    if isinstance(optimizer, AdamW):  # its decay is not in CS231n's config: say so
        raise TypeError(
            "check_step: takes cr.SGD (without nesterov), cr.Adam or cr.RMSProp; AdamW's "
            "decoupled decay has no place in CS231n's config, so it is not supported."
        )
    if isinstance(optimizer, Adam):
        return {"learning_rate": optimizer.lr, "beta1": optimizer.beta1,
                "beta2": optimizer.beta2, "epsilon": optimizer.eps}  # fmt: skip
    if isinstance(optimizer, RMSProp):
        return {"learning_rate": optimizer.lr, "decay_rate": optimizer.rho,
                "epsilon": optimizer.eps}  # fmt: skip
    if isinstance(optimizer, SGD) and not optimizer.nesterov:
        return {"learning_rate": optimizer.lr, "momentum": optimizer.momentum}
    raise TypeError(
        f"check_step: takes cr.SGD (without nesterov), cr.Adam or cr.RMSProp, got {optimizer!r}."
    )


def _update_slips(optimizer, W0: np.ndarray, gradients: list[np.ndarray]):  # long: per rule
    """Weight sequences of classic update slips: (story, [W after step 1, 2, ...])."""
    c, slips = _config_of(optimizer), []
    lr = c["learning_rate"]

    def run(update, carried: bool = True) -> list[np.ndarray]:
        W, state, out = W0.copy(), {}, []
        for t, g in enumerate(gradients, 1):
            state = state if carried else {}
            W = update(W, g, state, t if carried else 1)
            out.append(W.copy())
        return out

    def lr_slips(update_with) -> list:
        return [
            (f"the learning rate is missing: the step is lr = {lr:g} times the update",
             run(update_with(1.0))),
            (f"the learning rate applied twice (lr**2 = {lr * lr:g})", run(update_with(lr * lr))),
            ("the state is not carried between calls: store it in config (the check calls "
             "your function again with the config you returned)", run(update_with(lr), False)),
        ]  # fmt: skip

    if "momentum" in c:
        mu = c["momentum"]

        def momentum(rate, damp=1.0, mu=mu):
            def update(W, g, s, t):
                s["v"] = mu * s.get("v", 0) + damp * g
                return W - rate * s["v"]

            return update

        slips += [
            ("an exponential average (v = mu*v + (1 - mu)*g): PyTorch's and chainrule's "
             "momentum sums the gradients, v = mu*v + g", run(momentum(lr, 1 - mu))),
            (f"the momentum mu = {mu:g} is missing: v = mu*v + g", run(momentum(lr, mu=1.0))),
            *lr_slips(momentum),
        ]  # fmt: skip
    if "beta1" in c:
        b1, b2, eps = c["beta1"], c["beta2"], c["epsilon"]

        def adam(rate, m_hat=True, v_hat=True, eps_inside=False, t0=0):
            def update(W, g, s, t):
                s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
                s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
                with np.errstate(divide="ignore", invalid="ignore"):
                    m = s["m"] / (1 - b1 ** (t - t0)) if m_hat else s["m"]
                    v = s["v"] / (1 - b2 ** (t - t0)) if v_hat else s["v"]
                    return W - rate * m / (np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps)

            return update

        slips += [
            ("the bias correction is missing: m_hat = m / (1 - beta1**t), v_hat = v / "
             "(1 - beta2**t), with t counting from 1", run(adam(lr, False, False))),
            ("the bias correction of v is missing: v_hat = v / (1 - beta2**t) as well as "
             "m_hat = m / (1 - beta1**t)", run(adam(lr, True, False))),
            ("the bias correction of m is missing: m_hat = m / (1 - beta1**t) as well as "
             "v_hat = v / (1 - beta2**t)", run(adam(lr, False, True))),
            ("t started at 0: the first step divides by 1 - beta**0 = 0; increase t before "
             "using it, so the first step has t = 1", run(adam(lr, t0=1))),
            ("eps inside the square root: Adam divides by sqrt(v_hat) + eps",
             run(adam(lr, eps_inside=True))),
            *lr_slips(adam),
        ]  # fmt: skip
    if "decay_rate" in c:
        rho, eps = c["decay_rate"], c["epsilon"]

        def rmsprop(rate):
            def update(W, g, s, t):
                s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
                return W - rate * g / (np.sqrt(s["v"]) + eps)

            return update

        slips += lr_slips(rmsprop)
    slips.append(("the gradient was added: descent subtracts the step", [
        2 * W0 - W for W in _reference_updates(optimizer, W0, gradients)
    ]))  # fmt: skip
    return slips


def _reference_updates(optimizer, W0: np.ndarray, gradients: list[np.ndarray]):
    """chainrule's optimizer applied to W0 with each gradient in turn."""
    holder = Layer()
    holder.params, holder.grads = {"W": W0.copy()}, {"W": np.zeros_like(W0)}
    opt, out = copy.deepcopy(optimizer), []
    opt.reset_state()
    for g in gradients:
        holder.grads["W"][...] = g
        opt.step(holder)
        out.append(holder.params["W"].copy())
    return out


def check_step(my_step, optimizer, W, *, steps: int = 3, rng=0) -> BackwardCheckReport:
    """Judge a hand-written optimizer update against chainrule's, step by step.

    The update has the form of CS231n's assignments: ``my_step(w, dw, config)`` returns
    ``(next_w, config)``, where ``config`` holds the hyper-parameters
    (``learning_rate``, ``momentum``; or ``beta1``, ``beta2``, ``epsilon`` for Adam;
    ``decay_rate``, ``epsilon`` for RMSProp) and whatever state the update keeps
    between calls (``velocity``; ``m``, ``v``, ``t``), which the function sets up itself
    on the first call.

    Parameters
    ----------
    my_step : callable
    optimizer : cr.SGD (momentum, not nesterov), cr.Adam or cr.RMSProp
        The reference, with the hyper-parameters to use.
    W : ndarray
        The starting weights; ``steps`` random gradients (from ``rng``) are applied.
    steps : int >= 1, default 3
        How many updates to judge, one after the other.

    Returns
    -------
    BackwardCheckReport
        One verdict per step (``"W after step 1"``, ...), with the slip named where it
        fits (no bias correction, or on one moment only, t started at 0, eps inside the
        square root, a dampened average, momentum's mu missing, the learning rate
        missing or applied twice, the state not carried between calls, the gradient
        added). CS231n's momentum form (v = mu*v - lr*dw; w += v) is right.
    """
    steps = check_positive_int(steps, "check_step: steps (the number of updates to judge)")
    W0 = np.array(as_array(W, "W", "check_step"), dtype=np.float64)
    gen = np.random.default_rng([rng, 0x5EED]) if isinstance(rng, (int, np.integer)) else rng
    gradients = [as_rng(gen).standard_normal(W0.shape) for _ in range(steps)]
    config, expected = _config_of(optimizer), _reference_updates(optimizer, W0, gradients)
    names = [f"W after step {t}" for t in range(1, steps + 1)]
    got, problem, w = {}, None, W0.copy()
    for name, g in zip(names, gradients, strict=True):
        try:
            answer = my_step(w.copy(), g.copy(), config)
        except NotImplementedError as exc:
            problem = f"not written yet ({_not_written(exc)}): write its body and check again."
            break
        except Exception as exc:  # a student's bug is a verdict
            problem = f"your function raised {type(exc).__name__}: {exc} (at {name.lower()})."
            break
        if not (isinstance(answer, (tuple, list)) and len(answer) == 2):
            kind = "None" if answer is None else f"a {type(answer).__name__}"
            problem = f"your function returned {kind} (at {name.lower()}); return next_w, config."
            break
        got[name], config = answer
        w = _as_real(got[name])
        if isinstance(w, str) or w.dtype.kind == "c" or w.shape != W0.shape:
            break  # its verdict says why; the next steps would start from nothing sound
        if not isinstance(config, dict):
            problem = "your function must return (next_w, config), config a dict."
            break
    slips = _update_slips(optimizer, W0, gradients)
    verdicts = [
        _judge(
            name,
            got.get(name),
            exp,
            [(story, seq[t]) for story, seq in slips],
            1,
            1,
            context="step",
        )
        for t, (name, exp) in enumerate(zip(names, expected, strict=True))
    ]
    what = f"{steps} steps of {optimizer!r} from W of shape {W0.shape}, random gradients"
    return BackwardCheckReport(what, verdicts, None, problem, title="check_step")
