"""Does `chainrule train --lr auto` find a rate as good as a grid search, for less?

For every bundled dataset (seed 0, the command's defaults otherwise: adam, 200 epochs,
early stopping, alpha auto):

- the grid: 12 full runs of ``chainrule train --lr R`` (``run_train``, the command's own
  code path), R = 10 ** linspace(-4, 0, 12) (a factor of 2.3 between neighbours), each
  scored by its test accuracy (classification) or R² (regression); a run that diverges
  scores nothing;
- the finder: ``--lr auto``'s range test alone (``_auto_lr``, on the same training rows
  and estimator), then one full run at its suggestion.

"factor" is how far the suggestion is from the nearest grid rate with the grid's best
score (1 = on it). The cost is counted in gradient steps (every update the estimators
make, counted by wrapping ``EstimatorRun.update``), which does not depend on the
machine's load, and in seconds; "cost" is the finder's over the grid's. The table is
printed and written into ``docs/defaults.md`` between the markers::

    PYTHONPATH=src python benchmarks/lr_find.py            # writes docs/defaults.md
    PYTHONPATH=src python benchmarks/lr_find.py --no-write  # prints only
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _doc import markdown_table, show_and_write

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "defaults.md"
BEGIN, END = "<!-- lr_find table: begin -->", "<!-- lr_find table: end -->"
GRID = 10.0 ** np.linspace(-4, 0, 12)
SEED = 0


class StepCounter:
    """Counts the estimators' updates (each one a batch's gradient step)."""

    def __init__(self) -> None:
        from chainrule.estimators import _training

        self.steps = 0
        original = _training.EstimatorRun.update

        def update(run) -> None:
            self.steps += 1
            original(run)

        _training.EstimatorRun.update = update


def full_run(data: str, lr, out: Path) -> float:
    """The test score of ``chainrule train --data data --lr lr`` (NaN if it diverged)."""
    from chainrule.cli.train import TrainOptions, run_train
    from chainrule.datasets import DataError

    opts = TrainOptions(data=data, seed=SEED, lr=lr, out=str(out), progress=False, plots=False)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            metrics = run_train(opts)
    except DataError:  # diverged
        return math.nan
    return metrics["test"].get("accuracy", metrics["test"].get("r2"))


def finder(data: str):
    """``--lr auto``'s range test on the command's training rows: the LRFindResult."""
    from chainrule.cli import train as tr
    from chainrule.datasets import TargetScaler

    opts = tr.TrainOptions(data=data, seed=SEED, lr="auto", progress=False, plots=False)
    with contextlib.redirect_stdout(io.StringIO()):
        ds, train, _ = tr._load_and_split(opts)
        _, X_train, _ = tr._preprocess(train, train)
    y = train.y.to_numpy()
    if ds.task == "regression":
        y = TargetScaler().fit(y).transform(y)
    with contextlib.redirect_stdout(io.StringIO()):
        return tr._auto_lr(opts, ds.task, X_train, y)[1], ds.task


def measure(name: str, counter: StepCounter, tmp: Path) -> tuple[list[str], list[str]]:
    """One row of the table, and one of the grid's scores."""
    grid_steps, scores = counter.steps, []
    started = time.perf_counter()
    for k, lr in enumerate(GRID):
        scores.append(full_run(name, float(lr), tmp / f"{name}-{k}"))
    grid_seconds = time.perf_counter() - started
    grid_steps = counter.steps - grid_steps
    steps, started = counter.steps, time.perf_counter()
    result, task = finder(name)
    find_seconds = time.perf_counter() - started
    find_steps = counter.steps - steps
    lr = float(f"{result.suggestion:.3g}")
    score = full_run(name, lr, tmp / f"{name}-auto")
    scores = np.array(scores)
    best = np.nanmax(scores)
    best_rates = GRID[scores >= best - 1e-12]
    factor = min(max(lr / r, r / lr) for r in best_rates)
    shown = ", ".join(f"{r:.2g}" for r in best_rates)
    return [
        name,
        "accuracy" if task == "classification" else "R²",
        f"{lr:.3g}",
        f"{score:.3f}",
        shown,
        f"{best:.3f}",
        f"{factor:.1f}",
        f"{find_steps:,} / {grid_steps:,} = {find_steps / grid_steps:.1%}",
        f"{find_seconds:.2f} / {grid_seconds:.0f} = {find_seconds / grid_seconds:.1%}",
    ], [name, *(f"{v:.3f}" if math.isfinite(v) else "diverged" for v in scores)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()
    from chainrule.datasets import BUNDLED_DATASETS

    warnings.simplefilter("ignore")
    counter = StepCounter()
    rows, grid_rows, started = [], [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in BUNDLED_DATASETS:
            row, grid_row = measure(name, counter, Path(tmp))
            rows.append(row)
            grid_rows.append(grid_row)
            print(" | ".join(row), flush=True)
    header = [
        "dataset",
        "test metric",
        "--lr auto",
        "its score",
        "grid's best rate(s)",
        "grid's best score",
        "factor",
        "cost: steps (finder / grid)",
        "cost: seconds",
    ]
    table = markdown_table(header, rows)
    grid_table = markdown_table(["test score at --lr", *(f"{r:.2g}" for r in GRID)], grid_rows)
    elapsed = time.perf_counter() - started
    block = (
        f"{table}\n\nThe grid's scores:\n\n{grid_table}\n\n"
        f"Seed {SEED}; grid 10 ** linspace(-4, 0, 12); measured in "
        f"{elapsed:.0f} s by `PYTHONPATH=src python benchmarks/lr_find.py`."
    )
    return show_and_write(f"{table}\n\n{grid_table}", DOC, BEGIN, END, block, not args.no_write)


if __name__ == "__main__":
    sys.exit(main())
