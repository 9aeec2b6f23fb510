"""What ``chainrule train`` does, step by step, kept apart from argument parsing.

load data -> split -> preprocess -> fit an estimator (with a progress bar) -> metrics
-> write model.npz, metrics.json, history.csv and plots into the output folder.

Everything is written into a hidden staging folder next to ``--out`` first and moved
into place only when every file is complete, so a run that fails (bad data, a
diverging network, Ctrl-C) leaves nothing half-written in ``--out``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._guards import (
    check_preprocessing_size,
    check_target_magnitude,
    check_training_size,
    check_writable_folder,
)


@dataclass
class TrainOptions:
    data: str = "iris"
    target: str | None = None
    task: str = "auto"
    hidden: tuple[int, ...] = (64, 32)
    activation: str = "relu"
    solver: str = "adam"
    epochs: int = 200
    batch_size: int | None = 32
    lr: float = 5e-3
    alpha: float = 1e-4
    seed: int = 0
    test_size: float = 0.2
    early_stopping: bool = True
    out: str = "chainrule-run"
    progress: bool = True
    plots: bool = True


MAX_PRINTED_CLASSES = 30  # a confusion matrix wider than this is not printed
MAX_MATRIX_CLASSES = 100  # nor stored in metrics.json, nor plotted


def _say(msg: str = "") -> None:
    print(msg, flush=True)


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

    return {
        "mse": float(mean_squared_error(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
        "r2": float(r2_score(y_true, y_pred)),
    }


def _metrics_report(task: str, metrics: dict, classes) -> str:
    parts = ("train", "test")
    if task == "classification":
        names = ("accuracy", "precision_macro", "recall_macro", "f1_macro")
    else:
        names = ("mse", "mae", "r2")
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


def _write_plots(folder: Path, bundle, test, X_test, y_test, y_pred) -> list[str]:
    from . import plotting

    est = bundle.estimator
    written = []

    def save(fig, name):
        plotting.save_figure(fig, folder / name)
        written.append(name)

    save(plotting.plot_loss(est), "loss.png")
    if getattr(est, "validation_scores_", None):  # early stopping: the validation score
        metric = "accuracy" if bundle.task == "classification" else "r2"
        save(plotting.plot_metric(est, metric), f"validation_{metric}.png")
    if getattr(est, "history_", None) is not None and len(est.history_):
        save(plotting.plot_gradient_norms(est.history_), "gradient_norms.png")
    if bundle.task == "classification" and len(bundle.classes_) > MAX_MATRIX_CLASSES:
        pass  # no per-class plots: 10,000 classes take minutes and GBs to draw, unreadably
    elif bundle.task == "classification":
        save(plotting.plot_confusion_matrix(y_test, y_pred, labels=list(bundle.classes_)),
             "confusion_matrix.png")  # fmt: skip
        save(
            plotting.plot_decision_regions(est, X_test, np.asarray(y_test)), "decision_regions.png"
        )
    else:
        save(plotting.plot_predictions(y_test, y_pred), "predictions.png")
        save(plotting.plot_residuals(y_test, y_pred), "residuals.png")
    return written


def _publish(staging: Path, out: Path) -> list[Path]:
    """Move every finished file from ``staging`` into ``out``: all of them, or none.

    A file of an earlier run that a new one replaces is first moved aside (into the
    staging folder). If any move fails, the new files are taken out again and the old
    ones put back, so ``out`` never ends up half old, half new.
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
    try:
        for f in files:  # each move is recorded before it is made: Ctrl-C can come
            target = out / f.name  # right after a move, before the next line runs
            if target.exists():
                replaced.append(f.name)
                os.replace(target, aside / f.name)
            moved.append(target)
            os.replace(f, target)
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


