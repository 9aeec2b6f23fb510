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
    A failure (a read-only folder) is the same OSError, naming ``target``.
    """
    import os
    import secrets
    from pathlib import Path

    target = Path(target)
    tmp = target.with_name(f".{target.stem}.{secrets.token_hex(6)}{suffix}")
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:  # a read-only folder: name the user's file, not ours
        raise type(exc)(exc.errno, f"{exc.strerror}: cannot write", str(target)) from None
    return str(tmp)


# ----------------------------------------------------------------------------- states
# The state protocol, one for every stateful piece of training (optimizers, schedules,
# callbacks, the estimators' rules): ``obj.state_dict()`` returns a flat dict whose keys
# are strings and whose values are JSON-able (None, bool, int, finite float, str, or
# lists and dicts of those) or NumPy arrays; ``obj.load_state_dict(state)`` checks every
# value and then restores it (all or nothing). Pieces that keep state per parameter of a
# network (optimizers, EarlyStopping) take the network too: ``state_dict(net)``,
# ``load_state_dict(state, net)``, their arrays numbered in ``iter_parameters`` order.
# A state can come from a file (untrusted): the checks below refuse with ValueError.


def check_state_keys(state, allowed, owner: str, required=()) -> dict:
    """``state`` as a dict with only ``allowed`` keys (and all ``required`` ones)."""
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise ValueError(
            f"{owner}: a state must be a dict with str keys (from state_dict()), got "
            f"{type(state).__name__}."
        )
    unknown = sorted(set(state) - set(allowed))
    missing = [k for k in required if k not in state]
    if unknown or missing:
        raise ValueError(
            f"{owner}: the state has unknown entries {unknown[:10]} / lacks {missing}; it "
            "was not written by this object's state_dict()."
        )
    return state


def check_state_config(state: dict, obj, owner: str) -> None:
    """The state was written by an object of ``obj``'s class and configuration."""
    found = (state.get("class"), state.get("config")) if isinstance(state, dict) else (None, None)
    expected = (type(obj).__name__, obj.get_config())
    if found != expected:
        raise ValueError(
            f"{owner}: the state was written by {found[0]} with {found[1]!r:.300}, but this is "
            f"{expected[0]} with {expected[1]!r:.300}; build it the same way to restore it."
        )


def state_count(state: dict, key: str, owner: str, low: int = 0, optional: bool = False):
    """``state[key]``: an int >= ``low`` (None allowed when ``optional``)."""
    value = state.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value < 2**63:
        raise ValueError(f"{owner}: {key!r} must be an integer >= {low}, got {value!r:.40}.")
    return int(value)


def state_float(state: dict, key: str, owner: str, optional: bool = False):
    """``state[key]``: a finite float (None allowed when ``optional``)."""
    import math

    value = state.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{owner}: {key!r} must be a finite number, got {value!r:.40}.")
    return float(value)


def state_array(state: dict, key: str, like: np.ndarray, owner: str, low=None) -> np.ndarray:
    """``state[key]``: an array of ``like``'s shape and dtype, finite (and >= ``low``)."""
    value = state.get(key)
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{owner}: {key!r} must be an array, got {type(value).__name__}.")
    if value.shape != like.shape or value.dtype != like.dtype:
        raise ValueError(
            f"{owner}: {key!r} has shape {value.shape} and dtype {value.dtype}, but the "
            f"parameter it belongs to has shape {like.shape} and dtype {like.dtype}: the state "
            "belongs to another network (or precision)."
        )
    if not np.isfinite(value).all():
        raise ValueError(f"{owner}: {key!r} holds NaN or inf; the state is damaged.")
    if low is not None and (value < low).any():
        raise ValueError(f"{owner}: {key!r} holds values below {low}; the state is damaged.")
    return value
