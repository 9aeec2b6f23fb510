"""What ``chainrule train`` does, step by step, kept apart from argument parsing.

load data -> split -> preprocess -> fit an estimator (with a progress bar) -> metrics
-> write model.npz, metrics.json, history.csv and plots into the output folder.

Everything is written into a hidden staging folder next to ``--out`` first and moved
into place only when every file is complete, so a run that fails (bad data, a
diverging network, Ctrl-C) leaves nothing half-written in ``--out``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import _interrupt
from ._guards import (
    check_preprocessing_size,
    check_target_magnitude,
    check_training_size,
    check_writable_folder,
)
from ._options import TrainOptions
from ._resume import data_identity

MAX_PRINTED_CLASSES = 30  # a confusion matrix wider than this is not printed
MAX_MATRIX_CLASSES = 100  # nor stored in metrics.json, nor plotted


def _say(msg: str = "") -> None:
    """Print a line; if stdout is a closed pipe (``chainrule train | head``), keep
    training and writing the files silently instead of dying halfway."""
    try:
        print(msg, flush=True)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _table(rows: list[list[str]], header: list[str]) -> str:
    cells = [header, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def fmt(r: list[str]) -> str:
        pairs = enumerate(zip(r, widths, strict=True))
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in pairs)

    rule = "-" * len(fmt(header))
    return "\n".join([fmt(header), rule, *map(fmt, rows)])


def classification_metrics(y_true, y_pred, classes) -> dict:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    p, r, f, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, average="macro", zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision_macro": float(p),
        "recall_macro": float(r),
        "f1_macro": float(f),
        # classes x classes numbers: 10,000 classes would be 800 MB, so kept only when small
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=classes).tolist()
        if len(classes) <= MAX_MATRIX_CLASSES
        else f"not stored: {len(classes):,} classes (at most {MAX_MATRIX_CLASSES})",
    }


def regression_metrics(y_true, y_pred) -> dict:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    mse = float(mean_squared_error(y_true, y_pred))
    return {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        # one row has no variance to explain: undefined (null in metrics.json)
        "r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else math.nan,
    }


def _metrics_report(task: str, metrics: dict, classes) -> str:
    parts = ("train", "test")
    if task == "classification":
        names = ("accuracy", "precision_macro", "recall_macro", "f1_macro")
    else:
        names = ("mse", "rmse", "mae", "r2")
    rows = [[n] + [f"{metrics[p][n]:.4f}" for p in parts] for n in names]
    text = _table(rows, ["metric", *parts])
    if task == "classification" and len(classes) > MAX_PRINTED_CLASSES:
        text += (
            f"\n\n(no confusion matrix printed: {len(classes):,} classes, at most "
            f"{MAX_PRINTED_CLASSES} are shown)"
        )
    elif task == "classification":
        labels = [str(c) for c in classes]
        cm = metrics["test"]["confusion_matrix"]
        rows = [[labels[i]] + [str(v) for v in row] for i, row in enumerate(cm)]
        text += "\n\nconfusion matrix on the test set (rows: true class, columns: predicted)\n"
        text += _table(rows, ["", *labels])
    return text


def _write_plots(folder: Path, bundle, history, loop, X_test, y_test, y_pred) -> list[str]:
    from .. import plotting

    est = bundle.estimator
    written = []

    def save(fig, name):
        plotting.save_figure(fig, folder / name)
        written.append(name)

    kept = None if loop is None else loop.best_epoch
    save(loss_figure(history, kept, bundle.task), "loss.png")
    if len(history):
        save(gradient_figure(history, est), "gradient_norms.png")
    n = f"test set, {len(y_test)} rows"
    if bundle.task == "classification" and len(bundle.classes_) > MAX_MATRIX_CLASSES:
        pass  # no per-class plots: 10,000 classes take minutes and GBs to draw, unreadably
    elif bundle.task == "classification":
        fig = plotting.plot_confusion_matrix(y_test, y_pred, labels=list(bundle.classes_))
        save(_titled(fig, n), "confusion_matrix.png")
        if X_test.shape[1] >= 2:  # a plane needs two columns (one left beside an ID: none)
            fig = plotting.plot_decision_regions(est, X_test, np.asarray(y_test), points_name=n)
            save(fig, "decision_regions.png")
    else:
        save(_titled(plotting.plot_predictions(y_test, y_pred), n), "predictions.png")
        save(_titled(plotting.plot_residuals(y_test, y_pred), n), "residuals.png")
    return written


def _titled(fig, what: str):
    """The figure with ``what`` (e.g. "test set, 30 rows") added to its title."""
    ax = fig.axes[0]
    ax.set_title(f"{ax.get_title()} ({what})")
    return fig


def loss_figure(history, kept: int | None, task: str):
    """loss.png: the training and the validation *data* loss per epoch, the L2 penalty
    in neither (the penalised objective would lie above the validation curve, and
    cross-entropy would not start near ln C); lbfgs, which logs only its objective,
    says so on the axis."""
    from .. import plotting

    frame = history
    label = f"{loss_name(task)} + L2 penalty (the objective)"
    if "data_loss" in history.columns and history["data_loss"].notna().any():
        frame = history.drop(columns=["loss"]).rename(columns={"data_loss": "loss"})
        label = f"{loss_name(task)} (data loss, without the L2 penalty)"
    frame = frame[[c for c in ("loss", "val_loss") if c in frame.columns]]
    fig = plotting.plot_loss(frame, mark_epoch=kept)
    fig.axes[0].set_ylabel(label)
    return fig


def gradient_figure(history, est):
    """gradient_norms.png, each line named by its Dense layer and its size
    ("dense_1 (4 -> 64)", "dense_3 (32 -> 3, output)")."""
    from .. import plotting

    fig = plotting.plot_gradient_norms(history)
    shapes = [W.shape for W in est.coefs_]
    ax = fig.axes[0]
    for line in ax.get_lines():
        name = str(line.get_label())
        if name.startswith("dense_") and name[6:].isdigit() and int(name[6:]) <= len(shapes):
            k = int(name[6:])
            n_in, n_out = shapes[k - 1]
            last = ", output" if k == len(shapes) else ""
            line.set_label(f"{name} ({n_in} -> {n_out}{last})")
    ax.legend(fontsize="small", title="layer (inputs -> units)")
    return fig


def _estimator(task: str, opts: TrainOptions, alpha: float):
    from ..estimators.mlp import MLPClassifier, MLPRegressor

    cls = MLPClassifier if task == "classification" else MLPRegressor
    return cls(
        hidden_layer_sizes=tuple(opts.hidden),
        activation=opts.activation,
        solver=opts.solver,
        alpha=alpha,
        batch_size="auto" if opts.batch_size is None else opts.batch_size,
        learning_rate_init=opts.lr,
        max_iter=opts.epochs,
        random_state=opts.seed,
    )


def _diverged(opts: TrainOptions, what: str):
    from ..datasets.tables import DataError

    return DataError(
        f"{what} with --lr {opts.lr:g}. The features are already standardised, so lower "
        f"the learning rate, e.g. --lr {opts.lr / 10:g}. Nothing was written."
    )


def _fit_lbfgs(opts: TrainOptions, task: str, X, y, alpha: float):
    """lbfgs: the estimator's own full-batch ``fit`` (no epochs, no early stopping)."""
    from sklearn.exceptions import ConvergenceWarning

    from . import _loop as tl

    est = _estimator(task, opts, alpha)
    try:
        caught = tl.fit_checked(est, X, y)  # Ctrl-C: KeyboardInterrupt, publish nothing
    except ValueError as exc:
        if tl.diverged_cause(exc) is None:
            raise
        raise _diverged(opts, "training diverged: the loss became non-finite") from exc
    classes = np.unique(y) if task == "classification" else None
    loss = tl.data_loss(tl.outputs(est.network_, X), y, classes)
    if tl.DivergenceCheck(tl.initial_loss(y, classes)).diverged(loss):
        raise _diverged(opts, f"training diverged: the final loss is {loss:.4g}")
    stop = "lbfgs converged"
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        stop = (
            f"lbfgs reached --epochs {opts.epochs} iterations before converging"
            if est.n_iter_ >= opts.epochs
            else "lbfgs stopped before converging"
        )
    _say(f"trained {est.n_iter_} lbfgs iterations ({stop}; lbfgs has no epochs and no "
         f"early stopping); final training loss {_loss_words(loss, est.loss_, task)}")  # fmt: skip
    return est


