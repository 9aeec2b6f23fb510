"""Reading a model file as untrusted input: bounded in time and memory, checked first.

A model file is a zip archive; its header (the ``__spec__.npy`` entry, JSON) says which
arrays it holds, with their shapes and dtypes. This module reads it the way the
safetensors format is read: every size is checked against the header and against the
zip directory *before* anything is decompressed or allocated.

- the archive may not list an entry twice, nor hold an entry the header does not list;
- the header entry is at most ``MAX_HEADER_BYTES`` and ``MAX_HEADER_ITEMS`` JSON values;
- each array entry's ``.npy`` header must give exactly the header's shape and dtype, and
  the entry's uncompressed size (from the zip directory) must be exactly that header
  plus ``prod(shape) * itemsize`` bytes;
- compressed entries (``np.savez_compressed``; chainrule writes stored entries) may
  expand at most ``MAX_EXPANSION`` times, so a zip bomb is refused unread.

So reading the arrays costs at most the file's size, or ``MAX_EXPANSION`` times the
compressed size; a refusal costs the header and the zip directory. Every problem raises
:class:`Refusal` (``problem``, ``fix``); :func:`chainrule.load` turns it into a
``ModelFileError`` naming the file.
"""

from __future__ import annotations

import math
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np

SPEC_ENTRY = "__spec__.npy"
MAX_HEADER_BYTES = 2 * 2**20  # the JSON header, as stored (UTF-32: 4 bytes a character)
MAX_HEADER_ITEMS = 250_000  # JSON values in it (counted as ',', '[' and '{')
MAX_EXPANSION = 4  # uncompressed / compressed size of a deflated entry
_SLACK = 2**20  # compressed entries may expand beyond MAX_EXPANSION by 1 MiB in all
_NPY_HEADER_MAX = 10_000  # bytes of a .npy entry's own header (NumPy's default limit)
_MAX_NDIM = 32
NAME_RE = re.compile(r"(?!__)[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}")  # an array's name
_NUMERIC = {n: np.dtype(n) for n in ("float32", "float64", "int32", "int64", "bool")}
_DAMAGED = "Save the model again, or copy the file again if it was transferred."


class Refusal(Exception):
    """Why a model file is refused, and what to do."""

    def __init__(self, problem: str, fix: str = _DAMAGED) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


def open_archive(path: Path) -> zipfile.ZipFile:
    """The zip archive at ``path``, its directory checked: no duplicate names."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise Refusal(f"the file is damaged or truncated ({type(exc).__name__}: {exc}).") from exc
    names = [info.filename for info in archive.infolist()]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})[:5]
        archive.close()
        raise Refusal(
            f"the archive lists the entries {twice} more than once (a crafted file: the "
            "same name could hide two different arrays).",
            "Only files written by chainrule.save() can be loaded.",
        )
    return archive


def read_header_text(archive: zipfile.ZipFile) -> str:
    """The JSON text of the ``__spec__`` entry, read only if it is small enough."""
    try:
        info = archive.getinfo(SPEC_ENTRY)
    except KeyError:
        names = archive.namelist()[:10]
        raise Refusal(
            f"it is a zip archive but not a chainrule model file (it has no '__spec__' "
            f"entry; its entries are {names}).",
            "Pass a file written by chainrule.save().",
        ) from None
    if info.file_size > MAX_HEADER_BYTES + _NPY_HEADER_MAX:
        raise Refusal(
            f"its header entry would take {info.file_size:,} bytes uncompressed; a "
            f"chainrule header is at most {MAX_HEADER_BYTES:,}."
        )
    shape, dtype = _entry_layout(archive, info, "__spec__")
    if dtype.kind != "U" or shape != ():
        raise Refusal(
            f"its '__spec__' entry is not a 0-d unicode array (got {dtype} of shape "
            f"{shape}): not a chainrule model file.",
            "Pass a file written by chainrule.save().",
        )
    text = _read_text(archive, info, dtype)
    problem = header_text_problem(text)
    if problem:
        raise Refusal(f"its {problem}")
    return text


def _read_text(archive, info, dtype: np.dtype) -> str:
    """A 0-d unicode entry's text, decoded straight from its bytes (no array copy)."""
    size = dtype.itemsize
    try:
        with archive.open(info) as handle:
            raw = handle.read(info.file_size)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise Refusal(f"the file is damaged or truncated ({type(exc).__name__}: {exc}).") from exc
    codec = "utf-32-be" if dtype.byteorder == ">" else "utf-32-le"
    try:
        text = str(memoryview(raw)[len(raw) - size :], codec)  # a view: no copy of the bytes
    except UnicodeDecodeError as exc:
        raise Refusal(f"its header is not valid text ({exc}).") from exc
    del raw
    return text.rstrip("\x00")  # NumPy pads a unicode scalar with NUL characters


def header_text_problem(text: str) -> str | None:
    """Why a JSON header is too large to load (``save`` asks too), or None."""
    items = text.count(",") + text.count("[") + text.count("{")
    if 4 * len(text) > MAX_HEADER_BYTES or items > MAX_HEADER_ITEMS:
        return (
            f"header has {len(text):,} characters and about {items:,} JSON values; a "
            f"chainrule header has at most {MAX_HEADER_BYTES // 4:,} characters and "
            f"{MAX_HEADER_ITEMS:,} values."
        )
    return None


