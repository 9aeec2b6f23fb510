"""Successive halving against a grid search over chainrule's MLPClassifier, on digits.

The same 27 candidates (hidden_layer_sizes x learning_rate_init x alpha), 3-fold
cross-validation (the same folds), scored by accuracy:

- ``GridSearchCV`` trains every candidate for ``max_iter=81`` epochs;
- ``HalvingGridSearchCV(resource="max_iter", min_resources=3, factor=3)`` trains all 27
  for 3 epochs, the best third for 9, then 27, then the last one for 81;
- ``HalvingRandomSearchCV`` with the same schedule over the same 27 (drawn without
  replacement).

"epochs" counts every epoch every fit trained (the refit of the best included), by
wrapping ``EstimatorRun.end_epoch``; scikit-learn's tol / n_iter_no_change rule may end
a fit before its max_iter. The table is printed and written into ``docs/scaling.md``::

    PYTHONPATH=src python benchmarks/halving.py            # writes docs/scaling.md
    PYTHONPATH=src python benchmarks/halving.py --no-write  # prints only
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from _doc import markdown_table, show_and_write
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    StratifiedKFold,
)

import chainrule as cr

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "scaling.md"
BEGIN, END = "<!-- halving table: begin -->", "<!-- halving table: end -->"
SPACE = {
    "hidden_layer_sizes": [(32,), (64,), (128,)],
    "learning_rate_init": [1e-3, 3e-3, 1e-2],
    "alpha": [1e-4, 1e-2, 1.0],
}
MAX_EPOCHS = 81


class EpochCounter:
    """Counts the epochs the estimators train (one process: n_jobs=1)."""

    def __init__(self) -> None:
        from chainrule.estimators import _training

        self.epochs = 0
        original = _training.EstimatorRun.end_epoch

        def end_epoch(run, sums):
            self.epochs += 1
            return original(run, sums)

        _training.EstimatorRun.end_epoch = end_epoch


def searches() -> dict:
    est = cr.MLPClassifier(random_state=0)
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    halving = dict(resource="max_iter", min_resources=3, max_resources=MAX_EPOCHS, factor=3)
    return {
        "GridSearchCV (81 epochs each)": GridSearchCV(
            est.set_params(max_iter=MAX_EPOCHS), SPACE, cv=cv
        ),
        "HalvingGridSearchCV": HalvingGridSearchCV(
            cr.MLPClassifier(random_state=0), SPACE, cv=cv, **halving
        ),
        "HalvingRandomSearchCV": HalvingRandomSearchCV(
            cr.MLPClassifier(random_state=0),
            SPACE,
            n_candidates=27,
            random_state=0,
            cv=cv,
            **halving,
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    counter = EpochCounter()
    rows = []
    grid_score = grid_epochs = None
    for name, search in searches().items():
        before, started = counter.epochs, time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X, y)
        seconds, epochs = time.perf_counter() - started, counter.epochs - before
        if grid_score is None:
            grid_score, grid_epochs = search.best_score_, epochs
        rounds = getattr(search, "n_candidates_", [len(search.cv_results_["params"])])
        rows.append([
            name,
            f"{search.best_score_:.4f}",
            f"{search.best_score_ - grid_score:+.4f}",
            str(search.best_params_),
            " → ".join(map(str, rounds)),
            f"{epochs:,}",
            f"{grid_epochs / epochs:.1f}x",
            f"{seconds:.0f}",
        ])  # fmt: skip
        print(" | ".join(rows[-1]), flush=True)
    header = ["search", "best CV accuracy", "vs grid", "best parameters", "candidates per "
              "round", "epochs trained", "fewer epochs", "seconds"]  # fmt: skip
    table = markdown_table(header, rows)
    block = f"{table}\n\nMeasured by `PYTHONPATH=src python benchmarks/halving.py`."
    return show_and_write(table, DOC, BEGIN, END, block, not args.no_write)


if __name__ == "__main__":
    sys.exit(main())