def _fit_estimator(opts: TrainOptions, task: str, X, y, resume=None):
    """Fit as the command does; returns ``(estimator, LoopResult or None for lbfgs)``.

    sgd/adam: one ``fit`` of the estimator with the command's callbacks
    (:func:`chainrule.cli._loop.fit_epochs`: early stopping on the validation loss, best
    weights kept, divergence detected); ``--alpha auto`` fits once per ``AUTO_ALPHAS``
    (or cross-validates ``SMALL_DATA_ALPHAS`` when there is no validation set).
    lbfgs: the estimator's own ``fit`` (no epochs, no early stopping).
    """
    from . import _loop as tl

    auto = opts.alpha is None
    what = f"{opts.alpha:g}" if not auto else "auto"
    if auto and opts.solver == "lbfgs":
        what = f"{tl.SMALL_DATA_ALPHA:g}"
    _say(f"\ntraining {'MLPClassifier' if task == 'classification' else 'MLPRegressor'}"
         f"(hidden_layer_sizes={tuple(opts.hidden)}, activation={opts.activation!r}, "
         f"solver={opts.solver!r}, lr={opts.lr:g}, alpha={what}) for up to {opts.epochs} "
         "epochs")  # fmt: skip
    if resume is not None:  # --resume: the checkpointed estimator and its alpha
        est, tried, done = resume.estimator, {}, resume.epoch
        _say(f"resuming from epoch {done}")
        try:
            loop = tl.fit_epochs(est, X, y, epochs=opts.epochs, early_stopping=opts.early_stopping,
                                 validation_fraction=opts.validation_fraction, seed=opts.seed,
                                 progress=opts.progress, resume=resume)  # fmt: skip
        except tl.Diverged as exc:
            raise _diverged(opts, str(exc)) from exc
        loop.data_loss = _earlier_data_loss(Path(opts.out), done) + loop.data_loss
        _report_fit(replace(opts, alpha=float(est.alpha)), task, len(y), est, loop, tried)
        return est, loop
    if opts.solver == "lbfgs":
        return _fit_lbfgs(opts, task, X, y, tl.SMALL_DATA_ALPHA if auto else opts.alpha), None
    kwargs = dict(
        epochs=opts.epochs,
        early_stopping=opts.early_stopping,
        validation_fraction=opts.validation_fraction,
        seed=opts.seed,
        progress=opts.progress,
    )
    try:
        if auto:
            est, loop, tried = tl.fit_auto_alpha(
                lambda a: _estimator(task, opts, a), X, y, **kwargs
            )
        else:
            est, tried = _estimator(task, opts, opts.alpha), {}
            loop = tl.fit_epochs(est, X, y, **kwargs)
    except tl.Diverged as exc:
        raise _diverged(opts, str(exc)) from exc
    _report_fit(opts, task, len(y), est, loop, tried)
    return est, loop


