"""Saving and loading models: one ``.npz`` file, arrays plus a JSON header, never pickle.

File layout
-----------
A model file is an ordinary NumPy ``.npz`` archive (a zip of ``.npy`` files, stored
uncompressed). It holds

* ``__spec__``: a 0-d unicode array whose text is the JSON header below, and
* one ``.npy`` entry per array named in the header (``float32``, ``float64``, ``int32``,
  ``int64``, ``bool`` or unicode strings; never object arrays).

For a ``Sequential`` the header reads::

    {
      "format": "chainrule",            the magic: this is a chainrule model file
      "format_version": 1,              bumped when the layout changes incompatibly
      "library_version": "0.1.0",       chainrule.__version__ of the writer
      "kind": "layer",                  which loader rebuilds the object (see below)
      "spec": {"architecture": {
          "class": "Sequential", "config": {}, "params": {}, "layers": [
            {"class": "Dense", "config": {"n_in": 4, "n_out": 16, "init": "he"},
             "params": {"W": "layers.0.W", "b": "layers.0.b"}},
            {"class": "ReLU", "config": {}, "params": {}},
            {"class": "Dense", "config": {"n_in": 16, "n_out": 3, "init": "glorot"},
             "params": {"W": "layers.2.W", "b": "layers.2.b"}}]}},
      "arrays": [{"name": "layers.0.W", "shape": [4, 16], "dtype": "float32"}, ...]
    }

Each layer is its class name, the keyword arguments of its constructor
(``layer.get_config()``) and a map from its parameter names to array names; a
``Sequential`` lists its layers. A layer with buffers (state that is not a parameter,
such as ``BatchNorm``'s running statistics) has one more field, ``"buffers"``, mapping
their names to array names in the same way: ``{"running_mean": "layers.1.running_mean",
...}``. The file can be read with plain NumPy::

    import json
    import numpy as np

    with np.load("model.npz", allow_pickle=False) as f:
        header = json.loads(f["__spec__"].item())
        W0 = f["layers.0.W"]                   # the first Dense layer's weights

Safety
------
A model file is untrusted input. ``load`` reads it as safetensors files are read
(:mod:`chainrule._model_file`): the zip directory first (no duplicate entry names), then
the header entry (at most 2 MiB and 250,000 JSON values), then every array entry's size
against the header's shape and dtype and against the zip directory, and only then the
arrays: nothing the header does not list is read, and compressed entries may expand at
most 4-fold, so a zip bomb or a small file declaring a huge array is refused before
anything is allocated. Arrays are read with ``allow_pickle=False``, so no Python object
is ever unpickled and no code from the file runs. The header is then checked field by
field (types, names, shapes, dtypes against the arrays actually stored, every layer's
config against its stored parameters before the layer is built) and only classes from
two allow-lists are instantiated: the :class:`~chainrule.layers.Layer` subclasses
exported by :mod:`chainrule.layers`, and the kinds registered with
:func:`register_kind`. Any problem raises :class:`ModelFileError` naming the file, the
problem and what to do; no other exception escapes ``load`` for a file that exists.

``save`` writes to a temporary file next to the target and moves it into place with
``os.replace`` only once it is complete (and once the state has been checked to rebuild),
so a failed save leaves neither a half-written model nor a temporary file, and an
existing file at the target path is untouched.

Extension protocol (the scikit-learn estimators use it)
-------------------------------------------------------
Any class can be made saveable without this module knowing it:

1. give it a method ``_to_chainrule_state(self) -> tuple[dict, dict[str, np.ndarray]]``
   returning a JSON-able ``spec`` (dicts with str keys, lists, str, int, float, bool,
   None; tuples come back as lists) and named arrays (names of letters, digits, ``_``,
   ``.`` and ``-``, not starting with ``__``; dtypes as listed above);
2. give it a classmethod ``_from_chainrule_state(cls, spec, arrays) -> instance``
   that rebuilds the object from exactly what ``_to_chainrule_state`` returned (after a
   trip through JSON), raising ``ValueError`` with a clear message if it cannot;
3. register it once, at import time: ``register_kind("MLPClassifier", MLPClassifier)``.

A network inside such an object can be stored with :func:`layer_to_state` and rebuilt
with :func:`layer_from_state`, which validate it exactly as a saved network is.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._checks import new_file_beside
from ..layers.base import Layer
from . import _model_file
from .state import (
    _build_model,
    _jtype,
    _layer_classes,  # noqa: F401 - read here by the registry's tests
    _SpecError,
    join_state,
    layer_from_state,
    layer_to_state,
    split_state,
)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ModelFileError",
    "join_state",
    "layer_from_state",
    "layer_to_state",
    "load",
    "register_kind",
    "save",
    "split_state",
]

FORMAT_NAME = "chainrule"
FORMAT_VERSION = 1

SPEC_KEY = "__spec__"
_HEADER_FIELDS = ("format", "format_version", "library_version", "kind", "spec", "arrays")
_ARRAY_FIELDS = ("name", "shape", "dtype")
_NUMERIC_DTYPES = {
    name: np.dtype(name) for name in ("float32", "float64", "int32", "int64", "bool")
}
_STR_DTYPE = "str"  # unicode strings of any width
ALLOWED_DTYPES = (*_NUMERIC_DTYPES, _STR_DTYPE)
_NAME_RE = _model_file.NAME_RE
_KIND_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,99}")
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class ModelFileError(ValueError):
    """A file that ``load`` refuses: not a chainrule model, damaged, or inconsistent.

    Parameters
    ----------
    path : str or os.PathLike
        The file concerned.
    problem : str
        What is wrong with it.
    fix : str, optional
        What the user can do about it.

    Attributes
    ----------
    path : pathlib.Path
    """

    def __init__(self, path: str | os.PathLike, problem: str, fix: str = "") -> None:
        self.path = Path(path)
        message = f"cannot load model file {str(self.path)!r}: {problem}"
        if fix:
            message += f" {fix}"
        super().__init__(message)


# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class _Kind:
    name: str
    cls: type
    matches: Callable[[object], bool]
    to_state: Callable[[object], tuple[dict, dict[str, np.ndarray]]]
    from_state: Callable[[dict, dict[str, np.ndarray]], object]


_KINDS: dict[str, _Kind] = {}

# chainrule's own kinds, by the module that registers them: imported when a file needs
# one, so that ``import chainrule`` need not import scikit-learn up front.
_BUILTIN_KINDS = {
    "MLPClassifier": "chainrule.estimators",
    "MLPRegressor": "chainrule.estimators",
    "ModelBundle": "chainrule.persistence.bundle",
    "TrainingCheckpoint": "chainrule.training.checkpoint",
}


def register_kind(kind: str, cls: type) -> type:
    """Allow ``save``/``load`` to handle instances of ``cls``, under the name ``kind``.

    Parameters
    ----------
    kind : str
        The name written in the file's header (e.g. ``"MLPClassifier"``): letters,
        digits, ``_`` and ``.``, starting with a letter or ``_``. ``"layer"`` is taken by
        chainrule's own layers.
    cls : type
        A class with a method ``_to_chainrule_state(self) -> (spec, arrays)`` and a
        classmethod ``_from_chainrule_state(cls, spec, arrays) -> cls instance``; see the
        module docstring for the contract. ``save`` accepts instances of exactly this
        class (not of subclasses, which would load as their parent).

    Returns
    -------
    cls : type
        Unchanged, so that ``register_kind`` can be used in a decorator.

    Raises
    ------
    ValueError
        If ``kind`` is malformed or already registered to another class.
    TypeError
        If ``cls`` does not implement the protocol.
    """
    if not isinstance(kind, str) or not _KIND_RE.fullmatch(kind):
        raise ValueError(
            f"kind must be a name of letters, digits, '_' and '.', starting with a letter "
            f"or '_' (e.g. 'MLPClassifier'), got {kind!r}."
        )
    if not isinstance(cls, type):
        raise TypeError(f"register_kind({kind!r}, cls) needs a class, got {cls!r}.")
    for method in ("_to_chainrule_state", "_from_chainrule_state"):
        if not callable(getattr(cls, method, None)):
            raise TypeError(
                f"{cls.__name__} cannot be registered as {kind!r}: it has no method "
                f"{method}. See chainrule.persistence's module docstring for the protocol."
            )
    existing = _KINDS.get(kind)
    if existing is not None:
        if existing.cls is cls:
            return cls
        raise ValueError(
            f"kind {kind!r} is already registered to {existing.cls.__module__}."
            f"{existing.cls.__qualname__}; choose another name."
        )
    _KINDS[kind] = _Kind(
        name=kind,
        cls=cls,
        matches=lambda obj: type(obj) is cls,
        to_state=lambda obj: obj._to_chainrule_state(),
        from_state=cls._from_chainrule_state,
    )
    return cls


def _layer_kind_to_state(obj: Layer) -> tuple[dict, dict[str, np.ndarray]]:
    architecture, arrays = layer_to_state(obj)
    return {"architecture": architecture}, arrays


def _layer_kind_from_state(spec: dict, arrays: dict[str, np.ndarray]) -> Layer:
    if not isinstance(spec, dict) or set(spec) != {"architecture"}:
        raise _SpecError("the spec of a layer must be an object with one field, 'architecture'.")
    layer, used = _build_model(spec["architecture"], arrays)
    unused = sorted(set(arrays) - used)
    if unused:
        raise _SpecError(f"arrays {unused} belong to no layer of the architecture.")
    return layer


_KINDS["layer"] = _Kind(
    name="layer",
    cls=Layer,
    matches=lambda obj: isinstance(obj, Layer),
    to_state=_layer_kind_to_state,
    from_state=_layer_kind_from_state,
)


# --------------------------------------------------------------------------- save


def _check_path(path, verb: str) -> None:
    """An empty path would become '.' (the current folder): say what is wrong instead."""
    if isinstance(path, (str, os.PathLike)) and not os.fspath(path).strip():
        raise ValueError(
            f"{verb}: the path is empty ({os.fspath(path)!r}); pass a file name such as "
            "'model.npz'."
        )
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{verb}: path must be a str or a Path, got {type(path).__name__}.")


def _npz_path(path: str | os.PathLike) -> Path:
    path = Path(os.fspath(path))
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _dtype_name(value: np.ndarray, where: str) -> str:
    for name, dt in _NUMERIC_DTYPES.items():
        if value.dtype == dt:
            return name
    if value.dtype.kind == "U":
        return _STR_DTYPE
    raise TypeError(
        f"cannot save {where}: its dtype is {value.dtype}; a model file holds only "
        f"{', '.join(ALLOWED_DTYPES)} arrays (no object arrays, nothing pickled). Convert "
        "it, e.g. np.asarray(x, dtype=str) for labels."
    )


def _write_npz(fileobj, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` (the layout ``np.savez`` produces)."""
    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for name, value in arrays.items():
            with archive.open(name + ".npy", mode="w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, value, allow_pickle=False)


def save(obj: object, path: str | os.PathLike) -> Path:
    """Save a network, a layer or a registered object to one ``.npz`` file.

    Parameters
    ----------
    obj : Layer or registered object
        A ``Sequential``, any single chainrule layer, or an instance of a class registered
        with :func:`register_kind` (the fitted estimators).
    path : str or os.PathLike
        Where to write. ``".npz"`` is appended when the name does not end with it
        (``"model"`` -> ``"model.npz"``, as ``np.savez`` does), and :func:`load` finds
        the file by the same rule. An existing file is replaced, atomically.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        If ``obj`` is of a class that cannot be saved, or holds an array of a dtype a
        model file cannot hold.
    ValueError
        If its state is not JSON-able or would not rebuild on loading.
    FileNotFoundError
        If the directory of ``path`` does not exist.

    Notes
    -----
    The file layout is in the module docstring. Before anything is written, the state
    is rebuilt in memory exactly as :func:`load` would rebuild it, so a file that could
    not be loaded is never written. The bytes go to a temporary file in the target's
    directory, which replaces the target (``os.replace``) only once complete; on any
    failure the temporary file is removed and an existing target is left untouched.
    """
    target = _save_target(path)
    kind = _kind_of(obj)
    spec, arrays = kind.to_state(obj)
    if not isinstance(spec, dict) or not isinstance(arrays, dict):
        raise TypeError(f"cannot save a {kind.name}: its state must be a (dict, dict) pair.")
    stored, entries = _arrays_to_store(kind.name, arrays)
    text = _header_text(kind.name, spec, entries, stored)
    _write_atomically(target, {SPEC_KEY: np.array(text), **stored})  # the header first
    return target


def _save_target(path) -> Path:
    """The file ``save`` writes (``.npz`` appended), checked: a non-empty path, in an
    existing directory, not itself a directory."""
    _check_path(path, "save")
    target = _npz_path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"cannot save to {str(target)!r}: the directory {str(target.parent)!r} does not "
            "exist. Create it first, e.g. Path(...).mkdir(parents=True, exist_ok=True)."
        )
    if target.is_dir():
        raise IsADirectoryError(f"cannot save to {str(target)!r}: it is a directory.")
    return target


