"""Numeric drills of one training step: ``chainrule quiz`` and ``cr.quiz.Drill``.

A drill draws a small network (2-2-1 up to 3-4-3) with short decimals for its inputs,
targets and weights, states the task, and asks for one number at a time: an entry of
Z or A, the loss, dL/dZ, an entry of dW or db, a weight after one gradient-descent step.
The student is told to carry 4 significant figures (:data:`CARRY`: each number written
down, a product, an entry, an exp or a log, rounded to 4; a sum added on a calculator)
and to answer with 3 or more. An answer is right when it agrees with the exact value to
3 significant figures, or when such a student can reach it: within the span of 4-figure
results (:func:`four_figure_error`, worked in interval arithmetic, ``_span.py``) plus
half a unit in the third figure. Where terms cancel this is wider than 3 figures
(seed 3's dW2[1, 1] = 0.04463 - 0.04310 = 0.00153, exactly 0.001529). A wrong one
gets the worked solution (the equation, the numbers substituted, the result) and,
when the answer equals what a classic slip gives, the slip by name.

The answers are exact, not the engine's floating-point numbers. The problem is built
from one-decimal numbers, so Z1 = X W1 + b1 can be exactly 0 where the engine computes
2.8e-17; a student who answers 0 must be right, and relu'(0) must be 0 (the engine's
rule), not 1. :func:`exact_step` therefore recomputes the step in decimal arithmetic
carrying 50 digits rather than in ``fractions.Fraction``: the rational quantities (every
affine map, ReLU, the MSE loss, every gradient of a ReLU network) are exact either way,
and decimals also evaluate exp, log, sigmoid and tanh (which are not rational) at the
exact argument to 50 digits, where a Fraction would have to fall back to floats. Each
value is then rounded once to the nearest double. The engine still traces the step
(``Problem.trace``, :func:`chainrule.explain`); a test checks the two agree.

From Python (a notebook can embed one)::

    drill = cr.quiz.Drill(seed=3, topic="backward", count=3)
    print(drill.statement())
    q = drill.questions[0]
    print(q.prompt)
    print(q.grade(0.125))        # right or wrong, the working, the slip
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from functools import cached_property

import numpy as np

from ..explain.trace import explain
from ..layers import Dense, build_mlp, get_activation
from ..layers.activations import sigmoid
from ..losses import BinaryCrossEntropy, CrossEntropy, MeanSquaredError
from ._span import FIGURES, Span

TOPICS = ("forward", "loss", "backward", "update")

#: the hidden activations: the function, its derivative at z, and its name in formulas
ACTIVATIONS = {
    "sigmoid": (
        get_activation("sigmoid"),
        sigmoid,
        lambda z: sigmoid(z) * (1 - sigmoid(z)),
        "sigmoid",
    ),
    "tanh": (get_activation("tanh"), np.tanh, lambda z: 1 - np.tanh(z) ** 2, "tanh"),
    "relu": (get_activation("relu"), lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0, "relu"),
}
#: each hidden activation's derivative as a student writes it, from its layer's formulas
DERIVATIVE_TEXT = {name: entry[0].formulas.derivative.text for name, entry in ACTIVATIONS.items()}


def _output_gradient(loss: type) -> str:
    """The fused output gradient dZ2, as the loss's own formula writes it (N = n k)."""
    return loss.formulas.backward[0].render(y="Z2")[1]


#: the output and loss pairs, with the fused output gradient as a formula
OUTPUTS = {
    "softmax": (CrossEntropy, "softmax + cross-entropy", _output_gradient(CrossEntropy)),
    "sigmoid": (BinaryCrossEntropy, "sigmoid + binary cross-entropy",
                _output_gradient(BinaryCrossEntropy)),
    "linear": (MeanSquaredError, "linear output + mean squared error",
               _output_gradient(MeanSquaredError)),
}  # fmt: skip


def same_to_3_figures(given: float, answer: float) -> bool:
    """True when ``given`` rounds to ``answer`` at 3 significant figures (a little
    slack for answers that were themselves rounded): |given - answer| <= half a unit in
    the third figure."""
    if not math.isfinite(given):
        return False
    if answer == 0:
        return abs(given) < 5e-4
    unit = 10 ** (math.floor(math.log10(abs(answer))) - 2)
    return abs(given - answer) <= 0.5 * unit * (1 + 1e-9) + 1e-12


def accepts(given: float, answer: float, error: float = 0.0) -> bool:
    """True when ``given`` is the exact ``answer`` to 3 significant figures, or what a
    student can write who carried 4 significant figures through the working (landing
    within ``error`` of the answer, :func:`four_figure_error`) and gave 3 or more."""
    if same_to_3_figures(given, answer):
        return True
    if not math.isfinite(given) or error == 0:
        return False
    reach = abs(answer) + error  # the largest value the student can hold
    unit = 10 ** (math.floor(math.log10(reach)) - 2)
    return abs(given - answer) <= (error + 0.5 * unit) * (1 + 1e-9)


