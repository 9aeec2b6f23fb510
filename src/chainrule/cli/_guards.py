"""Checks the ``chainrule`` command makes before it allocates, trains or writes anything.

- sizes a user types (``--hidden 100000,100000``, 10,000 classes in a CSV target):
  the memory of the parameters, their gradients, the optimizer's state and the
  activations of the largest forward pass is estimated and compared with the memory
  available, and refused with both figures;
- ``gradcheck``: two forward passes per parameter, so its size is bounded;
- ``--seed``: the range NumPy's and scikit-learn's random states accept;
- ``--out``: not the model or the data itself, and writable, found before training.

Each failure raises :class:`GuardError` (a ``ValueError``), which the command prints as
one line with exit status 2.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

SEED_MAX = 2**32 - 1  # numpy.random.RandomState and scikit-learn's random_state
GRADCHECK_MAX_PARAMETERS = 100_000
_OPTIMIZER_COPIES = {"adam": 2, "sgd": 1, "lbfgs": 24}  # arrays the size of the parameters


class GuardError(ValueError):
    """A request the command refuses before doing any work."""


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB', 80e9 -> '74.5 GiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def network_bytes(sizes: list[int], rows: int, itemsize: int = 8, copies: int = 2) -> int:
    """Memory of a ``Dense`` network of layer widths ``sizes`` run on ``rows`` rows.

    ``(1 + 1 + copies) * n_parameters`` (weights, gradients, ``copies`` optimizer
    arrays) plus ``3 * rows * sum(sizes)`` (each layer's output, its gradient, and a
    temporary such as the softmax of the last layer's output).
    """
    n_params = sum(a * b + b for a, b in itertools.pairwise(sizes))
    return itemsize * ((2 + copies) * n_params + 3 * rows * sum(sizes))


def check_memory(what: str, needed: int, fix: str) -> None:
    """Refuse ``needed`` bytes when they exceed the memory available now."""
    available = available_memory()
    if available is not None and needed > available:
        raise GuardError(
            f"{what} would need about {human_bytes(needed)} of memory, but "
            f"{human_bytes(available)} is available; {fix}"
        )


def check_training_size(sizes: list[int], rows: int, solver: str) -> None:
    """``chainrule train``: the network of widths ``sizes`` (inputs, hidden, outputs),
    trained in batches of at most ``rows`` rows and run once on all of them (the
    metrics), with its one-hot targets and the rows' probabilities, fits in memory."""
    # batches are at most `rows` (a larger --batch-size is clipped); the metrics run all rows
    needed = network_bytes(sizes, rows, copies=_OPTIMIZER_COPIES.get(solver, 2))
    # and two (rows, outputs) arrays besides: the one-hot targets the estimator trains on,
    # and the probabilities of all rows for the metrics (10,000 classes: 0.8 GB each per
    # 10,000 rows, which failed after training when left out of the estimate)
    needed += 8 * 2 * rows * sizes[-1]
    hidden = ",".join(str(s) for s in sizes[1:-1])
    check_memory(
        f"training a network {' -> '.join(str(s) for s in sizes)} ({sizes[-1]} outputs) "
        f"on {rows:,} rows",
        needed,
        f"use smaller layers than --hidden {hidden}"
        + (" or a target with fewer distinct values" if sizes[-1] > 1000 else "")
        + ".",
    )


def check_gradcheck_size(sizes: list[int], samples: int) -> None:
    """``chainrule gradcheck``: two forward passes per parameter, so bound the count."""
    n_params = sum(a * b + b for a, b in itertools.pairwise(sizes))
    if n_params > GRADCHECK_MAX_PARAMETERS:
        raise GuardError(
            f"the network {' -> '.join(str(s) for s in sizes)} has {n_params:,} parameters, "
            f"and gradcheck runs two forward passes per parameter; it checks at most "
            f"{GRADCHECK_MAX_PARAMETERS:,}. Use smaller --hidden sizes (e.g. 8,4)."
        )
    check_memory(
        "the gradient check", network_bytes(sizes, samples, copies=2), "use smaller sizes."
    )


def check_seed(seed: int | None) -> None:
    """``--seed`` must be in ``0 .. 2**32 - 1``."""
    if seed is not None and not 0 <= seed <= SEED_MAX:
        raise GuardError(
            f"--seed must be a whole number from 0 to {SEED_MAX} (2**32 - 1), got {seed}."
        )


def check_out_is_not_an_input(out: Path, inputs: dict[str, str | None]) -> None:
    """Refuse an ``--out`` that is one of the command's input files (``inputs``: flag or
    argument name -> path)."""
    for name, given in inputs.items():
        if given is None or not Path(given).exists():
            continue
        if out.exists() and os.path.samefile(out, given):
            raise GuardError(
                f"--out {out} is the {name} itself ({given}); writing there would destroy "
                "it. Name another file."
            )


def check_writable_folder(folder: Path, flag: str, user_path: Path) -> None:
    """The folder ``folder`` (existing or to be created) can receive ``user_path``."""
    probe = folder
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise GuardError(
            f"{flag} {user_path}: {probe} is a file, so nothing can be written below it; "
            "name a folder that is not inside a file."
        )
    try:  # a real file, not os.access: root ignores permissions but not read-only mounts
        with tempfile.TemporaryFile(dir=probe, prefix=".chainrule-probe-"):
            pass
    except OSError as exc:
        raise GuardError(
            f"{flag} {user_path}: cannot write in the folder {probe} ({exc.strerror}); "
            "choose another place or change its permissions."
        ) from None


def check_not_a_pipe(given: str | None, flag: str) -> None:
    """A CSV or model given as a pipe (``/dev/stdin``, ``<(cat f.csv)``) is refused: it
    is read more than once (its format is detected first), which a pipe cannot do."""
    if given is None:
        return
    path = Path(given)
    if path.exists() and not path.is_file() and not path.is_dir():
        raise GuardError(
            f"{flag} {given} is a pipe or a device, not a file; chainrule reads a file more "
            f"than once, so save it first (e.g. cat ... > data.csv) and pass that file."
        )


TARGET_MAX = 2.0**500  # about 3.3e150: squared errors of larger values overflow float64


def check_target_magnitude(y, names: list[str]) -> None:
    """A regression target's squared errors (MSE, R^2) must fit in float64."""
    import numpy as np

    largest = float(np.max(np.abs(np.asarray(y, dtype=np.float64)), initial=0.0))
    if largest > TARGET_MAX:
        raise GuardError(
            f"the target {', '.join(repr(n) for n in names)} reaches {largest:.3g}; its squared "
            f"errors (the MSE and R^2 the run reports) would exceed float64's largest number "
            f"(about 1.8e308). Express it in larger units (divide it by a power of ten so that "
            f"it stays below {TARGET_MAX:.2g}) and train again."
        )


def check_preprocessing_size(X) -> None:
    """Before the preprocessing is fitted: its one-hot encoding fits in memory, and its
    categories (stored as JSON in the model file's header) fit in a model file.

    ``X`` is the feature frame; text and boolean columns are one-hot encoded, one
    output column per distinct value, so ``n_rows * n_outputs`` numbers are allocated.
    """
    import json

    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    from ..persistence import header_text_problem

    text = [c for c in X.columns if is_bool_dtype(X[c]) or not is_numeric_dtype(X[c])]
    categories = {c: X[c].dropna().astype(str).unique().tolist() for c in text}
    counts = {c: len(u) for c, u in categories.items()}
    widest = max(counts, key=counts.get) if counts else None
    hint = f" (column {widest!r} has {counts[widest]:,} distinct values)" if widest else ""
    fix = "drop identifier-like columns or group rare categories, then train again."
    problem = header_text_problem(json.dumps(categories, indent=4))
    if problem:
        raise GuardError(
            f"the preprocessing would not fit in a model file{hint}: its {problem} "
            + fix.capitalize()
        )
    width = X.shape[1] - len(text) + sum(counts.values())
    check_memory(
        f"one-hot encoding {len(X):,} rows into {width:,} columns{hint}",
        3 * 8 * len(X) * width,
        fix,
    )
