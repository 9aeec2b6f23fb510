"""Files: ``load`` refuses damaged estimator and ``ModelBundle`` files with a clear
``ModelFileError`` and without executing anything, ``chainrule predict`` turns each into
one line and exit status 2, and no failed ``save``, ``train`` or ``predict`` leaves
anything half-written.

tests/test_persistence.py covers the same damage for networks (the "layer" kind), the
header checks and the atomic save of a network; this file covers the other kinds and
the command.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

import chainrule as cr
from chainrule import MLPClassifier, MLPRegressor, persistence
from chainrule.cli import main

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 3))
Y3 = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def train_csv(folder: Path) -> Path:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=40), "city": rng.choice(["x", "y"], 40)})
    frame["label"] = np.where(frame["a"] > 0, "yes", "no")
    frame.to_csv(folder / "train.csv", index=False)
    return folder / "train.csv"


@pytest.fixture(scope="module")
def good_files(tmp_path_factory) -> dict[str, Path]:
    """One good file of each kind: a classifier, a regressor, a bundle from `train`."""
    folder = tmp_path_factory.mktemp("good")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, Y3)
        reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, X[:, 0])
    code, _, err = run("train", "--data", train_csv(folder), "--out", folder / "run",
                       "--hidden", "4", "--epochs", "3", "--no-progress", "--no-plots")  # fmt: skip
    assert code == 0, err
    return {
        "classifier": cr.save(est, folder / "clf.npz"),
        "regressor": cr.save(reg, folder / "reg.npz"),
        "bundle": folder / "run" / "model.npz",
    }


def read_raw(path):
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    return json.loads(arrays.pop("__spec__").item()), arrays


def write_raw(path, header, arrays):
    np.savez(path, __spec__=np.array(json.dumps(header)), **arrays)


def estimator_spec(header):
    """The estimator's part of a header (the bundle nests it under "estimator")."""
    spec = header["spec"]
    return spec["estimator"] if header["kind"] == "ModelBundle" else spec


def prefix(header):
    return "model." if header["kind"] == "ModelBundle" else ""


def first_weight(header):
    return prefix(header) + "network.layers.0.W"


def entry(header, name):
    """The header's description of array ``name``."""
    return next(e for e in header["arrays"] if e["name"] == name)


def _edit(change):
    def damage(good: Path, target: Path) -> None:
        header, arrays = read_raw(good)
        change(header, arrays)
        write_raw(target, header, arrays)

    return damage


def _bytes(change):
    def damage(good: Path, target: Path) -> None:
        target.write_bytes(change(good.read_bytes()))

    return damage


class Payload:
    """Unpickling this would create ``marker``: proof that loading runs no code."""

    marker: Path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def _object_array(good: Path, target: Path) -> None:
    header, arrays = read_raw(good)
    name = first_weight(header)
    arrays[name] = np.array([Payload()], dtype=object)
    np.savez(target, __spec__=np.array(json.dumps(header)), **arrays)  # pickles it


def _set_array(name_of, value_of, entry_of=None):
    def change(header, arrays):
        name = name_of(header)
        arrays[name] = value_of(arrays[name])
        if entry_of is not None:
            entry(header, name).update(entry_of(arrays[name]))

    return change