def plain(v: float) -> str:
    """A number as written in a working: exactly when it is a decimal of at most 7
    significant figures (0.0024125), else to 4 significant figures."""
    text = repr(float(v) + 0.0).removesuffix(".0")  # + 0.0: never "-0"
    digits = text.lstrip("-0.").split("e")[0].replace(".", "")
    return text if len(digits) <= 7 else f"{float(v):.4g}"


def fmt(v: float) -> str:
    """The same inside a sum or product: negative numbers in brackets."""
    text = plain(v)
    return f"({text})" if text.startswith("-") else text


@dataclass
class Grade:
    """The marking of one answer."""

    correct: bool
    given: float | None
    answer: float
    working: str
    slip: str | None = None

    def __str__(self) -> str:
        if self.correct:
            same = plain(self.given) == plain(self.answer)
            exactly = "" if same else f" (exactly {plain(self.answer)})"
            return f"right: {plain(self.given)}{exactly}"
        head = "no answer" if self.given is None else f"not quite: you gave {self.given:.6g}"
        lines = [f"{head}; the answer is {plain(self.answer)}", f"  working: {self.working}"]
        if self.slip:
            lines.append(f"  likely slip: {self.slip}")
        return "\n".join(lines)


@dataclass
class Question:
    """One quantity to compute, its value, the worked solution, and known slips."""

    topic: str
    symbol: str
    prompt: str
    answer: float
    working: str
    slips: list[tuple[str, float]] = field(default_factory=list)
    #: the docs/viva.md and docs/derivations.md sections that explain it
    sections: list[str] = field(default_factory=list)
    #: the problem it is about (for :attr:`error`)
    problem: Problem | None = field(default=None, repr=False)

    @property
    def error(self) -> float:
        """How far from ``answer`` a student carrying 4 significant figures can land."""
        return 0.0 if self.problem is None else float(_entry(self.problem.errors, self.symbol))

    def grade(self, given: float | None) -> Grade:
        """Right when :func:`accepts` the given number; else the slip it matches, if
        one does (and that slip's number is not itself accepted)."""
        if given is not None and (
            same_to_3_figures(given, self.answer) or accepts(given, self.answer, self.error)
        ):  # the 4-figure spans are worked out only when 3 figures do not suffice
            return Grade(True, given, self.answer, self.working)
        slip = None
        if given is not None:
            slip = next(
                (story for story, wrong in self.slips
                 if not accepts(wrong, self.answer, self.error)
                 and accepts(given, wrong, self.error)),
                None,
            )  # fmt: skip
        return Grade(False, given, self.answer, self.working, slip)


# ----------------------------------------------------------------- the problem
@dataclass
class Problem:
    """The network, data and learning rate of a drill, with the engine's trace."""

    X: np.ndarray
    y: np.ndarray
    T: np.ndarray
    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray
    activation: str
    output: str
    lr: float
    trace: object = field(repr=False)
    #: every quantity of the step computed exactly (:func:`exact_step`), by name
    values: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @cached_property
    def errors(self) -> dict[str, np.ndarray]:
        """How far from each value a student carrying 4 figures can land
        (:func:`four_figure_error`), worked out when first graded."""
        return four_figure_error(self)

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def k(self) -> int:
        return self.W2.shape[1]


def _decimals(rng, shape, low: int, high: int) -> np.ndarray:
    """Short decimals: integers in [low, high] divided by 10, never -0.0."""
    return rng.integers(low, high + 1, size=shape) / 10 + 0.0


def draw_problem(rng: np.random.Generator) -> Problem:
    """A random small network, data and learning rate, traced by the engine."""
    output = str(rng.choice(list(OUTPUTS)))
    activation = str(rng.choice(list(ACTIVATIONS)))
    n_in, n_hidden = int(rng.integers(2, 4)), int(rng.integers(2, 5))
    k = {"softmax": int(rng.integers(2, 4)), "sigmoid": 1, "linear": int(rng.integers(1, 3))}[
        output
    ]
    n = int(rng.integers(1, 3))
    X = _decimals(rng, (n, n_in), -10, 10)
    W1, W2 = _decimals(rng, (n_in, n_hidden), -10, 10), _decimals(rng, (n_hidden, k), -10, 10)
    b1, b2 = _decimals(rng, n_hidden, -5, 5), _decimals(rng, k, -5, 5)
    if output == "softmax":
        y = rng.integers(0, k, size=n)
        T = np.eye(k)[y]
    elif output == "sigmoid":
        y = rng.integers(0, 2, size=(n, 1)).astype(float)
        T = y
    else:
        y = _decimals(rng, (n, k), -10, 10)
        T = y
    lr = float(rng.choice([0.1, 0.5, 1.0]))
    # zeros, then the drawn short decimals written in (the layers are Dense, act, Dense)
    net = build_mlp([n_in, n_hidden, k], activation, init="zeros")
    for dense, W, b in ((net.layers[0], W1, b1), (net.layers[2], W2, b2)):
        dense.params["W"][...], dense.params["b"][...] = W, b
    trace = explain(net, OUTPUTS[output][0](), X, y, lr=lr)
    problem = Problem(X, y, T, W1, b1, W2, b2, activation, output, lr, trace)
    problem.values = exact_step(problem)
    return problem


