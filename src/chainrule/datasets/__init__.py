"""Data: the bundled sets, the one CSV reader, and preprocessing.

``tables.py`` reads CSV files and bundled tables into a :class:`Dataset`;
``preprocess.py`` turns a table into the network's matrix (imputation, scaling,
one-hot encoding) and back.
"""

from .preprocess import DataError, LabelEncoder, Preprocessor, TargetScaler, label_str
from .tables import (
    BUNDLED_DATASETS,
    FEW_CATEGORIES,
    MAX_CSV_BYTES,
    MAX_INFERRED_CLASSES,
    MAX_MATRIX_CELLS,
    SEPARATORS,
    TASKS,
    Dataset,
    dataset_from_frame,
    detect_decimal,
    detect_separator,
    infer_task,
    load_dataset,
    load_table,
    read_csv,
    select_features,
    train_test_split_dataset,
)

__all__ = [
    "BUNDLED_DATASETS",
    "FEW_CATEGORIES",
    "MAX_CSV_BYTES",
    "MAX_INFERRED_CLASSES",
    "MAX_MATRIX_CELLS",
    "SEPARATORS",
    "TASKS",
    "DataError",
    "Dataset",
    "LabelEncoder",
    "Preprocessor",
    "TargetScaler",
    "dataset_from_frame",
    "detect_decimal",
    "detect_separator",
    "infer_task",
    "label_str",
    "load_dataset",
    "load_table",
    "read_csv",
    "select_features",
    "train_test_split_dataset",
]
