"""Small input checks shared by the package.

Every check raises an error whose message names the problem and the fix, so that a
mistake is caught where the user made it and not deep inside a matrix product.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from numbers import Integral

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)

RngLike = "np.random.Generator | int | None"


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Turn ``rng`` (a Generator, an int seed or None) into a ``np.random.Generator``.

    ``None`` gives a freshly seeded generator (non-reproducible, like scikit-learn's
    ``random_state=None``); the global NumPy seed is never used.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, Integral) and not isinstance(rng, bool)):
        if rng is not None and int(rng) < 0:
            raise ValueError(f"rng seed must be a non-negative integer, got {rng}.")
        return np.random.default_rng(None if rng is None else int(rng))
    raise TypeError(
        f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}. "
        "Pass e.g. rng=0 or rng=np.random.default_rng(0)."
    )


def unknown_name(kind: str, name, choices: Iterable[str], hint: str = "") -> str:
    """The package's one message for a name no registry knows.

    ``unknown {kind} {name!r}; choose one of a, b, c{hint}.``, with the choices in the
    registry's order (e.g. ``unknown activation 'swish'; choose one of identity, ...``).
    """
    return f"unknown {kind} {name!r}; choose one of {', '.join(choices)}{hint}."


def lookup(table: Mapping, name, kind: str, hint: str = ""):
    """``table[name]``, or a ValueError with :func:`unknown_name`'s message.

    The one lookup by name behind ``get_activation``, ``get_loss``, ``get_optimizer``,
    ``get_initializer`` and ``get_schedule``.
    """
    try:
        return table[name]
    except (KeyError, TypeError):  # TypeError: an unhashable name, e.g. a list
        raise ValueError(unknown_name(kind, name, table, hint)) from None


def as_float_dtype(dtype) -> np.dtype:
    """Return ``dtype`` as a NumPy dtype, refusing anything but float32 and float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dtype!r}.") from exc
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be np.float32 or np.float64, got {dt}.")
    return dt


def check_positive_int(value, name: str) -> int:
    """``value`` as an int >= 1, or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def as_array(value, name: str, where: str) -> np.ndarray:
    """``np.asarray(value)``, with a clear message for ragged nested lists.

    NumPy refuses rows of different lengths with "setting an array element with a
    sequence ... inhomogeneous shape"; this says which argument and what to do.
    """
    try:
        return np.asarray(value)
    except ValueError as exc:
        raise ValueError(
            f"{where}: {name} cannot be read as an array: its rows have different lengths "
            f"(or hold sequences). Pass a rectangular array, one row per sample with the "
            f"same number of values in every row. (NumPy: {exc.args[0].split('. ')[0]}.)"
        ) from exc


def check_input(X, dtype: np.dtype, where: str) -> np.ndarray:
    """Check that ``X`` is a 2-D numeric array and return it in ``dtype``.

    Integers and booleans are converted to ``dtype`` (no precision is lost that the
    user asked for). A float array of the *other* precision is refused rather than
    silently converted, because a float32 network fed float64 data (or the reverse)
    is almost always a mistake in a pipeline, and NumPy would upcast the result.
    """
    if not isinstance(X, np.ndarray):
        if hasattr(X, "tocsr") and hasattr(X, "nnz"):  # a SciPy sparse matrix
            return _check_sparse(X, dtype, where)
        X = as_array(X, "X", where)
    if X.dtype.kind in "OUSV":
        raise TypeError(
            f"{where}: X has dtype {X.dtype} (strings or objects); encode categorical "
            "columns as numbers first (e.g. one-hot) and pass a numeric array."
        )
    if X.ndim != 2:
        raise ValueError(
            f"{where}: expected a 2-D array of shape (n_samples, n_features), got shape "
            f"{X.shape}. Reshape a single feature with X.reshape(-1, 1) or a single "
            "sample with X.reshape(1, -1)."
        )
    if X.dtype.kind == "f":
        if X.dtype != dtype and X.dtype not in FLOAT_DTYPES:  # float16, longdouble
            raise TypeError(
                f"{where}: X is {X.dtype}, but chainrule computes in float32 or float64 and "
                f"the parameters are {dtype}. Cast the data with X.astype(np.{dtype})."
            )
        if X.dtype != dtype:
            raise TypeError(
                f"{where}: X is {X.dtype} but the parameters are {dtype}. Cast the data "
                f"with X.astype(np.{dtype}) or the network with net.astype(np.{X.dtype}); "
                "chainrule never mixes precisions silently."
            )
        return X
    if X.dtype.kind in "biu":
        return X.astype(dtype)
    raise TypeError(f"{where}: X has unsupported dtype {X.dtype}; pass real numbers.")


def _check_sparse(X, dtype: np.dtype, where: str):
    if X.ndim != 2:
        raise ValueError(f"{where}: expected a 2-D sparse matrix, got {X.ndim} dimensions.")
    if X.dtype != dtype:
        if X.dtype.kind == "f":
            raise TypeError(
                f"{where}: X is {X.dtype} but the parameters are {dtype}. Cast the data "
                f"with X.astype(np.{dtype})."
            )
        X = X.astype(dtype)
    return X


def check_gradient_shape(dY: np.ndarray, expected: tuple, where: str) -> np.ndarray:
    """Check that the upstream gradient ``dY`` has the shape of the forward output."""
    dY = np.asarray(dY)
    if dY.shape != expected:
        raise ValueError(
            f"{where}.backward: dY has shape {dY.shape} but the forward output Y had shape "
            f"{expected}; dY must be dL/dY, one entry for each entry of Y."
        )
    return dY


def new_file_beside(target, suffix: str = ".tmp") -> str:
    """Create an empty temporary file next to ``target`` and return its path.

    For atomic writes (write the temporary file, then ``os.replace`` it onto ``target``).
    Unlike ``tempfile.mkstemp`` (mode 0600), the file gets the mode ``open()`` gives a new
    file (0666 less the umask), so the published file is as readable as any other.
    """
    import os
    import secrets
    from pathlib import Path

    target = Path(target)
    tmp = target.with_name(f".{target.stem}.{secrets.token_hex(6)}{suffix}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return str(tmp)