# --------------------------------------------------------------- exact arithmetic
#: digits carried by the exact recomputation; a result below ZERO_BELOW is exactly 0
DIGITS, ZERO_BELOW = 50, Decimal("1e-30")


def _exact(a: np.ndarray) -> np.ndarray:
    """The drawn short decimals as exact decimals (an object array of ``Decimal``)."""
    return np.frompyfunc(lambda v: Decimal(repr(float(v))) + 0, 1, 1)(np.asarray(a, float))


def _exp(d: Decimal) -> Decimal:
    return d.exp()


def _ln(d: Decimal) -> Decimal:
    return d.ln()


def _sigmoid(d: Decimal) -> Decimal:
    return 1 / (1 + (-d).exp()) if d >= 0 else d.exp() / (1 + d.exp())


def _tanh(d: Decimal) -> Decimal:
    e = (-2 * abs(d)).exp()
    return (1 - e) / (1 + e) * (1 if d >= 0 else -1)


def _relu(d: Decimal) -> Decimal:
    return d if d > 0 else Decimal(0)


#: each hidden activation on one exact number: its value, its derivative at z
EXACT_ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1 - _sigmoid(z))),
    "tanh": (_tanh, lambda z: 1 - _tanh(z) ** 2),
    "relu": (_relu, lambda z: Decimal(1) if z > 0 else Decimal(0)),  # relu'(0) = 0
}


def _span_sigmoid(z: Span) -> Span:
    """1 / (1 + exp(-z)), each of the three numbers written down."""
    return (1 / (1 + (-z).exp().written()).written()).written()


#: the same on a :class:`Span` of 4-figure results (sigmoid worked as 1 / (1 + exp(-z)))
SPAN_ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "sigmoid": (_span_sigmoid, lambda z: (a := _span_sigmoid(z)) * (1 - a)),
    "tanh": (Span.tanh, lambda z: 1 - z.tanh() ** 2),
    "relu": (Span.relu, Span.relu_slope),
}


def _map(f: Callable, a: np.ndarray) -> np.ndarray:
    """``f`` on each entry of an object array, results below ZERO_BELOW made 0."""
    return np.frompyfunc(lambda v: _snap(f(v)), 1, 1)(a)


def _snap(d):
    """An exact result below ZERO_BELOW made 0; a span written down to 4 figures."""
    if isinstance(d, Span):
        return d.written()
    return Decimal(0) if abs(d) < ZERO_BELOW else +d


def exact_step(p: Problem) -> dict[str, np.ndarray]:
    """Every quantity of the drill's step, from the exact inputs, as float arrays.

    The inputs are one-decimal numbers, so the affine maps, ReLU, the MSE loss and
    every gradient of a ReLU network with a linear output are rational: computed
    here in decimal arithmetic carrying 50 significant digits, they are exact to
    50 digits (a sum of products of one-decimal numbers is a finite decimal and is
    exact; a division by n k is rounded at the 50th digit). exp, log, sigmoid and tanh
    are not rational: they are evaluated at the exact argument to 50 digits. A result
    whose magnitude is below 1e-30 is taken as exactly 0: a nonzero rational one is a
    multiple of at least 1e-8 / 6 (one-decimal inputs, a few products, n k <= 6), and
    a transcendental one so small is equal terms cancelling, which 50 digits leave near
    1e-49. So an exact 0 is 0, not the engine's rounding
    noise (2.8e-17), and relu'(z) at z = 0 is 0, the engine's rule. Each result is
    then rounded once, to the nearest double.
    """
    with localcontext() as ctx:
        ctx.prec = DIGITS
        v = worked_step(p, lambda d: d, EXACT_ACTIVATIONS)
    return {name: a.astype(float) for name, a in v.items()}


def _total(terms: list):
    """A sum written term by term (:meth:`Span.total` for spans)."""
    return Span.total(terms) if isinstance(terms[0], Span) else sum(terms[1:], terms[0])