def _kind_of(obj: object) -> _Kind:
    """The kind that saves ``obj``: a registered class (exact type) first, then
    chainrule's own layers; a TypeError naming the kinds (and ``register_kind`` when
    ``obj`` has the protocol's method) otherwise."""
    kinds = sorted(_KINDS.values(), key=lambda k: k.name == "layer")
    kind = next((k for k in kinds if k.matches(obj)), None)
    if kind is None:
        hint = (
            " It has a _to_chainrule_state method: register its class with "
            "chainrule.persistence.register_kind(kind, cls)."
            if hasattr(obj, "_to_chainrule_state")
            else ""
        )
        raise TypeError(
            f"cannot save a {type(obj).__name__}: save() takes a chainrule layer or network "
            f"(Sequential), or an object of a registered kind ({', '.join(sorted(_KINDS))})." + hint
        )
    return kind


def _arrays_to_store(kind_name: str, arrays: dict) -> tuple[dict[str, np.ndarray], list]:
    """The arrays as stored (names checked, dtypes from the allowed list, native byte
    order) and their header entries ``{"name", "shape", "dtype"}``, in the same order."""
    stored: dict[str, np.ndarray] = {}
    entries = []
    for name, value in arrays.items():
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise ValueError(
                f"cannot save a {kind_name}: array name {name!r} is not allowed; use letters, "
                "digits, '_', '.' and '-' (at most 200), not starting with '__'."
            )
        value = np.asarray(value)
        dtype = _dtype_name(value, f"array {name!r}")
        if not value.dtype.isnative:
            value = value.astype(value.dtype.newbyteorder("="))
        stored[name] = value
        entries.append({"name": name, "shape": list(value.shape), "dtype": dtype})
    return stored, entries


