"""The backprop drills: every solution passes the notebook's own check, every classic
wrong answer is flagged with its diagnosis, and the notebook's exercises are the
solutions' functions with empty bodies, each checked by one line."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.exercises import EXERCISES, check, scoreboard
from chainrule.practice import exercises

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "backprop_drills.py"
SOLUTIONS = ROOT / "notebooks" / "solutions" / "backprop_drills.py"


def _load_solutions():
    spec = importlib.util.spec_from_file_location("backprop_drills_solutions", SOLUTIONS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sol = _load_solutions()


def _functions(path: Path) -> list[ast.FunctionDef]:
    """The public top-level functions of a Python file, in order."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")]


def _exercises_in_notebook() -> list[ast.FunctionDef]:
    """The notebook's functions left for the student: those raising NotImplementedError
    (the others are worked examples)."""
    return [
        f
        for f in _functions(NOTEBOOK)
        if any(isinstance(node, ast.Raise) and "NotImplementedError" in ast.unparse(node)
               for node in ast.walk(f))
    ]  # fmt: skip


def _stubs() -> dict:
    """The notebook's functions as a student first sees them, defined for real."""
    namespace: dict = {}
    module = ast.Module(body=_exercises_in_notebook(), type_ignores=[])
    exec(compile(module, str(NOTEBOOK), "exec"), namespace)
    return {name: namespace[name] for name in EXERCISES}


def test_the_notebook_and_the_solutions_have_the_same_functions():
    notebook = [(f.name, [a.arg for a in f.args.args]) for f in _exercises_in_notebook()]
    solutions = [(f.name, [a.arg for a in f.args.args]) for f in _functions(SOLUTIONS)]
    assert notebook == solutions
    assert [name for name, _ in notebook] == list(EXERCISES)


def test_the_notebook_gives_no_answers_away():
    """Each exercise's body is a docstring with shapes and raise NotImplementedError."""
    others = {f.name for f in _functions(NOTEBOOK)} - set(EXERCISES)
    assert others == {"relu_backward_wrong"}  # the one worked example: not an exercise
    for f in _exercises_in_notebook():
        doc, *rest = f.body
        assert isinstance(doc, ast.Expr) and "returns" in ast.get_docstring(f), f.name
        assert len(rest) == 1 and isinstance(rest[0], ast.Raise), f.name
        assert ast.unparse(rest[0]) == "raise NotImplementedError('your code here')"


def test_each_check_cell_is_one_line_calling_the_shared_check():
    cells = NOTEBOOK.read_text(encoding="utf-8").split("# %%")
    calls = [c.strip() for c in cells if c.strip().startswith("print(check(")]
    assert calls == [f'print(check("{name}", {name}))' for name in EXERCISES]


@pytest.mark.parametrize("name", list(EXERCISES))
def test_every_solution_passes_its_check(name):
    report = check(name, getattr(sol, name))
    assert report.ok, str(report)
    assert str(report).startswith(EXERCISES[name].title)
    assert "well done" in str(report)
    if report.reference_error is not None:  # chainrule's own answer, numerically checked
        assert report.reference_error < 1e-7


@pytest.mark.parametrize("name", list(EXERCISES))
def test_an_unfinished_exercise_is_a_report_not_an_error(name):
    report = check(name, _stubs()[name])
    assert not report.ok
    assert report.problem == (
        "not written yet (your function raised NotImplementedError: your code here): "
        "write its body and check again."
    )
    assert all(v.status == "missing" for v in report.verdicts)


def test_the_committed_notebook_shows_every_check_as_not_written_yet():
    nb = json.loads(NOTEBOOK.with_suffix(".ipynb").read_text(encoding="utf-8"))
    texts = [
        "".join(out.get("text", ""))
        for cell in nb["cells"]
        if cell["cell_type"] == "code" and "".join(cell["source"]).startswith("print(check(")
        for out in cell["outputs"]
    ]
    texts = [t for t in texts if t.strip()]
    assert [t.split(" (check_")[0] for t in texts] == [e.title for e in EXERCISES.values()]
    assert all("not written yet" in t for t in texts)