def loss_name(task: str) -> str:
    """The data loss the command reports and plots: cross-entropy or half the MSE."""
    return "cross-entropy" if task == "classification" else "half mean squared error"


def _loss_words(data: float, objective: float, task: str) -> str:
    """``0.1234 (cross-entropy; the L2 penalty adds 0.0456 to the objective)``: the data
    loss, as the validation loss measures it, and the penalty apart."""
    penalty = objective - data
    extra = f"; the L2 penalty adds {penalty:.4f} to the objective" if penalty > 5e-5 else ""
    return f"{data:.4f} ({loss_name(task)}{extra})"


def _earlier_data_loss(folder: Path, epochs: int) -> list[float]:
    """The data loss of a resumed run's first ``epochs`` epochs, from the history.csv
    its checkpoint was published with (NaN where that file no longer says)."""
    import pandas as pd

    try:
        column = pd.read_csv(folder / "history.csv", index_col="epoch")["data_loss"]
        values = [float(column.get(e, math.nan)) for e in range(1, epochs + 1)]
    except (OSError, ValueError, KeyError, TypeError):
        values = [math.nan] * epochs
    return values


def _report_fit(opts: TrainOptions, task: str, n: int, est, loop, tried: dict) -> None:
    """Say which alpha was kept, whether early stopping ran, and which epoch was kept."""
    from . import _loop as tl

    if isinstance(tried, tl.CrossValidation):
        shown = ", ".join(f"{a:g}: {loss:.4f}" for a, loss in tried.losses.items())
        _say(f"  alpha auto: no validation set, so {tried.folds}-fold cross-validation on the "
             f"{n} training rows ({tried.n_fits} fits, then one on all rows); mean held-out "
             f"loss per L2 penalty {{{shown}}}; kept {est.alpha:g}")  # fmt: skip
    elif tried:
        what = "accuracy" if task == "classification" else "loss"
        shown = ", ".join(
            f"{a:g}: {r.val_score if task == 'classification' else min(r.val_loss):.4f} "
            f"(epoch {r.best_epoch})"
            for a, r in tried.items()
        )
        _say(f"  alpha auto: validation {what} per L2 penalty {{{shown}}}; kept {est.alpha:g}")
    if opts.early_stopping and not loop.early_stopping:
        n_val = math.ceil(opts.validation_fraction * n)
        short = (
            f"{n_val} validation rows ({opts.validation_fraction:g} of {n})"
            if n_val < tl.MIN_VALIDATION_ROWS
            else f"the {n - n_val} training rows left beside {n_val} validation rows"
        )
        if min(n_val, n - n_val) >= tl.MIN_VALIDATION_ROWS:  # classes of a single row
            short = "the validation rows whose class has another row to train on"
        _say(f"  early stopping off: {short} are fewer than the {tl.MIN_VALIDATION_ROWS} it "
             "needs (each side of the split); training up to --epochs")  # fmt: skip
    final = loop.data_loss[-1] if loop.data_loss else est.loss_
    _say(f"trained {loop.n_epochs} epochs ({loop.stop_reason}); final training loss "
         f"{_loss_words(final, est.loss_, task)}")  # fmt: skip
    if loop.best_epoch is not None:
        _say(f"kept the weights of epoch {loop.best_epoch}: the lowest validation loss, "
             f"{min(loop.val_loss):.4f} on {loop.n_val} held-out training rows")  # fmt: skip
        if loop.best_epoch == loop.n_epochs and loop.n_epochs == opts.epochs:
            _say("  note: the validation loss was still falling at the last epoch; more "
                 "--epochs may help")  # fmt: skip