def _header_text(kind_name: str, spec: dict, entries: list, stored: dict) -> str:
    """The JSON header, checked: JSON-able, within the header's size limits, and
    rebuilding (from exactly the text ``load`` will read) with the ``stored`` arrays."""
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "library_version": _library_version(),
        "kind": kind_name,
        "spec": spec,
        "arrays": entries,
    }
    try:
        text = json.dumps(header, indent=1)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"cannot save a {kind_name}: its description is not JSON-able ({exc}). "
            "Configs and specs may hold only dicts, lists, str, int, float, bool and None."
        ) from exc
    too_large = _model_file.header_text_problem(text)
    if too_large:
        raise ValueError(
            f"cannot save a {kind_name}: its {too_large} Store long lists as arrays. "
            "Nothing was written."
        )
    # Rebuild from exactly what load() will read, so an unloadable file is never written.
    try:
        _check_header(json.loads(text), stored)
    except _SpecError as exc:
        raise ValueError(
            f"cannot save a {kind_name}: it would not load back ({exc}). Nothing was written."
        ) from exc
    return text


def _write_atomically(target: Path, stored: Mapping[str, np.ndarray]) -> None:
    """Write the archive to a temporary file beside ``target`` and move it into place
    once complete; on any failure remove the temporary file (``target`` is untouched)."""
    tmp = Path(new_file_beside(target))
    try:
        with open(tmp, "wb") as f:
            _write_npz(f, stored)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _library_version() -> str:
    from .._version import __version__

    return __version__


