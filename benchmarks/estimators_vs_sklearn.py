"""Time ``fit`` of chainrule's MLPClassifier/MLPRegressor against scikit-learn's.

Same data, same hyper-parameters, same ``random_state``: both estimators then run the
same number of epochs on the same batches, so the timing compares the implementations.
Each fit is repeated and the best wall-clock time is kept. Also printed: the held-out
score of each and the largest difference between the two loss curves.

Run:  python benchmarks/estimators_vs_sklearn.py [--repeat N] [--quick] [--blas-threads N]

BLAS runs single-threaded by default (``--blas-threads 1``): at these matrix sizes
threads buy little, and on a busy machine a multi-threaded OpenBLAS spends most of its
time waiting, which swamps the comparison (pass ``--blas-threads 0`` for the library's
default).
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import sklearn
from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import chainrule
from chainrule import MLPClassifier, MLPRegressor


def prepare(X, y, regression=False):
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=None if regression else y
    )
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    if regression:
        mean, std = y_tr.mean(), y_tr.std()
        y_tr, y_te = (y_tr - mean) / std, (y_te - mean) / std
    return X_tr, X_te, y_tr, y_te


def cases(quick: bool):
    bc = prepare(*load_breast_cancer(return_X_y=True))
    diabetes = prepare(*load_diabetes(return_X_y=True), regression=True)
    n = 5_000 if quick else 20_000
    big = prepare(*make_classification(n, 50, n_informative=30, n_classes=4, random_state=0))
    small = dict(hidden_layer_sizes=(100,), random_state=0, max_iter=200)
    for solver in ("adam", "sgd", "lbfgs"):
        yield "breast cancer (569 x 30)", solver, MLPClassifier, SkMLPClassifier, bc, small
    for solver in ("adam", "sgd", "lbfgs"):
        kw = dict(small, alpha=10.0)
        yield "diabetes (442 x 10)", solver, MLPRegressor, SkMLPRegressor, diabetes, kw
    kw = dict(hidden_layer_sizes=(100, 50), random_state=0, max_iter=20 if not quick else 5)
    for solver in ("adam", "sgd", "lbfgs"):
        yield f"make_classification ({n} x 50)", solver, MLPClassifier, SkMLPClassifier, big, kw


def best_time(cls, kw, X, y, repeat):
    best, model = np.inf, None
    for _ in range(repeat):
        model = cls(**kw)
        start = time.perf_counter()
        model.fit(X, y)
        best = min(best, time.perf_counter() - start)
    return best, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fits per timing (best kept)")
    parser.add_argument("--quick", action="store_true", help="a smaller large dataset")
    parser.add_argument(
        "--blas-threads", type=int, default=1, help="BLAS threads (0: library default)"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.blas_threads > 0:
        threadpool_limits(limits=args.blas_threads, user_api="blas")
    threads = args.blas_threads or "default"

    print(
        f"chainrule {chainrule.__version__}, scikit-learn {sklearn.__version__}, "
        f"numpy {np.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}; best of {args.repeat} fits, float64, BLAS threads: {threads}\n"
    )
    header = (
        "| data | solver | epochs/iters | chainrule fit (s) | scikit-learn fit (s) | ratio "
        "| chainrule score | scikit-learn score | max loss-curve diff |"
    )
    print(header)
    print("|---" * 9 + "|")
    for data, solver, ours_cls, theirs_cls, (X_tr, X_te, y_tr, y_te), kw in cases(args.quick):
        kw = dict(kw, solver=solver)
        repeat = args.repeat if X_tr.shape[0] < 5_000 else max(1, args.repeat - 2)
        t_ours, ours = best_time(ours_cls, kw, X_tr, y_tr, repeat)
        t_theirs, theirs = best_time(theirs_cls, kw, X_tr, y_tr, repeat)
        if hasattr(theirs, "loss_curve_") and len(ours.loss_curve_) == len(theirs.loss_curve_):
            diff = f"{np.max(np.abs(np.subtract(ours.loss_curve_, theirs.loss_curve_))):.1e}"
        else:
            diff = f"final loss {ours.loss_:.4g} vs {theirs.loss_:.4g}"
        print(
            f"| {data} | {solver} | {ours.n_iter_} / {theirs.n_iter_} | {t_ours:.3f} | "
            f"{t_theirs:.3f} | {t_ours / t_theirs:.2f} | {ours.score(X_te, y_te):.4f} | "
            f"{theirs.score(X_te, y_te):.4f} | {diff} |"
        )


if __name__ == "__main__":
    main()