def test_scoreboard_counts_what_is_done():
    board = scoreboard({"dense_backward": sol.dense_backward, "adam": _stubs()["adam"]})
    lines = board.splitlines()
    assert lines[-1] == "1 of 12 done"
    assert lines[4].endswith(" done") and lines[4].startswith("5. A Dense layer")
    assert lines[8].endswith("not written yet")
    assert lines[0].endswith("missing: run the cell that defines it")
    wrong = {"mse_backward": lambda Y, T: Y - T}
    assert scoreboard(wrong).splitlines()[2].endswith("not right yet: run its check")
    assert scoreboard(vars(sol)).splitlines()[-1] == "12 of 12 done"


def test_check_names_the_exercises_when_asked_for_an_unknown_one():
    with pytest.raises(KeyError, match="no exercise 'dense'; the exercises are"):
        check("dense", sol.dense_backward)


# ------------------------------------------------------------------- wrong answers
def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def softmax(Z, axis=1):
    E = np.exp(Z - Z.max(axis=axis, keepdims=True))
    return E / E.sum(axis=axis, keepdims=True)


def two_layer(slip: str):
    def backward(X, T, W1, b1, W2, b2, n):
        Z1 = X @ W1 + b1
        A1 = np.tanh(Z1)
        dZ2 = (softmax(A1 @ W2 + b2) - T) / (1 if slip == "no 1/n" else n)
        dW2 = dZ2.T @ A1 if slip == "transposed" else A1.T @ dZ2
        dA1 = dZ2 @ W2.T
        dZ1 = {
            "no derivative": dA1,
            "derivative at Z": dA1 * (1 - Z1**2),
            "tanh of A": dA1 * (1 - np.tanh(A1) ** 2),
        }.get(slip, dA1 * (1 - A1**2))
        return X.T @ dZ1, dZ1.sum(axis=0), dW2, dZ2.sum(axis=0)

    return backward


def l_layer(slip: str):
    def backward(X, T, params):
        L = len(params) // 2
        A, cache = X, []
        for l in range(1, L + 1):
            Z = A @ params[f"W{l}"] + params[f"b{l}"]
            cache.append((A, Z))
            A = np.maximum(Z, 0) if l < L else Z
        n, k = T.shape
        dZ = {"mean over n": 2 * (A - T) / n, "no 2": (A - T) / (n * k)}.get(
            slip, 2 * (A - T) / (n * k)
        )
        grads = {}
        for l in range(L, 0, -1):
            A_prev, _ = cache[l - 1]
            grads[f"dW{l}"], grads[f"db{l}"] = A_prev.T @ dZ, dZ.sum(axis=0)
            if l > 1:
                dZ = dZ @ params[f"W{l}"].T
                if slip != "no relu derivative":
                    dZ = dZ * (cache[l - 2][1] > 0)
        return grads

    return backward


def momentum(slip: str):
    def step(w, dw, config):
        mu = config["momentum"]
        v = mu * config.get("velocity", 0) + ((1 - mu) * dw if slip == "dampened" else dw)
        config["velocity"] = v
        return (w + config["learning_rate"] * v if slip == "added" else w - 0.1 * v), config

    return step


def adam(slip: str):
    def step(w, dw, config):
        t = config["t"] = config.get("t", 0) + 1
        b1, b2 = config["beta1"], config["beta2"]
        m = config["m"] = b1 * config.get("m", 0) + (1 - b1) * dw
        v = config["v"] = b2 * config.get("v", 0) + (1 - b2) * dw**2
        if slip != "no bias correction":
            m, v = m / (1 - b1**t), v / (1 - b2**t)
        update = config["learning_rate"] * m / (np.sqrt(v) + config["epsilon"])
        return (w + update if slip == "added" else w - update), config

    return step


def batchnorm(slip: str):
    def backward(X, dY, gamma, eps):
        mu, var = X.mean(axis=0), X.var(axis=0, ddof=1 if slip == "unbiased" else 0)
        sigma = np.sqrt(var + eps)
        Xhat = (X - mu) / sigma
        dXhat = dY * gamma
        through_mu = 0 if slip == "no mu path" else dXhat.mean(axis=0)
        through_var = 0 if slip == "no var path" else Xhat * (dXhat * Xhat).mean(axis=0)
        dX = dXhat / sigma if slip == "direct only" else (dXhat - through_mu - through_var) / sigma
        dgamma = (dY * (X if slip == "dgamma with X" else Xhat)).sum(axis=0)
        return dX, dgamma, dY.sum(axis=0)

    return backward


