"""Real CSV files through the command: separators, decimal commas, IDs, dates, bad cells,
duplicate names, and predict's notes. Each drives `chainrule` in a subprocess."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from chainrule.datasets import detect_separator


def run(*args, cwd=None):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *map(str, args)],
        capture_output=True, text=True, timeout=300, cwd=cwd, env=env,
    )  # fmt: skip


def frame(n=120):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "id": [f"r{i}" for i in range(n)],
        "day": pd.date_range("2024-01-01", periods=n).astype(str),
        "x": rng.normal(size=n).round(3),
        "color": rng.choice(["red", "blue"], n),
    })  # fmt: skip
    df["y"] = np.where(df.x > 0, "hi", "lo")
    return df


FAST = ("--epochs", "3", "--no-progress", "--no-plots")


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_the_separator_is_detected(sep):
    text = frame(6).to_csv(sep=sep, index=False)
    assert detect_separator(text) == sep


def test_semicolons_with_decimal_commas_id_and_dates(tmp_path):
    frame().to_csv(tmp_path / "semi.csv", sep=";", decimal=",", index=False)
    r = run("train", "--data", tmp_path / "semi.csv", "--out", tmp_path / "o", *FAST)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"chainrule train: error: '{tmp_path / 'semi.csv'}': column 'x' holds numbers written "
        "with a decimal comma (such as '0,126'); pass --decimal , to read them as numbers."
    )
    r = run("train", "--data", tmp_path / "semi.csv", "--decimal", ",", "--id", "id",
            "--out", tmp_path / "o", *FAST)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "semi.csv: 120 rows, 2 features" in r.stdout
    assert (
        "note: dropped 'day': it holds dates, which one-hot encoding would turn into 120 "
        "categories; to use them, add numeric columns (year, month, day of week) to the file"
    ) in r.stdout
    assert "note: 'id' is the row ID (--id): not a feature, copied into predictions" in r.stdout
    assert "standardised 1 numeric columns" in r.stdout  # x is a number, not 96 categories


def test_an_id_like_column_is_left_out_and_drop_removes_it(tmp_path):
    """Issue 24: an identifier is left out (it was noted and then trained on)."""
    frame().to_csv(tmp_path / "d.csv", index=False)
    r = run("train", "--data", tmp_path / "d.csv", "--out", tmp_path / "o", *FAST)
    assert r.returncode == 0, r.stderr
    assert (
        "note: left out 'id': it has a different value in every row, like an identifier, so "
        "it carries no pattern to learn (predict copies it into its table); to use it as a "
        "feature, --keep id"
    ) in r.stdout
    assert "d.csv: 120 rows, 2 features" in r.stdout  # x and color (day: dates)
    r = run("train", "--data", tmp_path / "d.csv", "--drop", "id", "color", "--out",
            tmp_path / "o", *FAST)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "d.csv: 120 rows, 1 features" in r.stdout
    assert "note: dropped 'id', 'color' (--drop)" in r.stdout
    r = run("train", "--data", tmp_path / "d.csv", "--drop", "nope", "--out", tmp_path / "o")
    assert r.returncode == 2 and "unknown column 'nope' in --drop/--id" in r.stderr


@pytest.mark.parametrize(
    "cell,hint",
    [
        ("1.2.3", "fix or blank out those cells (blank cells are imputed)."),
        ("1,234,567", "remove the thousands separators from those cells."),
    ],
)
def test_one_bad_cell_in_a_numeric_column_is_reported(tmp_path, cell, hint):
    df = frame()
    df["x"] = df["x"].astype(str)
    df.loc[5, "x"] = cell
    df.to_csv(tmp_path / "bad.csv", index=False)
    r = run("train", "--data", tmp_path / "bad.csv", "--out", tmp_path / "o", *FAST)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"chainrule train: error: '{tmp_path / 'bad.csv'}': column 'x' holds numbers except "
        f"in 1 of 120 cells (line 7: '{cell}'), so it would be read as {df['x'].nunique()} "
        f"categories; {hint}"
    )
    assert not (tmp_path / "o").exists()


def test_duplicate_column_names_are_refused(tmp_path):
    (tmp_path / "dup.csv").write_text("a,a,y\n1,2,x\n3,4,z\n")
    r = run("train", "--data", tmp_path / "dup.csv", "--out", tmp_path / "o")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"chainrule train: error: '{tmp_path / 'dup.csv'}' has duplicate column names 'a'; "
        "give every column its own name in the header row."
    )


def test_predict_copies_the_id_and_notes_unseen_categories_and_extra_columns(tmp_path):
    frame().to_csv(tmp_path / "d.csv", index=False)
    r = run("train", "--data", tmp_path / "d.csv", "--id", "id", "--out", tmp_path / "m", *FAST)
    assert r.returncode == 0, r.stderr
    new = frame().head(5)
    new.loc[0, "color"] = "green"
    new["extra"] = 1
    new.to_csv(tmp_path / "new.csv", sep=";", index=False)  # another separator: detected
    r = run("predict", tmp_path / "m" / "model.npz", tmp_path / "new.csv", "--out",
            tmp_path / "p.csv")  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "note: ignored 2 columns the model was not trained on: 'day', 'extra'"
    assert lines[1] == (
        "note: 1 rows have categories of 'color' unseen in training ('green'); they count "
        "as none of the known ones"
    )
    out = pd.read_csv(tmp_path / "p.csv")
    assert list(out.columns[:3]) == ["row", "id", "predicted_y"]
    assert out["id"].tolist() == ["r0", "r1", "r2", "r3", "r4"]


def test_a_text_column_that_would_explode_the_matrix_is_refused_fast(tmp_path):
    n = 8000  # 8000 rows x 8000 one-hot columns = 64 million cells
    # one code repeats: a different value in every row would be left out as an
    # identifier (issue 24), see test_identifiers.py
    df = pd.DataFrame({"code": [f"c{i}" for i in range(n - 1)] + ["c0"], "x": np.arange(n) % 7})
    df["y"] = df["x"] % 2
    df.to_csv(tmp_path / "wide.csv", index=False)
    r = run("train", "--data", tmp_path / "wide.csv", "--out", tmp_path / "o")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "chainrule train: error: the features would become a 8000 x 8000 matrix (0.5 GiB), "
        "more than chainrule handles (50000000 cells); the widest text columns are 'code' "
        "(7999 categories): drop them (--drop COL) or mark the ID (--id COL)."
    )
    r = run("train", "--data", tmp_path / "wide.csv", "--id", "code", "--out", tmp_path / "o",
            "--epochs", "2", "--no-progress", "--no-plots")  # fmt: skip
    assert r.returncode == 0, r.stderr


def test_a_huge_csv_is_refused_before_reading(tmp_path):
    from chainrule.datasets import DataError, read_csv
    from chainrule.datasets import tables as datasets

    (tmp_path / "big.csv").write_text("a,y\n" + "1,0\n" * 1000)
    old = datasets.MAX_CSV_BYTES
    datasets.MAX_CSV_BYTES = 100
    try:
        with pytest.raises(DataError, match=r"accepts up to 0 GiB: train on a sample"):
            read_csv(tmp_path / "big.csv")
    finally:
        datasets.MAX_CSV_BYTES = old


def test_sep_can_be_named(tmp_path):
    frame().to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    r = run("train", "--data", tmp_path / "t.tsv", "--sep", "tab", "--drop", "id",
            "--out", tmp_path / "o", *FAST)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "t.tsv: 120 rows, 2 features" in r.stdout
    r = run("train", "--data", tmp_path / "t.tsv", "--sep", "ab", "--out", tmp_path / "o")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "chainrule train: error: --sep takes one character such as ',' ';' '|' or tab, got 'ab'"
    )


def test_a_row_number_column_is_noted_but_a_unique_measurement_is_not(tmp_path):
    df = frame().drop(columns=["id", "day"])
    df.insert(0, "row_no", np.arange(1, 121))
    df.insert(1, "income", np.random.default_rng(1).permutation(np.arange(120)) * 1000 + 7)
    df.to_csv(tmp_path / "n.csv", index=False)
    r = run("train", "--data", tmp_path / "n.csv", "--out", tmp_path / "o", *FAST)
    assert r.returncode == 0, r.stderr
    assert "note: left out 'row_no': it numbers the rows (1 to 120), like an identifier" in (
        r.stdout
    )
    assert "'income'" not in r.stdout.replace("'income' (", "")  # no note on it
    assert "n.csv: 120 rows, 3 features" in r.stdout  # income, x, color


def test_a_code_column_with_a_few_distinct_values_is_kept_as_text(tmp_path):
    """Review: postcodes with a few letters ("2A004") are a category, not a typo."""
    df = frame()
    codes = ["75001", "69002", "13003", "2A004", "2B005", "33006", "59007", "67008"]
    df["zip"] = [codes[i % len(codes)] for i in range(len(df))]
    df.to_csv(tmp_path / "zip.csv", index=False)
    r = run("train", "--data", tmp_path / "zip.csv", "--target", "y", "--out", tmp_path / "o",
            *FAST)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "one-hot encoded 'zip' (8 categories" in r.stdout


def test_predict_reads_the_csv_as_training_did(tmp_path):
    """Review: a model trained with --decimal , predicts on the same file without it."""
    df = frame()
    text = df.to_csv(index=False, sep=";").replace(".", ",")
    (tmp_path / "dec.csv").write_text(text)
    r = run("train", "--data", tmp_path / "dec.csv", "--sep", ";", "--decimal", ",",
            "--out", tmp_path / "o", *FAST)  # fmt: skip
    assert r.returncode == 0, r.stderr
    p = run("predict", tmp_path / "o" / "model.npz", tmp_path / "dec.csv",
            "--out", tmp_path / "p.csv")  # fmt: skip
    assert p.returncode == 0, p.stderr
    reference = tmp_path / "reference"
    reference.write_text("")
    assert (tmp_path / "p.csv").stat().st_mode & 0o777 == reference.stat().st_mode & 0o777


@pytest.mark.parametrize("name", ["row", "predicted_y", "proba_hi"])
def test_an_id_column_named_like_a_predictions_column_is_refused_at_train(tmp_path, capsys, name):
    """--id row gave a header row,row; --id predicted_label passed train and then every
    predict failed (issue 25). Refused at train, before anything is written."""
    from chainrule.cli import main

    df = frame(40).rename(columns={"id": name})
    df.to_csv(tmp_path / "d.csv", index=False)
    code = main(["train", "--data", str(tmp_path / "d.csv"), "--target", "y", "--id", name,
                 "--out", str(tmp_path / "run"), *FAST])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err == (
        f"chainrule train: error: --id {name} has the name of a column `chainrule predict` "
        "writes (the row number 'row', 'predicted_<target>', 'proba_<class>'), so the "
        f"predictions would hold two columns {name!r}; rename that column in the CSV first.\n"
    )
    assert not (tmp_path / "run").exists()


def test_a_non_ascii_sep_and_a_decimal_comma_model_on_a_point_csv_say_the_fix(tmp_path, capsys):
    """--sep € was "some rows have more fields than the header row"; a model trained with
    --decimal , fed a plain comma CSV said "pass another --sep" (issue 25)."""
    from chainrule.cli import main

    df = frame(60).drop(columns=["day"])
    df.to_csv(tmp_path / "d.csv", index=False)
    assert main(["train", "--data", str(tmp_path / "d.csv"), "--sep", "€"]) == 2
    assert capsys.readouterr().err == (
        "chainrule train: error: --sep '€' is not an ASCII character; a CSV separator is one "
        "byte such as ',' ';' '|' or tab: convert the file's separator first (e.g. with sed)\n"
    )
    df.to_csv(tmp_path / "dec.csv", index=False, sep=";", decimal=",")
    assert main(["train", "--data", str(tmp_path / "dec.csv"), "--decimal", ",", "--drop", "id",
                 "--out", str(tmp_path / "run"), *FAST]) == 0  # fmt: skip
    capsys.readouterr()
    model = str(tmp_path / "run" / "model.npz")
    assert main(["predict", model, str(tmp_path / "d.csv"), "--out", str(tmp_path / "p.csv")]) == 2
    assert capsys.readouterr().err == (
        f"chainrule predict: error: '{tmp_path / 'd.csv'}': the separator and the decimal mark "
        "are both ','. If its numbers are written with a point (1.5), pass --decimal .; if "
        "with a comma, pass the separator, e.g. --sep ';'.\n"
    )
    assert main(["predict", model, str(tmp_path / "d.csv"), "--decimal", ".",
                 "--out", str(tmp_path / "p.csv")]) == 0  # fmt: skip