def declared_arrays(header: dict) -> dict[str, tuple[tuple[int, ...], str]]:
    """``{name: (shape, dtype name)}`` from the header's ``arrays`` list, checked."""
    entries = header.get("arrays")
    if not isinstance(entries, list):
        raise Refusal("the header's 'arrays' must be a list.")
    declared: dict[str, tuple[tuple[int, ...], str]] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != {"name", "shape", "dtype"}:
            raise Refusal(f"'arrays'[{i}] must be an object with fields name, shape, dtype.")
        name, shape, dtype = entry["name"], entry["shape"], entry["dtype"]
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise Refusal(f"'arrays'[{i}] has an invalid name {name!r:.80}.")
        if name in declared:
            raise Refusal(f"array {name!r} is listed twice.")
        if not (
            isinstance(shape, list)
            and len(shape) <= _MAX_NDIM
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        ):
            raise Refusal(
                f"array {name!r:.80}: 'shape' must be a list of at most {_MAX_NDIM} "
                "non-negative integers."
            )
        if dtype not in _NUMERIC and dtype != "str":
            raise Refusal(f"array {name!r:.80}: dtype {dtype!r:.40} is not allowed.")
        declared[name] = (tuple(shape), dtype)
    return declared


def read_arrays(archive: zipfile.ZipFile, declared: dict) -> dict[str, np.ndarray]:
    """Every declared array, after checking all entry sizes against the declarations."""
    infos = {info.filename: info for info in archive.infolist()}
    unlisted = sorted(set(infos) - {SPEC_ENTRY} - {n + ".npy" for n in declared})
    if unlisted:
        raise Refusal(
            f"the file holds entries {unlisted[:10]} that its header does not list.",
            "Only files written by chainrule.save() can be loaded.",
        )
    missing = [n for n in declared if n + ".npy" not in infos]
    if missing:
        raise Refusal(
            f"array {missing[0]!r} is listed in the header but missing from the file.",
            "Only files written by chainrule.save() can be loaded.",
        )
    compressed = expanded = 0
    for info in infos.values():
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refusal(
                f"entry {info.filename!r} uses zip compression method {info.compress_type}; "
                "a model file is stored or deflated."
            )
        if info.compress_type == zipfile.ZIP_DEFLATED:
            compressed += info.compress_size
            expanded += info.file_size
    if expanded > MAX_EXPANSION * compressed + _SLACK:
        raise Refusal(
            f"its compressed entries would expand from {compressed:,} to {expanded:,} bytes, "
            f"more than {MAX_EXPANSION} times: a zip bomb, or not a model file."
        )
    # All sizes first, then the data: a refusal reads no array.
    for name, (shape, dtype) in declared.items():
        _check_entry_size(archive, infos[name + ".npy"], shape, dtype, name)
    return {
        name: _read_entry(archive, infos[name + ".npy"], shape, name)
        for name, (shape, _) in declared.items()
    }


def _npy_header(handle, name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(handle, max_header_size=_NPY_HEADER_MAX)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(handle, max_header_size=_NPY_HEADER_MAX)
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as exc:
        raise Refusal(f"entry {name!r} is not a valid .npy array ({exc}).") from exc
    raise Refusal(f"entry {name!r} is in .npy format version {version}, not 1.0 or 2.0.")


def _entry_layout(archive, info, name) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an entry's ``.npy`` header gives, once its byte count agrees."""
    try:
        with archive.open(info) as handle:
            shape, _, dtype = _npy_header(handle, name)
            offset = handle.tell()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:  # e.g. a bad CRC
        raise Refusal(f"the file is damaged or truncated ({type(exc).__name__}: {exc}).") from exc
    if dtype.hasobject:
        raise Refusal(
            f"entry {name!r} is an object array (pickled Python objects), which chainrule "
            "never loads since unpickling can run code.",
            "Only files written by chainrule.save() can be loaded.",
        )
    expected = offset + math.prod(shape) * dtype.itemsize
    if info.file_size != expected:
        raise Refusal(
            f"entry {name!r} holds {info.file_size:,} bytes uncompressed, but its .npy "
            f"header declares {expected:,} (shape {shape}, {dtype}): the file is inconsistent."
        )
    return shape, dtype


def _check_entry_size(archive, info, shape, dtype_name, name) -> None:
    npy_shape, dtype = _entry_layout(archive, info, name)
    ok_dtype = dtype.kind == "U" if dtype_name == "str" else dtype == _NUMERIC[dtype_name]
    if npy_shape != shape or not ok_dtype:
        raise Refusal(
            f"array {name!r} has shape {npy_shape} and dtype {dtype} in the file, but the "
            f"header says shape {shape} and dtype {dtype_name}: the file is inconsistent "
            "(edited or damaged).",
            "Only files written by chainrule.save() can be loaded.",
        )


def _read_entry(archive, info, shape, name) -> np.ndarray:
    try:
        with archive.open(info) as handle:
            value = np.lib.format.read_array(
                handle, allow_pickle=False, max_header_size=_NPY_HEADER_MAX
            )
    except Refusal:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise Refusal(
                f"entry {name!r} is an object array (pickled Python objects), which "
                "chainrule never loads since unpickling can run code.",
                "Only files written by chainrule.save() can be loaded.",
            ) from exc
        raise Refusal(f"the file is damaged or truncated (ValueError: {exc}).") from exc
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError) as exc:
        raise Refusal(f"the file is damaged or truncated ({type(exc).__name__}: {exc}).") from exc
    if shape is not None and value.shape != shape:  # pragma: no cover - sizes checked
        raise Refusal(f"array {name!r} does not have its declared shape {shape}.")
    return value
