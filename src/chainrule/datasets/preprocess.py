"""Preprocessing of tabular data, fitted with scikit-learn and saved without pickle.

Public names are re-exported by :mod:`chainrule.datasets`; import them from there.

Three fitted objects turn a DataFrame into the float matrices a network trains on and
back again. Each one has ``to_state() -> (spec, arrays)``: ``spec`` is a JSON-able
dict, ``arrays`` a dict of NumPy arrays (numbers or fixed-width strings, never
objects), so both fit in an ``.npz`` file loaded with ``allow_pickle=False``.
``from_state(spec, arrays)`` rebuilds an object that transforms new data identically.

- :class:`Preprocessor`: features. Fitted by a scikit-learn ``ColumnTransformer``;
  its statistics are then applied with plain NumPy, so a fitted and a restored
  preprocessor run the same code (and the tests check it against the
  ``ColumnTransformer`` to the bit).
- :class:`LabelEncoder`: class labels (strings, integers, floats or booleans) to the
  indices ``0 .. n_classes - 1``.
- :class:`TargetScaler`: standardises a regression target, and undoes it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from .._checks import as_float_dtype

__all__ = ["DataError", "LabelEncoder", "Preprocessor", "TargetScaler"]

_STATE_VERSION = 1


class DataError(ValueError):
    """A problem with the user's data: the message names it and says how to fix it.

    The ``chainrule`` command prints the message and exits with status 2.
    """


# Shown as chainrule.datasets.DataError, where users import it from.
DataError.__module__ = "chainrule.datasets"


# --------------------------------------------------------------------- helpers


def _quote_list(names: Sequence, limit: int = 30) -> str:
    """``'a', 'b', 'c'`` (at most ``limit`` names, then ``... (n more)``)."""
    shown = ", ".join(repr(str(n)) for n in list(names)[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return shown


def _fmt(value: float) -> str:
    """A number for a human: 41.0 -> '41', 0.123456789 -> '0.123457'."""
    return f"{float(value):.6g}"


def label_str(value) -> str:
    """The string a category or class label is known by.

    Integer-valued numbers print without a decimal point (``1`` and ``1.0`` are both
    ``'1'``), so a column read as integers at training time and as floats at predict
    time (because of a missing value) still matches its categories.
    """
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        return str(int(v)) if math.isfinite(v) and v.is_integer() else repr(v)
    return str(value)


def as_label_strings(s: pd.Series) -> np.ndarray:
    """``s`` as an object array of :func:`label_str` strings, ``np.nan`` where missing."""
    missing = s.isna().to_numpy()
    out = np.empty(len(s), dtype=object)
    out[missing] = np.nan
    out[~missing] = [label_str(v) for v in s.to_numpy(dtype=object)[~missing]]
    return out


def column_as_float(s: pd.Series, name: str) -> np.ndarray:
    """A numeric column as float64 with ``nan`` where missing; text or inf is refused."""
    if is_bool_dtype(s.dtype):
        s = s.astype("float64")
    if not is_numeric_dtype(s.dtype):
        coerced = pd.to_numeric(s, errors="coerce")
        bad = s.notna().to_numpy() & coerced.isna().to_numpy()
        if bad.any():
            examples = _quote_list(pd.unique(s[bad].astype(str)), limit=3)
            raise DataError(
                f"column {name!r} must be numeric but {int(bad.sum())} rows hold text such "
                f"as {examples}; fix or blank out those cells."
            )
        s = coerced
    arr = s.to_numpy(dtype=np.float64, na_value=np.nan)
    n_inf = int(np.isinf(arr).sum())
    if n_inf:
        raise DataError(
            f"column {name!r} has {n_inf} infinite values; replace them with finite "
            "numbers or blank cells (blank cells are imputed)."
        )
    return arr


# Squares of values up to 2**500 (about 3e150), summed over up to 2**7 million rows, stay
# below float64's maximum (about 1.8e308); larger columns are divided by a power of two.
_SAFE_MAGNITUDE = 2.0**500


def _power_of_two_scales(frame: pd.DataFrame, numeric: list[str]) -> np.ndarray:
    """Divide, in place, each numeric column of ``frame`` whose largest magnitude
    exceeds 2**500 by a power of two that brings it to 2**500, so that its variance
    does not overflow; return the factors (1 for the other columns).

    A power of two is exact: ``x / 2**k * 2**k == x`` (barring underflow of values
    smaller than 2**-500 times the column's largest), so the statistics scaled back
    by the factor are those of the column itself:
        mean(x) = mean(x / f) * f,  std(x) = std(x / f) * f.
    """
    factor = np.ones(len(numeric))
    for j, c in enumerate(numeric):
        values = frame[c].to_numpy()
        largest = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 0.0
        if largest > _SAFE_MAGNITUDE:
            factor[j] = 2.0 ** (math.ceil(math.log2(largest)) - 500)
            frame[c] = values / factor[j]
    return factor


def _state_error(what: str) -> DataError:
    return DataError(
        f"preprocessing state is inconsistent: {what}; the model file is damaged or was "
        "not written by this version of chainrule, so train the model again."
    )


def _check_format(spec, expected: str) -> None:
    if not isinstance(spec, dict):
        raise _state_error(f"spec is a {type(spec).__name__}, not a dict")
    if spec.get("format") != expected:
        raise _state_error(f"format is {spec.get('format')!r}, expected {expected!r}")
    if spec.get("version") != _STATE_VERSION:
        raise _state_error(f"version {spec.get('version')!r} is not {_STATE_VERSION}")


def _str_list(spec: dict, key: str) -> list[str]:
    value = spec.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _state_error(f"{key!r} is not a list of strings")
    return list(value)


def _float_array(arrays, key: str, n: int) -> np.ndarray:
    if key not in arrays:
        raise _state_error(f"array {key!r} is missing")
    arr = np.asarray(arrays[key])
    if arr.dtype != np.float64 or arr.shape != (n,) or not np.isfinite(arr).all():
        raise _state_error(f"array {key!r} must be {n} finite float64 values")
    return arr.copy()


# ---------------------------------------------------------------- Preprocessor


def _check_fit_frame(X, forced: list[str]) -> None:
    """Preprocessor.fit's input: a DataFrame with distinct string column names, at least
    one row and column, holding every column named ``categorical``."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"Preprocessor.fit expects a pandas DataFrame, got {type(X).__name__}; "
            "wrap an array with pd.DataFrame(X, columns=[...])."
        )
    if not all(isinstance(c, str) for c in X.columns):
        raise DataError(
            "Preprocessor.fit needs string column names; rename them with "
            "X.columns = X.columns.astype(str)."
        )
    if X.columns.duplicated().any():
        dup = _quote_list(X.columns[X.columns.duplicated()].unique())
        raise DataError(f"duplicate column names {dup}; give every column its own name.")
    if X.shape[1] == 0 or X.shape[0] == 0:
        raise DataError(
            f"no data to fit the preprocessing on ({X.shape[0]} rows, {X.shape[1]} "
            "feature columns); the data needs at least one row and one feature column."
        )
    unknown = [c for c in forced if c not in X.columns]
    if unknown:
        raise DataError(
            f"categorical columns {_quote_list(unknown)} are not in the data; "
            f"available columns: {_quote_list(X.columns)}."
        )


