"""One CSV path: the playground's upload is read by ``chainrule.datasets.load_table``, the
function ``chainrule train`` reads its data with, and shows that reader's notes."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("starlette")

import chainrule.datasets.tables as tables
import test_playground_api as api
from chainrule.cli.main import main
from chainrule.datasets import Preprocessor, detect_decimal, load_table

client = api.client  # the API tests' fixture: a TestClient on a fresh app


def upload(client, content: bytes, name: str = "mine.csv"):
    sid = api.new(client)
    r = client.post("/api/upload", params={"id": sid, "name": name}, content=content)
    return sid, r


def table_frame(n: int = 60) -> pd.DataFrame:
    """A row number, a date column, two measurements with gaps, a text column, a label."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({
        "row": np.arange(1, n + 1),
        "day": pd.date_range("2024-03-01", periods=n).astype(str),
        "x": rng.normal(size=n).round(3),
        "z": rng.normal(size=n).round(2),
        "color": rng.choice(["red", "blue", "green"], n),
    })  # fmt: skip
    df.loc[[4, 17], "z"] = np.nan
    df["label"] = np.where(df.x + df.z.fillna(0) > 0, "hi", "lo")
    return df


ROW_NOTE = (  # issue 24: left out, where it used to be noted and trained on
    "left out 'row': it numbers the rows (1 to 60), like an identifier, so it carries no "
    "pattern to learn (predict copies it into its table); to use it as a feature, --keep row"
)
DAY_NOTE = (
    "dropped 'day': it holds dates, which one-hot encoding would turn into 60 categories; "
    "to use them, add numeric columns (year, month, day of week) to the file"
)


def train_notes(path, tmp_path, capsys, *flags) -> list[str]:
    """The ``note:`` lines ``chainrule train`` prints for ``path``."""
    capsys.readouterr()
    argv = ["train", "--data", str(path), "--out", str(tmp_path / "run"), "--epochs", "1"]
    assert main([*argv, "--no-progress", "--no-plots", *flags]) == 0
    out = capsys.readouterr().out.splitlines()
    return [line.removeprefix("  note: ") for line in out if line.startswith("  note: ")]


def test_semicolons_and_decimal_commas_are_detected_and_noted(client):
    df = table_frame()
    sid, r = upload(client, df.to_csv(sep=";", decimal=",", index=False).encode())
    assert r.status_code == 200, r.text
    notes = r.json()["tables"]["upload"]["notes"]
    assert notes == [
        "numbers are written with a decimal comma (such as 3,14): read so",
        ROW_NOTE,
        DAY_NOTE,
    ]
    table = client.app.state.store.get(sid)[0].tables["upload"]
    assert table.feature_names == ["x", "z", "color"]
    np.testing.assert_array_equal(table.frame["x"].to_numpy(), df["x"].to_numpy())
    np.testing.assert_array_equal(table.frame["z"].to_numpy(), df["z"].to_numpy())


def test_id_and_date_columns_give_the_notes_chainrule_train_prints(client, tmp_path, capsys):
    path = tmp_path / "days.csv"
    table_frame().to_csv(path, index=False)
    _, r = upload(client, path.read_bytes(), name="days.csv")
    assert r.status_code == 200, r.text
    shown = r.json()["tables"]["upload"]["notes"]
    assert shown == [ROW_NOTE, DAY_NOTE]
    assert shown == load_table(path).notes  # the function the command reads with
    assert shown == train_notes(path, tmp_path, capsys)  # what the command prints
    assert r.json()["tables"]["upload"]["describe"] == (
        "days.csv: 60 rows, 3 features; classification of 'label' (2 classes)"
    )


def test_a_column_with_a_few_bad_cells_is_refused_naming_them(client):
    df = table_frame()
    df["x"] = df["x"].astype(str)
    df.loc[3, "x"], df.loc[7, "x"] = "1.2.3", "abc"
    _, r = upload(client, df.to_csv(index=False).encode(), name="typos.csv")
    assert r.status_code == 400
    assert r.json()["error"] == (
        "'typos.csv': column 'x' holds numbers except in 2 of 60 cells (line 5: '1.2.3', "
        "line 9: 'abc'), so it would be read as 60 categories; fix or blank out those "
        "cells (blank cells are imputed)."
    )