def ce_steps(slip: str):
    """Exercise 11's solution with one slip made on purpose."""

    def backward(Z, T, n):
        g = sol.cross_entropy_steps_backward(Z, T, n)
        if slip == "no exp branch":
            g["dS"] = g["dlogP"]
        if slip == "sum not broadcast back":
            g["dE"] = g["ds"]
        if slip == "no 1/n":
            g["dpicked"] = g["dpicked"] * n
        if slip == "ds sign":
            g["ds"] = -g["ds"]
        if slip == "dlogs not summed":
            g["dlogs"] = -g["dlogP"]
        return g

    return backward


def bn_steps(slip: str):
    """Exercise 12's solution with one slip made on purpose."""

    def backward(X, dY, gamma, beta, eps):
        g = sol.batchnorm_steps_backward(X, dY, gamma, beta, eps)
        v = cr.exercises.batchnorm_steps(X, gamma, beta, eps)
        if slip == "no sq branch":
            g["dXc"] = g["dXhat"] * v["inv_std"]
        if slip == "no gamma":
            g["dXhat"] = dY
        if slip == "dsq without 1/n":
            g["dsq"] = g["dsq"] * X.shape[0]
        if slip == "no mu path":
            g["dX"] = g["dXc"]
        return g

    return backward


WRONG = [
    # (exercise, a wrong answer, the array to look at, words its diagnosis must contain)
    ("sigmoid_backward", lambda dA, A: dA * sigmoid(A) * (1 - sigmoid(A)), "dZ",
     "you gave it the output A"),
    ("sigmoid_backward", lambda dA: dA, "dZ", "derivative of the Sigmoid is missing"),
    ("cross_entropy_steps_backward", ce_steps("no exp branch"), "dS", "a branch is missing"),
    ("cross_entropy_steps_backward", ce_steps("no 1/n"), "dpicked", "factor n = 6"),
    ("cross_entropy_steps_backward", ce_steps("ds sign"), "ds", "sign flipped"),
    ("cross_entropy_steps_backward", ce_steps("sum not broadcast back"), "dE",
     "not handed back to every term"),
    ("cross_entropy_steps_backward", ce_steps("dlogs not summed"), "dlogs",
     "not summed over axis 1"),
    ("batchnorm_steps_backward", bn_steps("no sq branch"), "dXc", "a branch is missing"),
    ("batchnorm_steps_backward", bn_steps("no gamma"), "dXhat", "the factor gamma"),
    ("batchnorm_steps_backward", bn_steps("dsq without 1/n"), "dsq", "factor n = 6"),
    ("batchnorm_steps_backward", bn_steps("no mu path"), "dX", "path through the batch mean"),
    ("sigmoid_backward", lambda X, dY: dY, "dX", "derivative of the Sigmoid is missing"),
    ("sigmoid_backward", lambda X, dY: dY * X * (1 - X), "dX", "you used the input X"),
    ("sigmoid_backward", lambda Y, dY: dY * sigmoid(Y) * (1 - sigmoid(Y)), "dX",
     "you gave it the output Y"),
    ("softmax_cross_entropy_backward", lambda Z, T: softmax(Z) - T, "dZ", "factor n = 6"),
    ("softmax_cross_entropy_backward", lambda Z, T, n: (T - softmax(Z)) / n, "dZ",
     "sign flipped"),
    ("softmax_cross_entropy_backward", lambda Z, T, n: (Z - T) / n, "dZ", "logits Z were used"),
    ("softmax_cross_entropy_backward", lambda Z, T, n: (softmax(Z, axis=0) - T) / n, "dZ",
     "wrong axis"),
    ("mse_backward", lambda Y, T, n, k: (Y - T) / (n * k), "dY", "brings down a 2"),
    ("mse_backward", lambda Y, T, n: 2 * (Y - T) / n, "dY", "factor k = 3"),
    ("mse_backward", lambda Y, T, n, k: 2 * (T - Y) / (n * k), "dY", "sign flipped"),
    ("mse_backward", lambda Y, T: 2 * (Y - T), "dY", "two slips at once"),
    ("sigmoid_bce_backward", lambda Z, T, n, k: (Z - T) / (n * k), "dZ", "logits Z were used"),
    ("sigmoid_bce_backward", lambda Z, T, n: (sigmoid(Z) - T) / n, "dZ", "factor k = 3"),
    ("dense_backward", lambda X, W, dY: (dY @ W.T, dY.T @ X, dY.sum(0)), "dW", "transposed"),
    ("dense_backward", lambda X, W, dY: (W @ dY.T, X.T @ dY, dY.sum(0)), "dX", "transposed"),
    ("dense_backward", lambda X, W, dY: (dY @ W.T, X.T @ dY, dY), "db",
     "not summed over the batch"),
    ("dense_backward", lambda X, W, dY: (dY @ W.T, X.T @ dY, dY.mean(0)), "db",
     "factor n = 6"),
    ("dense_backward", lambda X, W, dY: (dY @ W.T, X.T @ dY, dY.sum(0, keepdims=True)), "db",
     "an extra axis"),
    ("dense_backward", lambda X, W, dY: (dY @ W.T, X.T @ dY / 6, dY.sum(0)), "dW",
     "applied twice"),
    ("two_layer_backward", two_layer("no derivative"), "dW1",
     "layer 1 (Tanh): the derivative of the Tanh is missing"),
    ("two_layer_backward", two_layer("derivative at Z"), "db1", "you used the input Z"),
    ("two_layer_backward", two_layer("tanh of A"), "dW1", "you gave it the output A"),
    ("two_layer_backward", two_layer("no 1/n"), "dW2", "factor n = 8"),
    ("two_layer_backward", two_layer("transposed"), "dW2", "transposed"),
    ("l_layer_backward", l_layer("no relu derivative"), "dW2",
     "layer 2 (ReLU): the derivative of the ReLU is missing"),
    ("l_layer_backward", l_layer("mean over n"), "dW3", "factor 2: the 1/2 of a half squared "
     "error cancels the 2 of the derivative; or too large by a factor k = 2"),
    ("l_layer_backward", l_layer("no 2"), "db1", "brings down a 2"),
    ("sgd_momentum", momentum("dampened"), "W after step 2", "an exponential average"),
    ("sgd_momentum", momentum("added"), "W after step 2", "the gradient was added"),
    ("adam", adam("no bias correction"), "W after step 2", "the bias correction is missing"),
    ("adam", adam("added"), "W after step 3", "the gradient was added"),
    ("batchnorm_backward", batchnorm("direct only"), "dX", "only the direct path"),
    ("batchnorm_backward", batchnorm("no mu path"), "dX", "path through the batch mean mu"),
    ("batchnorm_backward", batchnorm("no var path"), "dX", "path through the batch variance"),
    ("batchnorm_backward", batchnorm("unbiased"), "dX", "unbiased variance"),
    ("batchnorm_backward", batchnorm("dgamma with X"), "dgamma", "needs the normalised x_hat"),
]  # fmt: skip


