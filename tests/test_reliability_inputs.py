"""The reliability sweep: every bad input at every public entry point gets an exception
that names the problem and the fix, and a failed call loses nothing.

``CASES`` and ``COMMAND_CASES`` are the rows of the table in ``docs/errors.md``, in the
same order and under the same ids (``test_the_table_in_docs_lists_every_case`` keeps
the two in step). Rows of that table that older test files already cover name those
tests instead. Further down: the documented rules that are not errors (NaN propagates
through layers and losses; the dtype rules; a single class), "nothing lost" (a failed
``fit`` leaves a network or an estimator exactly as it was), divergence of the
estimators, and ``predict`` never returning NaN.
"""

from __future__ import annotations

import contextlib
import functools
import io
import pickle
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

import chainrule as cr
from chainrule import MLPClassifier, MLPRegressor
from chainrule.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "errors.md"

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 3))
Y3 = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)  # class indices 0, 1, 2
Y_REG = X @ np.array([1.0, -2.0, 0.5])
X_NAN = X.copy()
X_NAN[4, 1] = np.nan


def net(dtype=np.float64, n_out=3):
    """Dense(3, 4) -> Tanh -> Dense(4, n_out)."""
    return cr.Sequential(
        cr.Dense(3, 4, rng=0, dtype=dtype), cr.Tanh(), cr.Dense(4, n_out, rng=1, dtype=dtype)
    )


def fit_net(n=None, loss=None, X=X, y=Y3, **kwargs):
    kwargs.setdefault("optimizer", cr.SGD(0.1))
    kwargs.setdefault("epochs", 2)
    return cr.fit(n or net(), loss or cr.CrossEntropy(), X, y, rng=0, **kwargs)


def clf(**params):
    return MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0, **params)


def reg(**params):
    return MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0, **params)