def _dot(A: np.ndarray, B: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """A @ B (+ bias) entry by entry, each entry a :func:`_total` of its terms."""
    out = np.empty((A.shape[0], B.shape[1]), dtype=object)
    for i, j in np.ndindex(out.shape):
        terms = [_snap(A[i, m] * B[m, j]) for m in range(A.shape[1])]  # each written
        out[i, j] = _snap(_total(terms if bias is None else [*terms, bias[j]]))
    return out


def _rows(M: np.ndarray) -> np.ndarray:
    """Each row's total, as a column."""
    return _dot(M, np.ones((M.shape[1], 1), dtype=int))


def worked_step(p: Problem, lift: Callable, activations: dict) -> dict[str, np.ndarray]:
    """The step worked entry by entry in the numbers ``lift`` makes of the exact
    inputs (``Decimal`` or :class:`Span`), as object arrays."""
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, 30)
        lifted = (_map(lift, _exact(a)) for a in (p.X, p.T, p.W1, p.b1, p.W2, p.b2))
        X, T, W1, b1, W2, b2 = lifted
        n, k = p.n, p.k
        act, d_act = activations[p.activation]
        Z1 = _dot(X, W1, b1)
        A1 = _map(act, Z1)
        Z2 = _dot(A1, W2, b2)
        v = {"Z1": Z1, "A1": A1, "Z2": Z2}
        if p.output == "softmax":
            E = _map(_exp, Z2 - Z2.max(axis=1, keepdims=True))
            v["P"] = P = _map(_snap, E / _rows(E))
            v["L"] = -_snap(_total([_snap(P[s, int(p.y[s])].ln()) for s in range(n)])) / n
            v["dZ2"] = _map(_snap, (P - T) / n)
        elif p.output == "sigmoid":
            v["P"] = P = _map(activations["sigmoid"][0], Z2)
            loss = T * _map(_ln, P) + (1 - T) * _map(_ln, 1 - P)
            v["L"] = -_snap(_total(list(loss.ravel()))) / (n * k)
            v["dZ2"] = _map(_snap, (P - T) / (n * k))
        else:
            R = _map(_snap, Z2 - T)  # the working writes the residuals down
            v["L"] = _snap(_total(list((R**2).ravel()))) / (n * k)
            v["dZ2"] = _map(_snap, 2 * R / (n * k))
        v["dA1"] = _dot(v["dZ2"], W2.T)
        v["dZ1"] = _map(_snap, v["dA1"] * _map(d_act, Z1))
        v["dW2"], v["db2"] = _dot(A1.T, v["dZ2"]), _rows(v["dZ2"].T)[:, 0]
        v["dW1"], v["db1"] = _dot(X.T, v["dZ1"]), _rows(v["dZ1"].T)[:, 0]
        lr = lift(Decimal(repr(p.lr)))
        v["W2_new"] = _map(_snap, W2 - lr * v["dW2"])
        v["W1_new"] = _map(_snap, W1 - lr * v["dW1"])
        v["L"] = np.array(_snap(v["L"]), dtype=object)
        return v


# ------------------------------------------------------------------ the questions
def _dot_working(left: str, right: str, s_row, w_col, bias: float | None) -> str:
    terms = " + ".join(f"{fmt(a)}*{fmt(w)}" for a, w in zip(s_row, w_col, strict=True))
    if bias is not None:
        terms += f" + {fmt(bias)}"
    return f"{left} = {right} = {terms}"


def forward_questions(p: Problem, s: int, j: int, o: int) -> list[Question]:
    t = p.values
    name = ACTIVATIONS[p.activation][3]
    Z1, A1, Z2 = t["Z1"], t["A1"], t["Z2"]
    qs = [
        Question("forward", f"Z1[{s}, {j}]",
                 f"Compute Z1[{s}, {j}]: the input to hidden unit {j} for sample {s}.",
                 Z1[s, j], _dot_working(f"Z1[{s}, {j}]", f"sum_i X[{s}, i] W1[i, {j}] + b1[{j}]",
                                        p.X[s], p.W1[:, j], p.b1[j]) + f" = {plain(Z1[s, j])}",
                 [("the bias b1 is missing: Z = X W + b", Z1[s, j] - p.b1[j])]),
        Question("forward", f"A1[{s}, {j}]",
                 f"Compute A1[{s}, {j}] = {name}(Z1[{s}, {j}]).", A1[s, j],
                 f"A1[{s}, {j}] = {name}({fmt(Z1[s, j])}) = {plain(A1[s, j])}",
                 [("the activation was not applied: that is Z1", Z1[s, j])]
                 + [(f"{other} was used; this hidden layer is {name}", g(Z1[s, j]))
                    for other, (_, g, _, _) in ACTIVATIONS.items() if other != p.activation]),
        Question("forward", f"Z2[{s}, {o}]",
                 f"Compute Z2[{s}, {o}]: the output layer's pre-activation.", Z2[s, o],
                 _dot_working(f"Z2[{s}, {o}]", f"sum_j A1[{s}, j] W2[j, {o}] + b2[{o}]",
                              A1[s], p.W2[:, o], p.b2[o]) + f" = {plain(Z2[s, o])}",
                 [("Z1 was used where the activations A1 belong",
                   float(Z1[s] @ p.W2[:, o] + p.b2[o])),
                  ("the bias b2 is missing", Z2[s, o] - p.b2[o])]),
    ]  # fmt: skip
    if p.output != "linear":
        P = p.values["P"]
        formula = (f"exp(Z2[{s}, {o}]) / sum_c exp(Z2[{s}, c])" if p.output == "softmax"
                   else f"sigmoid(Z2[{s}, {o}])")  # fmt: skip
        slips = [("the sigmoid of one score; a softmax normalises over the row",
                  float(sigmoid(Z2[s, o])))] if p.output == "softmax" else []  # fmt: skip
        prompt = f"Compute the predicted probability P[{s}, {o}] = {formula}."
        working = f"P[{s}, {o}] = {formula} = {plain(P[s, o])}"
        qs.append(Question("forward", f"P[{s}, {o}]", prompt, P[s, o], working, slips))
    return qs