def test_the_command_and_the_playground_build_the_same_feature_matrix(
    client, tmp_path, capsys, monkeypatch
):
    path = tmp_path / "same.csv"
    table_frame().to_csv(path, index=False)
    read_by_command = []

    def spy(*args, **kwargs):
        read_by_command.append(load_table(*args, **kwargs))
        return read_by_command[-1]

    monkeypatch.setattr(tables, "load_table", spy)
    train_notes(path, tmp_path, capsys)
    monkeypatch.undo()
    (command,) = read_by_command
    sid, r = upload(client, path.read_bytes(), name="same.csv")
    assert r.status_code == 200, r.text
    shown = client.app.state.store.get(sid)[0].tables["upload"]
    assert shown.feature_names == command.feature_names == ["x", "z", "color"]
    pd.testing.assert_frame_equal(shown.X, command.X)
    pd.testing.assert_series_equal(shown.y, command.y)
    M_command = Preprocessor().fit_transform(command.X)
    M_shown = Preprocessor().fit_transform(shown.X)
    assert M_shown.shape == (60, 5)  # x, z, and color one-hot in 3 columns (row: left out)
    np.testing.assert_array_equal(M_shown, M_command)


@pytest.mark.parametrize(
    ("text", "sep", "decimal"),
    [
        ("a;b\n1,5;2\n3,25;4\n", ";", ","),
        ("a;b\n1.5;2\n3,25;4\n", ";", "."),  # both marks: not guessed, the default
        ("a;b\n1;2\n3;4\n", ";", "."),  # whole numbers: nothing to tell
        ("a,b\n1,5\n3,25\n", ",", "."),  # a comma separator rules out a decimal comma
        ("a\tb\n-0,5\t'2,0'\n", "\t", ","),
    ],
)
def test_detect_decimal(text, sep, decimal):
    assert detect_decimal(text) == decimal
    assert detect_decimal(text, sep) == decimal


def test_the_command_still_refuses_decimal_commas_by_default(tmp_path):
    path = tmp_path / "semi.csv"
    table_frame().to_csv(path, sep=";", decimal=",", index=False)
    with pytest.raises(tables.DataError, match="pass --decimal , to read them as numbers"):
        load_table(path)
    assert load_table(path, decimal=",").notes == [ROW_NOTE, DAY_NOTE]


def wide_text_csv(n_wide: int, categories: int, extra: bool, n: int = 2000) -> bytes:
    """``n`` rows: ``n_wide`` text columns drawn from ``categories`` words each (nearly one
    per row: one-hot, thousands of columns), with (``extra``) a measurement and a 3-colour
    column; the label follows the measurement."""
    rng = np.random.default_rng(5)
    df = pd.DataFrame({f"t{j}": rng.integers(0, categories, n) for j in range(n_wide)})
    df = "w" + df.astype(str)
    if extra:
        df["x"] = rng.normal(size=n).round(3)
        df["color"] = rng.choice(["red", "blue", "green"], n)
    df["label"] = np.where(rng.normal(size=n) > 0, "hi", "lo")
    return df.to_csv(index=False).encode()


def upload_peak(client, content: bytes, name: str = "wide.csv"):
    """Upload ``content``; the answer and the peak of memory allocated meanwhile (MB)."""
    import tracemalloc

    sid = api.new(client)
    tracemalloc.start()
    try:
        r = client.post("/api/upload", params={"id": sid, "name": name}, content=content)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    return r, peak


def test_wide_text_columns_are_left_out_of_the_pca_before_encoding(client):
    """2,000 rows x 16 text columns of ~1,000 words made a 2,000 x 16,000 matrix (480 MB
    allocated, as traced here); the projection counts one-hot widths first and keeps
    within 500 columns (3 MB)."""
    content = wide_text_csv(16, 1000, extra=True)
    df = pd.read_csv(io.BytesIO(content))
    widths = df.drop(columns=["label", "x", "color"]).nunique().sort_values(ascending=False)
    assert widths.sum() > 10_000  # one-hot, all of them (README: "over 10,000 columns")
    r, peak = upload_peak(client, content)
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["config"]["data"]["features"] == "pca"
    assert view["data"]["features"] == ["PC1", "PC2"]
    shown = ", ".join(f"{c!r} ({w} categories)" for c, w in widths.iloc[:3].items())
    assert view["data"]["notes"] == [
        "preprocessing: one-hot encoded 'color' (3 categories: 'blue', 'green', 'red')",
        f"PCA leaves out {shown} and 13 more: one-hot encoded they would add "
        f"{widths.sum()} columns, and the projection takes at most 500; it uses the other "
        "2 feature columns",
    ]
    X = np.array(view["data"]["X"])  # the measurement and the colours, projected
    assert X.shape == (2000, 2) and np.all(np.abs(X.std(axis=0) - 0.5) < 1e-4)
    assert peak < 20, f"{peak:.0f} MB"