def test_every_exercise_has_wrong_answers_to_catch():
    assert {name for name, *_ in WRONG} == set(EXERCISES)


@pytest.mark.parametrize(
    "name, fn, array, words", WRONG, ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG)]
)
def test_each_classic_wrong_answer_is_flagged_with_its_diagnosis(name, fn, array, words):
    report = check(name, fn)
    assert not report.ok
    verdict = report[array]
    assert verdict.status in ("wrong values", "wrong shape"), str(report)
    assert verdict.diagnosis is not None and words in verdict.diagnosis, str(report)


def test_a_step_that_returns_nothing_is_told_what_to_return():
    report = check("adam", lambda w, dw, config: None)
    assert report.problem == (
        "your function returned None (at w after step 1); return next_w, config."
    )
    report = check("sgd_momentum", lambda w, dw, config: [w - 0.1 * dw, config])  # a list
    assert report.problem is None and report["W after step 1"].ok  # no momentum at step 1
    assert report["W after step 2"].status == "wrong values"


def test_the_exercises_module_documents_each_check():
    assert "check(" in exercises.__doc__
    assert all(e.title.split(". ")[0] == str(i) for i, e in enumerate(EXERCISES.values(), 1))


def test_the_worked_example_reads_cleanly():
    X = np.random.default_rng(0).normal(size=(4, 3))
    text = str(cr.check_backward(lambda X, dY: dY, cr.ReLU(), X))
    assert "expected 0, got -1.56497" in text  # a negative zero prints as 0
    assert "diagnosis: the derivative of the ReLU is missing" in text


