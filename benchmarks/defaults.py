"""Are `chainrule train`'s defaults good models? Measure them against linear baselines.

For every bundled dataset and a few scikit-learn ``make_*`` sets, and for seeds 0, 1, 2:
run the command's own code path (``run_train`` with its defaults, exactly what
``chainrule train --data NAME --seed S`` does), then fit on the *same* split and the same
preprocessing (``train_test_split_dataset`` + ``Preprocessor``, standardised target for
regression):

- the linear baseline: ``LogisticRegression(max_iter=5000)`` or ``Ridge()``;
- scikit-learn's ``MLPClassifier``/``MLPRegressor`` with its defaults (``max_iter=2000``
  so that it converges).

The score is the test accuracy (classification) or R² (regression), mean over the seeds.
The table is printed and written into ``docs/defaults.md`` between the markers::

    PYTHONPATH=src python benchmarks/defaults.py            # writes docs/defaults.md
    PYTHONPATH=src python benchmarks/defaults.py --no-write  # prints only
    PYTHONPATH=src python benchmarks/defaults.py --only iris six_classes  # these rows only

``--only`` re-runs the named rows and keeps the page's other rows as they are.

The small tables (under 300 rows, so no validation set: ``--alpha auto`` chooses the
penalty by cross-validation) are a 214-row, 6-class synthetic table shaped like the
UCI glass table (unequal classes), a 150-row target that is a linear function of one
of 6 columns, and 250 rows of digits (10 classes).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _doc import markdown_table, show_and_write

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "defaults.md"
BEGIN, END = "<!-- defaults table: begin -->", "<!-- defaults table: end -->"
SEEDS = (0, 1, 2)


def make_sets(folder: Path) -> dict[str, Path]:
    """A few synthetic sets written as CSV files, so the command reads them as a user's."""
    from sklearn import datasets as skd

    sets = {}
    X, y = skd.make_classification(
        n_samples=600, n_features=12, n_informative=6, n_redundant=2, random_state=0
    )
    sets["make_classification"] = (X, y)
    X, y = skd.make_moons(n_samples=500, noise=0.25, random_state=0)
    sets["make_moons"] = (X, y)
    X, y = skd.make_friedman1(n_samples=600, noise=1.0, random_state=0)
    sets["make_friedman1"] = (X, y)
    sets.update(small_sets())
    paths = {}
    for name, (X, y) in sets.items():
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
        frame["y"] = y
        paths[name] = folder / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def small_sets() -> dict[str, tuple]:
    """The small tables (under 300 rows) as (X, y)."""
    from sklearn import datasets as skd

    X, y = skd.make_classification(
        n_samples=214, n_features=9, n_informative=6, n_redundant=2, n_classes=6,
        n_clusters_per_class=1, weights=[0.33, 0.35, 0.08, 0.06, 0.04, 0.14], random_state=0,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    L = rng.normal(size=(150, 6))
    digits = skd.load_digits()
    rows = np.random.default_rng(0).permutation(len(digits.target))[:250]
    return {
        "six_classes_214": (X, y),
        "linear_target_150": (L, 3 * L[:, 0] + 1 + 0.1 * rng.normal(size=150)),
        "digits_250": (digits.data[rows], digits.target[rows]),
    }


def old_rows() -> dict[str, list[str]]:
    """The rows of the table now on the page, by dataset name."""
    page = DOC.read_text().split(BEGIN, 1)[1].split(END, 1)[0]
    lines = [line for line in page.splitlines() if line.startswith("| ")][1:]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    return {row[0].split(" (")[0]: row for row in rows}


def baselines(data: str, seed: int) -> tuple[str, float, float]:
    """(task, linear score, scikit-learn MLP score) on the command's split and preprocessing."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from chainrule.datasets import (
        Preprocessor,
        TargetScaler,
        load_dataset,
        train_test_split_dataset,
    )

    ds = load_dataset(data)
    train, test = train_test_split_dataset(ds, test_size=0.2, rng=seed)
    pre = Preprocessor().fit(train.X)
    X_train, X_test = pre.transform(train.X), pre.transform(test.X)
    y_train, y_test = train.y.to_numpy(), test.y.to_numpy()
    if ds.task == "classification":
        lin = LogisticRegression(max_iter=5000).fit(X_train, y_train)
        mlp = MLPClassifier(max_iter=2000, random_state=seed).fit(X_train, y_train)
        return (
            ds.task,
            accuracy_score(y_test, lin.predict(X_test)),
            accuracy_score(y_test, mlp.predict(X_test)),
        )
    scaler = TargetScaler().fit(y_train)
    T = scaler.transform(y_train)
    lin = Ridge().fit(X_train, T)
    mlp = MLPRegressor(max_iter=2000, random_state=seed).fit(X_train, T)
    return (
        ds.task,
        r2_score(y_test, scaler.inverse_transform(lin.predict(X_test))),
        r2_score(y_test, scaler.inverse_transform(mlp.predict(X_test))),
    )


def command(data: str, seed: int, out: Path) -> tuple[float, int, int | None, float]:
    """(test score, epochs run, kept epoch, alpha) of `chainrule train --data data --seed seed`."""
    import json

    from chainrule.cli.train import TrainOptions, run_train

    opts = TrainOptions(data=data, seed=seed, out=str(out), progress=False, plots=False)
    with contextlib.redirect_stdout(io.StringIO()):
        metrics = run_train(opts)
    report = json.loads((out / "metrics.json").read_text())
    score = metrics["test"].get("accuracy", metrics["test"].get("r2"))
    return score, report["epochs_run"], report["kept_epoch"], report["alpha"]


def kind(name: str) -> str:
    return "250 rows of digits" if name == "digits_250" else "synthetic"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="re-run these rows only")
    args = parser.parse_args()
    from chainrule.datasets import BUNDLED_DATASETS

    warnings.simplefilter("ignore")  # scikit-learn's MLP on 16 linnerud rows, etc.
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sources = {name: name for name in BUNDLED_DATASETS}
        sources.update({k: str(v) for k, v in make_sets(tmp).items()})
        on_page = old_rows() if args.only else {}
        for name, data in sources.items():
            if args.only and name not in args.only:
                if name in on_page:
                    rows.append(on_page[name])
                continue
            ours, lins, mlps, epochs, alphas = [], [], [], [], []
            for seed in SEEDS:
                score, n_epochs, kept, alpha = command(data, seed, tmp / f"{name}-{seed}")
                task, lin, mlp = baselines(data, seed)
                ours.append(score)
                lins.append(lin)
                mlps.append(mlp)
                epochs.append(f"{n_epochs}" + (f"/{kept}" if kept else ""))
                alphas.append(f"{alpha:g}")
            verdict = "at or above" if np.mean(ours) >= np.mean(lins) - 1e-12 else "BELOW"
            rows.append(
                [
                    name + ("" if name in BUNDLED_DATASETS else f" ({kind(name)})"),
                    "accuracy" if task == "classification" else "R²",
                    f"{np.mean(ours):.3f}",
                    f"{np.mean(lins):.3f}",
                    f"{np.mean(mlps):.3f}",
                    " ".join(epochs),
                    " ".join(alphas),
                    verdict,
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
    header = [
        "dataset",
        "test metric",
        "chainrule train",
        "linear (LogReg/Ridge)",
        "sklearn MLP",
        "epochs run/kept (seeds 0 1 2)",
        "alpha (auto)",
        "vs linear",
    ]
    table = markdown_table(header, rows)
    elapsed = time.perf_counter() - started
    how = f"measured in {elapsed:.0f} s by `PYTHONPATH=src python benchmarks/defaults.py`"
    if args.only:
        how = (
            "measured by `PYTHONPATH=src python benchmarks/defaults.py`; the rows "
            f"{', '.join(args.only)} re-measured in {elapsed:.0f} s with "
            f"`--only {' '.join(args.only)}`"
        )
    block = f"{table}\n\nMean of seeds {', '.join(map(str, SEEDS))}; {how}."
    return show_and_write(table, DOC, BEGIN, END, block, not args.no_write)


if __name__ == "__main__":
    sys.exit(main())
