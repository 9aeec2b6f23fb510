"""Exact resume: "n epochs" equals "j epochs, save, a new process, load, n - j more".

For ``cr.fit`` (``checkpoint=`` / ``resume=``) and for both estimators (``partial_fit``,
``cr.save``, ``cr.load``), in float32 and float64, with Adam and with SGD + momentum:
the second half runs in a fresh Python process (``subprocess``) and the weights and
histories must be equal bit for bit (``np.array_equal``, ``==`` on lists of floats).
A tampered checkpoint (negative step count, moment of the wrong shape, NaN moment) is
refused with a ``ModelFileError`` that says what is wrong. The state protocol
(``state_dict`` / ``load_state_dict``) is tested piece by piece at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import chainrule as cr
from chainrule import MLPClassifier, MLPRegressor
from chainrule.callbacks import EarlyStopping
from chainrule.optimizers import SGD, Adam, AdamW, RMSProp
from chainrule.persistence import ModelFileError
from chainrule.schedules import ReduceLROnPlateau
from chainrule.training.checkpoint import Checkpoint

HERE = Path(__file__).parent
DTYPES = ["float32", "float64"]
OPTIMIZERS = ["adam", "sgd"]
EPOCHS, FIRST = 12, 5  # the whole run, and the epochs before the checkpoint


# ----------------------------------------------------------------------- cr.fit runs
def fit_data(dtype: str):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 4)).astype(dtype)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return X, y


def fit_run(dtype: str, optimizer: str, epochs: int, **kw):
    """A run with everything that has state: Adam's moments or SGD's momentum, a plateau
    schedule, dropout's generator, batch norm's running statistics, early stopping's
    counter and best weights, and a validation split."""
    X, y = fit_data(dtype)
    net = cr.Sequential(
        cr.Dense(4, 8, dtype=dtype, rng=3),
        cr.BatchNorm(8, dtype=dtype),
        cr.ReLU(),
        cr.Dropout(0.2, rng=5),
        cr.Dense(8, 3, dtype=dtype, rng=4),
    )
    schedule = ReduceLROnPlateau(factor=2.0, patience=1, min_delta=1.0)  # acts every 2nd epoch
    opt = Adam(0.01, schedule=schedule) if optimizer == "adam" else SGD(0.05, momentum=0.9)
    history = cr.fit(
        net, "cross_entropy", X, y, optimizer=opt, epochs=epochs, rng=0, batch_size=16,
        validation_split=0.25, early_stopping=EarlyStopping(patience=100),
        metrics=["accuracy"], **kw,
    )  # fmt: skip
    return net, history


def run_outcome(net, history) -> dict:
    """What must be equal: every parameter and buffer, and the whole History."""
    _, arrays = cr.persistence.layer_to_state(net)
    return {
        "arrays": {k: v.tolist() for k, v in arrays.items()},
        "dtypes": {k: str(v.dtype) for k, v in arrays.items()},
        "history": history.history,
        "epochs": history.epochs,
        "stopped_epoch": history.stopped_epoch,
        "params": history.params,
    }


def in_new_process(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (this file importable as ``t``); it prints
    one JSON value, returned here."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), *filter(None, [env.get("PYTHONPATH", ""), *sys.path])]
    )
    script = f"import json, warnings, test_exact_resume as t\n{code}"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def assert_same_arrays(a: dict, b: dict) -> None:
    """Bit for bit, in the same dtype (lists of floats compare exactly)."""
    assert a["dtypes"] == b["dtypes"]
    assert a["arrays"].keys() == b["arrays"].keys()
    for name in a["arrays"]:
        dtype = a["dtypes"][name]
        assert np.array_equal(
            np.asarray(a["arrays"][name], dtype=dtype), np.asarray(b["arrays"][name], dtype=dtype)
        ), name


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_fit_resumed_in_a_new_process_equals_one_run(tmp_path, dtype, optimizer):
    whole = json.loads(json.dumps(run_outcome(*fit_run(dtype, optimizer, EPOCHS))))
    path = tmp_path / "run.npz"
    fit_run(dtype, optimizer, FIRST, checkpoint=path)
    assert isinstance(cr.load(path), Checkpoint) and cr.load(path).epoch == FIRST
    resumed = in_new_process(
        f"print(json.dumps(t.run_outcome(*t.fit_run({dtype!r}, {optimizer!r}, {EPOCHS}, "
        f"resume={str(path)!r}))))"
    )
    assert_same_arrays(whole, resumed)
    assert resumed["history"] == whole["history"]  # every logged value of every epoch
    assert resumed["epochs"] == whole["epochs"] == list(range(1, EPOCHS + 1))
    assert resumed["stopped_epoch"] == whole["stopped_epoch"]
    assert resumed["params"] == whole["params"]
    lr = whole["history"]["lr"]
    if optimizer == "adam":
        assert lr[0] > lr[-1]  # the plateau schedule acted, across the checkpoint


def test_a_run_stopped_by_early_stopping_resumes_to_the_same_end(tmp_path):
    """Early stopping stopped the first run: the resumed one trains no further, and
    restores the same best weights as one run does."""
    X, y = fit_data("float64")

    def run(epochs, **kw):
        net = cr.Sequential(cr.Dense(4, 8, rng=3), cr.Tanh(), cr.Dense(8, 3, rng=4))
        history = cr.fit(
            net, "cross_entropy", X, y, optimizer=SGD(0.5, momentum=0.9), epochs=epochs,
            rng=0, validation_split=0.3, early_stopping=EarlyStopping(patience=2), **kw,
        )  # fmt: skip
        return net, history

    net_a, whole = run(200)
    assert whole.stopped_epoch is not None and whole.stopped_epoch < 100
    run(100, checkpoint=tmp_path / "c.npz")
    net_b, resumed = run(200, resume=tmp_path / "c.npz")
    assert resumed.history == whole.history and resumed.epochs == whole.epochs
    assert resumed.stopped_epoch == whole.stopped_epoch
    for (_, _, A, _), (_, _, B, _) in zip(net_a.parameters(), net_b.parameters(), strict=True):
        assert np.array_equal(A, B)


def test_resume_and_checkpoint_may_be_the_same_file_in_steps(tmp_path):
    path = tmp_path / "same.npz"
    whole = run_outcome(*fit_run("float64", "adam", EPOCHS))
    fit_run("float64", "adam", 4, checkpoint=path)
    fit_run("float64", "adam", 8, checkpoint=path, resume=path)
    net, history = fit_run("float64", "adam", EPOCHS, resume=path)
    assert_same_arrays(whole, run_outcome(net, history))
    assert history.history == whole["history"]


# ----------------------------------------------------------------------- estimators
def estimator_data(dtype: str):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5)).astype(dtype)
    y_class = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    y_value = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    return X, y_class, y_value


def make_estimator(kind: str, solver: str):
    cls = MLPClassifier if kind == "classifier" else MLPRegressor
    return cls(
        hidden_layer_sizes=(7,), solver=solver, random_state=0, batch_size=32,
        momentum=0.9, learning_rate="invscaling" if solver == "sgd" else "constant",
        learning_rate_init=0.01, dropout=0.1,
    )  # fmt: skip


def partial_fits(est, dtype: str, kind: str, calls: int):
    X, y_class, y_value = estimator_data(dtype)
    y = y_class if kind == "classifier" else y_value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(calls):
            if kind == "classifier":
                est.partial_fit(X, y, classes=[0, 1, 2])
            else:
                est.partial_fit(X, y)
    return est


def estimator_outcome(est) -> dict:
    arrays = {f"W{i}": W for i, W in enumerate(est.coefs_)}
    arrays.update({f"b{i}": b for i, b in enumerate(est.intercepts_)})
    return {
        "arrays": {k: v.tolist() for k, v in arrays.items()},
        "dtypes": {k: str(v.dtype) for k, v in arrays.items()},
        "loss_curve_": est.loss_curve_,
        "counts": [est.n_iter_, est.t_, est._no_improvement_count],
        "best_loss_": est.best_loss_,
    }


@pytest.mark.parametrize("solver", OPTIMIZERS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_partial_fit_resumed_in_a_new_process_equals_one_run(tmp_path, kind, dtype, solver):
    k, j = 6, 3
    whole = estimator_outcome(partial_fits(make_estimator(kind, solver), dtype, kind, k))
    path = cr.save(partial_fits(make_estimator(kind, solver), dtype, kind, j), tmp_path / "e")
    resumed = in_new_process(
        f"est = t.cr.load({str(path)!r})\n"
        f"print(json.dumps(t.estimator_outcome(t.partial_fits(est, {dtype!r}, {kind!r}, {k - j}))))"
    )
    assert_same_arrays(whole, resumed)
    assert resumed["loss_curve_"] == whole["loss_curve_"]
    assert resumed["counts"] == whole["counts"]
    assert resumed["best_loss_"] == whole["best_loss_"]


def test_the_estimator_file_holds_the_solver_state(tmp_path):
    est = partial_fits(make_estimator("classifier", "adam"), "float32", "classifier", 2)
    header, arrays = read_file(cr.save(est, tmp_path / "e"))
    state = header["spec"]["solver_state"]
    assert state["class"] == "AdamRule" and state["t"] == 2 * 4  # 4 batches a call
    assert state["config"]["beta_1"] == 0.9
    assert sorted(k for k in arrays if k.startswith("solver.")) == [
        "solver.ms.0", "solver.ms.1", "solver.ms.2", "solver.ms.3",
        "solver.vs.0", "solver.vs.1", "solver.vs.2", "solver.vs.3",
    ]  # fmt: skip
    assert np.array_equal(arrays["solver.ms.0"], est._optimizer.ms[0])
    assert arrays["solver.ms.0"].dtype == np.float32
    assert len(header["spec"]["layer_rngs"]) == 1  # the dropout layer's generator


# ----------------------------------------------------------------------- tampered files
def read_file(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    return json.loads(arrays.pop("__spec__").item()), arrays


def write_file(path: Path, header: dict, arrays: dict[str, np.ndarray]) -> Path:
    """A consistent file (header and entries agree) holding whatever values we like."""
    header["arrays"] = [
        {"name": k, "shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()
    ]
    np.savez(path, __spec__=np.array(json.dumps(header)), **arrays)
    return path


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ck") / "run.npz"
    fit_run("float32", "adam", 3, checkpoint=path)
    return path


def tamper_step_count(header, arrays):
    header["spec"]["optimizer"]["0.t"] = -3


def tamper_moment_shape(header, arrays):
    arrays["optimizer.0.M"] = np.zeros((5, 8), dtype=np.float32)


def tamper_moment_nan(header, arrays):
    arrays["optimizer.0.V"] = arrays["optimizer.0.V"].copy()
    arrays["optimizer.0.V"][1, 2] = np.nan


def tamper_negative_second_moment(header, arrays):
    arrays["optimizer.2.V"] = -arrays["optimizer.2.V"] - 1


def tamper_early_stopping_weights(header, arrays):
    arrays["callbacks.0.best.0"] = arrays["callbacks.0.best.0"].astype(np.float64)


def tamper_schedule_wait(header, arrays):
    header["spec"]["schedule"]["wait"] = -1


def tamper_generator(header, arrays):
    header["spec"]["rng"]["now"]["bit_generator"] = "os.system"


def tamper_history(header, arrays):
    arrays["history.epochs"] = np.array([1, 2, 2])


TAMPERINGS = [
    (tamper_step_count, "Adam.load_state_dict: '0.t' must be an integer >= 1, got -3."),
    (tamper_moment_shape, "'0.M' has shape (5, 8) and dtype float32, but the parameter it "
     "belongs to has shape (4, 8)"),
    (tamper_moment_nan, "Adam.load_state_dict: '0.V' holds NaN or inf; the state is damaged."),
    (tamper_negative_second_moment, "'2.V' holds values below 0"),
    (tamper_early_stopping_weights, "'best.0' has shape (4, 8) and dtype float64"),
    (tamper_schedule_wait, "ReduceLROnPlateau.load_state_dict: 'wait' must be an integer >= 0"),
    (tamper_generator, "must name one of ['PCG64'"),
    (tamper_history, "the epochs must count 1, 2, 3"),
]  # fmt: skip


@pytest.mark.parametrize(("tamper", "words"), TAMPERINGS, ids=lambda v: getattr(v, "__name__", ""))
def test_a_tampered_checkpoint_is_refused_saying_why(checkpoint_file, tmp_path, tamper, words):
    header, arrays = read_file(checkpoint_file)
    tamper(header, arrays)
    path = write_file(tmp_path / "bad.npz", header, arrays)
    with pytest.raises(ModelFileError) as info:
        cr.load(path)
    assert words in str(info.value)
    assert str(path) in str(info.value)
    with pytest.raises(ModelFileError):  # and fit(resume=...) refuses it before any step
        fit_run("float32", "adam", 5, resume=path)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"solver.t": -1}, "AdamRule.load_state_dict: 't' must be an integer >= 0, got -1."),
        ({"solver.ms.0": "nan"}, "AdamRule.load_state_dict: 'ms.0' holds NaN or inf"),
        ({"solver.ms.1": "shape"}, "'ms.1' has shape (3,) and dtype float64"),
        ({"best_coefs.0": "shape"}, "the stored best weights: 'best_coefs.0' has shape (3,)"),
    ],
)
def test_a_tampered_estimator_solver_state_is_refused(tmp_path, change, words):
    est = partial_fits(make_estimator("regressor", "adam"), "float64", "regressor", 2)
    header, arrays = read_file(cr.save(est, tmp_path / "e"))
    ((name, how),) = change.items()
    if name == "solver.t":
        header["spec"]["solver_state"]["t"] = how
    elif how == "nan":
        arrays[name] = np.full_like(arrays[name], np.nan)
    else:
        arrays[name] = np.zeros(3)
    with pytest.raises(ModelFileError) as info:
        cr.load(write_file(tmp_path / "bad.npz", header, arrays))
    assert words in str(info.value)


# ----------------------------------------------------------------------- resume's checks
@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"optimizer": Adam(0.02)}, "the optimizer is Adam with {'lr': 0.02"),
        ({"X": "other"}, "the training or validation data differ"),
        ({"epochs": 2}, "the checkpoint is at epoch 3, after epochs=2"),
        ({"net": "wider"}, "the network differs from the checkpoint's"),
        ({"metrics": []}, "the logged values (metrics, validation) differ"),
    ],
)
def test_resume_refuses_another_run_and_changes_nothing(tmp_path, change, words):
    X, y = fit_data("float64")
    path = tmp_path / "c.npz"

    def args(**over):
        width = 9 if over.get("net") == "wider" else 8
        net = cr.Sequential(cr.Dense(4, width, rng=3), cr.ReLU(), cr.Dense(width, 3, rng=4))
        kw = {"optimizer": Adam(0.01), "epochs": 5, "metrics": ["accuracy"], "rng": 0}
        kw.update({k: v for k, v in over.items() if k in kw})
        data = X + 1 if over.get("X") == "other" else X
        return net, data, kw

    net, data, kw = args()
    kw["epochs"] = 3
    cr.fit(net, "cross_entropy", data, y, validation_split=0.2, checkpoint=path, **kw)
    net, data, kw = args(**change)
    before = [p.copy() for _, _, p, _ in net.parameters()]
    rng = np.random.default_rng(7)
    state = rng.bit_generator.state
    kw["rng"] = rng
    with pytest.raises(ValueError, match="fit: resume") as info:
        cr.fit(net, "cross_entropy", data, y, validation_split=0.2, resume=path, **kw)
    assert words in str(info.value)
    assert all(
        np.array_equal(a, p) for a, (_, _, p, _) in zip(before, net.parameters(), strict=True)
    )
    assert rng.bit_generator.state == state  # the generator is left as it was
    assert kw["optimizer"].state_dict(net) == {
        "class": "Adam", "config": kw["optimizer"].get_config(), "lr": kw["optimizer"].lr
    }  # fmt: skip


# ----------------------------------------------------------------------- the protocol
def small_net(dtype="float64"):
    return cr.Sequential(
        cr.Dense(3, 4, dtype=dtype, rng=0), cr.Tanh(), cr.Dense(4, 2, rng=1, dtype=dtype)
    )


def grads(net, seed):
    rng = np.random.default_rng(seed)
    for _, _, p, g in net.parameters():
        g[...] = rng.normal(size=p.shape)


def through_a_file(state: dict) -> dict:
    """``state`` as a file gives it back: the values through JSON, the arrays copied."""
    values, arrays = cr.persistence.split_state(state, "x.")
    arrays = {k: v.copy() for k, v in arrays.items()}
    return cr.persistence.join_state(json.loads(json.dumps(values)), arrays, "x.")


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(0.1, momentum=0.9),
        lambda: SGD(0.1, momentum=0.5, nesterov=True),
        lambda: SGD(0.1),
        lambda: Adam(0.01),
        lambda: AdamW(0.01, weight_decay=0.1),
        lambda: RMSProp(0.01),
    ],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_an_optimizer_state_restored_in_a_fresh_optimizer_steps_identically(make, dtype):
    net_a, net_b = small_net(dtype), small_net(dtype)
    opt_a = make()
    for seed in range(3):
        grads(net_a, seed)
        opt_a.step(net_a)
    for (_, _, A, _), (_, _, B, _) in zip(net_a.parameters(), net_b.parameters(), strict=True):
        B[...] = A
    state = opt_a.state_dict(net_a)
    assert state["0.t"] == 3 and isinstance(state["lr"], float)
    opt_b = make()
    opt_b.load_state_dict(through_a_file(state), net_b)
    for seed in range(3, 6):
        grads(net_a, seed)
        grads(net_b, seed)
        opt_a.step(net_a)
        opt_b.step(net_b)
    for (_, _, A, _), (_, _, B, _) in zip(net_a.parameters(), net_b.parameters(), strict=True):
        assert np.array_equal(A, B)


def test_an_optimizer_state_is_checked_against_the_network_and_the_config():
    net = small_net()
    opt = Adam(0.01)
    grads(net, 0)
    opt.step(net)
    state = opt.state_dict(net)
    with pytest.raises(ValueError, match=r"written by Adam with .* but this is SGD"):
        SGD(0.01).load_state_dict(state, net)
    with pytest.raises(
        ValueError,
        match=r"'0.M' has shape \(3, 4\) and dtype float64, but the "
        r"parameter it belongs to has shape \(3, 4\) and dtype float32",
    ):
        Adam(0.01).load_state_dict(state, small_net("float32"))
    with pytest.raises(ValueError, match=r"'1.M' is given without the step count '1.t'"):
        Adam(0.01).load_state_dict({k: v for k, v in state.items() if k != "1.t"}, net)
    fresh = Adam(0.01)
    with pytest.raises(ValueError, match="unknown entries"):
        fresh.load_state_dict({**state, "9.M": state["0.M"]}, net)
    assert fresh.state_dict(net) == {"class": "Adam", "config": fresh.get_config(), "lr": 0.01}


def test_schedule_and_early_stopping_states_round_trip():
    plateau = ReduceLROnPlateau(factor=2.0, patience=3)
    assert plateau.state_dict()["best"] is None
    for value in (1.0, 0.5, 0.7):
        plateau.next_lr(1, 0.1, 0.1, value)
    other = ReduceLROnPlateau(factor=2.0, patience=3)
    other.load_state_dict(json.loads(json.dumps(plateau.state_dict())))
    assert (other.best, other.wait) == (0.5, 1)
    with pytest.raises(ValueError, match="written by ReduceLROnPlateau"):
        ReduceLROnPlateau(factor=3.0, patience=3).load_state_dict(plateau.state_dict())

    net = small_net()
    stop = EarlyStopping(monitor="loss", patience=5)
    stop.on_train_begin(net, ["loss"])
    stop.on_epoch_end(1, {"loss": 1.0})
    best = [p.copy() for _, _, p, _ in net.parameters()]
    grads(net, 0)
    Adam(0.1).step(net)
    stop.on_epoch_end(2, {"loss": 2.0})
    state = stop.state_dict(net)
    assert (state["wait"], state["best_value"], state["best_epoch"]) == (1, 1.0, 1)
    again = EarlyStopping(monitor="loss", patience=5)
    again.on_train_begin(net, ["loss"])
    again.load_state_dict(state, net)
    again.on_train_end(net, None)  # restores the best weights
    for saved, (_, _, p, _) in zip(best, net.parameters(), strict=True):
        assert np.array_equal(saved, p)


def test_a_checkpoint_into_a_missing_folder_is_refused_before_training(tmp_path):
    X, y = fit_data("float64")
    net = cr.Sequential(cr.Dense(4, 3, rng=0))
    before = net.layers[0].params["W"].copy()
    with pytest.raises(FileNotFoundError, match=r"the folder .* does not exist"):
        cr.fit(net, "cross_entropy", X, y, optimizer=SGD(0.1), epochs=2,
               checkpoint=tmp_path / "nowhere" / "c.npz")  # fmt: skip
    assert np.array_equal(net.layers[0].params["W"], before)
