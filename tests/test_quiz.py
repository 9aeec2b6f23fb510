"""chainrule quiz and cr.quiz.Drill: the answers are the engine's numbers, grading is to
3 significant figures, wrong answers get the working and the slip; the command runs
from an answers file and interactively (subprocesses)."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

import chainrule as cr
from chainrule.quiz import TOPICS, Drill, same_to_3_figures


def run(*args, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "chainrule", "quiz", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_grading_is_to_three_significant_figures():
    assert same_to_3_figures(0.123, 0.12345)
    assert same_to_3_figures(-1.23, -1.2349)
    assert not same_to_3_figures(0.124, 0.12345)
    assert not same_to_3_figures(0.12, 0.12345)
    assert same_to_3_figures(1234, 1234.4) and not same_to_3_figures(1240, 1234.4)
    assert same_to_3_figures(0.0, 0.0) and not same_to_3_figures(0.01, 0.0)
    assert not same_to_3_figures(float("nan"), 0.5)


@pytest.mark.parametrize("seed", range(12))
def test_every_answer_is_the_engines_own_number(seed):
    """Recompute each answer independently with NumPy from the drawn problem."""
    drill = Drill(seed=seed, count=100)
    p = drill.problem
    act = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
           "relu": lambda z: np.maximum(z, 0)}[p.activation]  # fmt: skip
    Z1 = p.X @ p.W1 + p.b1
    A1 = act(Z1)
    Z2 = A1 @ p.W2 + p.b2
    values = {"Z1": Z1, "A1": A1, "Z2": Z2}
    n, k = p.n, p.k
    if p.output == "softmax":
        E = np.exp(Z2 - Z2.max(1, keepdims=True))
        P = E / E.sum(1, keepdims=True)
        values["P"], values["dZ2"] = P, (P - p.T) / n
        L = -np.mean(np.log(P[np.arange(n), p.y]))
    elif p.output == "sigmoid":
        P = 1 / (1 + np.exp(-Z2))
        values["P"], values["dZ2"] = P, (P - p.T) / (n * k)
        L = -np.mean(p.T * np.log(P) + (1 - p.T) * np.log(1 - P))
    else:
        values["dZ2"] = 2 * (Z2 - p.T) / (n * k)
        L = np.mean((Z2 - p.T) ** 2)
    dA1 = values["dZ2"] @ p.W2.T
    d_act = {"sigmoid": A1 * (1 - A1), "tanh": 1 - A1**2, "relu": (Z1 > 0) * 1.0}
    values["dZ1"] = dA1 * d_act[p.activation]
    values["dW2"], values["db2"] = A1.T @ values["dZ2"], values["dZ2"].sum(0)
    values["dW1"], values["db1"] = p.X.T @ values["dZ1"], values["dZ1"].sum(0)
    values["W2_new"] = p.W2 - p.lr * values["dW2"]
    values["W1_new"] = p.W1 - p.lr * values["dW1"]
    assert {q.topic for q in drill.questions} == set(TOPICS)
    for q in drill.questions:
        if q.symbol == "L":
            expected = L
        else:
            name, index = q.symbol.split("[")
            expected = values[name][tuple(int(i) for i in index.rstrip("]").split(","))]
        assert abs(q.answer - expected) < 1e-12, q.symbol
        assert q.grade(float(f"{expected:.3g}")).correct
        for story, wrong in q.slips:  # every slip names a different number
            if q.grade(wrong).slip is not None:
                assert not q.grade(wrong).correct, story


def test_a_known_slip_is_named_and_the_working_is_shown():
    drill = Drill(seed=3, topic="update", count=2)
    q = drill.questions[0]
    p = drill.problem
    W, dW = p.W2, drill.problem.trace["dW2"]
    a, b = (int(i) for i in q.symbol.split("[")[1].rstrip("]").split(","))
    added = W[a, b] + p.lr * dW[a, b]
    grade = q.grade(added)
    assert not grade.correct
    assert grade.slip == "the gradient was added; descent subtracts it"
    assert f"W2[{a}, {b}] - lr * dW2[{a}, {b}] =" in grade.working
    assert "likely slip: the gradient was added" in str(grade)


def test_drill_arguments_are_checked():
    with pytest.raises(ValueError, match="topic must be one of forward, loss, backward"):
        Drill(topic="backprop")
    with pytest.raises(ValueError, match="count must be a positive integer, got 0"):
        Drill(count=0)
    assert Drill(seed=5).statement() == Drill(seed=5).statement()
    assert cr.quiz.Drill is Drill


def test_chainrule_quiz_from_an_answers_file_marks_right_wrong_and_slips(tmp_path):
    drill = Drill(seed=7, topic="backward", count=3)
    right = f"{drill.questions[0].answer:.3g}"
    slip_story, slip_value = drill.questions[1].slips[0]
    answers = tmp_path / "answers.txt"
    answers.write_text(f"# my answers\n{right}\n{slip_value:.6g}\nforty-two\n")
    done = run("--seed", 7, "--topic", "backward", "--count", 3, "--answers", answers)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "chainrule quiz, seed 7 (`chainrule quiz --seed 7` repeats this drill)" in out
    assert f"right: {float(right):.4g}" in out
    assert f"likely slip: {slip_story}" in out
    assert "could not read 'forty-two' as a number" in out
    assert out.rstrip().endswith(
        f"score: 1/3. Revise: backward ({drill.questions[1].symbol}, {drill.questions[2].symbol})."
    )


def test_chainrule_quiz_interactive_on_stdin_stops_cleanly_at_end_of_input():
    drill = Drill(seed=11, count=4)
    answers = "\n".join(f"{q.answer:.4g}" for q in drill.questions[:2]) + "\n"
    done = run("--seed", 11, "--count", 4, stdin=answers)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("right: ") == 2
    assert "score: 2/4" in done.stdout


def test_chainrule_quiz_refuses_a_bad_topic_and_a_missing_answers_file(tmp_path):
    bad = run("--topic", "everything")
    assert bad.returncode == 2 and "invalid choice: 'everything'" in bad.stderr
    missing = run("--answers", tmp_path / "nope.txt", "--seed", 1)
    assert missing.returncode == 2
    assert missing.stderr.startswith("chainrule quiz: error:")
    assert "nope.txt" in missing.stderr and "Traceback" not in missing.stderr


# ------------------------------------------------------------- the answers are exact
def _exact_reference(p, o=lambda x: x, e=lambda x: x):
    """Every quantity of the step from the drawn decimals, in Python's own numbers:
    ``Fraction`` wherever the value is rational, a float from the exact argument where
    exp, log, sigmoid or tanh enter (a Fraction times a float is a float).

    With ``o`` and ``e`` rounding functions, a student working by hand instead: ``o``
    rounds each product in a sum and each step of a function (exp(-z), 1 + exp(-z),
    1 / that), ``e`` each entry the working writes down (Z1[s, j], A1[s, j], ...); the
    terms of a sum are added on a calculator."""

    def fr(a):
        return [[Fraction(repr(float(x))) for x in row] for row in np.atleast_2d(a)]

    def total(terms, start=0):  # a sum of terms (each written), added on a calculator
        acc = start
        for t in terms:
            acc = acc + o(t)
        return e(acc)

    X, T, W1, W2 = fr(p.X), fr(p.T), fr(p.W1), fr(p.W2)
    (b1,), (b2,), lr = fr(p.b1), fr(p.b2), Fraction(repr(p.lr))
    n, k, h, d = p.n, p.k, len(b1), len(W1)
    sigmoid = lambda z: e(o(1 / o(1 + o(math.exp(-z)))))  # noqa: E731
    act = {"relu": lambda z: max(z, 0), "tanh": lambda z: e(o(math.tanh(z))),
           "sigmoid": sigmoid}[p.activation]  # fmt: skip
    d_act = {"relu": lambda z, a: 1 if z > 0 else 0, "tanh": lambda z, a: o(1 - o(a * a)),
             "sigmoid": lambda z, a: o(a * o(1 - a))}[p.activation]  # fmt: skip
    Z1 = [[total((X[s][i] * W1[i][j] for i in range(d)), b1[j]) for j in range(h)]
          for s in range(n)]  # fmt: skip
    A1 = [[act(z) for z in row] for row in Z1]
    Z2 = [[total((A1[s][j] * W2[j][o_] for j in range(h)), b2[o_]) for o_ in range(k)]
          for s in range(n)]  # fmt: skip
    v = {"Z1": Z1, "A1": A1, "Z2": Z2}
    if p.output == "softmax":
        E = [[o(math.exp(o(z - max(row)))) for z in row] for row in Z2]
        P = v["P"] = [[e(o(x / total(row))) for x in row] for row in E]
        v["L"] = e(o(-total(o(math.log(P[s][int(p.y[s])])) for s in range(n)) / n))
        v["dZ2"] = [[e(o(o(P[s][c] - T[s][c]) / n)) for c in range(k)] for s in range(n)]
    elif p.output == "sigmoid":
        P = v["P"] = [[sigmoid(z) for z in row] for row in Z2]
        v["L"] = e(o(-total(o(T[s][0] * o(math.log(P[s][0])) + (1 - T[s][0])
                                * o(math.log(o(1 - P[s][0])))) for s in range(n)) / n))  # fmt: skip
        v["dZ2"] = [[e(o(o(P[s][0] - T[s][0]) / n))] for s in range(n)]
    else:
        R = [[o(Z2[s][c] - T[s][c]) for c in range(k)] for s in range(n)]
        v["L"] = e(o(total(r * r for row in R for r in row) / (n * k)))
        v["dZ2"] = [[e(o(2 * r / (n * k))) for r in row] for row in R]
    dZ2 = v["dZ2"]
    dA1 = [[total(dZ2[s][c] * W2[j][c] for c in range(k)) for j in range(h)] for s in range(n)]
    dZ1 = v["dZ1"] = [[e(o(dA1[s][j] * d_act(Z1[s][j], A1[s][j]))) for j in range(h)]
                      for s in range(n)]  # fmt: skip
    v["dW2"] = [[total(A1[s][j] * dZ2[s][c] for s in range(n)) for c in range(k)]
                for j in range(h)]  # fmt: skip
    v["db2"] = [total(dZ2[s][c] for s in range(n)) for c in range(k)]
    v["dW1"] = [[total(X[s][i] * dZ1[s][j] for s in range(n)) for j in range(h)]
                for i in range(d)]  # fmt: skip
    for name, W in (("W2", W2), ("W1", W1)):
        dW = v[f"d{name}"]
        v[f"{name}_new"] = [[e(o(W[a][b] - o(lr * dW[a][b]))) for b in range(len(W[0]))]
                            for a in range(len(W))]  # fmt: skip
    return v


NOISE = re.compile(r"\de-(1[2-9]|[2-9]\d)")  # a number below 1e-12 written in a working


def _check_exact(seed):
    drill = Drill(seed=seed, count=100)
    ref = _exact_reference(drill.problem)
    zeros = 0
    for q in drill.questions:
        name, _, index = q.symbol.partition("[")
        r = ref[name]
        for i in index.rstrip("]").split(",") if index else ():
            r = r[int(i)]
        if isinstance(r, Fraction | int):  # rational: the exact value, rounded once
            assert q.answer == float(r), (seed, q.symbol, q.answer, r)
            zeros += r == 0
        else:
            assert abs(q.answer - r) <= 1e-12 * max(1.0, abs(r)), (seed, q.symbol, q.answer, r)
        assert q.answer == 0 or abs(q.answer) >= 1e-12, (seed, q.symbol, q.answer)
        kink = drill.problem.activation == "relu" and 0 in drill.problem.values["Z1"]
        if (
            name
            in ("Z1", "A1", "Z2", "P", "L", "dZ2", "dW2", "db2", "dZ1", "dW1")[
                : 8
                if kink
                else 10  # at a kink the engine's noise picks relu'(z) = 1
            ]
        ):
            engine = drill.problem.trace[name]  # the engine agrees, to its rounding
            if index:
                engine = engine[tuple(int(i) for i in index.rstrip("]").split(","))]
            assert abs(engine - q.answer) <= 1e-12 * max(1.0, abs(q.answer)), (seed, q.symbol)
        assert not NOISE.search(q.working), (seed, q.symbol, q.working)
        if r == 0:
            assert q.grade(0.0).correct, (seed, q.symbol)
    return zeros


def test_seed_2262s_exact_zero_is_zero_and_relu_has_no_slope_there():
    drill = Drill(seed=2262, count=100)
    answers = {q.symbol: q for q in drill.questions}
    assert answers["Z1[0, 0]"].answer == 0.0 and answers["Z1[0, 0]"].grade(0).correct
    assert answers["Z1[0, 0]"].working.endswith("= 0.3*(-1) + 0.2*0.5 + 0.2 = 0")
    assert answers["dZ1[0, 0]"].answer == 0.0  # relu'(0) = 0, the engine's rule
    assert "0.054 * 0 = 0" in answers["dZ1[0, 0]"].working
    assert answers["L"].answer == 0.0024125 and "= 0.0024125" in answers["L"].working
    assert _check_exact(2262) >= 3


@pytest.mark.slow
def test_every_answer_is_exact_over_20000_seeds():
    """Each answer equals an independent exact recomputation; an answer whose exact
    value is 0 is 0 (hundreds of them); no answer or working shows rounding noise."""
    zeros = sum(_check_exact(seed) for seed in range(20_000))
    assert zeros > 500


def _four_figures(x):  # as written: a decimal, exact from then on
    return Fraction(f"{float(x):.4g}")


def _at(values, symbol):
    name, _, index = symbol.partition("[")
    values = values[name]
    for i in index.rstrip("]").split(",") if index else ():
        values = values[int(i)]
    return values


@pytest.mark.slow
@pytest.mark.parametrize("rounds", ["every product and step", "every entry written"])
def test_a_student_carrying_4_significant_figures_is_never_marked_wrong(rounds):
    """Simulated students: one rounds every product and every step of a function to 4
    significant figures, one only each entry the working writes down; each answers
    with 4 figures, and with those rounded to 3; both are always right."""
    o = _four_figures if rounds == "every product and step" else (lambda x: x)
    for seed in range(1500):
        drill = Drill(seed=seed, count=100)
        student = _exact_reference(drill.problem, o=o, e=_four_figures)
        for q in drill.questions:
            v = float(_at(student, q.symbol))
            assert q.grade(float(_four_figures(v))).correct, (seed, q.symbol, v, q.answer, q.error)
            assert q.grade(float(f"{v:.3g}")).correct, (seed, q.symbol, v, q.answer, q.error)


def test_seed_3s_cancelling_dw2_accepts_the_4_figure_working_and_says_to_carry_4():
    drill = Drill(seed=3, count=100)
    q = next(q for q in drill.questions if q.symbol == "dW2[1, 1]")
    assert "0.613*0.0728 + 0.4576*(-0.09418) = 0.001529" in q.working
    assert q.grade(0.00153).correct and q.grade(0.0446 - 0.0431).correct
    assert not q.grade(0.0018).correct and not q.grade(0.0012).correct
    assert q.prompt.endswith("(Carry 4 significant figures; answer to 3 or more.)")


# ------------------------------------------------------------------ the slips named
def _find(condition, symbol_start, topic="backward"):
    """The first drill (seed 0, 1, ...) with ``condition(problem)`` and its question
    whose symbol starts with ``symbol_start``, with the reference values."""
    for seed in range(2000):
        drill = Drill(seed=seed, topic=topic, count=100)
        q = next((q for q in drill.questions if q.symbol.startswith(symbol_start)), None)
        if q is not None and condition(drill.problem, q):
            ref = {k: np.array(v, dtype=float) for k, v in _exact_reference(drill.problem).items()}
            return drill.problem, q, ref
    raise AssertionError("no such drill")


def _index(q):
    return tuple(int(i) for i in q.symbol.split("[")[1].rstrip("]").split(","))


def _named(q, wrong, words):
    grade = q.grade(float(f"{wrong:.4g}"))
    assert not grade.correct and grade.slip is not None and words in grade.slip, (
        q.symbol,
        wrong,
        grade,
    )


def test_w2_in_place_of_its_transpose_in_da1_is_named():
    def square(p, q):
        return p.W2.shape[0] == p.W2.shape[1] and p.activation != "relu"

    p, q, ref = _find(square, "dZ1")
    s, j = _index(q)
    wrong = (ref["dZ2"][s] @ p.W2[:, j]) * {"sigmoid": lambda a: a * (1 - a),
                                            "tanh": lambda a: 1 - a * a}[p.activation](
        ref["A1"][s, j])  # fmt: skip
    _named(q, wrong, "you used W2 where W2.T belongs")


def test_the_softmax_jacobian_forgotten_is_named_on_and_off_the_target():
    p, q, ref = _find(lambda p, q: p.output == "softmax" and p.T[_index(q)] == 1, "dZ2")
    _named(q, -1 / (p.n * ref["P"][_index(q)]), "the softmax's Jacobian is missing")
    p, q, ref = _find(lambda p, q: p.output == "softmax" and p.T[_index(q)] == 0, "dZ2")
    _named(q, 0.0, "you left out the softmax's Jacobian")


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_the_derivative_at_the_wrong_tensor_is_named_both_ways(activation):
    p, q, ref = _find(lambda p, q: p.activation == activation, "dZ1")
    s, j = _index(q)
    z, a = ref["Z1"][s, j], ref["A1"][s, j]
    f = {"sigmoid": lambda x: 1 / (1 + math.exp(-x)), "tanh": math.tanh}[activation]
    dA1 = ref["dZ2"][s] @ p.W2[j]
    a_form = {"sigmoid": lambda x: x * (1 - x), "tanh": lambda x: 1 - x * x}[activation]
    _named(q, dA1 * a_form(z), "you put Z1 into the derivative's a-form")
    _named(q, dA1 * a_form(f(a)), f"you took {activation}'(A1)")


@pytest.mark.parametrize("symbol", ["dW2", "db2", "dW1"])
def test_a_flipped_sign_on_a_weight_or_bias_gradient_is_named(symbol):
    _p, q, ref = _find(lambda p, q: abs(q.answer) > 1e-3, symbol)
    _named(q, -ref[symbol][_index(q)], "you flipped the sign")


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_log_base_2_is_named(output):
    _p, q, ref = _find(lambda p, q: p.output == output, "L", topic="loss")
    _named(q, float(ref["L"]) / math.log(2), "log base 2 was used")


def test_the_mse_prompt_says_the_mean_is_over_n_k_entries():
    p, q, _ref = _find(lambda p, q: p.output == "linear" and p.n * p.k > 1, "L", topic="loss")
    assert q.prompt.startswith(
        f"Compute the loss L: the mean of the squared errors over all n*k = {p.n * p.k} "
        "entries of Z2 - T."
    )


# ------------------------------------------------------------- the command's edges
def test_an_unreadable_answer_is_asked_again(tmp_path):
    drill = Drill(seed=7, topic="backward", count=1)
    answers = tmp_path / "answers.txt"
    answers.write_text(f"forty-two\n{drill.questions[0].answer:.4g}\n")
    done = run("--seed", 7, "--topic", "backward", "--count", 1, "--answers", answers)
    assert "could not read 'forty-two' as a number (write e.g. -0.125 or 1/8); try again" in (
        done.stdout
    )
    assert done.stdout.rstrip().endswith("score: 1/1. Every answer right.")


def test_a_count_above_the_topics_pool_says_so():
    drill = Drill(seed=3, topic="loss", count=4)
    assert len(drill.questions) == 1
    assert drill.note == "note: the loss topic has 1 question; asking all 1, not 4."
    said = []
    drill.run(lambda prompt: None, said.append)
    assert said[1] == drill.note
    assert Drill(seed=3, topic="update", count=2).note is None


def test_a_missing_answers_file_is_one_error_line_before_anything_else(tmp_path):
    missing = run("--answers", tmp_path / "nope.txt", "--seed", 1)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr == (
        f"chainrule quiz: error: --answers {tmp_path / 'nope.txt'}: no such file or "
        "directory; give a text file with one answer a line\n"
    )


def test_the_summary_tallies_the_slips_and_points_to_sections_that_exist():
    drill = Drill(seed=3, topic="update", count=2)
    added = dict(drill.questions[0].slips)  # the same slip on both questions
    story = "the gradient was added; descent subtracts it"
    said = []
    answers = iter(f"{dict(q.slips)[story]:.4g}" for q in drill.questions)
    score = drill.run(lambda prompt: next(answers), said.append)
    assert story in added and score.slips() == {story: 2}
    summary = said[-1].strip().splitlines()
    assert summary[0] == f"slip made 2x: {story}"
    assert summary[1:3] == [
        "read: docs/viva.md#51-batch-mini-batch-or-stochastic-gradient-descent-what-is-the-"
        "difference",
        "read: docs/derivations.md#10-optimizers",
    ]
    assert summary[-1].startswith("score: 0/2. Revise: update (")


def test_every_section_to_revise_is_an_existing_heading():
    from pathlib import Path

    from test_viva import _heading_slugs

    root = Path(__file__).resolve().parents[1]
    slugs = {doc: _heading_slugs(root / doc) for doc in ("docs/viva.md", "docs/derivations.md")}
    seen = set()
    for seed in range(60):
        for q in Drill(seed=seed, count=100).questions:
            assert len(q.sections) >= 2, q.symbol
            for link in q.sections:
                doc, _, anchor = link.partition("#")
                assert anchor in slugs[doc], link
                seen.add(link)
    assert len(seen) >= 12