def run_train(opts: TrainOptions) -> dict:
    """Train as ``chainrule train`` does; returns the metrics dict. Raises DataError,
    ValueError, TypeError, OSError on bad input (the command turns them into one line)."""
    from . import save
    from .bundle import ModelBundle
    from .datasets import (
        DataError,
        Preprocessor,
        TargetScaler,
        load_dataset,
        train_test_split_dataset,
    )
    from .estimators import MLPClassifier, MLPRegressor

    out = Path(opts.out)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file; name a folder (it is created if missing).")
    check_writable_folder(out.resolve().parent, "--out", out)  # found before training
    started = time.perf_counter()

    # 1. Data.
    ds = load_dataset(opts.data, target=opts.target, task=opts.task)
    _say(ds.describe())
    for note in ds.notes:
        _say(f"  note: {note}")
    train, test = train_test_split_dataset(ds, test_size=opts.test_size, rng=opts.seed)
    _say(f"split: {train.n_samples} training rows, {test.n_samples} test rows (seed {opts.seed})")

    # 2. Preprocessing, fitted on the training rows only.
    check_preprocessing_size(train.X)  # one-hot columns: memory, and the model file
    pre = Preprocessor().fit(train.X)
    X_train, X_test = pre.transform(train.X), pre.transform(test.X)
    for note in pre.notes_:
        _say(f"  preprocessing: {note}")
    y_train, y_test = train.y.to_numpy(), test.y.to_numpy()

    # 3. The estimator, once its size is known to fit in memory.
    n_out = int(y_train.shape[1]) if y_train.ndim == 2 else 1
    if ds.task == "classification":
        n_out = len(np.unique(y_train.astype(str)))
        n_out = 1 if n_out == 2 else n_out
    check_training_size([X_train.shape[1], *opts.hidden, n_out], len(X_train),
                        opts.batch_size or 200, opts.solver)  # fmt: skip
    common = dict(
        hidden_layer_sizes=tuple(opts.hidden),
        activation=opts.activation,
        solver=opts.solver,
        alpha=opts.alpha,
        batch_size="auto" if opts.batch_size is None else opts.batch_size,
        learning_rate_init=opts.lr,
        max_iter=opts.epochs,
        random_state=opts.seed,
        early_stopping=opts.early_stopping,
        progress=opts.progress,
    )
    scaler = None
    if ds.task == "classification":
        est = MLPClassifier(**common)
        fit_y = y_train
    else:
        check_target_magnitude(ds.y, list(ds.target))  # before training: metrics overflow
        est = MLPRegressor(**common)
        scaler = TargetScaler().fit(y_train)
        fit_y = scaler.transform(y_train)
        _say("  preprocessing: standardised the target for training (predictions are in its units)")
    _say(f"\ntraining {est.__class__.__name__}(hidden_layer_sizes={tuple(opts.hidden)}, "
         f"activation={opts.activation!r}, solver={opts.solver!r}, lr={opts.lr:g}) "
         f"for up to {opts.epochs} epochs")  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(X_train, fit_y)
        except ValueError as exc:
            if "non-finite" not in str(exc):
                raise
            what = str(exc).split(". ")[0]  # scikit-learn's words, the epoch, the rate
            raise DataError(
                f"training diverged: {what}. The features are already standardised, so "
                f"lower the learning rate, e.g. --lr {opts.lr / 10:g}. Nothing was written."
            ) from exc
    if any("interrupted by user" in str(w.message) for w in caught):
        raise KeyboardInterrupt  # the estimator stopped at Ctrl-C: publish nothing
    for w in caught:
        if w.category.__name__ == "ConvergenceWarning":
            _say(f"  note: stopped at --epochs {opts.epochs} before the loss settled; "
                 "more epochs or a larger --lr may help")  # fmt: skip
    if est.n_iter_ >= opts.epochs:
        stop = "the epoch limit"
    elif opts.early_stopping:
        stop = "early stopping: the validation score stopped improving"
    else:
        stop = "the training loss stopped improving"
    _say(f"trained {est.n_iter_} epochs ({stop}); final training loss {est.loss_:.4f}")

    bundle = ModelBundle(pre, est, ds.task, list(ds.target), scaler)

    # 4. Metrics on train and test, in the target's own units.
    pred_train, pred_test = bundle.predict(train.X), bundle.predict(test.X)
    if ds.task == "classification":
        classes = list(est.classes_)
        metrics = {
            "train": classification_metrics(y_train, pred_train, classes),
            "test": classification_metrics(y_test, pred_test, classes),
        }
    else:
        classes = None
        metrics = {"train": regression_metrics(y_train, pred_train),
                   "test": regression_metrics(y_test, pred_test)}  # fmt: skip
    _say("\n" + _metrics_report(ds.task, metrics, classes))
    bundle.info = {
        "dataset": ds.name,
        "task": ds.task,
        "target": list(ds.target),
        "seed": opts.seed,
        "epochs": int(est.n_iter_),
        "test_metrics": {k: v for k, v in metrics["test"].items() if k != "confusion_matrix"},
    }

    # 5. Files: staged, then published together.
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=parent))
    try:
        save(bundle, staging / "model.npz")
        report = {
            "dataset": ds.name,
            "task": ds.task,
            "target": list(ds.target),
            "n_train": train.n_samples,
            "n_test": test.n_samples,
            "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(opts).items()},
            "epochs_run": int(est.n_iter_),
            "seconds": round(time.perf_counter() - started, 3),
            "metrics": metrics,
        }
        (staging / "metrics.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        est.history_.to_frame().to_csv(staging / "history.csv")
        plots = []
        if opts.plots:
            plots = _write_plots(staging, bundle, test, X_test, y_test, pred_test)
        files = _publish(staging, out)
    except OSError as exc:  # name the user's --out, not the staging folder
        raise OSError(
            f"cannot write the run to --out {out}: {exc.strerror or exc}; nothing was "
            "written and an earlier run there is as it was."
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _say(f"\nwrote {len(files)} files to {out}/: model.npz, metrics.json, history.csv"
         + (f", {', '.join(plots)}" if plots else ""))  # fmt: skip
    _say(f"predict with: chainrule predict {out / 'model.npz'} DATA.csv")
    return metrics