# --------------------------------------------------------------------------- load


def _check_header(header, arrays: Mapping[str, np.ndarray]) -> object:
    """Validate a parsed header against the stored arrays and rebuild the object: its
    fields and kind first, then every array entry, then the object from its spec."""
    kind = _header_kind(header)
    _check_array_entries(header["arrays"], arrays)
    try:
        obj = kind.from_state(header["spec"], dict(arrays))
    except _SpecError:
        raise
    except KeyError as exc:
        raise _SpecError(
            f"its {kind.name} could not be rebuilt: the entry {exc} is missing."
        ) from exc
    except (ValueError, TypeError, IndexError, AttributeError, OverflowError) as exc:
        raise _SpecError(f"its {kind.name} could not be rebuilt: {exc}") from exc
    if not isinstance(obj, kind.cls):
        raise _SpecError(
            f"rebuilding a {kind.name} gave a {type(obj).__name__}, not a {kind.cls.__name__}."
        )
    return obj


def _header_kind(header) -> _Kind:
    """The header's kind, checked: a JSON object with exactly the header's fields, a
    string ``library_version``, and a ``kind`` that is registered (chainrule's own kinds
    are imported on first use)."""
    if not isinstance(header, dict):
        raise _SpecError(f"the header must be a JSON object, got {_jtype(header)}.")
    missing = [f for f in _HEADER_FIELDS if f not in header]
    extra = sorted(set(header) - set(_HEADER_FIELDS))
    if missing or extra:
        raise _SpecError(f"the header lacks fields {missing} / has unknown fields {extra}.")
    if not isinstance(header["library_version"], str):
        raise _SpecError("'library_version' must be a string.")
    kind_name = header["kind"]
    if not isinstance(kind_name, str):
        raise _SpecError(f"'kind' must be a string, got {_jtype(kind_name)}.")
    if kind_name not in _KINDS and kind_name in _BUILTIN_KINDS:
        importlib.import_module(_BUILTIN_KINDS[kind_name])  # registers it (imported lazily)
    if kind_name not in _KINDS:
        raise _SpecError(
            f"it holds an object of unknown kind {kind_name!r}; the registered kinds are "
            f"{sorted(_KINDS)}. Import the module that defines and registers it (for the "
            "estimators: import chainrule), or upgrade chainrule."
        )
    return _KINDS[kind_name]