def _sort_columns(X: pd.DataFrame, forced: list[str]):
    """``(numeric, categorical, dropped, notes)``: numeric columns (not bool, not
    ``forced``), the other columns, and those with no value at all (noted)."""
    notes: list[str] = []
    numeric, categorical, dropped = [], [], []
    for c in X.columns:
        s = X[c]
        if s.isna().all():
            dropped.append(c)
            notes.append(f"dropped {c!r}: every value is missing")
        elif is_numeric_dtype(s.dtype) and not is_bool_dtype(s.dtype) and c not in forced:
            numeric.append(c)
        else:
            categorical.append(c)
    if not numeric and not categorical:
        raise DataError(
            "every feature column is empty (all values missing); check the file's "
            "delimiter and missing-value markers."
        )
    return numeric, categorical, dropped, notes


def _column_transformer(numeric: list[str], categorical: list[str]):
    """scikit-learn's (unfitted) ``ColumnTransformer``: median imputation and
    standardisation of ``numeric``, most-frequent imputation and one-hot encoding of
    ``categorical``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    transformers = []
    if numeric:
        steps = [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        transformers.append(("numeric", Pipeline(steps), numeric))
    if categorical:
        onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
        steps = [("impute", SimpleImputer(strategy="most_frequent")), ("onehot", onehot)]
        transformers.append(("categorical", Pipeline(steps), categorical))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


def _fitted_statistics(ct, numeric: list[str], categorical: list[str], factor):
    """``(median, mean, scale, fill, categories)`` read off the fitted transformer ``ct``;
    the numeric ones multiplied back by the power-of-two ``factor`` (exact)."""
    if numeric:
        steps = ct.named_transformers_["numeric"].named_steps
        median = np.asarray(steps["impute"].statistics_, dtype=np.float64)
        mean = np.asarray(steps["scale"].mean_, dtype=np.float64)
        scale = np.asarray(steps["scale"].scale_, dtype=np.float64)
        median, mean, scale = median * factor, mean * factor, scale * factor  # exact
    else:
        median = mean = scale = np.zeros(0)
    if categorical:
        steps = ct.named_transformers_["categorical"].named_steps
        fill = [str(v) for v in steps["impute"].statistics_]
        categories = [[str(v) for v in cats] for cats in steps["onehot"].categories_]
    else:
        fill, categories = [], []
    return median, mean, scale, fill, categories


def _fit_notes(frame, n_rows: int, numeric, categorical, stats) -> list[str]:
    """What fitting did to each column, in words (imputations, constants, encodings);
    ``stats`` as :func:`_fitted_statistics` returns them."""
    median, mean, _, fill, categories = stats
    notes = []
    for j, c in enumerate(numeric):
        n_missing = int(np.isnan(frame[c].to_numpy()).sum())
        if n_missing:
            notes.append(
                f"imputed {n_missing} missing values in {c!r} with the median {_fmt(median[j])}"
            )
        if frame[c].nunique() <= 1:
            notes.append(
                f"{c!r} is constant ({_fmt(mean[j])}): it carries no information and "
                "becomes 0 after standardising"
            )
    for j, c in enumerate(categorical):
        n_missing = int(pd.isna(frame[c]).sum())
        if n_missing:
            notes.append(
                f"imputed {n_missing} missing values in {c!r} with the most frequent "
                f"value {fill[j]!r}"
            )
        k = len(categories[j])
        note = f"one-hot encoded {c!r} ({k} categories: {_quote_list(categories[j], 8)})"
        if k > 50 and k > n_rows // 2:
            note += "; almost every value differs: if it is an identifier, drop it"
        notes.append(note)
    if numeric:
        notes.append(
            f"standardised {len(numeric)} numeric columns to mean 0 and standard "
            "deviation 1 on the training rows"
        )
    return notes


class Preprocessor:
    """Turn a DataFrame of features into a float matrix: impute, standardise, one-hot.

    Parameters
    ----------
    categorical : sequence of str, optional
        Columns to one-hot encode even though they are numeric (e.g. a code).
        Every non-numeric column (text, category, boolean) is categorical anyway.
    dtype : np.float32 or np.float64, default np.float64
        The dtype of the matrices ``transform`` returns.

    Attributes
    ----------
    feature_names_in_ : list of str
        The columns ``fit`` saw, in order; ``transform`` needs all but the dropped ones.
    numeric_columns_, categorical_columns_ : list of str
        How each used column was treated.
    dropped_columns_ : list of str
        Columns with no value at all in the training data (they carry nothing).
    feature_names_out_ : list of str
        Names of the output columns: the numeric columns, then ``'column=category'``
        for each one-hot column.
    notes_ : list of str
        What ``fit`` did, in words (imputations, encodings, constant columns).
    column_transformer_ : sklearn.compose.ColumnTransformer or None
        The fitted scikit-learn object the statistics were taken from (``None`` after
        :meth:`from_state`; it is never saved).

    Notes
    -----
    The output is ``[numeric block | one-hot block]``, exactly what the fitted
    ``ColumnTransformer`` of scikit-learn returns:

        numeric column j:     x = value, or median[j] if missing
                              Z[:, j] = (x - mean[j]) / scale[j]
                              mean, scale from StandardScaler after imputation;
                              scale[j] = 1 for a constant column, which becomes 0
        categorical column c: v = label, or the most frequent label if missing
                              one column per training category k: 1.0 if v == k else 0.0
                              (an unseen category gives all zeros: handle_unknown="ignore")

    ``transform`` applies these saved statistics with NumPy, in float64 and in the same
    order of operations as scikit-learn (fill, subtract, divide), then casts to
    ``dtype``; :meth:`sklearn_transform` runs the ``ColumnTransformer`` itself, for
    comparison. Categories are compared as strings (see ``label_str``: ``1`` and ``1.0``
    are the same category).

    Examples
    --------
    >>> pre = Preprocessor().fit(train_frame[features])
    >>> X_train = pre.transform(train_frame)         # extra columns (the target) ignored
    >>> print("\\n".join(pre.notes_))
    >>> spec, arrays = pre.to_state()                 # JSON-able dict, dict of arrays
    >>> same = Preprocessor.from_state(spec, arrays)  # same.transform(...) is identical
    """

    def __init__(self, *, categorical: Sequence[str] | None = None, dtype=np.float64) -> None:
        self.categorical = None if categorical is None else [str(c) for c in categorical]
        self.dtype = as_float_dtype(dtype)
        self._fitted = False
        self.column_transformer_ = None

    # -- fitting

    def fit(self, X: pd.DataFrame) -> Preprocessor:
        """Learn medians, means, scales and categories from the feature frame ``X``.

        Parameters
        ----------
        X : pandas.DataFrame, shape (n_samples, n_columns)
            Features only (pass ``dataset.X``, not the frame with the target).

        Returns
        -------
        self : Preprocessor
        """
        forced = self.categorical or []
        _check_fit_frame(X, forced)
        numeric, categorical, dropped, notes = _sort_columns(X, forced)
        frame = self._prepare(X, numeric, categorical)
        factor = _power_of_two_scales(frame, numeric)  # 1 unless squares would overflow
        ct = _column_transformer(numeric, categorical).fit(frame)
        stats = _fitted_statistics(ct, numeric, categorical, factor)
        notes += _fit_notes(frame, X.shape[0], numeric, categorical, stats)

        self.feature_names_in_ = [str(c) for c in X.columns]
        self._set_fitted(numeric, categorical, dropped, *stats)
        self.notes_ = notes
        self.column_transformer_ = ct
        return self

    def _set_fitted(self, numeric, categorical, dropped, median, mean, scale, fill, categories):
        self.numeric_columns_ = list(numeric)
        self.categorical_columns_ = list(categorical)
        self.dropped_columns_ = list(dropped)
        self.median_ = median
        self.mean_ = mean
        self.scale_ = scale
        self.fill_values_ = list(fill)
        self.categories_ = [list(c) for c in categories]
        # one array per column, for the comparisons in transform
        self._category_arrays = [np.array(c, dtype=object) for c in self.categories_]
        self.feature_names_out_ = list(self.numeric_columns_) + [
            f"{c}={k}" for c, cats in zip(categorical, categories, strict=True) for k in cats
        ]
        self._fitted = True

    # -- transforming

    @staticmethod
    def _prepare(X: pd.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
        """Numeric columns as float64 (nan if missing), categorical as object strings."""
        data = {c: column_as_float(X[c], c) for c in numeric}
        data.update(
            {c: pd.Series(as_label_strings(X[c]), index=X.index, dtype=object) for c in categorical}
        )
        out = pd.DataFrame(data, index=X.index)
        for c in categorical:  # pandas 3 would infer its "str" dtype; keep objects
            out[c] = out[c].astype(object)
        return out

    def _check_fitted(self, where: str) -> None:
        if not self._fitted:
            raise RuntimeError(
                f"Preprocessor.{where}: not fitted yet; call fit(X) first (or from_state)."
            )

    def _frame(self, X, where: str) -> pd.DataFrame:
        """``X`` as a DataFrame holding every needed column, or a DataError."""
        needed = self.numeric_columns_ + self.categorical_columns_
        if isinstance(X, np.ndarray):
            if X.ndim != 2 or X.shape[1] != len(self.feature_names_in_):
                raise DataError(
                    f"Preprocessor.{where}: got an array of shape {X.shape}; pass a DataFrame "
                    f"with the columns {_quote_list(needed)}."
                )
            X = pd.DataFrame(X, columns=self.feature_names_in_)
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"Preprocessor.{where} expects a pandas DataFrame, got {type(X).__name__}."
            )
        missing = [c for c in needed if c not in X.columns]
        if missing:
            raise DataError(
                f"missing feature columns {_quote_list(missing)}: the model was trained "
                f"with the columns {_quote_list(needed)}; add them to the data."
            )
        return X

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Apply the fitted statistics: impute, standardise, one-hot encode.

        Parameters
        ----------
        X : pandas.DataFrame, shape (n_samples, n_columns)
            Must hold every used feature column; other columns (the target, extra
            ones) are ignored. Missing values are imputed; unseen categories give an
            all-zero one-hot block.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features_out), dtype ``self.dtype``
        """
        self._check_fitted("transform")
        X = self._frame(X, "transform")
        n = X.shape[0]
        blocks = []
        if self.numeric_columns_:
            Xn = np.empty((n, len(self.numeric_columns_)), dtype=np.float64)
            for j, c in enumerate(self.numeric_columns_):
                Xn[:, j] = column_as_float(X[c], c)
            missing = np.isnan(Xn)
            Xn[missing] = np.broadcast_to(self.median_, Xn.shape)[missing]  # impute
            with np.errstate(over="ignore"):  # standardise, as StandardScaler does
                Xn -= self.mean_
                Xn /= self.scale_
            self._check_standardised(Xn, X)
            blocks.append(Xn)
        for j, c in enumerate(self.categorical_columns_):
            v = as_label_strings(X[c])
            v[pd.isna(v)] = self.fill_values_[j]  # impute
            blocks.append((v[:, None] == self._category_arrays[j][None, :]).astype(np.float64))
        Z = np.hstack(blocks) if blocks else np.zeros((n, 0))
        return Z.astype(self.dtype, copy=False)

    def _check_standardised(self, Xn: np.ndarray, X: pd.DataFrame) -> None:
        """A finite value so far from the training data that its standardised value
        overflows float64 (1.7e308 in a column of scale 0.5) is refused by name."""
        bad = ~np.isfinite(Xn)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            c = self.numeric_columns_[j]
            raise DataError(
                f"column {c!r} holds {float(X[c].iloc[i]):.3g} (row {X.index[i]}), which is "
                f"beyond float64 once standardised: the training data had mean "
                f"{self.mean_[j]:.3g} and standard deviation {self.scale_[j]:.3g}. Values "
                "this far outside the training data cannot be predicted; check that row."
            )

    def fit_transform(self, X: pd.DataFrame) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def sklearn_transform(self, X: pd.DataFrame) -> np.ndarray:
        """Transform through the fitted scikit-learn ``ColumnTransformer`` (float64).

        For checking :meth:`transform`, which must agree to the bit. Only available
        on a preprocessor fitted in this session, not one rebuilt by ``from_state``.
        """
        self._check_fitted("sklearn_transform")
        if self.column_transformer_ is None:
            raise RuntimeError(
                "sklearn_transform: this preprocessor was rebuilt with from_state and has "
                "no ColumnTransformer; use transform()."
            )
        X = self._frame(X, "sklearn_transform")
        frame = self._prepare(X, self.numeric_columns_, self.categorical_columns_)
        return self.column_transformer_.transform(frame)

    def get_feature_names_out(self) -> list[str]:
        """Names of the output columns (``feature_names_out_``)."""
        self._check_fitted("get_feature_names_out")
        return list(self.feature_names_out_)

    @property
    def n_features_out_(self) -> int:
        """Number of columns ``transform`` returns."""
        self._check_fitted("n_features_out_")
        return len(self.feature_names_out_)

    # -- saving without pickle

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The fitted statistics as ``(spec, arrays)``: a JSON-able dict and float arrays.

        ``arrays`` holds ``numeric_median``, ``numeric_mean`` and ``numeric_scale``
        (float64, one value per numeric column, kept to the bit); everything else
        (column names, fill values, categories as strings, notes) is in ``spec``.
        """
        self._check_fitted("to_state")
        spec = {
            "format": "chainrule.Preprocessor",
            "version": _STATE_VERSION,
            "dtype": self.dtype.name,
            "categorical": self.categorical,
            "feature_names_in": list(self.feature_names_in_),
            "numeric_columns": list(self.numeric_columns_),
            "categorical_columns": list(self.categorical_columns_),
            "dropped_columns": list(self.dropped_columns_),
            "fill_values": list(self.fill_values_),
            "categories": [list(c) for c in self.categories_],
            "notes": list(self.notes_),
        }
        arrays = {
            "numeric_median": self.median_.copy(),
            "numeric_mean": self.mean_.copy(),
            "numeric_scale": self.scale_.copy(),
        }
        return spec, arrays

    @classmethod
    def from_state(cls, spec: dict, arrays: dict[str, np.ndarray]) -> Preprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_state`'s output (no pickle).

        Raises
        ------
        DataError
            If the spec or arrays are malformed or disagree with each other.
        """
        _check_format(spec, "chainrule.Preprocessor")
        if spec.get("dtype") not in ("float32", "float64"):
            raise _state_error(f"dtype {spec.get('dtype')!r} is not float32 or float64")
        forced = spec.get("categorical")
        forced = None if forced is None else _str_list(spec, "categorical")
        pre = cls(categorical=forced, dtype=np.dtype(spec["dtype"]))
        names_in = _str_list(spec, "feature_names_in")
        numeric = _str_list(spec, "numeric_columns")
        categorical = _str_list(spec, "categorical_columns")
        dropped = _str_list(spec, "dropped_columns")
        fill = _str_list(spec, "fill_values")
        if sorted(numeric + categorical + dropped) != sorted(names_in):
            raise _state_error("the column lists do not add up to feature_names_in")
        if not numeric and not categorical:
            raise _state_error("no feature columns")
        cats = spec.get("categories")
        if (
            not isinstance(cats, list)
            or len(cats) != len(categorical)
            or not all(
                isinstance(c, list) and c and all(isinstance(k, str) for k in c) for c in cats
            )
        ):
            raise _state_error("'categories' is not one non-empty list of strings per column")
        if len(fill) != len(categorical):
            raise _state_error("'fill_values' needs one value per categorical column")
        k = len(numeric)
        median = _float_array(arrays, "numeric_median", k)
        mean = _float_array(arrays, "numeric_mean", k)
        scale = _float_array(arrays, "numeric_scale", k)
        if (scale <= 0).any():
            raise _state_error("'numeric_scale' must be positive")
        pre.feature_names_in_ = names_in
        pre._set_fitted(numeric, categorical, dropped, median, mean, scale, fill, cats)
        notes = spec.get("notes", [])
        pre.notes_ = list(notes) if isinstance(notes, list) else []
        return pre

    def __repr__(self) -> str:
        if not self._fitted:
            return "Preprocessor(unfitted)"
        return (
            f"Preprocessor({len(self.numeric_columns_)} numeric, "
            f"{len(self.categorical_columns_)} categorical -> {self.n_features_out_} features)"
        )


