"""One CSV path: the playground's upload is read by ``chainrule.datasets.load_table``, the
function ``chainrule train`` reads its data with, and shows that reader's notes."""

from __future__ import annotations

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