def loss_question(p: Problem) -> Question:
    L, n, k, Z2 = float(p.values["L"]), p.n, p.k, p.values["Z2"]
    if p.output == "softmax":
        P = p.values["P"]
        picked = [P[s, int(p.y[s])] for s in range(n)]
        terms = " + ".join(f"log {fmt(v)}" for v in picked)
        working = f"L = -(1/n) sum_s log P[s, y_s] = -(1/{n}) ({terms}) = {plain(L)}"
        slips = [
            ("the 1/n of the mean is missing", L * n),
            ("the minus sign is missing", -L),
            ("log base 10 was used; the loss uses the natural log", L / math.log(10)),
            ("log base 2 was used; the loss uses the natural log", L / math.log(2)),
        ]
    elif p.output == "sigmoid":
        P = p.values["P"]
        working = (
            f"L = -(1/(n k)) sum [T log P + (1 - T) log(1 - P)] with P = "
            f"{np.round(P.ravel(), 4).tolist()} = {plain(L)}"
        )
        slips = [
            ("the 1/n of the mean is missing", L * n),
            ("the minus sign is missing", -L),
            ("log base 2 was used; the loss uses the natural log", L / math.log(2)),
        ]
    else:
        R = Z2 - p.T
        terms = " + ".join(f"{fmt(r)}^2" for r in R.ravel())
        working = f"L = (1/(n k)) sum (Z2 - T)^2 = (1/{n * k}) ({terms}) = {plain(L)}"
        slips = [("half the squared error (scikit-learn's convention); PyTorch's and "
                  "chainrule's MSE has no 1/2", L / 2),
                 ("the mean is over all n*k entries, not over the n rows", L * k),
                 ("the 1/(n k) of the mean is missing", L * n * k)]  # fmt: skip
    prompt = ("Compute the loss L: the mean of the squared errors over all n*k = "
              f"{n * k} entries of Z2 - T." if p.output == "linear"
              else "Compute the loss L (the mean over the batch).")  # fmt: skip
    return Question("loss", "L", prompt, L,
                    working, [s for s in slips if not math.isclose(s[1], L)])  # fmt: skip


def _dz2_slips(p: Problem, s: int, o: int) -> list[tuple[str, float]]:
    """What a student who misses the mean, the sign, the 2 or the softmax's Jacobian
    gets for dZ2[s, o]."""
    t, n, k = p.values, p.n, p.k
    dZ2, T = t["dZ2"], p.T
    scale = n if p.output == "softmax" else n * k
    guess = "Z2" if p.output == "linear" else "P"
    slips = [
        (f"the 1/{'n' if p.output == 'softmax' else '(n k)'} of the mean is missing",
         dZ2[s, o] * scale),
        (f"you took target minus prediction (T - {guess}); dZ2 has {guess} - T",
         -dZ2[s, o]),
    ]  # fmt: skip
    if p.output == "linear":
        slips.append(("the 2 of the square's derivative is missing", dZ2[s, o] / 2))
    if p.output == "softmax" and T[s, o] == 1:
        slips.append(("you took dL/dP = -1/(n P) for dL/dZ2: the softmax's Jacobian is "
                      "missing", -1 / (n * t["P"][s, o])))  # fmt: skip
    elif p.output == "softmax":
        slips.append(("you left out the softmax's Jacobian (or kept only its diagonal): the "
                      "paths through the other classes make dZ2 = P / n here", 0.0))  # fmt: skip
    return slips


def _dz1_slips(p: Problem, s: int, j: int) -> list[tuple[str, float]]:
    """What a student who misses the derivative, takes it at the wrong tensor, or
    uses W2 for W2.T gets for dZ1[s, j]."""
    t, name = p.values, p.activation
    dA1, Z1, A1, dZ2 = t["dA1"][s, j], t["Z1"][s, j], t["A1"][s, j], t["dZ2"]
    d_act = ACTIVATIONS[name][2]
    text = DERIVATIVE_TEXT[name]
    slips = [(f"the derivative {text} is missing", dA1)]
    a_form = {"sigmoid": lambda a: a * (1 - a), "tanh": lambda a: 1 - a**2}.get(name)
    if a_form is not None:
        slips += [
            (f"you put Z1 into the derivative's a-form: {text} takes a = A1", dA1 * a_form(Z1)),
            (f"you took {name}'(A1), the derivative at the output: it is {name}'(Z1), "
             f"{text} with a = A1", dA1 * float(d_act(A1))),
        ]  # fmt: skip
    W2 = p.W2
    if W2.shape[0] == W2.shape[1]:  # square: dZ2 @ W2 has dA1's shape too
        slips.append(("you used W2 where W2.T belongs: dA1 = dZ2 @ W2.T",
                      float(dZ2[s] @ W2[:, j]) * float(d_act(Z1))))  # fmt: skip
    return slips


