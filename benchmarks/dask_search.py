"""Time a 24-fit grid search over chainrule's MLPClassifier: in one process, and on a
local Dask cluster with 1 and 2 worker processes (joblib's dask backend).

    python benchmarks/dask_search.py

The figures in docs/scaling.md come from this script. Loopback only, no dashboard.
"""

from __future__ import annotations

import time
import warnings

import joblib
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

import chainrule as cr

GRID = {  # 8 settings x 3 folds = 24 fits
    "hidden_layer_sizes": [(32,), (64,)],
    "learning_rate_init": [1e-3, 3e-3],
    "alpha": [1e-4, 1e-2],
}


def search(n_jobs: int) -> GridSearchCV:
    return GridSearchCV(cr.MLPClassifier(max_iter=60, random_state=0), GRID, cv=3, n_jobs=n_jobs)


def timed(fn) -> tuple[float, float]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        best = fn()
    return time.perf_counter() - start, best


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    seconds, best = timed(lambda: search(1).fit(X, y).best_score_)
    print(f"one process (n_jobs=1):      {seconds:6.1f} s   best CV accuracy {best:.4f}")
    for workers in (1, 2):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                               dashboard_address=None)  # fmt: skip
        with Client(cluster), joblib.parallel_backend("dask"):
            seconds, best = timed(lambda: search(-1).fit(X, y).best_score_)
        cluster.close()
        print(f"dask, {workers} worker process(es): {seconds:6.1f} s   best CV accuracy {best:.4f}")


if __name__ == "__main__":
    main()