def _history_frame(est, loop):
    """One row per epoch: loss (the objective, L2 term included), data_loss (without
    it; empty for the earlier epochs of a resumed run), val_loss, lr, and per-layer
    columns named by Dense layer (``grad_norm_dense_1`` ... rather than the layer's
    index in the network)."""
    import pandas as pd

    frame = est.history_.to_frame()
    if loop is not None and loop.data_loss:  # this call's epochs: the last ones
        start = len(frame) - len(loop.data_loss)
        data = [math.nan] * start + list(loop.data_loss)
        frame.insert(1, "data_loss", pd.Series(data, index=frame.index))
    if loop is not None and loop.val_loss:
        frame.insert(
            1, "val_loss", pd.Series(loop.val_loss, index=frame.index[: len(loop.val_loss)])
        )
    labels = {}
    for column in frame.columns:
        for prefix in ("grad_norm_", "update_ratio_"):
            if column.startswith(prefix) and column[len(prefix) :].isdigit():
                labels.setdefault(column[len(prefix) :], None)
    order = {lab: k + 1 for k, lab in enumerate(sorted(labels, key=int))}
    rename = {}
    for column in frame.columns:
        for prefix in ("grad_norm_", "update_ratio_"):
            label = column[len(prefix) :]
            if column.startswith(prefix) and label in order:
                rename[column] = f"{prefix}dense_{order[label]}"
    return frame.rename(columns=rename)


#: Every file ``chainrule train`` may write into --out (other files there are left alone).
OUTPUT_FILES = {
    "model.npz",
    "checkpoint.npz",
    "metrics.json",
    "history.csv",
    "loss.png",
    "validation_accuracy.png",
    "validation_r2.png",
    "gradient_norms.png",
    "confusion_matrix.png",
    "decision_regions.png",
    "predictions.png",
    "residuals.png",
    "lr_find.png",
}