def backward_questions(p: Problem, s: int, i: int, j: int, o: int) -> list[Question]:
    t, n, k = p.values, p.n, p.k
    Z1, A1, dZ2, dW2, db2, dZ1, dW1 = (t[q] for q in
                                       ("Z1", "A1", "dZ2", "dW2", "db2", "dZ1", "dW1"))  # fmt: skip
    dA1 = t["dA1"]
    P = t["Z2"] if p.output == "linear" else t["P"]
    fused = {
        "softmax": f"(P[{s}, {o}] - T[{s}, {o}]) / n = ({plain(P[s, o])} - {fmt(p.T[s, o])}) / {n}",
        "sigmoid": f"(P[{s}, {o}] - T[{s}, {o}]) / (n k) = ({plain(P[s, o])} - {fmt(p.T[s, o])})"
                   f" / {n * k}",
        "linear": f"2 (Z2[{s}, {o}] - T[{s}, {o}]) / (n k) = 2 ({plain(t['Z2'][s, o])} - "
                  f"{fmt(p.T[s, o])}) / {n * k}",
    }[p.output]  # fmt: skip
    d_act, name = ACTIVATIONS[p.activation][2], p.activation
    dz2_slips, dz1_slips = _dz2_slips(p, s, o), _dz1_slips(p, s, j)
    flipped = (
        "you flipped the sign (T - P in place of P - T, or a lost minus); "
        "{} is the gradient of L, not its negative"
    )
    return [
        Question("backward", f"dZ2[{s}, {o}]",
                 f"Compute dZ2[{s}, {o}] = dL/dZ2 for sample {s}, output {o}.", dZ2[s, o],
                 f"dZ2[{s}, {o}] = {fused} = {plain(dZ2[s, o])} (output activation and loss "
                 "fused)",
                 dz2_slips),
        Question("backward", f"dW2[{j}, {o}]", f"Compute dW2[{j}, {o}] = dL/dW2[{j}, {o}].",
                 dW2[j, o], _dot_working(f"dW2[{j}, {o}]", f"sum_s A1[s, {j}] dZ2[s, {o}]",
                                         A1[:, j], dZ2[:, o], None) + f" = {plain(dW2[j, o])}",
                 [("Z1 was used where A1 belongs: dW2 = A1.T @ dZ2",
                   float(Z1[:, j] @ dZ2[:, o])),
                  (flipped.format("dW2"), -dW2[j, o])]),
        Question("backward", f"db2[{o}]", f"Compute db2[{o}] = dL/db2[{o}].", db2[o],
                 f"db2[{o}] = sum_s dZ2[s, {o}] = {plain(db2[o])}",
                 [("averaged over the batch; the bias gradient sums the rows",
                   db2[o] / n), (flipped.format("db2"), -db2[o])]),
        Question("backward", f"dZ1[{s}, {j}]",
                 f"Compute dZ1[{s}, {j}], the gradient at hidden unit {j}'s input.", dZ1[s, j],
                 f"dA1[{s}, {j}] = sum_o dZ2[{s}, o] W2[{j}, o] = {plain(dA1[s, j])}; "
                 f"dZ1 = dA1 * {name}'(Z1), with {DERIVATIVE_TEXT[name]}: {fmt(dA1[s, j])} * "
                 f"{fmt(d_act(Z1[s, j]))} = {plain(dZ1[s, j])}", dz1_slips),
        Question("backward", f"dW1[{i}, {j}]", f"Compute dW1[{i}, {j}] = dL/dW1[{i}, {j}].",
                 dW1[i, j], _dot_working(f"dW1[{i}, {j}]", f"sum_s X[s, {i}] dZ1[s, {j}]",
                                         p.X[:, i], dZ1[:, j], None) + f" = {plain(dW1[i, j])}",
                 [(f"the derivative {DERIVATIVE_TEXT[name]} is missing (dZ1 = dA1 * act')",
                   float(p.X[:, i] @ dA1[:, j])), (flipped.format("dW1"), -dW1[i, j])]),
    ]  # fmt: skip


def update_questions(p: Problem) -> list[Question]:
    """W - lr * dW for the entry of each weight matrix that the step moves most (a step
    too small to show at 3 significant figures would make the question moot)."""
    t, lr = p.values, p.lr
    out = []
    for sym, W, dW in (("W2", p.W2, t["dW2"]), ("W1", p.W1, t["dW1"])):
        a, b = (int(x) for x in np.unravel_index(np.argmax(np.abs(dW)), dW.shape))
        new = t[f"{sym}_new"][a, b]
        out.append(Question(
            "update", f"{sym}_new[{a}, {b}]",
            f"After one gradient-descent step with learning rate {lr:g}, what is {sym}[{a}, {b}]?",
            new, f"{sym}[{a}, {b}] - lr * d{sym}[{a}, {b}] = {fmt(W[a, b])} - {lr:g} * "
                 f"{fmt(dW[a, b])} = {plain(new)}",
            [("the gradient was added; descent subtracts it", W[a, b] + lr * dW[a, b]),
             ("the learning rate is missing", W[a, b] - dW[a, b])],
        ))  # fmt: skip
    return out