@functools.cache
def fitted(kind: str):
    """A fitted estimator, shared by the predict cases (predict changes nothing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf().fit(X, Y3) if kind == "clf" else reg().fit(X, Y_REG)


def overflowing_input():
    """Finite inputs that overflow the fitted regressor: the largest float64, signed so
    that the hidden unit with the largest sum_i |W[i, j]| (> 1 here) gets inf."""
    W = fitted("reg").coefs_[0]
    j = np.abs(W).sum(axis=0).argmax()
    assert np.abs(W[:, j]).sum() > 1.05
    return np.tile(np.finfo(np.float64).max * np.sign(W[:, j]), (2, 1))


def with_nan_coefs():
    est = pickle.loads(pickle.dumps(fitted("reg")))
    est.coefs_[0] = np.full_like(est.coefs_[0], np.nan)
    return est


def partial_fitted():
    est = clf(solver="sgd")
    est.partial_fit(X, Y3, classes=[0, 1, 2])
    return est


def warm_started():
    est = clf(warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, Y3)


@dataclass(frozen=True)
class Case:
    """One row of the table: call ``call()``, expect ``exc`` whose message contains each
    of ``words`` (case-insensitive)."""

    id: str
    call: Callable[[], object]
    exc: type[BaseException]
    words: tuple[str, ...]


def case(id, call, exc, *words):
    return Case(id, call, exc, words)


def dense(dtype=np.float64):
    return cr.Dense(3, 2, rng=0, dtype=dtype)


PROBS = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]])  # logits, not probabilities

CASES = [
    # ------------------------------------------------------------------ layers
    case("dense-object", lambda: dense()(np.array([[1.0, 2.0, 3.0]], dtype=object)),
         TypeError, "dtype object", "encode categorical columns as numbers"),
    case("dense-ragged", lambda: dense()([[1.0, 2.0, 3.0], [1.0, 2.0]]),
         ValueError, "Dense: X cannot be read as an array", "rows have different lengths"),
    case("dense-complex", lambda: dense()(np.ones((2, 3), complex)),
         TypeError, "unsupported dtype complex128", "pass real numbers"),
    case("dense-float32-into-float64", lambda: dense()(np.ones((2, 3), np.float32)),
         TypeError, "X is float32 but the parameters are float64",
         "X.astype(np.float64)", "net.astype(np.float32)"),
    case("dense-float64-into-float32", lambda: dense(np.float32)(np.ones((2, 3))),
         TypeError, "X is float64 but the parameters are float32",
         "X.astype(np.float32)", "net.astype(np.float64)"),
    case("dense-float16", lambda: dense()(np.ones((2, 3), np.float16)),
         TypeError, "X is float16", "float32 or float64", "X.astype(np.float64)"),
    case("dense-n-in", lambda: cr.Dense(2.5, 3), ValueError, "n_in must be a positive integer"),
    case("dense-dtype", lambda: cr.Dense(3, 2, dtype=np.int32),
         TypeError, "dtype must be np.float32 or np.float64, got int32"),
    case("activation-strings", lambda: cr.ReLU()(np.array([["a", "b"]])),
         TypeError, "ReLU: expected a float array", "<U1"),
    case("softmax-1d", lambda: cr.Softmax()(np.ones(3)),
         ValueError, "Softmax expects a 2-D array (n_samples, n_classes)", "(3,)"),
    case("leaky-relu-alpha-nan", lambda: cr.LeakyReLU(alpha=np.nan),
         ValueError, "LeakyReLU: alpha must be a finite number >= 0", "nan"),
    case("leaky-relu-alpha-negative", lambda: cr.LeakyReLU(alpha=-0.1),
         ValueError, "alpha must be a finite number >= 0", "-0.1"),
    case("elu-alpha-text", lambda: cr.ELU(alpha="1"),
         ValueError, "ELU: alpha must be a finite number >= 0", "'1'"),
    case("dropout-p-one", lambda: cr.Dropout(1.0),
         ValueError, "must lie in [0, 1)", "p = 1 would drop everything"),
    case("dropout-p-text", lambda: cr.Dropout("0.5"),
         ValueError, "p must be a number in [0, 1)", "'0.5'"),
    case("dropout-mask-shape",
         lambda: _with_mask(cr.Dropout(0.5, rng=0), np.ones((2, 2), bool)).forward(
             np.ones((3, 2)), training=True),
         ValueError, "fixed_mask has shape (2, 2) but the input has shape (3, 2)"),
    # ------------------------------------------------------------------ losses
    case("loss-y-1d", lambda: cr.MeanSquaredError()(np.zeros(3), np.zeros(3)),
         ValueError, "the output Y must be 2-D (n_samples, n_outputs)", "(3,)"),
    case("loss-y-int", lambda: cr.MeanSquaredError()(np.zeros((3, 1), int), np.zeros(3)),
         TypeError, "the output Y must be a float array", "int64"),
    case("loss-empty", lambda: cr.CrossEntropy()(np.zeros((0, 3)), np.zeros(0, int)),
         ValueError, "CrossEntropy: the output Y has 0 samples", "at least one"),
    case("loss-target-strings",
         lambda: cr.CrossEntropy()(np.zeros((2, 3)), np.array(["cat", "dog"])),
         TypeError, "targets must be numbers", "encode labels as integers 0..k-1"),
    case("loss-target-ragged", lambda: cr.MeanSquaredError()(np.zeros((2, 2)), [[1.0], [1.0, 2.0]]),
         ValueError, "the targets cannot be read as an array", "different lengths"),
    case("ce-negative-index", lambda: cr.CrossEntropy()(np.zeros((2, 3)), np.array([0, -1])),
         ValueError, "class index -1 (sample 1) is out of range for 3 classes", "0..2"),
    case("ce-target-column", lambda: cr.CrossEntropy()(np.zeros((2, 3)), np.zeros((2, 1))),
         ValueError, "target shape (2, 1) does not match output shape (2, 3)",
         "class indices (n,) or one-hot rows (n, k)"),
    case("ce-negative-onehot", lambda: cr.CrossEntropy()(np.zeros((2, 2)), -np.eye(2)),
         ValueError, "targets must be non-negative"),
    case("ce-probabilities-expected",
         lambda: cr.CrossEntropy(from_logits=False)(PROBS, np.array([0, 2])),
         ValueError, "takes probabilities in [0, 1]", "from -1 to 3", "from_logits=True"),
    case("bce-probabilities-expected",
         lambda: cr.BinaryCrossEntropy(from_logits=False)(PROBS[:, :1], np.array([1, 0])),
         ValueError, "BinaryCrossEntropy(from_logits=False) takes probabilities in [0, 1]",
         "Sigmoid"),
    case("loss-weight-nan",
         lambda: cr.MeanSquaredError()(np.zeros((2, 1)), np.zeros(2), np.array([1.0, np.nan])),
         ValueError, "sample_weight must be finite and non-negative"),
    case("loss-weight-text",
         lambda: cr.MeanSquaredError()(np.zeros((2, 1)), np.zeros(2), np.array(["a", "b"])),
         TypeError, "sample_weight must be numeric"),
    case("huber-delta-text", lambda: cr.Huber(delta="1"),
         ValueError, "Huber: delta must be a positive number, got '1'"),
    case("huber-delta-none", lambda: cr.Huber(delta=None),
         ValueError, "delta must be a positive number, got None"),
    case("from-logits-text", lambda: cr.CrossEntropy(from_logits="no"),
         TypeError, "from_logits must be True or False", "'no'"),
    case("loss-unknown-name", lambda: fit_net(loss="hinge"),
         ValueError, "unknown loss 'hinge'", "cross_entropy", "mse"),
    # ------------------------------------------------------------------ gradient_check
    case("gc-nan", lambda: cr.gradient_check(net(), cr.CrossEntropy(), X_NAN, Y3),
         ValueError, "gradient_check: X contains NaN or inf", "finite inputs"),
    case("gc-inf", lambda: cr.gradient_check(net(), cr.CrossEntropy(), X * np.inf, Y3),
         ValueError, "X contains NaN or inf"),
    case("gc-empty", lambda: cr.gradient_check(net(), cr.CrossEntropy(), X[:0], Y3[:0]),
         ValueError, "X has shape (0, 3), with no samples"),
    case("gc-strings", lambda: cr.gradient_check(net(), cr.CrossEntropy(), X.astype(str), Y3),
         TypeError, "gradient_check: X has dtype <U", "numeric array"),
    case("gc-wrong-features", lambda: cr.gradient_check(net(), cr.CrossEntropy(), X[:, :2], Y3),
         ValueError, "Dense(3, 4) expects X with 3 features", "(30, 2)"),
    case("gc-class-out-of-range",
         lambda: cr.gradient_check(net(), cr.CrossEntropy(), X, Y3 + 1),
         ValueError, "class index 3", "out of range for 3 classes"),
    case("gc-eps-text", lambda: cr.gradient_check(net(), cr.CrossEntropy(), X, Y3, eps="1e-6"),
         ValueError, "eps must be a small positive number such as 1e-6"),
    case("gc-nan-weight", lambda: cr.gradient_check(_nan_weight_net(), cr.CrossEntropy(), X, Y3),
         ValueError, "parameter layers[0].W contains NaN or inf", "rebuild the network"),
    case("gc-not-a-net", lambda: cr.gradient_check(lambda X: X, cr.CrossEntropy(), X, Y3),
         TypeError, "net must be a chainrule layer or Sequential"),
    # ------------------------------------------------------------------ fit
    case("fit-3d-x", lambda: fit_net(X=X.reshape(30, 3, 1)),
         ValueError, "fit: expected a 2-D array", "(30, 3, 1)"),
    case("fit-object-x", lambda: fit_net(X=X.astype(object)),
         TypeError, "fit: X has dtype object", "encode categorical columns"),
    case("fit-ragged-x", lambda: fit_net(X=[[1.0, 2.0, 3.0], [1.0]], y=[0, 1]),
         ValueError, "fit: X cannot be read as an array", "different lengths"),
    case("fit-wrong-features", lambda: fit_net(X=X[:, :2]),
         ValueError, "Dense(3, 4) expects X with 3 features", "got X of shape (30, 2)"),
    case("fit-float32-into-float64", lambda: fit_net(X=X.astype(np.float32)),
         TypeError, "fit: X is float32 but the parameters are float64", "X.astype(np.float64)"),
    case("fit-class-out-of-range-late", lambda: fit_net(y=np.r_[Y3[:-1], 5], batch_size=4),
         ValueError, "class index 5 (sample 29) is out of range for 3 classes",
         "one output per class"),
    case("fit-targets-wrong-shape",
         lambda: fit_net(net(n_out=2), cr.MeanSquaredError(), y=np.zeros((30, 3))),
         ValueError, "target shape (30, 3) does not match output shape (30, 2)"),
    case("fit-y-3d", lambda: fit_net(y=Y3.reshape(30, 1, 1)),
         ValueError, "y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs)"),
    case("fit-y-ragged", lambda: fit_net(X=X[:2], y=[[0.0], [1.0, 2.0]]),
         ValueError, "fit: y cannot be read as an array"),
    case("fit-metric-mismatch", lambda: fit_net(metrics=["r2"]),
         ValueError, "fit: the metric 'r2' does not suit these targets",
         "target shape (30,) does not match output shape (30, 3)"),
    case("fit-validation-wrong-features",
         lambda: fit_net(validation_data=(X[:, :2], Y3)),
         ValueError, "fit (validation_data): Dense(3, 4) expects X with 3 features"),
    case("fit-validation-bad-class", lambda: fit_net(validation_data=(X, Y3 + 3)),
         ValueError, "fit (validation_data): CrossEntropy: class index 4 (sample 0)"),
    case("fit-validation-nan", lambda: fit_net(validation_data=(X_NAN, Y3)),
         ValueError, "fit (validation_data): X contains NaN or inf (first at row 4, column 1)"),
    case("fit-shuffle-text", lambda: fit_net(shuffle="no"),
         TypeError, "fit: shuffle must be True or False", "'no'"),
    case("fit-unknown-schedule", lambda: fit_net(schedule="cosine"),
         ValueError, "unknown schedule 'cosine'", "StepDecayLR"),
    case("fit-monitor-not-logged",
         lambda: fit_net(early_stopping=cr.EarlyStopping(monitor="val_loss")),
         ValueError, "monitors 'val_loss', which this training run does not log",
         "validation_split"),
    case("sgd-lr-negative", lambda: cr.SGD(-0.1),
         ValueError, "lr must be > 0", "got -0.1"),
    case("sgd-momentum", lambda: cr.SGD(0.1, momentum=1.0),
         ValueError, "momentum must be in [0, 1), got 1.0"),
    case("sgd-nesterov-without-momentum", lambda: cr.SGD(0.1, nesterov=True),
         ValueError, "nesterov=True needs a momentum > 0"),
    case("adam-beta2", lambda: cr.Adam(beta2=1.0), ValueError, "beta2 must be in [0, 1)"),
    case("adam-eps", lambda: cr.Adam(eps=-1e-8), ValueError, "eps must be >= 0"),
    case("rmsprop-rho", lambda: cr.RMSProp(rho=1.5), ValueError, "rho must be in [0, 1)"),
    case("step-decay-gamma", lambda: cr.StepDecayLR(2, gamma=1.5),
         ValueError, "gamma must lie in (0, 1]"),
    case("plateau-factor", lambda: cr.ReduceLROnPlateau(factor=0.5),
         ValueError, "factor must be > 1"),
    case("inverse-scaling-power", lambda: cr.InverseScalingLR(-1),
         ValueError, "power_t must be >= 0"),
    case("early-stopping-patience", lambda: cr.EarlyStopping(patience=-1),
         ValueError, "patience must be a non-negative integer"),
    # ------------------------------------------------------------------ estimators
    case("est-nan-x", lambda: clf().fit(X_NAN, Y3), ValueError, "Input X contains NaN"),
    case("est-inf-x", lambda: reg().fit(X * np.inf, Y_REG),
         ValueError, "Input X contains infinity"),
    case("est-nan-y", lambda: reg().fit(X, np.r_[Y_REG[:-1], np.nan]),
         ValueError, "Input y contains NaN"),
    case("est-empty", lambda: clf().fit(X[:0], Y3[:0]),
         ValueError, "0 sample(s)", "minimum of 1 is required"),
    case("est-1d-x", lambda: reg().fit(X[:, 0], Y_REG),
         ValueError, "Expected 2D array, got 1D array", "reshape(-1, 1)"),
    case("est-3d-x", lambda: clf().fit(X.reshape(30, 3, 1), Y3),
         ValueError, "Found array with dim 3"),
    case("est-length-mismatch", lambda: clf().fit(X, Y3[:-1]),
         ValueError, "inconsistent numbers of samples: [30, 29]"),
    case("est-text-column", lambda: clf().fit(np.c_[X, ["a"] * 30].astype(object), Y3),
         ValueError, "could not convert string to float: 'a'"),
    case("clf-continuous-y", lambda: clf().fit(X, Y_REG),
         ValueError, "Unknown label type"),
    case("reg-text-y", lambda: reg().fit(X, np.array(["a", "b", "c"])[Y3]),
         ValueError, "could not convert string to float"),
    case("clf-partial-fit-no-classes", lambda: clf(solver="sgd").partial_fit(X, Y3),
         ValueError, "classes must be passed on the first call to partial_fit"),
    case("clf-partial-fit-unseen-label", lambda: partial_fitted().partial_fit(X, np.r_[Y3[:-1], 7]),
         ValueError, "`y` has classes not in `self.classes_`", "Pass every class in `classes`"),
    case("partial-fit-lbfgs", lambda: clf(solver="lbfgs").partial_fit(X, Y3, classes=[0, 1, 2]),
         AttributeError, "has no attribute 'partial_fit'"),
    case("partial-fit-early-stopping",
         lambda: reg(solver="adam", early_stopping=True).partial_fit(X, Y_REG),
         ValueError, "partial_fit does not support early_stopping=True"),
    case("warm-start-new-classes", lambda: warm_started().fit(X, np.r_[Y3[:-1], 3]),
         ValueError, "warm_start can only be used where `y` has the same classes",
         "Set warm_start=False"),
    case("predict-before-fit", lambda: clf().predict(X),
         NotFittedError, "This MLPClassifier instance is not fitted yet"),
    case("predict-nan", lambda: fitted("clf").predict(X_NAN), ValueError, "Input X contains NaN"),
    case("predict-1d", lambda: fitted("reg").predict(X[0]),
         ValueError, "Expected 2D array", "reshape(1, -1) if it contains a single sample"),
    case("predict-overflow", lambda: fitted("reg").predict(overflowing_input()),
         ValueError, "the network's output overflows", "2 of 2 samples",
         "far outside the range seen in training", "Scale X"),
    case("predict-nan-coefs", lambda: with_nan_coefs().predict(X),
         ValueError, "coefs_ or intercepts_ hold NaN or inf", "refit"),
    case("est-diverges", lambda: reg(solver="sgd", learning_rate_init=1e6).fit(X * 100, Y_REG),
         ValueError, "Solver produced non-finite parameter weights", "of this fit",
         "learning_rate_init=1e+06", "was left as it was before this call",
         "Lower learning_rate_init (e.g. to 100000)"),
    *[
        case(f"est-param-{name}", lambda p={name: value}: MLPClassifier(**p).fit(X, Y3),
             InvalidParameterError, f"'{name}' parameter of MLPClassifier must be", allowed)
        for name, value, allowed in [
            ("learning_rate_init", 0.0, "range (0.0, inf)"),
            ("power_t", -1.0, "range [0.0, inf)"),
            ("max_iter", 0, "range [1, inf)"),
            ("tol", -1.0, "range [0.0, inf)"),
            ("momentum", 1.5, "range [0.0, 1.0]"),
            ("beta_1", 1.0, "range [0.0, 1.0)"),
            ("beta_2", -0.1, "range [0.0, 1.0)"),
            ("epsilon", 0.0, "range (0.0, inf)"),
            ("validation_fraction", 1.0, "range [0.0, 1.0)"),
            ("n_iter_no_change", 0, "range [1, inf)"),
            ("max_fun", 0, "range [1, inf)"),
            ("shuffle", "yes", "instance of 'bool'"),
            ("progress", 2, "instance of 'bool'"),
            ("random_state", "seed", "range [0, 4294967295]"),
        ]
    ],
    case("est-param-huber_delta", lambda: reg(loss="huber", huber_delta=0.0).fit(X, Y_REG),
         InvalidParameterError, "'huber_delta' parameter of MLPRegressor", "range (0.0, inf)"),
    # ------------------------------------------------------------------ save
    case("save-nan-weights", lambda: cr.save(_nan_weight_net(), "unused.npz"),
         ValueError, "cannot save a layer: it would not load back", "holds NaN or inf",
         "Nothing was written"),
]  # fmt: skip


def _with_mask(layer, mask):
    layer.fixed_mask = mask
    return layer


def _nan_weight_net():
    n = net()
    n.layers[0].params["W"][0, 0] = np.nan
    return n


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input(c: Case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a case that would write a file writes it here
    with pytest.raises(c.exc) as info:
        c.call()
    assert type(info.value) is c.exc, type(info.value)  # exactly, not a subclass
    message = str(info.value)
    for word in c.words:
        assert word.lower() in message.lower(), (word, message)
    assert "Traceback" not in message
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_partial_fit_for_lbfgs_says_why():
    # scikit-learn's available_if hides the method; the reason is the error's cause
    with pytest.raises(AttributeError) as info:
        clf(solver="lbfgs").partial_fit(X, Y3, classes=[0, 1, 2])
    assert "only available for stochastic optimizers" in str(info.value.__cause__)


# ---------------------------------------------------------------------- the command
def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@functools.cache
def trained_run(folder: str) -> Path:
    """A small model trained by `chainrule train` on a CSV (shared by the cases)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    import pandas as pd

    frame = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    frame["label"] = np.where(frame["a"] > 0, "yes", "no")
    frame.to_csv(folder / "train.csv", index=False)
    code, _, err = run("train", "--data", folder / "train.csv", "--out", folder / "run",
                       "--epochs", "3", "--no-progress", "--no-plots")  # fmt: skip
    assert code == 0, err
    return folder


