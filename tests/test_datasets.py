"""Datasets, CSV loading, preprocessing and its pickle-free state (chainrule.datasets)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from chainrule.datasets import (
    BUNDLED_DATASETS,
    DataError,
    LabelEncoder,
    Preprocessor,
    TargetScaler,
    dataset_from_frame,
    infer_task,
    load_dataset,
    train_test_split_dataset,
)

# ---------------------------------------------------------------- bundled datasets


@pytest.mark.parametrize(
    ("name", "n_rows", "n_features", "task", "target", "classes"),
    [
        ("iris", 150, 4, "classification", ["target"], ["setosa", "versicolor", "virginica"]),
        ("wine", 178, 13, "classification", ["target"], ["class_0", "class_1", "class_2"]),
        ("breast_cancer", 569, 30, "classification", ["target"], ["benign", "malignant"]),
        ("digits", 1797, 64, "classification", ["target"], list(range(10))),
        ("diabetes", 442, 10, "regression", ["target"], []),
        ("linnerud", 20, 3, "regression", ["Weight", "Waist", "Pulse"], []),
    ],
)
def test_bundled_dataset_shape_task_and_labels(name, n_rows, n_features, task, target, classes):
    ds = load_dataset(name)
    assert ds.name == name and ds.source == "sklearn"
    assert ds.frame.shape == (n_rows, n_features + len(target))
    assert ds.X.shape == (n_rows, n_features)
    assert ds.target == target and ds.task == task
    assert ds.feature_names == [c for c in ds.frame.columns if c not in target]
    assert ds.classes == classes
    assert ds.notes == []
    assert not ds.frame.isna().any().any()


def test_bundled_names_cover_the_table():
    assert set(BUNDLED_DATASETS) == {
        "iris",
        "wine",
        "breast_cancer",
        "digits",
        "diabetes",
        "linnerud",
        "penguins",
    }


def test_bundled_name_is_case_and_hyphen_insensitive():
    assert load_dataset("Breast-Cancer").name == "breast_cancer"


def test_bundled_dataset_with_another_target_column():
    # predict petal width from the other measurements and the species
    ds = load_dataset("iris", target="petal width (cm)")
    assert ds.task == "regression"
    assert "target" in ds.feature_names and len(ds.feature_names) == 4
    one = load_dataset("linnerud", target="Pulse")
    assert one.target == ["Pulse"] and one.task == "regression" and one.X.shape == (20, 5)


def test_explicit_task_overrides_the_default():
    assert load_dataset("digits", task="regression").task == "regression"
    with pytest.raises(DataError, match=r"not numeric.*classification"):
        load_dataset("iris", task="regression")


# ---------------------------------------------------------------- task inference


@pytest.mark.parametrize(
    ("y", "task"),
    [
        (["cat", "dog", "cat", "dog"], "classification"),
        (pd.Series(["a", "b", None, "a"]), "classification"),  # missing values ignored
        ([True, False, True], "classification"),
        ([0, 1, 0, 1, 1, 0], "classification"),
        ([0.0, 1.0, 2.0, 1.0, 0.0, 2.0, 1.0, 0.0, 2.0], "classification"),  # integer-valued
        (np.arange(100) % 5, "classification"),  # 5 <= sqrt(100) distinct values
        (np.arange(100), "regression"),  # integer-valued but 100 distinct values
        (np.arange(1000) % 25, "regression"),  # 25 > 20 distinct values
        ([1, 2, 3, 4], "regression"),  # 4 distinct in 4 rows: a quantity
        ([0.5, 1.25, 3.0, 0.5], "regression"),  # not integer-valued
        ([1.0, np.nan, 2.0, 1.0, 2.0, 1.0, 2.0], "classification"),
        (pd.Series(["x", "y"], dtype="category"), "classification"),
        (np.column_stack([np.arange(10.0), np.arange(10.0)]), "regression"),
        (pd.DataFrame({"a": [1.0, 2.0], "b": ["u", "v"]}), "classification"),
    ],
)
def test_infer_task(y, task):
    assert infer_task(y) == task


def test_infer_task_of_an_empty_target():
    with pytest.raises(DataError, match="empty target"):
        infer_task(pd.Series([np.nan, np.nan]))


# ---------------------------------------------------------------- a messy CSV


@pytest.fixture
def messy_csv(tmp_path):
    """60 rows: numeric with gaps, a constant, text with gaps, booleans, a text label."""
    rng = np.random.default_rng(0)
    n = 60
    age = rng.integers(18, 80, size=n).astype(float)
    age[[3, 10, 41]] = np.nan
    city = rng.choice(["Paris", "Oslo", "Lima"], size=n).astype(object)
    city[[5, 6]] = np.nan
    frame = pd.DataFrame(
        {
            "age": age,
            "income": rng.normal(50_000, 12_000, size=n).round(2),
            "const": np.full(n, 7.0),
            "city": city,
            "member": rng.choice([True, False], size=n),
            "label": rng.choice(["yes", "no"], size=n),
        }
    )
    path = tmp_path / "people.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_csv_loads_with_last_column_as_target(messy_csv):
    path, frame = messy_csv
    ds = load_dataset(path)
    assert ds.name == "people.csv" and ds.source == str(path)
    assert ds.target == ["label"] and ds.task == "classification"
    assert ds.feature_names == ["age", "income", "const", "city", "member"]
    assert ds.frame.shape == frame.shape
    assert ds.classes == ["no", "yes"]


def test_preprocessor_columns_values_and_notes(messy_csv):
    path, _ = messy_csv
    ds = load_dataset(path)
    train, _ = train_test_split_dataset(ds, test_size=0.25, rng=0)
    pre = Preprocessor()
    Z = pre.fit_transform(train.X)

    assert pre.numeric_columns_ == ["age", "income", "const"]
    assert pre.categorical_columns_ == ["city", "member"]
    assert pre.feature_names_out_ == [
        "age",
        "income",
        "const",
        "city=Lima",
        "city=Oslo",
        "city=Paris",
        "member=False",
        "member=True",
    ]
    assert Z.shape == (45, 8) and Z.dtype == np.float64
    assert np.isfinite(Z).all()

    # numeric block: median-imputed, then (x - mean) / std with the population std
    age = train.X["age"].to_numpy()
    filled = np.where(np.isnan(age), np.nanmedian(age), age)
    np.testing.assert_allclose(Z[:, 0], (filled - filled.mean()) / filled.std(), rtol=1e-12)
    np.testing.assert_allclose(Z[:, :2].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z[:, :2].std(axis=0), 1.0, rtol=1e-12)
    assert np.array_equal(Z[:, 2], np.zeros(45))  # the constant column: 0, not nan/inf

    # one-hot blocks: exactly one 1 per row and column group; gaps get the modal city
    np.testing.assert_array_equal(Z[:, 3:6].sum(axis=1), 1.0)
    np.testing.assert_array_equal(Z[:, 6:8].sum(axis=1), 1.0)
    modal = train.X["city"].mode().sort_values().iloc[0]
    gaps = train.X["city"].isna().to_numpy()
    assert gaps.any()
    assert (Z[gaps, 3 + ["Lima", "Oslo", "Paris"].index(modal)] == 1.0).all()

    notes = "\n".join(pre.notes_)
    n_age_missing = int(train.X["age"].isna().sum())
    assert f"imputed {n_age_missing} missing values in 'age' with the median" in notes
    assert f"most frequent value '{modal}'" in notes
    assert "one-hot encoded 'city' (3 categories" in notes
    assert "one-hot encoded 'member' (2 categories" in notes
    assert "'const' is constant" in notes
    assert "standardised 3 numeric columns" in notes


def test_numpy_transform_matches_the_column_transformer_to_the_bit(messy_csv):
    path, _ = messy_csv
    ds = load_dataset(path)
    train, test = train_test_split_dataset(ds, rng=1)
    pre = Preprocessor().fit(train.X)
    for part in (train.X, test.X, _unseen_rows()):
        assert np.array_equal(pre.transform(part), pre.sklearn_transform(part))


def test_fit_does_not_depend_on_the_row_index(messy_csv):
    # a split leaves a shuffled index; the fit must see the same rows as with 0..n-1
    _, frame = messy_csv
    X = frame.drop(columns="label").iloc[::-1]
    a = Preprocessor().fit(X)
    b = Preprocessor().fit(X.reset_index(drop=True))
    assert a.to_state()[0] == b.to_state()[0]
    assert np.array_equal(a.sklearn_transform(X), b.transform(X))


def test_nullable_and_text_dtypes():
    X = pd.DataFrame(
        {
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "s": pd.array(["a", None, "b", "a"], dtype="string"),
        }
    )
    pre = Preprocessor().fit(X)
    Z = pre.transform(X)
    assert pre.feature_names_out_ == ["n", "s=a", "s=b"]
    assert np.isfinite(Z).all() and np.array_equal(Z, pre.sklearn_transform(X))
    assert np.array_equal(Z[1, 1:], [1.0, 0.0])  # missing text -> the modal 'a'


def _unseen_rows() -> pd.DataFrame:
    """New data: an unseen city, missing values everywhere, the target column absent."""
    return pd.DataFrame(
        {
            "member": [True, np.nan, False],
            "city": ["Tokyo", np.nan, "Oslo"],
            "const": [7.0, 8.0, np.nan],
            "income": [np.nan, 1e5, 4e4],
            "age": [30.0, np.nan, 90.0],
            "extra": ["ignored", "ignored", "ignored"],
        }
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_state_round_trip_through_json_and_npz_is_bit_identical(messy_csv, tmp_path, dtype):
    path, _ = messy_csv
    ds = load_dataset(path)
    pre = Preprocessor(dtype=dtype).fit(ds.X)
    spec, arrays = pre.to_state()

    # what persistence will do: JSON text, and an .npz read back without pickle
    spec = json.loads(json.dumps(spec))
    np.savez(tmp_path / "state.npz", **arrays)
    with np.load(tmp_path / "state.npz", allow_pickle=False) as npz:
        restored = Preprocessor.from_state(spec, dict(npz))

    assert restored.column_transformer_ is None
    assert restored.feature_names_out_ == pre.feature_names_out_
    assert restored.notes_ == pre.notes_
    new = _unseen_rows()
    for part in (ds.X, ds.frame, new):
        Z, Z2 = pre.transform(part), restored.transform(part)
        assert Z.dtype == Z2.dtype == np.dtype(dtype)
        assert np.array_equal(Z, Z2)
        assert np.isfinite(Z2).all()
    Z = restored.transform(new)
    cols = restored.feature_names_out_
    city = [cols.index(f"city={c}") for c in ("Lima", "Oslo", "Paris")]
    assert np.array_equal(Z[0, city], [0.0, 0.0, 0.0])  # Tokyo: unseen, all zeros
    assert Z[1, city].sum() == 1.0  # missing: the most frequent city
    assert np.array_equal(Z[2, city], [0.0, 1.0, 0.0])


def test_state_holds_no_object_arrays_and_is_json(messy_csv):
    path, _ = messy_csv
    spec, arrays = Preprocessor().fit(load_dataset(path).X).to_state()
    json.dumps(spec)
    assert all(a.dtype == np.float64 for a in arrays.values())
    assert spec["categories"] == [["Lima", "Oslo", "Paris"], ["False", "True"]]


def test_transform_refuses_missing_columns_and_text_in_numbers(messy_csv):
    path, _ = messy_csv
    pre = Preprocessor().fit(load_dataset(path).X)
    with pytest.raises(DataError, match=r"missing feature columns 'income', 'city'"):
        pre.transform(_unseen_rows().drop(columns=["income", "city"]))
    bad = _unseen_rows().astype({"age": object})
    bad.loc[0, "age"] = "?"
    with pytest.raises(DataError, match=r"'age' must be numeric.*'\?'"):
        pre.transform(bad)
    inf = _unseen_rows()
    inf.loc[0, "income"] = np.inf
    with pytest.raises(DataError, match="infinite"):
        pre.transform(inf)


def test_empty_column_is_dropped_and_numeric_codes_can_be_categorical():
    train = pd.DataFrame(
        {"zone": [1, 2, 3, 1, 2, 3], "empty": [np.nan] * 6, "x": [1.0, 2, 3, 4, 5, 6]}
    )
    pre = Preprocessor(categorical=["zone"]).fit(train)
    assert pre.dropped_columns_ == ["empty"]
    assert "dropped 'empty': every value is missing" in pre.notes_
    assert pre.feature_names_out_ == ["x", "zone=1", "zone=2", "zone=3"]
    # read as floats at predict time (a gap makes pandas use float): 1.0 is still '1'
    new = pd.DataFrame({"zone": [1.0, np.nan, 3.0], "x": [0.0, 1.0, 2.0]})
    Z = pre.transform(new)
    assert np.array_equal(Z[:, 1:], [[1, 0, 0], [1, 0, 0], [0, 0, 1]])  # gap -> '1' (modal)
    assert np.array_equal(Z, pre.sklearn_transform(new))


def test_from_state_rejects_inconsistent_state(messy_csv):
    path, _ = messy_csv
    spec, arrays = Preprocessor().fit(load_dataset(path).X).to_state()
    with pytest.raises(DataError, match=r"inconsistent.*format"):
        Preprocessor.from_state({**spec, "format": "other"}, arrays)
    with pytest.raises(DataError, match=r"inconsistent.*numeric_mean"):
        Preprocessor.from_state(spec, {**arrays, "numeric_mean": arrays["numeric_mean"][:1]})
    with pytest.raises(DataError, match=r"inconsistent.*categories"):
        Preprocessor.from_state({**spec, "categories": [["a"]]}, arrays)


def test_unfitted_preprocessor_says_so():
    with pytest.raises(RuntimeError, match="not fitted"):
        Preprocessor().transform(pd.DataFrame({"a": [1.0]}))


# ---------------------------------------------------------------- target encoders


def test_label_encoder_round_trips_text_labels(tmp_path):
    y = pd.Series(["virginica", "setosa", "versicolor", "setosa"])
    enc = LabelEncoder().fit(y)
    assert list(enc.classes_) == ["setosa", "versicolor", "virginica"]
    idx = enc.transform(y)
    assert idx.dtype == np.int64 and list(idx) == [2, 0, 1, 0]
    assert list(enc.inverse_transform(idx)) == list(y)

    spec, arrays = enc.to_state()
    np.savez(tmp_path / "enc.npz", **arrays)
    with np.load(tmp_path / "enc.npz", allow_pickle=False) as npz:
        back = LabelEncoder.from_state(json.loads(json.dumps(spec)), dict(npz))
    assert np.array_equal(back.transform(y), idx)
    assert np.array_equal(back.inverse_transform(idx), enc.inverse_transform(idx))
    with pytest.raises(DataError, match=r"unknown class labels 'rose'.*'setosa'"):
        back.transform(["setosa", "rose"])


def test_label_encoder_keeps_numeric_labels_numeric():
    enc = LabelEncoder().fit(np.array([3, 1, 2, 10, 1]))
    assert enc.classes_.dtype == np.int64 and list(enc.classes_) == [1, 2, 3, 10]
    assert list(enc.transform([10.0, 1.0])) == [3, 0]
    assert list(enc.transform(["10", "2"])) == [3, 1]  # text read from a CSV
    with pytest.raises(DataError, match="unknown class labels"):
        enc.transform([1.5])
    back = LabelEncoder.from_state(*enc.to_state())
    assert back.classes_.dtype == np.int64 and list(back.inverse_transform([3])) == [10]
    with pytest.raises(DataError, match="missing"):
        enc.fit([1.0, np.nan])


def test_target_scaler_round_trip_and_dtypes():
    y = np.array([10.0, 20.0, 30.0, 40.0])
    scaler = TargetScaler().fit(y)
    T = scaler.transform(y, dtype=np.float32)
    assert T.dtype == np.float32 and T.shape == (4,)
    np.testing.assert_allclose(T, (y - 25.0) / np.sqrt(125.0), rtol=1e-6)
    assert scaler.inverse_transform(T).dtype == np.float32  # no upcast
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(y)), y, rtol=1e-15)
    Y = load_dataset("linnerud").y
    multi = TargetScaler().fit(Y)
    back = TargetScaler.from_state(*multi.to_state())
    assert np.array_equal(back.transform(Y), multi.transform(Y))
    np.testing.assert_allclose(back.transform(Y).std(axis=0), 1.0, rtol=1e-12)
    assert np.array_equal(TargetScaler().fit(np.ones(3)).transform(np.ones(3)), np.zeros(3))


# ---------------------------------------------------------------- errors


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    return path


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"no such file.*nope\.csv.*iris"):
        load_dataset(tmp_path / "nope.csv")


def test_directory_is_not_a_csv(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        load_dataset(str(tmp_path) + "/")


def test_binary_garbage(tmp_path):
    path = _write(tmp_path, "garbage.csv", np.random.default_rng(0).bytes(4096) + b"\x00")
    with pytest.raises(DataError, match=r"not a CSV file.*binary"):
        load_dataset(path)


def test_undecodable_text(tmp_path):
    path = _write(tmp_path, "latin.csv", "name,y\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"is not UTF-8 text: byte 0x.. in line"):
        load_dataset(path)


def test_empty_file_and_header_only(tmp_path):
    with pytest.raises(DataError, match="is empty"):
        load_dataset(_write(tmp_path, "empty.csv", ""))
    with pytest.raises(DataError, match="header but no rows"):
        load_dataset(_write(tmp_path, "header.csv", "a,b,y\n"))


def test_unknown_target_column_lists_the_columns(tmp_path):
    path = _write(tmp_path, "d.csv", "a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match=r"unknown target column 'z'.*'a', 'b', 'y'"):
        load_dataset(path, target="z")


def test_unknown_dataset_name_lists_the_known_ones():
    with pytest.raises(DataError, match=r"unknown dataset 'irs'.*iris, wine, breast_cancer"):
        load_dataset("irs")


def test_unknown_task():
    with pytest.raises(DataError, match="unknown task 'clustering'"):
        load_dataset("iris", task="clustering")


def test_single_class_target(tmp_path):
    path = _write(tmp_path, "d.csv", "a,y\n1,cat\n2,cat\n3,cat\n")
    with pytest.raises(DataError, match=r"single class \('cat'\).*at least two"):
        load_dataset(path)


def test_missing_targets_are_dropped_with_a_note(tmp_path):
    path = _write(tmp_path, "d.csv", "a,y\n1,0.5\n2,\n3,1.5\n4,\n5,2.5\n")
    ds = load_dataset(path, task="regression")
    assert ds.n_samples == 3 and list(ds.frame.index) == [0, 2, 4]  # file row numbers
    assert ds.notes == ["dropped 2 rows whose target 'y' is missing (3 rows remain)"]
    with pytest.raises(DataError, match="every value of the target 'a'"):
        load_dataset(_write(tmp_path, "e.csv", "y,a\n1,\n2,\n"))


def test_text_target_cannot_be_regression_and_no_features(tmp_path):
    path = _write(tmp_path, "d.csv", "a,y\n1,cat\n2,dog\n")
    with pytest.raises(DataError, match=r"'y' is not numeric.*classification"):
        load_dataset(path, task="regression")
    with pytest.raises(DataError, match="no feature columns"):
        load_dataset(_write(tmp_path, "one.csv", "y\n1\n2\n"))


def test_several_targets(tmp_path):
    path = _write(tmp_path, "d.csv", "a,u,v\n1,0.5,1\n2,1.5,2\n3,2.5,0\n")
    ds = load_dataset(path, target="u,v")
    assert ds.target == ["u", "v"] and ds.task == "regression" and ds.y.shape == (3, 2)
    with pytest.raises(DataError, match="several classification targets"):
        load_dataset(path, target=["u", "v"], task="classification")


def test_dataset_from_frame_needs_a_frame():
    with pytest.raises(TypeError, match="DataFrame"):
        dataset_from_frame(np.zeros((3, 2)))


# ---------------------------------------------------------------- splitting


def test_split_is_reproducible_and_stratified():
    ds = load_dataset("iris")
    train, test = train_test_split_dataset(ds, test_size=0.2, rng=0)
    again, _ = train_test_split_dataset(ds, test_size=0.2, rng=0)
    other, _ = train_test_split_dataset(ds, test_size=0.2, rng=1)
    assert (train.n_samples, test.n_samples) == (120, 30)
    assert train.frame.index.equals(again.frame.index)
    assert not train.frame.index.equals(other.frame.index)
    assert set(train.frame.index).isdisjoint(test.frame.index)
    assert test.y.value_counts().to_dict() == {"setosa": 10, "versicolor": 10, "virginica": 10}
    # an int seed is scikit-learn's own split with random_state=seed
    idx_train, _ = train_test_split(
        np.arange(150), test_size=30, random_state=0, stratify=ds.y.to_numpy()
    )
    assert np.array_equal(train.frame.index.to_numpy(), idx_train)
    # a Generator is accepted and reproducible too
    a, _ = train_test_split_dataset(ds, rng=np.random.default_rng(5))
    b, _ = train_test_split_dataset(ds, rng=np.random.default_rng(5))
    assert a.frame.index.equals(b.frame.index)


def test_regression_split_is_not_stratified():
    ds = load_dataset("diabetes")
    train, test = train_test_split_dataset(ds, test_size=42, rng=3)
    idx_train, _ = train_test_split(np.arange(442), test_size=42, random_state=3)
    assert test.n_samples == 42 and np.array_equal(train.frame.index.to_numpy(), idx_train)


def test_split_errors(tmp_path):
    ds = load_dataset(_write(tmp_path, "d.csv", "a,y\n1,a\n2,a\n3,b\n4,b\n5,c\n"))
    with pytest.raises(DataError, match="class 'c' has a single row"):
        train_test_split_dataset(ds, test_size=0.4)
    iris = load_dataset("iris")
    with pytest.raises(DataError, match="at least one row of each of the 3 classes"):
        train_test_split_dataset(iris, test_size=2)
    with pytest.raises(DataError, match="between 0 and 1"):
        train_test_split_dataset(iris, test_size=1.5)
    with pytest.raises(DataError, match="leaves a part empty"):
        train_test_split_dataset(iris, test_size=150)


def test_rows_longer_than_the_header_and_other_delimiters(tmp_path):
    with pytest.raises(DataError, match="more fields than the header"):
        load_dataset(_write(tmp_path, "ragged.csv", "a,b\n1,2,3,4\n5,6\n"))
    with pytest.raises(DataError, match=r"could not read.*as CSV"):
        load_dataset(_write(tmp_path, "ragged2.csv", "a,b\n1,2\n3,4,5\n"))
    semi = _write(tmp_path, "semi.csv", "a;b;y\n1;2;0\n3;4;1\n")
    assert load_dataset(semi).feature_names == ["a", "b"]  # the separator is detected
    with pytest.raises(DataError, match=r"holds semicolons.*pass the separator, e.g. --sep ';'"):
        load_dataset(semi, sep=",")
