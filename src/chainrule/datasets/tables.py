"""Tabular data for the ``chainrule`` command: bundled datasets, CSV files, preprocessing.

::

    ds = load_dataset("iris")                     # or a path: load_dataset("data.csv", target="y")
    train, test = train_test_split_dataset(ds, test_size=0.2, rng=0)
    pre = Preprocessor().fit(train.X)             # impute, standardise, one-hot
    X_train, X_test = pre.transform(train.X), pre.transform(test.X)
    enc = LabelEncoder().fit(train.y)             # classification: labels -> 0..k-1
    spec, arrays = pre.to_state()                 # saved without pickle

Bundled datasets (shipped inside scikit-learn, or for penguins inside the
``palmerpenguins`` package, CC0; nothing is downloaded):

=============  ======  ========  ==============  ====================================
name           rows    features  task            target
=============  ======  ========  ==============  ====================================
iris           150     4         classification  ``target``: species names (3)
wine           178     13        classification  ``target``: 'class_0' .. 'class_2'
breast_cancer  569     30        classification  ``target``: 'malignant', 'benign'
digits         1797    64        classification  ``target``: the digits 0 .. 9 (int)
diabetes       442     10        regression      ``target``: progression after a year
linnerud       20      3         regression      ``Weight``, ``Waist``, ``Pulse`` (all three)
penguins       344     7         classification  ``species``: Adelie, Chinstrap, Gentoo
=============  ======  ========  ==============  ====================================

Class labels are the names scikit-learn gives in ``target_names`` (strings), except for
digits, whose names are the integers themselves. linnerud is multi-output regression
with its three physiological targets; pass ``target="Pulse"`` (or any other column) to
pick one. penguins is the Palmer penguins table as its CSV ships: missing values (2 rows
without measurements, 11 without ``sex``) and the text columns ``island`` and ``sex``,
which the :class:`Preprocessor` imputes and one-hot encodes; ``target="body_mass_g"``
makes it a regression. Any column of a bundled frame can be the target.

Decisions (the command relies on them):

- A CSV's target is its last column unless ``target`` names one (or several,
  ``"a,b"``, for multi-output regression).
- Rows whose target is missing are **dropped**, and ``Dataset.notes`` says how many;
  no row left is an error. Missing *features* are imputed by :class:`Preprocessor`.
- Task inference: see :func:`infer_task`.
- Every problem with the data raises :class:`DataError` (a ``ValueError``) whose one-line
  message names the problem and the fix.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from .._checks import as_rng
from .preprocess import (
    DataError,
    LabelEncoder,
    Preprocessor,
    TargetScaler,
    _quote_list,
    label_str,
)

__all__ = [
    "BUNDLED_DATASETS",
    "TASKS",
    "DataError",
    "Dataset",
    "LabelEncoder",
    "Preprocessor",
    "TargetScaler",
    "dataset_from_frame",
    "infer_task",
    "load_dataset",
    "load_table",
    "read_csv",
    "select_features",
    "train_test_split_dataset",
]

TASKS = ("classification", "regression")

#: name -> (default task, one-line description). Loaded by ``sklearn.datasets.load_<name>``.
BUNDLED_DATASETS: dict[str, tuple[str, str]] = {
    "iris": ("classification", "iris flowers: 4 measurements -> 3 species"),
    "wine": ("classification", "wines: 13 chemical measurements -> 3 cultivars"),
    "breast_cancer": ("classification", "breast tumours: 30 cell features -> malignant/benign"),
    "digits": ("classification", "8x8 images of handwritten digits: 64 pixels -> 0..9"),
    "diabetes": ("regression", "diabetes: 10 baseline variables -> progression after a year"),
    "linnerud": ("regression", "linnerud: 3 exercises -> Weight, Waist, Pulse (multi-output)"),
    "penguins": ("classification", "Palmer penguins: 7 columns, with gaps and text -> species"),
}

#: infer_task: an integer-valued numeric target is a class label if it has at most this
#: many distinct values (and at most sqrt(n_samples) of them, see infer_task).
MAX_INFERRED_CLASSES = 20


@dataclass
class Dataset:
    """A table with its target column(s) and task.

    Attributes
    ----------
    name : str
        The bundled name, or the CSV file's name.
    frame : pandas.DataFrame, shape (n_samples, n_features + n_targets)
        Features and target(s). For a CSV the index is the row number in the file
        (0-based, header not counted), kept through dropped rows and splits.
    target : list of str
        The target column(s): one, or several for multi-output regression.
    task : {"classification", "regression"}
    feature_names : list of str
        Every other column, in the frame's order.
    notes : list of str
        What loading did to the data (e.g. rows dropped for a missing target).
    source : str
        ``"sklearn"`` for a bundled dataset, else the CSV's path.
    identifiers : list of str
        Columns :func:`select_features` left out as identifiers (still in ``frame``;
        ``chainrule predict`` copies them into its table).
    """

    name: str
    frame: pd.DataFrame
    target: list[str]
    task: str
    feature_names: list[str]
    notes: list[str] = field(default_factory=list)
    source: str = "sklearn"
    #: columns left out because they look like identifiers (see :func:`identifier_reason`)
    identifiers: list[str] = field(default_factory=list)

    @property
    def X(self) -> pd.DataFrame:
        """The feature columns, shape (n_samples, n_features)."""
        return self.frame[self.feature_names]

    @property
    def y(self) -> pd.Series | pd.DataFrame:
        """The target: a Series of shape (n_samples,) or, with several, a DataFrame."""
        return self.frame[self.target[0]] if len(self.target) == 1 else self.frame[self.target]

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return int(self.frame.shape[0])

    @property
    def classes(self) -> list:
        """The sorted class labels (classification only; ``[]`` for regression)."""
        if self.task != "classification":
            return []
        return LabelEncoder().fit(self.y).classes_.tolist()

    def describe(self) -> str:
        """One line, e.g. ``iris: 150 rows, 4 features; classification of 'target' (3 classes)``."""
        what = f"{self.task} of {_quote_list(self.target)}"
        if self.task == "classification":
            what += f" ({len(self.classes)} classes)"
        return f"{self.name}: {self.n_samples} rows, {len(self.feature_names)} features; {what}"


# ------------------------------------------------------------------ task inference


def infer_task(y) -> str:
    """Guess whether ``y`` is a classification or a regression target.

    Parameters
    ----------
    y : pandas.Series, DataFrame, ndarray or list, shape (n_samples,) or (n_samples, k)

    Returns
    -------
    task : {"classification", "regression"}

    Notes
    -----
    The rule, on the non-missing values of a single target:

    - text, categorical or boolean values -> ``"classification"``;
    - numbers that are all integer-valued (``3`` or ``3.0``) with
      ``n_distinct <= 20`` and ``n_distinct <= max(2, sqrt(n_samples))`` ->
      ``"classification"`` (so 0/1 or 1..5 labels are classes, while 20 integer
      weights in 16 distinct values are a quantity);
    - any other numbers -> ``"regression"``.

    Several target columns are ``"regression"`` when all are numeric, else
    ``"classification"`` (which the loader then refuses: multi-output classification is
    not supported). Pass ``task=`` to :func:`load_dataset` to override the guess.
    """
    if isinstance(y, pd.DataFrame) or (np.ndim(y) == 2 and np.shape(y)[1] > 1):
        frame = pd.DataFrame(y)
        if frame.shape[1] == 1:
            return infer_task(frame.iloc[:, 0])
        numeric = all(
            is_numeric_dtype(frame[c].dtype) and not is_bool_dtype(frame[c].dtype)
            for c in frame.columns
        )
        return "regression" if numeric else "classification"
    s = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y).reshape(-1))
    s = s.dropna()
    if len(s) == 0:
        raise DataError("cannot infer the task of an empty target; give it some values.")
    if not is_numeric_dtype(s.dtype) or is_bool_dtype(s.dtype):
        return "classification"
    values = s.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all() or not np.array_equal(values, np.floor(values)):
        return "regression"
    n_distinct = len(np.unique(values))
    limit = min(MAX_INFERRED_CLASSES, max(2.0, math.sqrt(len(values))))
    return "classification" if n_distinct <= limit else "regression"


def _check_task(task: str | None) -> str | None:
    """``None`` for "auto", else the task name, or a DataError."""
    if task is None or task == "auto":
        return None
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; use 'auto', 'classification' or 'regression'.")
    return task


# ------------------------------------------------------------------ loading


def _bundled_name(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def _load_bundled_frame(name: str) -> pd.DataFrame:
    """The bundled dataset ``name`` as one frame: features, then the target column(s)."""
    if name == "penguins":  # the palmerpenguins package's CSV, read as it ships
        from palmerpenguins import load_penguins

        return load_penguins()
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, f"load_{name}")(as_frame=True)
    frame = bunch.frame.copy()
    if name == "linnerud":  # features and targets come as two frames
        return frame
    names = getattr(bunch, "target_names", None)
    if names is not None and len(names) and isinstance(names[0], str):
        labels = np.asarray([str(n) for n in names], dtype=object)
        frame["target"] = pd.Series(labels[frame["target"].to_numpy()], index=frame.index)
    return frame


#: read_csv reads a file whole; bigger files are refused before reading (bounded memory).
MAX_CSV_BYTES = 1 << 30
#: select_features refuses data whose preprocessed matrix (rows x columns after one-hot
#: encoding) would hold more cells than this (50 million float64 = 400 MB per copy).
MAX_MATRIX_CELLS = 50_000_000

#: The separators ``read_csv`` detects, in order of preference on a tie.
SEPARATORS = (",", ";", "\t", "|")


def detect_separator(text: str) -> str:
    """The separator of CSV text: the candidate found the same number of times (at least
    once) on each of the first 20 lines, the most frequent such; "," when none is.

    (Quoted fields are not parsed here: a separator inside quotes can only make a
    candidate's count vary between lines, which then rules it out.)
    """
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) > 1 and not text.endswith("\n"):
        lines = lines[:-1]  # the last line read may be cut off
    best, best_count = ",", 0
    for sep in SEPARATORS:
        counts = {line.count(sep) for line in lines}
        if len(counts) == 1 and (n := counts.pop()) > best_count:
            best, best_count = sep, n
    return best


def _check_header(header: list[str], where: str) -> None:
    seen, dup = set(), []
    for name in header:
        if name in seen and name not in dup:
            dup.append(name)
        seen.add(name)
    if dup:
        raise DataError(
            f"{where} has duplicate column names {_quote_list(dup)}; give every column its "
            "own name in the header row."
        )


#: a mostly-numeric column with at most this many distinct values is kept as text
FEW_CATEGORIES = 20


def _numeric_with_bad_cells(frame: pd.DataFrame, where: str, decimal: str) -> None:
    """Refuse a column whose cells are numbers except a few (typos such as "1.2.3",
    thousands separators "1,234,567", decimal commas): one-hot encoding it would turn
    it into hundreds of categories. Names the cells (file line numbers) and the fix."""
    for c in frame.columns:
        s = frame[c]
        if is_numeric_dtype(s.dtype) or is_bool_dtype(s.dtype):
            continue
        present = s.dropna().astype(str).str.strip()
        present = present[present != ""]
        if len(present) < 5:
            continue
        parsed = pd.to_numeric(present, errors="coerce")
        bad = present[parsed.isna()]
        if decimal != "," and bad.str.fullmatch(r"[-+]?\d*,\d+").all() and len(bad):
            if len(bad) > 0.1 * len(present):  # the whole column: numbers with decimal commas
                raise DataError(
                    f"{where}: column {c!r} holds numbers written with a decimal comma "
                    f"(such as {bad.iloc[0]!r}); pass --decimal , to read them as numbers."
                )
        if len(bad) == 0 or len(bad) > 0.1 * len(present) or len(bad) == len(present):
            continue
        if present.nunique() <= FEW_CATEGORIES:  # a code column ("2A004"): a few categories
            continue  # are harmless as text; the refusal is for hundreds
        cells = ", ".join(f"line {int(i) + 2}: {v!r}" for i, v in bad.iloc[:5].items())
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        hint = "fix or blank out those cells (blank cells are imputed)"
        if bad.str.fullmatch(r"[-+]?\d+,\d+").all() and decimal != ",":
            hint = "they use a decimal comma: pass --decimal , (or fix those cells)"
        elif bad.str.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?").all():
            hint = "remove the thousands separators from those cells"
        raise DataError(
            f"{where}: column {c!r} holds numbers except in {len(bad)} of {len(present)} "
            f"cells ({cells}{more}), so it would be read as {present.nunique()} categories; "
            f"{hint}."
        )


def detect_decimal(text: str, sep: str | None = None) -> str:
    """The decimal mark of CSV text: "," when its fields hold numbers written with a
    decimal comma (``3,14``) and none with a decimal point, else ".".

    ``sep`` is the separator (``None``: :func:`detect_separator`); with "," as the
    separator the decimal mark is "." (a comma cannot be both). The data lines among
    the first 20 are read, split on ``sep`` (quotes are not parsed, as in
    :func:`detect_separator`).
    """
    sep = detect_separator(text) if sep is None else sep
    if sep == ",":
        return "."
    fields = [f.strip().strip("\"'") for line in text.splitlines()[1:20] for f in line.split(sep)]
    comma = sum(1 for f in fields if _DECIMAL_COMMA.fullmatch(f))
    point = sum(1 for f in fields if _DECIMAL_POINT.fullmatch(f))
    return "," if comma and not point else "."


_DECIMAL_COMMA = re.compile(r"[-+]?\d*,\d+")
_DECIMAL_POINT = re.compile(r"[-+]?\d*\.\d+")


def _read_head(p: Path) -> str:
    """The first 64 KiB of the file ``p`` as text, after refusing what is not a CSV file
    (missing, a directory, too large, binary, not UTF-8 with no mark of another
    encoding)."""
    return _sniff(p)[0]


#: byte-order marks, longest first: the encoding a file declares with its first bytes
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def _sniff(p: Path) -> tuple[str, str]:
    """``(the first 64 KiB as text, the file's encoding)``: the encoding its byte-order
    mark declares; UTF-16 without one when every other byte is zero (ASCII text in
    UTF-16 shows so clearly); else UTF-8, or a DataError naming the first byte that is
    not UTF-8 (a Latin-1 file has no mark: converting it is the user's call)."""
    if not p.exists():
        raise DataError(
            f"no such file: '{p}'; check the path, or use a bundled dataset: "
            f"{', '.join(BUNDLED_DATASETS)}."
        )
    if p.is_dir():
        raise DataError(f"'{p}' is a directory; pass the path of a CSV file inside it.")
    size = p.stat().st_size
    if size > MAX_CSV_BYTES:
        raise DataError(
            f"'{p}' is {size / 2**30:.1f} GiB; chainrule reads a CSV whole into memory and "
            f"accepts up to {MAX_CSV_BYTES / 2**30:.0f} GiB: train on a sample of its rows "
            "(e.g. head -n 200000 big.csv > sample.csv)."
        )
    with open(p, "rb") as fh:
        head = fh.read(65536)
    encoding = next((enc for bom, enc in _BOMS if head.startswith(bom)), None)
    if encoding is None and len(head) >= 4 and b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > 0.9 * len(odd) and 0 not in even:
            encoding = "utf-16-le"
        elif even.count(0) > 0.9 * len(even) and 0 not in odd:
            encoding = "utf-16-be"
    if encoding is not None:
        whole = len(head) - len(head) % 4  # whole code units: a cut in the middle is not an error
        return head[:whole].decode(encoding, errors="replace"), encoding
    if b"\x00" in head:
        raise DataError(
            f"'{p}' is not a CSV file (it holds binary data); pass a text file with a "
            "header row and comma-separated values."
        )
    try:
        head[: len(head) - 3 if size > len(head) else None].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise not_utf8(p, head, exc.start) from None
    return head.decode("utf-8", errors="replace"), "utf-8"


def not_utf8(p: Path, data: bytes | None, start: int | None) -> DataError:
    """The DataError for a file that is not UTF-8 and does not say what it is; names the
    first bad byte and its line when ``data`` (the file's first bytes) holds it."""
    where = ""
    if data is not None and start is not None:
        line = data[:start].count(b"\n") + 1
        where = f": byte 0x{data[start]:02x} in line {line} is not UTF-8"
    return DataError(
        f"'{p}' is not UTF-8 text{where}. It is probably Latin-1 or Windows-1252 "
        "('é' stored as one byte), which a file cannot declare; convert it, e.g. "
        f"iconv -f latin1 -t utf-8 '{p}' > utf8.csv, or save it as 'CSV UTF-8' (a UTF-16 "
        "or UTF-8 file with a byte-order mark is read as it is)."
    )


def _csv_format(p: Path, text: str, sep: str | None, decimal: str | None) -> tuple[str, str]:
    """The separator and decimal mark to read ``p`` with (``None``: detected in ``text``)."""
    if decimal is not None and decimal not in (".", ","):
        raise DataError(f"the decimal mark must be '.' or ',', got {decimal!r}.")
    if sep is None:
        sep = detect_separator(text)
    if decimal is None:
        decimal = detect_decimal(text, sep)
    if sep == decimal:
        raise DataError(
            f"'{p}': the separator and the decimal mark are both {sep!r}. If its numbers "
            "are written with a point (1.5), pass --decimal .; if with a comma, pass the "
            "separator, e.g. --sep ';'."
        )
    if text.strip():
        import csv

        _check_header(next(csv.reader([text.splitlines()[0]], delimiter=sep)), f"'{p}'")
    return sep, decimal


def _parse_csv(p: Path, sep: str, decimal: str, encoding: str = "utf-8") -> pd.DataFrame:
    """``pandas.read_csv`` with each of its failures turned into a DataError."""
    try:
        with warnings.catch_warnings():
            # index_col=False: never turn extra fields into an index; warn -> error instead
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(p, index_col=False, sep=sep, decimal=decimal, encoding=encoding)
    except pd.errors.EmptyDataError as exc:
        raise DataError(
            f"'{p}' is empty; a CSV needs a header row and at least one row of data."
        ) from exc
    except pd.errors.ParserWarning as exc:
        raise DataError(
            f"could not read '{p}' as CSV: some rows have more fields than the header row; "
            "give every row as many comma-separated values as there are column names."
        ) from exc
    except UnicodeDecodeError as exc:  # beyond the first 64 KiB
        raise not_utf8(p, None, None) from exc
    except (pd.errors.ParserError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"could not read '{p}' as CSV ({reason}); save it as UTF-8 comma-separated "
            "text with one header row."
        ) from exc


def _check_one_column(frame: pd.DataFrame, p: Path, sep: str) -> None:
    """A single column whose header holds another separator: the wrong separator."""
    if frame.shape[1] != 1:
        return
    for other, word in ((",", "commas"), (";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
        if other != sep and other in frame.columns[0]:
            raise DataError(
                f"'{p}' has one column whose header holds {word}, but the rows do not "
                f"split evenly on them; pass the separator, e.g. --sep '{other}'."
            )


def read_csv(
    path: str | os.PathLike, *, sep: str | None = None, decimal: str | None = "."
) -> pd.DataFrame:
    """Read a CSV file with pandas, turning every failure into a clear DataError.

    Parameters
    ----------
    path : str or path-like
    sep : str, optional
        The field separator; ``None`` detects one of ``SEPARATORS`` (comma, semicolon,
        tab, bar) with :func:`detect_separator`.
    decimal : {".", ","} or None, default "."
        The decimal mark of numbers ("," for ``3,14``); ``None`` detects it with
        :func:`detect_decimal`.

    Returns
    -------
    frame : pandas.DataFrame, shape (n_rows, n_columns)
        With string column names and at least one row.

    Raises
    ------
    DataError
        No such file, a directory, binary data, an empty file, a header without rows,
        text that pandas cannot parse, duplicate column names, or a numeric column with a
        few cells that are not numbers.
    """
    p = Path(path)
    text, encoding = _sniff(p)
    sep, decimal = _csv_format(p, text, sep, decimal)
    frame = _parse_csv(p, sep, decimal, encoding)
    if frame.shape[0] == 0:
        raise DataError(f"'{p}' has a header but no rows of data; add some rows.")
    frame.columns = [str(c) for c in frame.columns]
    _check_one_column(frame, p, sep)
    _numeric_with_bad_cells(frame, f"'{p}'", decimal)
    return frame


def _resolve_target(frame: pd.DataFrame, target, default: list[str]) -> list[str]:
    """The target column(s) named by ``target`` (str, "a,b" or a list), or ``default``."""
    columns = [str(c) for c in frame.columns]
    if target is None:
        return default
    if isinstance(target, str):
        names = [target] if target in columns else [t.strip() for t in target.split(",")]
    else:
        names = [str(t) for t in target]
    unknown = [t for t in names if t not in columns]
    if unknown or not names:
        raise DataError(
            f"unknown target column {_quote_list(unknown or [target])}; available columns: "
            f"{_quote_list(columns)}."
        )
    if len(set(names)) != len(names):
        raise DataError(f"target column(s) {_quote_list(names)} repeat a name; list each once.")
    return names


def _drop_unlabelled(frame: pd.DataFrame, targets: list[str]) -> tuple[pd.DataFrame, list]:
    """``frame`` without the rows whose target is missing, and a note saying how many."""
    missing = frame[targets].isna().any(axis=1).to_numpy()
    n_missing = int(missing.sum())
    if n_missing == len(frame):
        raise DataError(
            f"every value of the target {_quote_list(targets)} is missing; choose another "
            f"target column (available: {_quote_list(frame.columns)})."
        )
    if not n_missing:
        return frame, []
    frame = frame.loc[~missing]
    return frame, [
        f"dropped {n_missing} rows whose target {_quote_list(targets)} is missing "
        f"({len(frame)} rows remain)"
    ]


def _check_regression_targets(frame: pd.DataFrame, targets: list[str]) -> None:
    """Regression targets are numeric and finite."""
    for t in targets:
        s = frame[t]
        if not is_numeric_dtype(s.dtype) or is_bool_dtype(s.dtype):
            examples = _quote_list(pd.unique(s.astype(str))[:3])
            raise DataError(
                f"target {t!r} is not numeric (values such as {examples}), so it cannot "
                "be a regression target; use task 'classification' or another column."
            )
        n_inf = int(np.isinf(s.to_numpy(dtype=np.float64)).sum())
        if n_inf:
            raise DataError(
                f"target {t!r} has {n_inf} infinite values; remove those rows or fix them."
            )


def _check_classification_target(frame: pd.DataFrame, targets: list[str]) -> None:
    """A classification target is one column with at least two classes."""
    if len(targets) > 1:
        raise DataError(
            f"several classification targets {_quote_list(targets)} are not supported; "
            "pick one target column (or use task 'regression' for numeric targets)."
        )
    labels = pd.unique(frame[targets[0]])
    if len(labels) < 2:
        raise DataError(
            f"target {targets[0]!r} has a single class ({label_str(labels[0])!r}); a "
            "classifier needs at least two classes: choose another target column."
        )


def dataset_from_frame(
    frame: pd.DataFrame,
    target: str | Sequence[str] | None = None,
    task: str | None = "auto",
    *,
    name: str = "data",
    source: str = "frame",
    default_task: str | None = None,
) -> Dataset:
    """Make a :class:`Dataset` of a DataFrame: pick the target, drop unlabelled rows, check.

    Parameters
    ----------
    frame : pandas.DataFrame, shape (n_samples, n_columns)
    target : str, list of str or None
        The target column(s); ``None`` means the last column. A string with commas
        (``"a,b"``) names several columns, for multi-output regression.
    task : {"auto", "classification", "regression"} or None
        ``"auto"`` (or None) infers it with :func:`infer_task`.
    name, source : str
        Stored on the Dataset.
    default_task : str, optional
        The task used instead of :func:`infer_task` when ``task`` is "auto" (the
        bundled datasets pass their own task when the target is their own).

    Returns
    -------
    Dataset
        ``frame`` is a copy without the rows whose target is missing.

    Raises
    ------
    DataError
        Unknown target column, no feature column, every target missing, a regression
        target that is not numeric or not finite, a classification target with one
        class, several classification targets.
    """
    task = _check_task(task)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(frame).__name__}.")
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    if frame.columns.duplicated().any():
        dup = _quote_list(frame.columns[frame.columns.duplicated()].unique())
        raise DataError(f"duplicate column names {dup}; give every column its own name.")
    if frame.shape[1] == 0:
        raise DataError(f"{name} has no columns; it needs feature columns and a target.")
    targets = _resolve_target(frame, target, [frame.columns[-1]])
    features = [c for c in frame.columns if c not in targets]
    if not features:
        raise DataError(
            f"{name} has no feature columns besides the target {_quote_list(targets)}; "
            "a model needs at least one input column."
        )
    frame, notes = _drop_unlabelled(frame, targets)
    y = frame[targets[0]] if len(targets) == 1 else frame[targets]
    if task is None:
        task = default_task or infer_task(y)
    if task == "regression":
        _check_regression_targets(frame, targets)
    else:
        _check_classification_target(frame, targets)
    return Dataset(
        name=name,
        frame=frame,
        target=targets,
        task=task,
        feature_names=features,
        notes=notes,
        source=source,
    )


def load_dataset(
    name_or_path: str | os.PathLike,
    target: str | Sequence[str] | None = None,
    task: str | None = "auto",
    *,
    sep: str | None = None,
    decimal: str | None = ".",
    name: str | None = None,
) -> Dataset:
    """Load a bundled dataset by name, or a CSV file by path.

    Parameters
    ----------
    name_or_path : str or path-like
        One of ``BUNDLED_DATASETS`` (case-insensitive; ``breast-cancer`` works too),
        or the path of a CSV file (read by :func:`read_csv`).
    target : str, list of str or None
        The target column(s). Default: the bundled dataset's target, or a CSV's last
        column.
    task : {"auto", "classification", "regression"} or None
        ``"auto"`` uses the bundled dataset's task, or :func:`infer_task`.
    sep, decimal : str or None
        For a CSV file: see :func:`read_csv` (``None`` detects the separator or the
        decimal mark; a detected decimal comma is said in ``notes``).
    name : str, optional
        For a CSV file: the name it goes by (default: the file's name).

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        Unknown dataset name (the message lists the known ones), a file problem (see
        :func:`read_csv`), or a target problem (see :func:`dataset_from_frame`).

    Examples
    --------
    >>> load_dataset("iris").describe()
    "iris: 150 rows, 4 features; classification of 'target' (3 classes)"
    >>> load_dataset("houses.csv", target="price").task
    'regression'
    """
    text = os.fspath(name_or_path)
    key = _bundled_name(text)
    if key in BUNDLED_DATASETS and not Path(text).is_file():
        default_task, _ = BUNDLED_DATASETS[key]
        frame = _load_bundled_frame(key)
        default = {"linnerud": ["Weight", "Waist", "Pulse"], "penguins": ["species"]}.get(
            key, ["target"]
        )
        targets = _resolve_target(frame, target, default)
        return dataset_from_frame(
            frame,
            targets,
            task,
            name=key,
            source="palmerpenguins" if key == "penguins" else "sklearn",
            default_task=default_task if target is None else None,
        )
    looks_like_path = (
        isinstance(name_or_path, os.PathLike)
        or Path(text).suffix != ""
        or os.sep in text
        or "/" in text
        or Path(text).exists()
    )
    if not looks_like_path:
        raise DataError(
            f"unknown dataset {text!r}; the bundled datasets are "
            f"{', '.join(BUNDLED_DATASETS)}, or pass the path of a CSV file."
        )
    notes = []
    if decimal is None:  # detected: said in a note, since the command's default is "."
        decimal = detect_decimal(_read_head(Path(text)), sep)
        if decimal == ",":
            notes.append("numbers are written with a decimal comma (such as 3,14): read so")
    frame = read_csv(text, sep=sep, decimal=decimal)
    dataset = dataset_from_frame(frame, target, task, name=name or Path(text).name, source=text)
    return replace(dataset, notes=notes + dataset.notes)


def load_table(
    name_or_path: str | os.PathLike,
    target: str | Sequence[str] | None = None,
    task: str | None = "auto",
    *,
    sep: str | None = None,
    decimal: str | None = ".",
    drop: Sequence[str] = (),
    id_column: str | None = None,
    name: str | None = None,
    keep: Sequence[str] = (),
) -> Dataset:
    """The data as ``chainrule train`` reads it; the playground reads its tables here too.

    :func:`load_dataset` (a bundled table, or a CSV: separator detection, decimal
    mark, size and bad-cell refusals, rows without a target dropped), then
    :func:`select_features` (``drop`` and ``id_column`` left out, date columns
    dropped, identifier-like columns left out unless in ``keep``, the one-hot matrix's
    size checked).

    Parameters
    ----------
    name_or_path, target, task, sep, decimal, name
        As for :func:`load_dataset`.
    drop, id_column, keep
        As for :func:`select_features` (``--drop``, ``--id``, ``--keep``).

    Returns
    -------
    Dataset
        Its ``notes`` are what the command prints as ``note:`` lines.
    """
    dataset = load_dataset(
        name_or_path, target=target, task=task, sep=sep, decimal=decimal, name=name
    )
    return select_features(dataset, drop=drop, id_column=id_column, keep=keep)


def one_hot_widths(frame: pd.DataFrame, features: Sequence[str]) -> dict[str, int]:
    """How many columns each feature becomes in the preprocessed matrix: 1 for a numeric
    column, one per distinct value for a text, category or boolean one (one-hot), counted
    before anything is encoded."""
    widths = {}
    for c in features:
        s = frame[c]
        numeric = is_numeric_dtype(s.dtype) and not is_bool_dtype(s.dtype)
        widths[c] = 1 if numeric else max(int(s.nunique()), 1)
    return widths


def _check_matrix_size(frame: pd.DataFrame, features: list[str]) -> None:
    """Refuse data whose one-hot encoded matrix would not fit in bounded memory."""
    widths = one_hot_widths(frame, features)
    cells = len(frame) * sum(widths.values())
    if cells > MAX_MATRIX_CELLS:
        worst = sorted(widths, key=widths.get, reverse=True)[:3]
        shown = ", ".join(f"{c!r} ({widths[c]} categories)" for c in worst if widths[c] > 1)
        raise DataError(
            f"the features would become a {len(frame)} x {sum(widths.values())} matrix "
            f"({cells * 8 / 2**30:.1f} GiB), more than chainrule handles "
            f"({MAX_MATRIX_CELLS} cells); the widest text columns are {shown or 'none'}: "
            "drop them (--drop COL) or mark the ID (--id COL)."
        )


def _mostly_dates(present: pd.Series) -> bool:
    """Whether at least 90% of the values ``present`` (no missing ones) read as dates.

    Each distinct value is parsed once, the most frequent first, in chunks that double,
    stopping as soon as the values that failed pass 10% of the rows: a text column of
    2,000 distinct words is settled after a few hundred (pandas parses each value of
    ``format="mixed"`` on its own, so the answer is that of parsing the whole column).
    """
    counts = present.astype(str).value_counts()
    allowed = 0.1 * len(present)  # failures allowed: parsed.mean() >= 0.9
    failed, start, size = 0, 0, 32
    while start < len(counts):
        chunk = counts.iloc[start : start + size]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(chunk.index, errors="coerce", format="mixed")
        failed += int(chunk.to_numpy()[np.asarray(parsed.isna())].sum())
        if failed > allowed + 1e-9:
            return False
        start, size = start + size, 2 * size
    return True


def _prediction_columns(dataset: Dataset) -> set[str]:
    """The columns of ``chainrule predict``'s table besides the ID (see
    ``ModelBundle.predictions_frame``): 'row', one per target, one per class."""
    names = {"row", *(f"predicted_{t}" for t in dataset.target)}
    if dataset.task == "classification":
        classes = dataset.frame[dataset.target[0]].dropna().unique()
        names.update(f"proba_{c}" for c in classes)
    return names


def _holds_dates(s: pd.Series) -> bool:
    """True for a text column of at least 5 values, 90% of which parse as dates."""
    if is_numeric_dtype(s.dtype) or is_bool_dtype(s.dtype):
        return False
    present = s.dropna()
    if len(present) < 5:
        return False
    return _mostly_dates(present)


#: identifier_reason looks at columns with more present values than this.
MIN_IDENTIFIER_ROWS = 20
#: ... and calls integers codes when this share of them is distinct and they fill a
#: range of at most ``CODE_SPAN`` times as many integers as there are rows.
CODE_DISTINCT, CODE_SPAN = 0.9, 2


def identifier_reason(s: pd.Series) -> str | None:
    """Why the column ``s`` looks like an identifier (a clause), or None.

    With ``n`` present values (more than ``MIN_IDENTIFIER_ROWS``), a column is an
    identifier when it is::

        text      a different value in every row
        integers  numbering the rows: n distinct values, max - min + 1 = n
                  monotone in the file's order, at least CODE_DISTINCT * n distinct
                  codes: at least CODE_DISTINCT * n distinct, max - min + 1 <= CODE_SPAN * n

    Integers are an integer column or a float column whose values are all whole (a
    column of integers with gaps reads as float). A unique measurement spread wide
    (incomes 7, 1007, 2007, ... in any order) is none of these and stays a feature.
    """
    present = s.dropna()
    n = len(present)
    if n <= MIN_IDENTIFIER_ROWS or is_bool_dtype(s.dtype):
        return None
    distinct = present.nunique()
    if not is_numeric_dtype(s.dtype):
        return "it has a different value in every row" if distinct == n else None
    values = present.to_numpy()
    whole = np.isfinite(values).all() and (values == np.round(values)).all()
    if s.dtype.kind == "f" and not whole:
        return None
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    if distinct == n and span == n:
        return f"it numbers the rows ({low} to {high})"
    if distinct < CODE_DISTINCT * n:
        return None
    if present.is_monotonic_increasing or present.is_monotonic_decreasing:
        way = "rise" if present.is_monotonic_increasing else "fall"
        return f"its {distinct} different integers {way} with the rows' order"
    if span <= CODE_SPAN * n:
        return f"it holds {distinct} different integers in {n} rows, like codes"
    return None


def _check_named(dataset: Dataset, drop: list, id_column, keep: list) -> list:
    """The columns ``--drop`` and ``--id`` name, once checked against the table (each
    exists, none is the target, the ID is no column ``predict`` writes, ``--keep`` names
    none of them); a DataError otherwise."""
    columns = list(dataset.frame.columns)
    named = list(drop) + ([id_column] if id_column else [])
    unknown = [c for c in [*named, *keep] if c not in columns]
    if unknown:
        raise DataError(
            f"unknown column {_quote_list(unknown)} in --drop/--id/--keep; available columns: "
            f"{_quote_list(columns)}."
        )
    both = [c for c in keep if c in named or c in dataset.target]
    if both:
        raise DataError(
            f"--keep {both[0]} keeps a feature, but {both[0]!r} is also the target, --drop "
            "or --id; name it in one of them."
        )
    clash = [c for c in named if c in dataset.target]
    if clash:
        raise DataError(f"{_quote_list(clash)} is the target; it cannot be dropped or an ID.")
    if id_column and id_column in _prediction_columns(dataset):
        raise DataError(
            f"--id {id_column} has the name of a column `chainrule predict` writes (the row "
            f"number 'row', 'predicted_<target>', 'proba_<class>'), so the predictions would "
            f"hold two columns {id_column!r}; rename that column in the CSV first."
        )
    return named


def select_features(
    dataset: Dataset,
    drop: Sequence[str] = (),
    id_column: str | None = None,
    keep: Sequence[str] = (),
) -> Dataset:
    """Remove the ``drop`` columns and the ``id_column`` from the features; drop date
    columns; leave out columns that look like identifiers unless named in ``keep``.

    An identifier is not a feature (a model would learn the rows by name, and on a
    table sorted by the label a row number predicts the label). A text column of dates
    (at least 90% of its cells parse as dates) is dropped with a note: one-hot encoding
    800 dates teaches nothing; turn them into numbers (year, month, day of week) in the
    file to use them. A column :func:`identifier_reason` calls an identifier is left
    out with a note (``--keep COL`` keeps it) and listed in ``identifiers``.

    Returns
    -------
    Dataset
        With ``feature_names`` (and ``notes``) updated; the frame keeps every column, so
        the ID column is still there to be copied into predictions.
    """
    named = _check_named(dataset, list(drop), id_column, list(keep))
    notes = list(dataset.notes)
    features = [c for c in dataset.feature_names if c not in named]
    identifiers = []
    for c in list(features):
        s = dataset.frame[c]
        if _holds_dates(s):
            features.remove(c)
            notes.append(
                f"dropped {c!r}: it holds dates, which one-hot encoding would turn into "
                f"{s.nunique()} categories; to use them, add numeric columns "
                "(year, month, day of week) to the file"
            )
            continue
        why = None if c in keep else identifier_reason(s)
        if why:
            features.remove(c)
            identifiers.append(c)
            notes.append(
                f"left out {c!r}: {why}, like an identifier, so it carries no pattern to "
                f"learn (predict copies it into its table); to use it as a feature, --keep {c}"
            )
    if not features:
        raise DataError(
            "no feature columns are left after --drop/--id, dropping dates and leaving out "
            "identifiers; keep at least one (--keep COL keeps an identifier-like column)."
        )
    _check_matrix_size(dataset.frame, features)
    if drop:
        notes.append(f"dropped {_quote_list(list(drop))} (--drop)")
    if id_column:
        notes.append(f"{id_column!r} is the row ID (--id): not a feature, copied into predictions")
    return replace(dataset, feature_names=features, notes=notes, identifiers=identifiers)


# ------------------------------------------------------------------ splitting


def train_test_split_dataset(
    dataset: Dataset,
    *,
    test_size: float | int = 0.2,
    rng: np.random.Generator | int | None = 0,
    stratify: bool | None = None,
) -> tuple[Dataset, Dataset]:
    """Split a dataset into a training and a test part, reproducibly.

    Parameters
    ----------
    dataset : Dataset
    test_size : float in (0, 1) or int >= 1
        The test part's fraction of the rows (rounded up), or its number of rows.
    rng : int, np.random.Generator or None, default 0
        An int seed gives exactly ``sklearn.model_selection.train_test_split``'s
        split with ``random_state=rng``; a Generator draws that seed from itself.
    stratify : bool, optional
        Keep the class proportions in both parts. Default: True for classification,
        False for regression.

    Returns
    -------
    train, test : Dataset
        Same name, target and task; the frames keep the original row index.

    Raises
    ------
    DataError
        A split that would leave a part empty, or (stratified) a class with a single
        row, or fewer test/train rows than classes.
    """
    from sklearn.model_selection import train_test_split

    n = dataset.n_samples
    if isinstance(test_size, bool) or not isinstance(test_size, (Integral, Real)):
        raise DataError(f"test_size must be a fraction or a number of rows, got {test_size!r}.")
    if isinstance(test_size, Integral):
        n_test = int(test_size)
    elif 0.0 < float(test_size) < 1.0:
        n_test = math.ceil(float(test_size) * n)
    else:
        raise DataError(f"test_size must be between 0 and 1 (a fraction), got {test_size}.")
    if not 1 <= n_test <= n - 1:
        raise DataError(
            f"a test part of {n_test} rows out of {n} leaves a part empty; choose test_size "
            "so both parts get at least one row (or use more data)."
        )
    if stratify is None:
        stratify = dataset.task == "classification"
    labels = None
    if stratify:
        if dataset.task != "classification":
            raise DataError("stratify=True needs a classification target; pass stratify=False.")
        encoder = LabelEncoder().fit(dataset.y)
        labels = pd.Series(encoder.transform(dataset.y), index=dataset.frame.index)
        counts = labels.value_counts()
        classes = encoder.classes_
        if counts.min() < 2:
            rare = [label_str(classes[i]) for i in counts.index[counts < 2]]
            raise DataError(
                f"class {_quote_list(rare, 5)} has a single row, too few for a stratified "
                "split; remove its rows or add rows of it (in Python, "
                "train_test_split_dataset(..., stratify=False) splits without stratifying)."
            )
        k = len(counts)
        if n_test < k or n - n_test < k:
            raise DataError(
                f"a stratified split needs at least one row of each of the {k} classes in "
                f"both parts, but the parts have {n - n_test} and {n_test} rows; change "
                "test_size."
            )
    if isinstance(rng, Integral) and not isinstance(rng, bool) and rng >= 0:
        seed = int(rng)
    else:
        seed = int(as_rng(rng).integers(2**32 - 1))
    idx_train, idx_test = train_test_split(
        np.arange(n),
        test_size=n_test,
        random_state=seed,
        stratify=None if labels is None else labels.to_numpy(),
    )
    train = replace(dataset, frame=dataset.frame.iloc[idx_train], notes=list(dataset.notes))
    test = replace(dataset, frame=dataset.frame.iloc[idx_test], notes=list(dataset.notes))
    return train, test