DAMAGE = {
    "random-bytes": (_bytes(lambda b: np.random.default_rng(5).bytes(len(b))),
                     ["not a chainrule model file", "zip"]),
    "truncated": (_bytes(lambda b: b[: len(b) // 2]),
                  ["damaged or truncated", "save the model again"]),
    "truncated-end": (_bytes(lambda b: b[:-30]), ["damaged or truncated"]),
    "object-array": (_object_array, ["object array", "never loads"]),
    "newer-format": (_edit(lambda h, a: h.update(format_version=2)),
                     ["format version 2", "newer chainrule", "upgrade chainrule"]),
    "header-shape-mismatch": (
        _edit(lambda h, a: entry(h, first_weight(h)).update(shape=[9, 9])),
        ["has shape (3, 4)", "header says shape (9, 9)", "inconsistent"],
    ),
    "weights-shape-vs-architecture": (
        _edit(_set_array(first_weight, lambda W: np.zeros((5, 4)), lambda W: {"shape": [5, 4]})),
        ["parameter 'W' must have shape (3, 4)", "has shape (5, 4)"],
    ),
    "nan-weights": (
        _edit(_set_array(first_weight, lambda W: np.where(W > 0, np.nan, W))),
        ["holds NaN or inf", "diverged", "train it again"],
    ),
    "missing-fitted-entry": (
        _edit(lambda h, a: estimator_spec(h)["fitted"].pop("n_iter_")),
        ["could not be rebuilt", "the entry 'n_iter_' is missing"],
    ),
    "wrong-output-activation": (
        _edit(lambda h, a: estimator_spec(h)["fitted"].update(out_activation_="exp")),
        ["stored out_activation_ 'exp' does not match", "inconsistent"],
    ),
    "n-features-vs-network": (
        _edit(lambda h, a: estimator_spec(h)["fitted"].update(n_features_in_=7)),
        ["layer sizes [3, 4,", "describe [7, 4,", "inconsistent"],
    ),
    "bad-hyper-parameter": (
        _edit(lambda h, a: estimator_spec(h)["params"].update(alpha=-1.0)),
        ["'alpha' parameter", "range [0.0, inf)"],
    ),
    "curve-not-numbers": (
        _edit(lambda h, a: estimator_spec(h)["fitted"].update(loss_curve_=["x"])),
        ["expected a number, 'nan', 'inf' or '-inf', got 'x'"],
    ),
    "spec-not-an-object": (_edit(lambda h, a: h.update(spec=[1, 2])), ["could not be rebuilt"]),
}  # fmt: skip

KIND_ONLY = {  # damage that only makes sense for some kinds
    "classes-vs-outputs": (
        ("classifier", "bundle"),
        _edit(_set_array(lambda h: prefix(h) + "classes_", lambda c: np.append(c, c[:1]),
                         lambda c: {"shape": [len(c)]})),
        ["stored classes", "could not be rebuilt"],
    ),
    "bundle-task-vs-estimator": (
        ("bundle",),
        _edit(lambda h, a: h["spec"].update(task="regression")),
        ["the estimator does not match the task"],
    ),
    "bundle-preprocessing": (
        ("bundle",),
        _edit(_set_array(lambda h: "pre.numeric_scale", lambda s: -s)),
        ["preprocessing state is inconsistent", "'numeric_scale' must be positive"],
    ),
}  # fmt: skip

VARIANTS = [(kind, name) for kind in ("classifier", "regressor", "bundle") for name in DAMAGE]
VARIANTS += [(kind, name) for name, (kinds, _, _) in KIND_ONLY.items() for kind in kinds]


def damaged(good_files, tmp_path, kind, name) -> tuple[Path, list[str]]:
    if name in DAMAGE:
        damage, words = DAMAGE[name]
    else:
        _, damage, words = KIND_ONLY[name]
    target = tmp_path / f"{kind}-{name}.npz"
    Payload.marker = tmp_path / "EXECUTED"
    damage(good_files[kind], target)
    return target, words


@pytest.mark.parametrize(("kind", "name"), VARIANTS, ids=[f"{k}-{n}" for k, n in VARIANTS])
def test_load_refuses_a_damaged_estimator_or_bundle(good_files, tmp_path, kind, name):
    path, words = damaged(good_files, tmp_path, kind, name)
    with pytest.raises(cr.ModelFileError) as info:
        cr.load(path)
    message = str(info.value)
    assert str(path) in message and info.value.path == path
    for word in words:
        assert word.lower() in message.lower(), (word, message)
    assert not (tmp_path / "EXECUTED").exists()  # nothing was unpickled, nothing ran


def test_the_good_files_load(good_files):
    for kind, path in good_files.items():
        obj = cr.load(path)
        assert type(obj).__name__ == {"classifier": "MLPClassifier", "regressor": "MLPRegressor",
                                      "bundle": "ModelBundle"}[kind]  # fmt: skip


BUNDLE_VARIANTS = [name for kind, name in VARIANTS if kind == "bundle"]


@pytest.mark.parametrize("name", BUNDLE_VARIANTS)
def test_command_predict_refuses_each_damaged_file(good_files, tmp_path, name):
    kind = "bundle"
    path, _ = damaged(good_files, tmp_path, kind, name)
    data = good_files["bundle"].parent.parent / "train.csv"
    code, out, err = run("predict", path, data, "--out", tmp_path / "p.csv")
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule predict: error: cannot load model")
    assert "Traceback" not in err
    assert not (tmp_path / "p.csv").exists()
    assert not (tmp_path / "EXECUTED").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no partial file


def test_command_predict_refuses_a_network_file(tmp_path, good_files):
    cr.save(cr.Sequential(cr.Dense(2, 1, rng=0)), tmp_path / "net.npz")
    data = good_files["bundle"].parent.parent / "train.csv"
    code, _, err = run("predict", tmp_path / "net.npz", data, "--out", tmp_path / "p.csv")
    assert code == 2 and "holds a Sequential, not a model saved by `chainrule train`" in err
    assert not (tmp_path / "p.csv").exists()


# ---------------------------------------------------------------------- failed saves
def test_an_estimator_with_non_finite_weights_is_not_saved(tmp_path, good_files):
    est = cr.load(good_files["regressor"])
    est.coefs_[0] = np.full_like(est.coefs_[0], np.inf)  # adopted by the network on save
    target = good_files["regressor"].parent / "copy.npz"
    before = sorted(os.listdir(target.parent))
    with pytest.raises(ValueError, match=r"would not load back.*holds NaN or inf"):
        cr.save(est, target)
    assert sorted(os.listdir(target.parent)) == before


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()], ids=repr)
@pytest.mark.parametrize("kind", ["classifier", "bundle"])
def test_a_failed_save_of_an_estimator_or_bundle_leaves_the_old_file(
    tmp_path, good_files, monkeypatch, exc, kind
):
    obj = cr.load(good_files[kind])
    target = tmp_path / "model.npz"
    target.write_bytes(good_files[kind].read_bytes())
    before = target.read_bytes()
    real_write = np.lib.format.write_array
    calls = []

    def failing_write(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # the header and one array are in the archive
            raise exc
        return real_write(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write)
    with pytest.raises(type(exc)):
        cr.save(obj, target)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.npz"]  # no temporary file
    assert target.read_bytes() == before


# ---------------------------------------------------------------------- the command
def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_train_run_that_fails_while_publishing_restores_the_earlier_run(tmp_path, monkeypatch):
    csv = train_csv(tmp_path)
    args = ["train", "--data", csv, "--out", tmp_path / "run", "--no-progress", "--no-plots"]
    assert run(*args, "--epochs", "2")[0] == 0
    (tmp_path / "run" / "notes.txt").write_text("mine")
    before = _snapshot(tmp_path / "run")
    real_replace = os.replace
    moves = []

    def failing_replace(src, dst):
        if Path(dst).parent == tmp_path / "run":
            moves.append(dst)
            if len(moves) == 3:  # two new files are in place, the third fails
                raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    code, _, err = run(*args, "--epochs", "3")  # a new run into the same folder
    monkeypatch.undo()
    assert code == 2 and "disk full" in err
    assert _snapshot(tmp_path / "run") == before  # the earlier run, byte for byte
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging


def test_a_train_run_that_fails_while_plotting_writes_nothing(tmp_path, monkeypatch):
    from chainrule import plotting

    def failing_save(fig, path, **kwargs):
        raise OSError("no space left for the plots")

    monkeypatch.setattr(plotting, "save_figure", failing_save)
    code, _, err = run("train", "--data", train_csv(tmp_path), "--out", tmp_path / "run",
                       "--epochs", "2", "--no-progress")  # fmt: skip
    assert code == 2 and "no space left for the plots" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.csv"]  # no run/, no staging


def test_a_failed_predict_leaves_an_existing_predictions_file(tmp_path, good_files, monkeypatch):
    model = good_files["bundle"]
    data = good_files["bundle"].parent.parent / "train.csv"
    out = tmp_path / "p.csv"
    out.write_text("earlier predictions\n")
    (tmp_path / "bad.csv").write_text("a\n1.0\n")  # the column 'city' is missing
    code, _, err = run("predict", model, tmp_path / "bad.csv", "--out", out)
    assert code == 2 and "missing feature columns 'city'" in err
    assert out.read_text() == "earlier predictions\n"

    def failing_to_csv(self, path, *args, **kwargs):
        Path(path).write_text("half a fi")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing_to_csv)
    code, _, err = run("predict", model, data, "--out", out)
    monkeypatch.undo()
    assert code == 2 and "disk full" in err
    assert out.read_text() == "earlier predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "p.csv"]


def test_persistence_keeps_the_format_version_these_tests_assume():
    assert persistence.FORMAT_VERSION == 1


def test_saving_into_a_read_only_folder_names_the_users_file(tmp_path, monkeypatch):
    """The error named the temporary file beside the target (issue 25). Root ignores
    permissions, so the folder's refusal is simulated at os.open."""
    import os

    real_open = os.open

    def read_only(path, flags, *args):
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    target = tmp_path / "model.npz"
    with pytest.raises(PermissionError) as info:
        cr.save(cr.Sequential(cr.Dense(2, 1, rng=0)), target)
    assert str(info.value) == f"[Errno 13] Permission denied: cannot write: '{target}'"
    assert list(tmp_path.iterdir()) == []