_VIVA, _DERIVATIONS = "docs/viva.md#", "docs/derivations.md#"
_DENSE = _DERIVATIONS + "1-the-dense-layer"
_SHAPES = _VIVA + "14-what-shapes-do-dw-db-and-dx-have-and-why-is-dw--xt--dy"
_CHAIN = _DERIVATIONS + "7-a-whole-network-backpropagation-is-the-chain-rule-layer-by-layer"
#: where each output's probabilities, loss and fused gradient are explained
_OUTPUT_SECTIONS = {
    "softmax": [_VIVA + "33-how-do-you-derive-the-p---t-gradient-of-softmax-with-cross-entropy",
                _DERIVATIONS + "4-softmax-with-cross-entropy-why-the-gradient-is-p---tn"],
    "sigmoid": [_VIVA + "36-is-a-sigmoid-output-the-same-as-a-two-class-softmax",
                _DERIVATIONS + "5-sigmoid-with-binary-cross-entropy"],
    "linear": [_VIVA + "34-why-is-the-output-gradient-prediction-minus-target-for-regression-too",
               _DERIVATIONS + "6-regression-losses"],
}  # fmt: skip


def sections_to_revise(p: Problem, symbol: str) -> list[str]:
    """The sections of docs/viva.md and docs/derivations.md (existing headings' anchors)
    that explain the quantity ``symbol`` of problem ``p``."""
    name = symbol.partition("[")[0]
    slope = (
        "25-what-is-the-derivative-of-relu-at-0"
        if p.activation == "relu"
        else "22-what-is-the-derivative-of-the-sigmoid-and-what-is-its-largest-value"
    )
    activation = [_VIVA + slope, _DERIVATIONS + "2-element-wise-activations"]  # fmt: skip
    return {
        "Z1": [_SHAPES, _DENSE], "Z2": [_SHAPES, _DENSE], "A1": activation,
        "P": _OUTPUT_SECTIONS[p.output], "dZ2": _OUTPUT_SECTIONS[p.output],
        "L": [_VIVA + "16-where-does-the-1n-of-the-mean-loss-go-in-backpropagation",
              *_OUTPUT_SECTIONS[p.output][1:]],
        "dW2": [_SHAPES, _DENSE], "dW1": [_SHAPES, _CHAIN],
        "db2": [_VIVA + "15-why-is-the-bias-gradient-a-sum-over-the-batch", _DENSE],
        "dZ1": [*activation, _CHAIN],
        "W2_new": [_VIVA + "51-batch-mini-batch-or-stochastic-gradient-descent-what-is-the-"
                   "difference", _DERIVATIONS + "10-optimizers"],
    }.get(name) or sections_to_revise(p, "W2_new")  # fmt: skip


#: the rule a student follows, and the grading honours (:func:`four_figure_error`)
CARRY = (f"Carry {FIGURES} significant figures: round each number you write down (a "
         "product, an entry, an exp or a log) to 4 and add a sum on a calculator; give "
         "3 figures or more.")  # fmt: skip


# ---------------------------------------------------------------------- a drill
class Drill:
    """A seeded drill: one problem and ``count`` questions on ``topic``.

    Parameters
    ----------
    seed : int
        The same seed gives the same drill.
    topic : {"forward", "loss", "backward", "update", "all"}
    count : int
        How many questions (at most as many as the topic has).
    """

    def __init__(self, seed: int = 0, topic: str = "all", count: int = 5) -> None:
        if topic not in (*TOPICS, "all"):
            raise ValueError(f"topic must be one of {', '.join(TOPICS)} or all, got {topic!r}.")
        if not (isinstance(count, int) and count >= 1):
            raise ValueError(f"count must be a positive integer, got {count!r}.")
        rng = np.random.default_rng(seed)
        self.seed, self.topic = seed, topic
        self.problem = p = draw_problem(rng)
        s, i = int(rng.integers(p.n)), int(rng.integers(p.X.shape[1]))
        j, o = int(rng.integers(p.W1.shape[1])), int(rng.integers(p.k))
        pool = [
            *forward_questions(p, s, j, o),
            loss_question(p),
            *backward_questions(p, s, i, j, o),
            *update_questions(p),
        ]
        for q in pool:
            q.problem = p
            q.prompt += f" (Carry {FIGURES} significant figures; answer to 3 or more.)"
        pool = [q for q in pool if topic in ("all", q.topic)]
        if topic == "all" and count < len(pool):  # spread the questions over the step
            keep = np.unique(np.linspace(0, len(pool) - 1, count).round().astype(int))
            pool = [pool[int(x)] for x in keep]
        self.questions = pool[:count]
        #: said before the questions when ``count`` is more than the topic holds
        held = f"{len(pool)} question" + ("s" if len(pool) > 1 else "")
        self.note = (f"note: the {topic} topic has {held}; asking all {len(pool)}, not "
                     f"{count}." if count > len(pool) else None)  # fmt: skip
        for q in self.questions:
            q.sections = sections_to_revise(p, q.symbol)

    def statement(self) -> str:
        """The task, as a student reads it on paper."""
        p = self.problem
        act, (_, what, _) = p.activation, OUTPUTS[p.output]
        shape = f"{p.X.shape[1]}-{p.W1.shape[1]}-{p.k}"
        (dense,), (hidden,) = Dense.formulas.forward, ACTIVATIONS[act][0].formulas.forward
        layers = (
            dense.render(i="X", o="Z1", l=1)[1],
            hidden.render(i="Z1", o="A1")[1],
            dense.render(i="A1", o="Z2", l=2)[1],
        )  # the layers' own formulas
        lines = [
            f"A {shape} network: {', '.join(layers)}; output: {what}.",
            f"n = {p.n} sample(s), rows are samples. Indices start at 0.",
            f"X  = {p.X.tolist()}",
            f"{'y ' if p.output == 'softmax' else 'T '} = {p.y.tolist()}"
            + ("  (class indices)" if p.output == "softmax" else ""),
            f"W1 = {p.W1.tolist()}",
            f"b1 = {p.b1.tolist()}",
            f"W2 = {p.W2.tolist()}",
            f"b2 = {p.b2.tolist()}",
            f"learning rate {p.lr:g}; the loss is the mean over the batch"
            + (" and over the k outputs" if p.output != "softmax" else "") + ".",
            CARRY,
        ]  # fmt: skip
        return "\n".join(lines)

    def run(self, ask: Callable[[str], str | None], say: Callable[[str], None] = print):
        """Ask each question through ``ask(prompt) -> text`` (None: no answer), print
        each marking through ``say``; return the :class:`Score`."""
        say(self.statement())
        if self.note:
            say(self.note)
        grades = []
        for number, q in enumerate(self.questions, 1):
            say(f"\nQ{number} ({q.topic}). {q.prompt}")
            text = ask("> ")
            given = parse_answer(text)
            while given is None and text is not None and text.strip():  # ask again
                say(f"could not read {text.strip()!r} as a number (write e.g. -0.125 or "
                    "1/8); try again, or an empty line to skip")  # fmt: skip
                text = ask("> ")
                given = parse_answer(text)
            grade = q.grade(given)
            say(str(grade))
            grades.append((q, grade))
        score = Score(grades)
        say("\n" + str(score))
        return score