def test_cs231n_momentum_form_is_right_too():
    def step(w, dw, config):  # v = mu v - lr dw; w += v: the same steps at a constant lr
        v = config["momentum"] * config.get("velocity", np.zeros_like(w)) - (
            config["learning_rate"] * dw
        )
        config["velocity"] = v
        return w + v, config

    assert check("sgd_momentum", step).ok


def test_the_readme_counts_the_exercises():
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    words = {10: "ten", 11: "eleven", 12: "twelve", 13: "thirteen"}
    assert f"backprop_drills.ipynb) has {words[len(EXERCISES)]} such exercises" in readme


def test_the_ninja_steps_collapse_to_the_fused_formulas():
    """Exercise 11's intermediates add up to (P - T) / n, dZmax is 0 up to rounding;
    exercise 12's to BatchNorm's three-path dX."""
    rng = np.random.default_rng(5)
    Z, y = rng.normal(size=(6, 4)) * 2, np.array([0, 1, 2, 3, 1, 2])
    T = np.eye(4)[y]
    g = sol.cross_entropy_steps_backward(Z, T, 6)
    assert np.allclose(g["dZ"], (softmax(Z) - T) / 6, atol=1e-15)
    assert np.allclose(g["dS"], g["dZ"], atol=1e-15)
    assert np.abs(g["dZmax"]).max() < 1e-15
    X, dY = rng.normal(size=(6, 3)) * 3 + 1, rng.normal(size=(6, 3))
    gamma, beta = np.array([1.5, 0.5, -2.0]), np.zeros(3)
    g = sol.batchnorm_steps_backward(X, dY, gamma, beta, 1e-5)
    layer = cr.BatchNorm(3)
    layer.params["gamma"][...] = gamma
    _, backward = layer.forward(X, training=True)
    assert np.allclose(g["dX"], backward(dY), atol=1e-12)


def test_a_wrong_step_is_named_at_that_step_and_nowhere_else():
    report = check("cross_entropy_steps_backward", ce_steps("ds sign"))
    assert [v.name for v in report.verdicts if not v.ok] == ["ds"]
    assert report["ds"].diagnosis.startswith("sign flipped")
    assert report.verdicts[-1].name == "dZ" and report.verdicts[-1].ok
    text = str(report)
    assert text.startswith("11. Cross-entropy, one atomic step at a time (check_backward)")
    assert "7 of 8 right." in text


LESSONS = {
    "sigmoid_backward": ROOT / "notebooks" / "backpropagation_classification.py",
    "dense_backward": ROOT / "notebooks" / "backpropagation_classification.py",
    "softmax_cross_entropy_backward": ROOT / "notebooks" / "backpropagation_classification.py",
    "mse_backward": ROOT / "notebooks" / "backpropagation_regression.py",
}


@pytest.mark.parametrize("name", list(LESSONS))
def test_the_lessons_functions_pass_the_drills_checks(name):
    """One set of names and signatures: a function the lessons write, with the lessons'
    parameters, passes the drill of the same name (issue 22)."""
    tree = ast.parse(LESSONS[name].read_text(encoding="utf-8"))
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    fn, needed = defs[name], [defs[name]]
    for f in needed:  # the lesson's helpers it calls (sigmoid, softmax), and theirs
        called = {n.id for n in ast.walk(f) if isinstance(n, ast.Name)}
        needed += [defs[c] for c in sorted(called & set(defs)) if defs[c] not in needed]
    namespace = {"np": np}
    module = ast.Module(body=needed[::-1], type_ignores=[])
    exec(compile(module, str(LESSONS[name]), "exec"), namespace)
    report = check(name, namespace[name])
    assert report.ok, str(report)
    drill = next(f for f in _exercises_in_notebook() if f.name == name)
    lesson_args = [a.arg for a in fn.args.args]
    if name in ("sigmoid_backward", "dense_backward"):  # the very same signature
        assert [a.arg for a in drill.args.args] == lesson_args