# ---------------------------------------------------------------- LabelEncoder


def _target_values(y, where: str) -> pd.Series:
    """``y`` as a 1-D Series, with a DataError for 2-D input or missing labels."""
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise DataError(f"{where}: expected one target column, got {y.shape[1]}.")
        y = y.iloc[:, 0]
    if not isinstance(y, pd.Series):
        arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise DataError(f"{where}: expected a 1-D array of labels, got shape {arr.shape}.")
        y = pd.Series(arr, dtype=object if arr.dtype.kind in "OUS" else None)
    n_missing = int(y.isna().sum())
    if n_missing:
        raise DataError(f"{where}: {n_missing} labels are missing (NaN); drop those rows first.")
    return y


class LabelEncoder:
    """Class labels <-> indices ``0 .. n_classes - 1``, saved without pickle.

    Labels keep their kind: text labels become strings (``label_str``), booleans stay
    booleans, integers int64, other numbers float64. ``classes_`` is sorted
    (``np.unique``), so index ``i`` means ``classes_[i]``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        dtype ``<U`` (text), bool, int64 or float64.
    kind_ : {"str", "bool", "int", "float"}
    """

    def __init__(self) -> None:
        self.classes_ = None

    @staticmethod
    def _values(y: pd.Series, kind: str) -> np.ndarray:
        if kind == "str":
            return as_label_strings(y).astype(str)
        if kind == "bool":
            return y.to_numpy(dtype=bool)
        return y.to_numpy(dtype=np.int64 if kind == "int" else np.float64)

    def fit(self, y) -> LabelEncoder:
        """Learn the sorted classes of ``y`` (shape (n_samples,))."""
        y = _target_values(y, "LabelEncoder.fit")
        if is_bool_dtype(y.dtype):
            kind = "bool"
        elif is_numeric_dtype(y.dtype):
            kind = "int" if y.dtype.kind in "iu" else "float"
        else:
            kind = "str"
        self.kind_ = kind
        self.classes_ = np.unique(self._values(y, kind))
        return self

    def transform(self, y) -> np.ndarray:
        """Indices of the labels ``y`` in ``classes_``: int64 of shape (n_samples,).

        Raises
        ------
        DataError
            For a label that was not seen by ``fit``.
        """
        if self.classes_ is None:
            raise RuntimeError("LabelEncoder.transform: not fitted yet; call fit(y) first.")
        y = _target_values(y, "LabelEncoder.transform")
        numeric_y = is_numeric_dtype(y.dtype) or is_bool_dtype(y.dtype)
        if self.kind_ == "str" or not numeric_y:
            # text on either side: compare the label strings ('1' and 1.0 match)
            classes = np.array([label_str(c) for c in self.classes_], dtype=str)
            values = as_label_strings(y).astype(str)
        else:  # numbers (or booleans) on both sides: compare their values
            classes = self.classes_.astype(np.float64)
            values = y.to_numpy(dtype=np.float64)
        idx = pd.Index(classes).get_indexer(values)  # -1 where unknown
        unknown = idx < 0
        if unknown.any():
            raise DataError(
                f"unknown class labels {_quote_list(pd.unique(values[unknown]), 5)}; the "
                f"model knows only {_quote_list(self.classes_, 20)}."
            )
        return idx.astype(np.int64)

    def fit_transform(self, y) -> np.ndarray:
        """``fit(y)`` then ``transform(y)``."""
        return self.fit(y).transform(y)

    def inverse_transform(self, indices) -> np.ndarray:
        """The labels of class indices (e.g. ``argmax`` of the network's output)."""
        if self.classes_ is None:
            raise RuntimeError("LabelEncoder.inverse_transform: not fitted yet.")
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"class indices must be integers, got dtype {indices.dtype}.")
        if indices.size and (indices.min() < 0 or indices.max() >= len(self.classes_)):
            raise ValueError(
                f"class indices must be in [0, {len(self.classes_) - 1}], got "
                f"{indices.min()} .. {indices.max()}."
            )
        return self.classes_[indices]

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """``({"format", "version", "kind"}, {"classes": classes_})``; no object arrays."""
        if self.classes_ is None:
            raise RuntimeError("LabelEncoder.to_state: not fitted yet.")
        spec = {"format": "chainrule.LabelEncoder", "version": _STATE_VERSION, "kind": self.kind_}
        return spec, {"classes": self.classes_.copy()}

    @classmethod
    def from_state(cls, spec: dict, arrays: dict[str, np.ndarray]) -> LabelEncoder:
        """Rebuild a fitted encoder from :meth:`to_state`'s output."""
        _check_format(spec, "chainrule.LabelEncoder")
        kind = spec.get("kind")
        expected = {"str": "U", "bool": "b", "int": "i", "float": "f"}
        if kind not in expected:
            raise _state_error(f"label kind {kind!r} is unknown")
        if "classes" not in arrays:
            raise _state_error("array 'classes' is missing")
        classes = np.asarray(arrays["classes"])
        if classes.ndim != 1 or classes.size < 1 or classes.dtype.kind != expected[kind]:
            raise _state_error(f"'classes' must be a non-empty 1-D {kind} array")
        if classes.size > 1 and not (classes[1:] > classes[:-1]).all():
            raise _state_error("'classes' must be sorted and unique")
        enc = cls()
        enc.kind_ = kind
        enc.classes_ = classes.copy()
        return enc

    def __repr__(self) -> str:
        if self.classes_ is None:
            return "LabelEncoder(unfitted)"
        return f"LabelEncoder({len(self.classes_)} classes: {_quote_list(self.classes_, 5)})"