def _entry(values: dict[str, np.ndarray], symbol: str) -> float:
    """The entry a question's symbol names: ``"dW2[1, 0]"``, ``"db2[0]"``, ``"L"``."""
    name, _, index = symbol.partition("[")
    at = tuple(int(i) for i in index.rstrip("]").split(",")) if index else ()
    return values[name][at]


def parse_answer(text: str | None) -> float | None:
    """A number typed by a student ("0.25", "-1.5e-2", "1/4"), or None."""
    if text is None:
        return None
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            return float(num) / float(den)
        return float(text)
    except (ValueError, ZeroDivisionError):
        return None


@dataclass
class Score:
    """Right answers, and the topics to revise."""

    grades: list[tuple[Question, Grade]]

    @property
    def right(self) -> int:
        return sum(g.correct for _, g in self.grades)

    def to_revise(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for q, g in self.grades:
            if not g.correct:
                out.setdefault(q.topic, []).append(q.symbol)
        return out

    def slips(self) -> dict[str, int]:
        """Each slip named, and how many times it was made."""
        out: dict[str, int] = {}
        for _, g in self.grades:
            if g.slip:
                out[g.slip] = out.get(g.slip, 0) + 1
        return out

    def sections(self) -> list[str]:
        """The viva and derivation sections that explain the wrong answers, in order."""
        wrong = (q.sections for q, g in self.grades if not g.correct)
        return list(dict.fromkeys(link for links in wrong for link in links))

    def __str__(self) -> str:
        total = len(self.grades)
        text = f"score: {self.right}/{total}"
        revise = self.to_revise()
        if not revise:
            return text + ". Every answer right."
        lines = [f"slip made {times}x: {slip}" for slip, times in self.slips().items()]
        lines += [f"read: {link}" for link in self.sections()]
        topics = "; ".join(f"{t} ({', '.join(syms)})" for t, syms in revise.items())
        return "\n".join([*lines, f"{text}. Revise: {topics}."])


def answers_from(lines: Iterable[str]):
    """An ``ask`` function that reads answers from lines (a file), skipping comments."""
    it = (line.rstrip("\n") for line in lines if not line.lstrip().startswith("#"))

    def ask(prompt: str) -> str | None:
        return next(it, None)

    return ask


# ------------------------------------------------- what 4 significant figures allow
def four_figure_error(p: Problem) -> dict[str, np.ndarray]:
    """For each quantity of :func:`exact_step`, how far from the exact value a student
    can land who carries 4 significant figures through the working: the step worked in
    :class:`Span` arithmetic (every product, partial sum, exp, log and division rounded
    outward to 4 figures), and the farther end of each span from the exact value. Where
    terms cancel (seed 3's dW2[1, 1] = 0.0446 - 0.0431) this is what lets 0.00153 be
    right."""
    spans = worked_step(p, Span.of, SPAN_ACTIVATIONS)
    return {name: np.vectorize(Span.distance, otypes=[float])(spans[name], exact)
            for name, exact in p.values.items()}  # fmt: skip