def _check_array_entries(entries, arrays: Mapping[str, np.ndarray]) -> None:
    """The header's ``"arrays"`` list against the stored arrays: each entry well formed
    and listed once, each array stored with the shape and dtype it declares, and no
    stored array left unlisted."""
    if not isinstance(entries, list):
        raise _SpecError(f"'arrays' must be a list, got {_jtype(entries)}.")
    names: list[str] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != set(_ARRAY_FIELDS):
            raise _SpecError(f"'arrays'[{i}] must be an object with fields {list(_ARRAY_FIELDS)}.")
        name, shape, dtype = entry["name"], entry["shape"], entry["dtype"]
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise _SpecError(f"'arrays'[{i}] has an invalid name {name!r}.")
        if name in names:
            raise _SpecError(f"array {name!r} is listed twice.")
        names.append(name)
        _check_stored_as_declared(name, shape, dtype, arrays)
    unlisted = sorted(set(arrays) - set(names))
    if unlisted:
        raise _SpecError(f"the file holds arrays {unlisted} that the header does not list.")


def _check_stored_as_declared(name: str, shape, dtype, arrays: Mapping[str, np.ndarray]) -> None:
    """Array ``name``'s declared ``shape`` (non-negative integers) and ``dtype`` (an
    allowed one), and the stored array: present, of exactly that shape and dtype."""
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise _SpecError(f"array {name!r}: 'shape' must be a list of non-negative integers.")
    if dtype not in ALLOWED_DTYPES:
        raise _SpecError(f"array {name!r}: dtype {dtype!r} is not one of {list(ALLOWED_DTYPES)}.")
    if name not in arrays:
        raise _SpecError(f"array {name!r} is listed in the header but missing from the file.")
    value = arrays[name]
    ok_dtype = (
        value.dtype.kind == "U" if dtype == _STR_DTYPE else value.dtype == _NUMERIC_DTYPES[dtype]
    )
    if tuple(shape) != value.shape or not ok_dtype:
        raise _SpecError(
            f"array {name!r} has shape {value.shape} and dtype {value.dtype} in the file, "
            f"but the header says shape {tuple(shape)} and dtype {dtype}: the file is "
            "inconsistent (edited or damaged)."
        )