# ---------------------------------------------------------------- TargetScaler


class TargetScaler:
    """Standardise a regression target, and map predictions back to its units.

    Networks train better on a target of mean 0 and standard deviation 1; the
    predictions are then mapped back with :meth:`inverse_transform`.

    Notes
    -----
    ::

        fit:       mean = y.mean(axis=0), scale = y.std(axis=0) (1 where it is 0)
        transform: T = (y - mean) / scale
        inverse:   y = T * scale + mean

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_targets,), float64
    """

    def __init__(self) -> None:
        self.mean_ = None

    @staticmethod
    def _as_2d(y, where: str) -> tuple[np.ndarray, bool]:
        Y = y.to_numpy(dtype=np.float64) if isinstance(y, (pd.Series, pd.DataFrame)) else y
        Y = np.asarray(Y)
        if Y.dtype.kind not in "biuf":
            raise DataError(f"{where}: a regression target must be numeric, got {Y.dtype}.")
        one_d = Y.ndim == 1
        Y = Y.reshape(-1, 1) if one_d else Y
        if Y.ndim != 2:
            raise DataError(f"{where}: expected shape (n,) or (n, k), got {Y.shape}.")
        if not np.isfinite(Y).all():
            raise DataError(f"{where}: the target has missing or infinite values; drop them.")
        return Y, one_d

    def fit(self, y) -> TargetScaler:
        """Learn the mean and standard deviation of ``y``, shape (n,) or (n, n_targets)."""
        Y, _ = self._as_2d(y, "TargetScaler.fit")
        Y = Y.astype(np.float64)
        frame = pd.DataFrame(Y, columns=[str(j) for j in range(Y.shape[1])])
        factor = _power_of_two_scales(frame, list(frame.columns))  # no overflow in std
        scaled = frame.to_numpy()
        self.mean_ = scaled.mean(axis=0) * factor
        std = scaled.std(axis=0) * factor
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, y, dtype=np.float64) -> np.ndarray:
        """``(y - mean) / scale`` in ``dtype``, with the shape of ``y``."""
        if self.mean_ is None:
            raise RuntimeError("TargetScaler.transform: not fitted yet; call fit(y) first.")
        dtype = as_float_dtype(dtype)
        Y, one_d = self._as_2d(y, "TargetScaler.transform")
        self._check_width(Y)
        Y = Y.astype(np.float64)
        if np.max(np.abs(Y), initial=0.0) < 2.0**1022:  # Y - mean cannot overflow
            T = ((Y - self.mean_) / self.scale_).astype(dtype, copy=False)
        else:  # values near float64's maximum: divide first
            T = (Y / self.scale_ - self.mean_ / self.scale_).astype(dtype, copy=False)
        return T[:, 0] if one_d else T

    def fit_transform(self, y, dtype=np.float64) -> np.ndarray:
        """``fit(y)`` then ``transform(y, dtype)``."""
        return self.fit(y).transform(y, dtype)

    def inverse_transform(self, T) -> np.ndarray:
        """``T * scale + mean``: predictions back in the target's units.

        A float32 ``T`` stays float32 (nothing is upcast); other input gives float64.
        """
        if self.mean_ is None:
            raise RuntimeError("TargetScaler.inverse_transform: not fitted yet.")
        T = np.asarray(T)
        dtype = T.dtype if T.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        one_d = T.ndim == 1
        T2 = T.reshape(-1, 1) if one_d else T
        self._check_width(T2)
        Y = T2.astype(dtype, copy=False) * self.scale_.astype(dtype) + self.mean_.astype(dtype)
        return Y[:, 0] if one_d else Y

    def _check_width(self, Y: np.ndarray) -> None:
        if Y.ndim != 2 or Y.shape[1] != self.mean_.shape[0]:
            raise DataError(
                f"TargetScaler: expected {self.mean_.shape[0]} target columns, got shape {Y.shape}."
            )

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """``({"format", "version"}, {"mean": mean_, "scale": scale_})``."""
        if self.mean_ is None:
            raise RuntimeError("TargetScaler.to_state: not fitted yet.")
        spec = {"format": "chainrule.TargetScaler", "version": _STATE_VERSION}
        return spec, {"mean": self.mean_.copy(), "scale": self.scale_.copy()}

    @classmethod
    def from_state(cls, spec: dict, arrays: dict[str, np.ndarray]) -> TargetScaler:
        """Rebuild a fitted scaler from :meth:`to_state`'s output."""
        _check_format(spec, "chainrule.TargetScaler")
        n = np.asarray(arrays.get("mean", np.zeros(0))).shape
        if len(n) != 1 or n[0] < 1:
            raise _state_error("array 'mean' must be 1-D and non-empty")
        scaler = cls()
        scaler.mean_ = _float_array(arrays, "mean", n[0])
        scaler.scale_ = _float_array(arrays, "scale", n[0])
        if (scaler.scale_ <= 0).any():
            raise _state_error("'scale' must be positive")
        return scaler

    def __repr__(self) -> str:
        if self.mean_ is None:
            return "TargetScaler(unfitted)"
        return f"TargetScaler({self.mean_.shape[0]} targets)"
