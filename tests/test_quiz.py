"""chainrule quiz and cr.quiz.Drill: the answers are the engine's numbers, grading is to
3 significant figures, wrong answers get the working and the slip; the command runs
from an answers file and interactively (subprocesses)."""

from __future__ import annotations

import subprocess
import sys

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