def _publish(staging: Path, out: Path) -> list[Path]:
    """Move every finished file from ``staging`` into ``out``: all of them, or none.

    A file of an earlier run that a new one replaces is first moved aside (into the
    staging folder), and so is a file of an earlier run that this one does not write
    (one of ``OUTPUT_FILES``: a stale plot would contradict the new model). If any
    move fails, the new files are taken out again and the old ones put back, so
    ``out`` never ends up half old, half new.
    """
    existed = out.is_dir()
    out.mkdir(parents=True, exist_ok=True)
    lock = _lock_folder(out)  # a concurrent run publishing into out waits for this one
    try:
        return _move_in(staging, out, existed)
    finally:
        if lock is not None:
            os.close(lock)  # releases the lock


def _lock_folder(folder: Path) -> int | None:
    """An exclusive lock on ``folder`` (flock on its descriptor, released when closed or
    when the process dies), so two runs never interleave their files; None off POSIX."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _move_in(staging: Path, out: Path, existed: bool) -> list[Path]:
    files = sorted(staging.iterdir())
    aside = Path(tempfile.mkdtemp(prefix="previous-", dir=staging))
    moved, replaced = [], []
    names = {f.name for f in files}
    try:
        # each move is recorded before it is made: Ctrl-C can come right after a move,
        # before the next line runs
        for name in sorted(OUTPUT_FILES - names):  # an earlier run's files this one lacks
            if (out / name).is_file():
                replaced.append(name)
                os.replace(out / name, aside / name)
        for f in files:
            target = out / f.name
            if target.exists():
                replaced.append(f.name)
                os.replace(target, aside / f.name)
            moved.append(target)
            os.replace(f, target)
        _interrupt.commit()  # Ctrl-C until here undoes the moves; after, it is ignored
    except BaseException:
        for target in moved:  # new, or absent: an old file there was moved aside first
            target.unlink(missing_ok=True)
        for name in replaced:
            if (aside / name).exists():
                os.replace(aside / name, out / name)
        if not existed:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return moved


def run_train(opts: TrainOptions, resume=None) -> dict:
    """Train as ``chainrule train`` does; returns the metrics dict. Raises DataError,
    ValueError, TypeError, OSError on bad input (the command turns them into one line).

    ``resume``: the checkpoint of a run (``_resume.read_run``) to go on from, whose
    options ``opts`` are (``_resume.resumed_options``).
    """
    from ..persistence.bundle import ModelBundle

    out = _checked_out(opts.out)
    started = time.perf_counter()
    ds, train, test = _load_and_split(opts)  # 1. data
    pre, X_train, X_test = _preprocess(train, test)  # 2. preprocessing, on training rows
    y_train, y_test = train.y.to_numpy(), test.y.to_numpy()
    if resume is not None:
        resume.check_test_rows(X_test, y_test)
    est, loop, scaler, opts, finder = _train_estimator(opts, ds, X_train, y_train, resume)
    bundle = ModelBundle(pre, est, ds.task, list(ds.target), scaler)
    pred_test = bundle.predict(test.X)  # 4. metrics, in the target's own units
    metrics = _metrics(ds.task, est, (y_train, bundle.predict(train.X)), (y_test, pred_test))
    n_epochs = int(est.n_iter_) if loop is None else loop.n_epochs
    kept = None if loop is None else loop.best_epoch
    bundle.info = {
        "dataset": ds.name,
        "task": ds.task,
        "target": list(ds.target),
        "seed": opts.seed,
        "epochs": n_epochs,
        "kept_epoch": kept,
        "id_column": opts.id_column,
        "identifiers": list(ds.identifiers),  # left out as features, copied by predict
        "sep": opts.sep,
        "decimal": opts.decimal,
        "test_metrics": {k: v for k, v in metrics["test"].items() if k != "confusion_matrix"},
    }
    report = {
        "dataset": ds.name,
        "task": ds.task,
        "target": list(ds.target),
        "n_train": train.n_samples,
        "n_test": test.n_samples,
        "options": _options_json(opts),
        "epochs_run": n_epochs,
        "kept_epoch": kept,
        "alpha": float(est.alpha),
        "seconds": None,  # set when written
        "metrics": metrics,
    }
    if finder is not None:
        report["lr_find"] = {
            "suggestion": opts.lr,
            "rates": [float(finder.rates[0]), float(finder.rates[-1])],
            "batches": len(finder.rates),
            "stopped": finder.stopped,
        }
    run = (bundle, est, loop, X_test, y_test, pred_test, finder)
    files, plots = _write_run(out, opts, report, run, started)  # 5. staged, then published
    checkpoint = None if loop is None else loop.checkpoint
    resumable = checkpoint is not None
    _say(f"\nwrote {len(files)} files to {out}/: model.npz, metrics.json, history.csv"
         + (", checkpoint.npz" if resumable else "")
         + (f", {', '.join(plots)}" if plots else ""))  # fmt: skip
    _say(f"predict with: chainrule predict {out / 'model.npz'} DATA.csv")
    if resumable and not checkpoint.stopped:
        _say(f"train on with: chainrule train --resume {out} --epochs {2 * opts.epochs}")
    return metrics


def _options_json(opts: TrainOptions) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(opts).items()}


def _checked_out(folder) -> Path:
    """``--out`` as a Path: a folder (or nothing yet) in a writable place, found before
    any training."""
    from ..datasets import DataError

    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file; name a folder (it is created if missing).")
    check_writable_folder(out.resolve().parent, "--out", out)
    return out


def _load_and_split(opts: TrainOptions):
    """Step 1: the table, as the one CSV reader reads it, and its train/test split."""
    from ..datasets.tables import load_table, train_test_split_dataset

    ds = load_table(opts.data, target=opts.target, task=opts.task, sep=opts.sep,
                    decimal=opts.decimal, drop=opts.drop, id_column=opts.id_column,
                    keep=opts.keep)  # fmt: skip
    _say(ds.describe())
    for note in ds.notes:
        _say(f"  note: {note}")
    train, test = train_test_split_dataset(ds, test_size=opts.test_size, rng=opts.seed)
    _say(f"split: {train.n_samples} training rows, {test.n_samples} test rows (seed {opts.seed})")
    small = small_table_warning(train.n_samples + test.n_samples, test.n_samples)
    if small:
        print(f"warning: {small}", file=sys.stderr, flush=True)
    return ds, train, test


#: fewer rows than this, or fewer test rows than MIN_TEST_ROWS, and train warns
MIN_ROWS, MIN_TEST_ROWS = 20, 5


def small_table_warning(n_rows: int, n_test: int) -> str | None:
    """The warning for a table too small to split meaningfully, or None."""
    if n_rows >= MIN_ROWS and n_test >= MIN_TEST_ROWS:
        return None
    return (
        f"only {n_rows} rows, {n_test} of them for testing: the test scores measure "
        f"almost nothing (each test row moves accuracy by {1 / max(n_test, 1):.0%}); "
        f"use at least {MIN_ROWS} rows and {MIN_TEST_ROWS} test rows (--test-size) for a "
        "meaningful score"
    )


def _preprocess(train, test):
    """Step 2: the preprocessing, fitted on the training rows only; both matrices."""
    from ..datasets import Preprocessor

    check_preprocessing_size(train.X)  # one-hot columns: memory, and the model file
    pre = Preprocessor().fit(train.X)
    X_train, X_test = pre.transform(train.X), pre.transform(test.X)
    for note in pre.notes_:
        _say(f"  preprocessing: {note}")
    return pre, X_train, X_test


def _train_estimator(opts: TrainOptions, ds, X_train, y_train, resume=None):
    """Step 3: the estimator, once its size is known to fit in memory, trained on the
    standardised target for regression, with ``--lr auto`` found first. Returns
    ``(est, loop, scaler, opts, finder)``: ``opts`` with the rate used, ``finder`` the
    LRFindResult of ``--lr auto`` (else None)."""
    from ..datasets import TargetScaler

    n_out = int(y_train.shape[1]) if y_train.ndim == 2 else 1
    if ds.task == "classification":
        n_out = len(np.unique(y_train.astype(str)))
        n_out = 1 if n_out == 2 else n_out
    check_training_size([X_train.shape[1], *opts.hidden, n_out], len(X_train), opts.solver)
    scaler = None
    fit_y = y_train
    if ds.task == "regression":
        check_target_magnitude(ds.y, list(ds.target))  # before training: metrics overflow
        scaler = TargetScaler().fit(y_train)
        fit_y = scaler.transform(y_train)
        _say("  preprocessing: standardised the target for training (predictions are in its units)")
    finder = None
    if opts.lr == "auto":
        opts, finder = _auto_lr(opts, ds.task, X_train, fit_y)
    est, loop = _fit_estimator(opts, ds.task, X_train, fit_y, resume)
    return est, loop, scaler, opts, finder


def _auto_lr(opts: TrainOptions, task: str, X, y):
    """``--lr auto``: ``lr_find`` on the estimator the command trains (its network, solver,
    batch size and seed; alpha: --alpha, or auto's first candidate) on the training rows.
    Returns ``(opts with lr = the suggestion to 3 digits, the LRFindResult)``."""
    from .. import lr_find
    from ..datasets import DataError
    from . import _loop as tl

    alpha = tl.AUTO_ALPHAS[0] if opts.alpha is None else opts.alpha
    with warnings.catch_warnings(record=True):  # e.g. a batch larger than the data: the
        warnings.simplefilter("always")  # fit that follows reports what matters
        result = lr_find(_estimator(task, replace(opts, lr=1e-3), alpha), None, X, y)
    _interrupt.check()  # the estimator may have made Ctrl-C a warning, recorded above
    if result.suggestion is None:
        raise DataError(
            f"--lr auto: the training loss did not fall at any rate from "
            f"{result.rates[0]:g} to {result.rates[-1]:g} ({result.stopped}); pass a rate, "
            "e.g. --lr 0.001. Nothing was written."
        )
    lr = float(f"{result.suggestion:.3g}")
    _say(f"lr auto: lr_find suggests --lr {lr:g} (the training loss fell fastest there, "
         f"over {len(result.rates)} batches at rates {result.rates[0]:g} to "
         f"{result.rates[-1]:.3g}; {result.stopped}); curve in lr_find.png")  # fmt: skip
    return replace(opts, lr=lr), result


def _metrics(task: str, est, train: tuple, test: tuple) -> dict:
    """Step 4: the metrics of ``(y_true, y_pred)`` on the training and test rows, printed."""
    if task == "classification":
        classes = list(est.classes_)
        metrics = {
            "train": classification_metrics(*train, classes),
            "test": classification_metrics(*test, classes),
        }
    else:
        classes = None
        metrics = {"train": regression_metrics(*train), "test": regression_metrics(*test)}
    _say("\n" + _metrics_report(task, metrics, classes))
    return metrics


def metrics_json(report: dict) -> str:
    """``report`` as strict JSON: a NaN or infinite number (R² of one test row, say) is
    null, as JSON has no NaN; other values that are not JSON are written as text."""

    def strict(value):
        if isinstance(value, dict):
            return {k: strict(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [strict(v) for v in value]
        if isinstance(value, float | np.floating) and not math.isfinite(value):
            return None
        return value.item() if isinstance(value, np.generic) else value

    return json.dumps(strict(report), indent=2, default=str, allow_nan=False) + "\n"


def _write_run(out: Path, opts: TrainOptions, report: dict, run: tuple, started: float):
    """Step 5: every file written into a staging folder, then published together.
    Returns ``(files, plots)``."""
    from .. import save

    bundle, est, loop, X_test, y_test, pred_test, finder = run
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    try:
        save(bundle, staging / "model.npz")
        report["seconds"] = round(time.perf_counter() - started, 3)
        (staging / "metrics.json").write_text(metrics_json(report))
        history = _history_frame(est, loop)
        history.to_csv(staging / "history.csv")
        if loop is not None and loop.checkpoint is not None:  # what --resume needs
            loop.checkpoint.options = _options_json(opts)
            loop.checkpoint.data["test"] = data_identity(X_test, y_test)["digest"]
            save(loop.checkpoint, staging / "checkpoint.npz")
        plots = []
        if opts.plots:
            plots = _write_plots(staging, bundle, history, loop, X_test, y_test, pred_test)
            if finder is not None:
                from .. import plotting

                plotting.save_figure(finder.plot(), staging / "lr_find.png")
                plots.append("lr_find.png")
        files = _publish(staging, out)
    except OSError as exc:  # name the user's --out, not the staging folder
        raise OSError(
            f"cannot write the run to --out {out}: {exc.strerror or exc}; nothing was "
            "written and an earlier run there is as it was."
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return files, plots
