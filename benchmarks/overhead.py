"""CPU time of training where the loop's own Python work dominates, to compare two versions.

The matrix products of a large workload hide the loop's bookkeeping; these three do not:
a small ``cr.fit`` (20-32-3, 5,000 rows, batch 32: 785 steps), ``MLPClassifier()`` with
scikit-learn's defaults on breast cancer (200 epochs of 3 batches) and ``MLPRegressor`` on
diabetes. The clock is ``time.process_time`` with one BLAS thread, so other processes on
the machine slow it far less than they slow wall time. Each prints one JSON line of
seconds per repetition.

A/B between two checkouts (alternate them so that both see the same load):

    for r in 1 2 3 4 5; do
      for src in ../before/src src; do
        OPENBLAS_NUM_THREADS=1 PYTHONPATH=$src python benchmarks/overhead.py
      done
    done
"""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.preprocessing import StandardScaler

import chainrule as cr


def cpu_seconds(fn, reps: int = 7) -> list[float]:
    out = []
    for _ in range(reps):
        start = time.process_time()
        fn()
        out.append(time.process_time() - start)
    return out


def main() -> None:
    warnings.simplefilter("ignore")  # the estimators' ConvergenceWarning at max_iter
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 20))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    Xb, yb = load_breast_cancer(return_X_y=True)
    Xb = StandardScaler().fit_transform(Xb)
    Xd, yd = load_diabetes(return_X_y=True)
    Xd = StandardScaler().fit_transform(Xd)

    def fit():
        net = cr.Sequential(cr.Dense(20, 32, rng=0), cr.ReLU(), cr.Dense(32, 3, rng=1))
        opt = cr.Adam(1e-3)
        cr.fit(net, cr.CrossEntropy(), X, y, optimizer=opt, epochs=5, batch_size=32, rng=0)

    def classifier():
        cr.MLPClassifier(random_state=0).fit(Xb, yb)

    def regressor():
        cr.MLPRegressor(random_state=0, max_iter=200).fit(Xd, yd)

    runs = {"fit": fit, "classifier": classifier, "regressor": regressor}
    print(json.dumps({name: cpu_seconds(f) for name, f in runs.items()}))


if __name__ == "__main__":
    main()