def _csv(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text)
    return folder / name


def train_with(*options):
    return lambda d: ["train", *options, "--out", d / "out"]


def predict_with(csv_text=None, out="p.csv"):
    def args(d: Path):
        data = d / "train.csv" if csv_text is None else _csv(d, "x.csv", csv_text)
        return ["predict", d / "run" / "model.npz", data, "--out", d / out]

    return args


COMMAND_CASES = {
    "train-alpha-negative": (
        train_with("--alpha", "-1"),
        ["--alpha (the L2 penalty) must be a number >= 0, got -1.0"],
    ),
    "train-diverges": (
        train_with("--data", "diabetes", "--solver", "sgd", "--lr", "1e6", "--no-early-stopping"),
        ["training diverged", "to inf in epoch 1 with --lr 1e+06",
         "lower the learning rate, e.g. --lr 100000", "Nothing was written"],
    ),
    "predict-out-missing-folder": (
        predict_with(out="no/p.csv"),
        ["the folder", "does not exist; create it first"],
    ),
    "predict-missing-column": (
        predict_with("a\n1.0\n"),
        ["missing feature columns 'b'", "trained with the columns 'a', 'b'"],
    ),
    "predict-text-in-number-column": (
        predict_with("a,b\n1,x\n2,3\n"),
        ["column 'b' must be numeric but 1 rows hold text such as 'x'"],
    ),
    "predict-infinite-value": (
        predict_with("a,b\n1,inf\n"),
        ["column 'b' has 1 infinite values", "blank cells are imputed"],
    ),
    "predict-empty-csv": (predict_with("a,b\n"), ["has a header but no rows of data"]),
}  # fmt: skip