def _resolve_load_path(path: str | os.PathLike) -> Path:
    _check_path(path, "load")
    given = Path(os.fspath(path))
    if given.is_file():
        return given
    with_suffix = _npz_path(given)
    if with_suffix != given and with_suffix.is_file():
        return with_suffix
    if given.is_dir():
        raise IsADirectoryError(f"cannot load {str(given)!r}: it is a directory, not a file.")
    also = f" (nor {str(with_suffix)!r})" if with_suffix != given else ""
    raise FileNotFoundError(f"no model file {str(given)!r}{also}; check the path.")


def _sniff(path: Path) -> None:
    """Refuse, before NumPy sees it, a file that is not a zip archive at all."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise ModelFileError(path, "the file is empty (0 bytes).", "Save the model again.")
    if head[:4] in _ZIP_MAGIC:
        return
    if head.startswith(b"\x93NUMPY"):
        what = "a single .npy array, not an .npz archive"
    elif head[:1] == b"\x80":
        what = "a Python pickle, which chainrule never loads (it could run arbitrary code)"
    else:
        what = "not an .npz (zip) archive"
    raise ModelFileError(
        path,
        f"it is not a chainrule model file: {what}.",
        "Pass a file written by chainrule.save().",
    )


def load(path: str | os.PathLike) -> Any:
    """Load what :func:`save` wrote: a network, a layer or a registered object.

    Parameters
    ----------
    path : str or os.PathLike
        The file. If it does not exist and its name does not end with ``".npz"``, the
        same name with ``".npz"`` appended is tried (the name ``save`` wrote).

    Returns
    -------
    obj : Layer or registered object
        For a network, a ``Sequential`` whose parameters have the saved values and
        dtypes (float32 stays float32) and zero gradients, ready to predict or train.

    Raises
    ------
    ModelFileError
        If the file is not a chainrule model, is truncated or damaged, holds object
        arrays, is inconsistent (shapes or dtypes that disagree with its header, missing
        or extra arrays, an unknown layer class or kind), or was written in a newer format.
    FileNotFoundError
        If there is no such file.

    Notes
    -----
    The file is untrusted input: every size in it is checked against the header and
    the zip directory before anything is allocated, arrays are read with
    ``allow_pickle=False``, no code from it runs, and only allow-listed classes are
    instantiated (see the module docstring). A refusal costs at most a few MB.
    """
    path = _resolve_load_path(path)
    _sniff(path)
    try:
        return _load_file(path)
    except ModelFileError:
        raise
    except _model_file.Refusal as exc:
        raise ModelFileError(path, exc.problem, exc.fix) from exc
    except _SpecError as exc:
        raise ModelFileError(
            path, f"{exc}", "Only files written by chainrule.save() can be loaded."
        ) from exc
    except RecursionError as exc:
        raise ModelFileError(path, "its architecture is nested too deeply.") from exc
    except Exception as exc:  # zlib.error, MemoryError, ...: still a refusal, never a crash
        raise ModelFileError(
            path,
            f"the file is damaged or could not be read ({type(exc).__name__}: {str(exc)[:200]}).",
            "Save the model again, or copy the file again if it was transferred.",
        ) from exc


def _load_file(path: Path) -> Any:
    """Header first, then the sizes of every entry, then the arrays, then the object."""
    with _model_file.open_archive(path) as archive:
        text = _model_file.read_header_text(archive)
        header = _parse_header(path, text)
        arrays = _model_file.read_arrays(archive, _model_file.declared_arrays(header))
    return _check_header(header, arrays)


def _parse_header(path: Path, text: str) -> dict:
    """The JSON header, checked to be chainrule's, in a format version this reads."""
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(
            path, f"its {SPEC_KEY!r} header is not valid JSON ({str(exc)[:200]})."
        ) from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        found = header.get("format") if isinstance(header, dict) else None
        raise ModelFileError(
            path,
            f"it is not a chainrule model file (its header's format is {found!r:.80}, "
            f"not {FORMAT_NAME!r}).",
            "Pass a file written by chainrule.save().",
        )
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(
            path, f"its format_version {version!r:.40} is not a positive integer: it is damaged."
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            path,
            f"it was written in format version {version} (by chainrule "
            f"{header.get('library_version')!r:.40}), but this chainrule "
            f"({_library_version()}) reads format version {FORMAT_VERSION} at most, i.e. it "
            "comes from a newer chainrule.",
            "Upgrade chainrule (pip install -U chainrule) to load it.",
        )
    return header