@pytest.mark.parametrize(
    ("categories", "message"),
    [
        (  # ~990 words per column: within chainrule train's guard, beyond the projection's
            1000,
            "PCA needs at least two feature columns within 500 one-hot columns; 't",
        ),
        (  # a different word in every row: identifiers (issue 24), left out unencoded
            10**9,
            "no feature columns are left after --drop/--id, dropping dates and leaving out",
        ),
    ],
)
def test_only_wide_text_columns_are_refused_before_encoding(client, categories, message):
    r, peak = upload_peak(client, wide_text_csv(16, categories, extra=False))
    assert r.status_code == 400 and r.json()["error"].startswith(message), r.text
    assert peak < 20, f"{peak:.0f} MB"


def test_one_numeric_feature_is_refused_not_drawn_in_one_dimension(client):
    x = np.random.default_rng(1).normal(size=40).round(3)
    content = "size,label\n" + "".join(f"{v},{int(v > 0)}\n" for v in x)
    sid, r = upload(client, content.encode(), "one.csv")
    assert r.status_code == 400
    assert r.json()["error"] == (
        "PCA needs at least two feature columns; one.csv has 1 ('size'). Add a second "
        "feature column to the CSV: the playground draws two inputs."
    )
    assert client.post("/api/train", json={"id": sid, "steps": 1}).status_code == 200


@pytest.mark.parametrize(
    ("labels", "network"),
    [(["red", "green", "blue"], ("softmax", "cross_entropy")), (["yes", "no"], None)],
)
def test_three_classes_or_more_switch_to_softmax_and_cross_entropy(client, labels, network):
    X = np.random.default_rng(2).normal(size=(60, 2)).round(3)
    rows = [f"{p},{q},{labels[i % len(labels)]}\n" for i, (p, q) in enumerate(X)]
    sid, r = upload(client, ("u,v,kind\n" + "".join(rows)).encode())
    view = r.json()
    net = view["config"]["network"]
    # two classes keep the page's sigmoid + BCE (the default), as circles does
    assert (net["output"], net["loss"]) == (network or ("sigmoid", "bce"))
    assert view["network"]["sizes"][-1] == (len(labels) if network else 1)
    assert view["tables"]["upload"]["n_classes"] == len(labels)
    assert client.post("/api/train", json={"id": sid, "steps": 5}).status_code == 200


@pytest.mark.parametrize(
    "values",
    [
        [f"2024-01-{d:02d}" for d in range(1, 29)] * 3,
        [f"2024-01-{d:02d}" for d in range(1, 29)] * 3 + ["junk"] * 9,  # 90%: dates
        [f"2024-01-{d:02d}" for d in range(1, 29)] * 3 + ["junk"] * 10,  # under 90%
        [f"w{i}" for i in range(300)],
        ["3 May 2021", "2021/05/04", "May 5, 2021", "x", "06.05.2021"] * 20,
    ],
)
def test_the_chunked_date_check_agrees_with_parsing_the_whole_column(values):
    present = pd.Series(values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(present, errors="coerce", format="mixed")
    assert tables._mostly_dates(present) == (parsed.notna().mean() >= 0.9)


def test_imputed_gaps_and_one_hot_columns_are_noted_as_chainrule_train_notes_them(client):
    df = table_frame()  # 'z' has 2 gaps, 'color' 3 categories
    sid, first = upload(client, df.to_csv(index=False).encode())
    assert first.status_code == 200, first.text
    median = df["z"].median()
    gap = f"preprocessing: imputed 2 missing values in 'z' with the median {median:.6g}"
    assert gap == "preprocessing: imputed 2 missing values in 'z' with the median 0.095"

    def notes(features):
        config = {"data": {"name": "upload", "features": features}}
        r = client.post("/api/config", json={"id": sid, "config": config})
        assert r.status_code == 200, r.text
        return [n for n in r.json()["data"]["notes"] if n not in (ROW_NOTE, DAY_NOTE)]

    assert notes(["x", "z"]) == [gap]
    assert notes("pca") == [
        gap,
        "preprocessing: one-hot encoded 'color' (3 categories: 'blue', 'green', 'red')",
    ]