@pytest.mark.parametrize("name", list(COMMAND_CASES))
def test_command_errors(name, tmp_path_factory):
    folder = trained_run(str(tmp_path_factory.getbasetemp() / "command-cases"))
    before = sorted(p.name for p in folder.rglob("*"))
    make_args, words = COMMAND_CASES[name]
    args = make_args(folder)
    created = {p.name for p in folder.iterdir()} - set(before)  # the CSV the case wrote
    code, _, err = run(*args, "--no-progress") if args[0] == "train" else run(*args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"chainrule {args[0]}: error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])
    after = sorted(p.name for p in folder.rglob("*") if p.name not in created)
    assert after == before  # nothing written: no out folder, no predictions, no staging
    for p in created:
        (folder / p).unlink()


# ---------------------------------------------------------------------- docs/errors.md
def _table_references() -> list[tuple[str, str]]:
    """(exception column, test reference) of every table row in docs/errors.md."""
    rows = []
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[4].startswith("`"):
            rows.append((cells[2], cells[4].strip("`")))
    return rows


def test_the_table_in_docs_lists_every_case_in_order():
    rows = _table_references()
    case_ids = [c.id for c in CASES] + list(COMMAND_CASES)
    listed = [ref for _, ref in rows if "test_" not in ref]
    assert listed == case_ids  # the same rows, in the same order
    for (exc_column, ref), c in zip(
        [(e, r) for e, r in rows if "test_" not in r], CASES, strict=False
    ):
        assert c.exc.__name__ in exc_column, (ref, exc_column)
    # every other row names a test that exists
    for _, ref in rows:
        if "test_" in ref:
            file, _, name = ref.rpartition("::")
            name = name.split("[")[0]
            path = ROOT / "tests" / (file or "test_reliability_inputs.py")
            assert re.search(rf"^def {name}\(", path.read_text(), re.M), ref


# ---------------------------------------------------------------------- rules, not errors
def test_layers_and_losses_propagate_nan_and_the_entry_points_refuse_it():
    # The engine is arithmetic: NaN in, NaN out, in exactly the rows it touches (no
    # per-forward scan of the data). Every entry point that takes user data refuses it.
    n = net()
    Y = n.predict(X_NAN)
    assert np.isnan(Y[4]).all() and np.isfinite(np.delete(Y, 4, axis=0)).all()
    value, dY = cr.CrossEntropy()(Y, Y3)
    assert np.isnan(value) and np.isnan(dY[4]).all()
    assert np.isfinite(np.delete(dY, 4, axis=0)).all()
    assert n.predict(X[:0]).shape == (0, 3)  # no samples: an empty output, no error
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(first at row 4, column 1\)"):
        fit_net(X=X_NAN)
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        cr.gradient_check(n, cr.CrossEntropy(), X_NAN, Y3)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf().fit(X_NAN, Y3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_dtype_rules(dtype):
    other = np.float64 if dtype == np.float32 else np.float32
    # Layers: the parameters' dtype decides; integers and booleans are converted, the
    # other float precision is refused (tested above); nothing is upcast.
    n = net(dtype)
    assert n.predict(np.ones((2, 3), int)).dtype == dtype
    assert n.predict(np.ones((2, 3), bool)).dtype == dtype
    # Losses: targets follow the output's dtype; the gradient has the output's dtype.
    value, dY = cr.MeanSquaredError()(np.zeros((2, 1), dtype), np.ones(2, other))
    assert dY.dtype == dtype and value == 1.0
    # fit: X must match the network (integers converted); targets of any numeric dtype.
    n = net(dtype)
    history = fit_net(n, X=np.round(X * 10).astype(int), y=Y3.astype(other))
    assert all(p.dtype == dtype for _, _, p, _ in n.parameters())
    assert np.isfinite(history["loss"]).all()
    # gradient_check: runs in float64 on a copy, whatever the dtypes (finite differences
    # need the digits); the network passed in keeps its dtype.
    n = net(dtype)
    report = cr.gradient_check(n, cr.CrossEntropy(), X[:4].astype(other), Y3[:4])
    assert report.ok and n.dtype == dtype
    # Estimators (scikit-learn's rule): the model's dtype is fixed by the first fit's X;
    # predict converts X to it (any float or integer dtype).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = clf().fit(X.astype(dtype), Y3)
    assert est.coefs_[0].dtype == dtype
    assert est.predict_proba(X.astype(other)).dtype == dtype
    np.testing.assert_array_equal(est.predict(X.astype(other)), est.predict(X.astype(dtype)))
    assert est.predict_proba((X * 10).astype(int)).dtype == dtype


def test_a_single_class_is_accepted_by_fit_and_the_estimators_as_in_scikit_learn():
    # A batch of one class is a valid cross-entropy problem, and scikit-learn's MLP
    # trains on one class and always predicts it (its check_classifiers_one_label
    # allows either that or an error). The command refuses it (a mistake there):
    # see test_cli_train_predict.py::test_errors_are_one_line_exit_2_and_write_nothing.
    history = fit_net(y=np.zeros(30, int))
    assert np.isfinite(history["loss"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = clf().fit(X, np.full(30, "only"))
    assert list(est.classes_) == ["only"]
    assert (est.predict(X) == "only").all()


# ---------------------------------------------------------------------- nothing lost
def weights(n):
    return [p.copy() for _, _, p, _ in n.parameters()]


@pytest.mark.parametrize(
    "bad",
    [
        dict(y=np.r_[Y3[:-1], 5], batch_size=4),  # found in the last batch
        dict(validation_data=(X[:, :2], Y3)),  # found after the first epoch
        dict(validation_data=(X, Y3 + 3)),
        dict(metrics=["r2"]),  # likewise
        dict(X=X_NAN),
        dict(early_stopping=cr.EarlyStopping(monitor="val_loss")),
    ],
    ids=["late-bad-class", "val-features", "val-classes", "metric", "nan", "monitor"],
)
def test_a_fit_that_fails_validation_leaves_the_network_and_optimizer_untouched(bad):
    n, opt = net(), cr.Adam(0.01)
    fit_net(n, optimizer=opt, epochs=1)  # a first, good fit: the optimizer has state
    W = n.layers[0].params["W"]
    before = weights(n)
    state = pickle.dumps(opt.state_of(W))  # t and the moment estimates m, v
    with pytest.raises((ValueError, TypeError)):
        fit_net(n, optimizer=opt, **bad)
    for a, b in zip(before, weights(n), strict=True):
        assert a.tobytes() == b.tobytes()
    assert pickle.dumps(opt.state_of(W)) == state
    fit_net(n, optimizer=opt, epochs=1)  # and it still trains


def _fitted_for(kind, solver, **params):
    make = clf if kind == "clf" else reg
    y = Y3 if kind == "clf" else Y_REG
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return make(solver=solver, **params).fit(X, y), y


# (input scale, learning rate) that make SGD diverge: a classifier's gradient is
# bounded (P - T), so only absurd values overflow its logits.
DIVERGE = {MLPRegressor: (1e3, 1e8), MLPClassifier: (1e50, 1e50)}

FAILED_FITS = {
    "nan-x": lambda est, y: est.fit(X_NAN, y),
    "nan-y": lambda est, y: est.fit(X, np.r_[y[:-1].astype(float), np.nan]),
    "new-features-and-bad-y": lambda est, y: est.fit(np.c_[X, X], np.r_[y[:-1], np.nan]),
    "bad-parameter": lambda est, y: est.set_params(alpha=-1.0).fit(X, y),
    "warm-start-wrong-features": lambda est, y: est.set_params(warm_start=True).fit(X[:, :2], y),
    "partial-fit-nan": lambda est, y: est.partial_fit(X_NAN, y),
    # one epoch on inputs of 1e200: the squared error overflows; the step already taken
    # and the optimizer's velocities must be undone (a classifier's loss stays finite)
    "partial-fit-diverges": lambda est, y: est.partial_fit(X * 1e200, y),
    "diverges": lambda est, y: est.set_params(learning_rate_init=DIVERGE[type(est)][1]).fit(
        X * DIVERGE[type(est)][0], y
    ),
    "warm-start-diverges": lambda est, y: est.set_params(
        warm_start=True, learning_rate_init=DIVERGE[type(est)][1]
    ).fit(X * DIVERGE[type(est)][0], y),
}


@pytest.mark.parametrize(
    ("kind", "failure"),
    [
        (k, f)
        for f in FAILED_FITS
        for k in ("clf", "reg")
        if (k, f) != ("clf", "partial-fit-diverges")
    ],
)
def test_a_failed_fit_leaves_a_fitted_estimator_exactly_as_it_was(kind, failure):
    # dropout: its generator must be rewound too; early stopping: validation_scores_
    extra = {"dropout": 0.2} if failure.startswith("partial") else {}
    est, y = _fitted_for(kind, "sgd", early_stopping=failure == "nan-y", **extra)
    params = est.get_params()
    before = pickle.dumps(est)  # every attribute, weights, optimizer, history, rng
    pred = est.predict(X)
    with pytest.raises(ValueError):
        FAILED_FITS[failure](est, y)
    est.set_params(**params)  # (set_params is not part of the fit)
    assert pickle.dumps(est) == before
    np.testing.assert_array_equal(est.predict(X), pred)
    assert est.coefs_[0] is est.network_.layers[0].params["W"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.set_params(warm_start=True).fit(X, y)  # and it is usable
    assert all(np.isfinite(W).all() for W in est.coefs_)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_a_failed_first_fit_leaves_the_estimator_unfitted(kind, solver):
    est = (clf if kind == "clf" else reg)(solver=solver)
    state = dict(est.__dict__)
    y = Y3 if kind == "clf" else Y_REG
    with pytest.raises(ValueError):
        est.fit(X_NAN, y)
    if solver != "lbfgs":
        with pytest.raises(ValueError):
            kwargs = {"classes": [0, 1, 2]} if kind == "clf" else {}
            est.partial_fit(X_NAN, y, **kwargs)
    assert est.__dict__ == state
    with pytest.raises(NotFittedError):
        est.predict(X)


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_an_estimator_that_diverges_says_when_and_stays_unfitted(Estimator):
    # scikit-learn runs a diverged fit on to max_iter and leaves NaN weights behind.
    scale, lr = DIVERGE[Estimator]
    est = Estimator(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=lr,
                    max_iter=50, random_state=0)  # fmt: skip
    y = Y3 if Estimator is MLPClassifier else Y_REG
    with pytest.raises(ValueError) as info:
        est.fit(X * scale, y)
    message = str(info.value)
    epoch = re.search(r"the training loss became (nan|inf) in epoch (\d+) of this fit", message)
    assert epoch and int(epoch.group(2)) < 50  # stopped when it happened, not at max_iter
    assert f"solver='sgd', learning_rate_init={lr:g}" in message
    assert f"Lower learning_rate_init (e.g. to {lr / 10:g})" in message
    assert not hasattr(est, "coefs_") and not hasattr(est, "n_features_in_")


@pytest.mark.parametrize(
    ("solver", "lr"), [("sgd", 1e-3), ("sgd", 1e-8), ("adam", 1e-3), ("adam", 1.0), ("lbfgs", 1e-3)]
)
def test_predict_never_returns_nan_from_a_model_that_trained(solver, lr):
    rng = np.random.default_rng(3)
    X_train = rng.normal(size=(40, 3)) * np.array([1.0, 100.0, 1e4])  # unscaled
    est = MLPRegressor(hidden_layer_sizes=(8,), solver=solver, learning_rate_init=lr,
                       max_iter=30, random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est.fit(X_train, X_train[:, 0])
        except ValueError as exc:  # diverged: said so, and nothing was fitted
            assert "non-finite" in str(exc) and not hasattr(est, "coefs_")
            return
    for X_new in (X_train, rng.normal(size=(10, 3)) * 1e6, np.zeros((3, 3))):
        assert np.isfinite(est.predict(X_new)).all()
