"""The rest of a first hour with the command (issue 24, section 4): argument errors in
one line and a hint, empty --hidden sizes refused, install hints, predict's notes on
imputed blanks and its row column, files in UTF-16 or with a BOM read, a Latin-1 file's
encoding named."""

import pandas as pd
import pytest

from chainrule.cli import main
from chainrule.datasets.tables import DataError, load_table

HINT = "  hint: chainrule train --help lists the options"


def usage_error(capsys, *args) -> list[str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    assert exit_.value.code == 2
    return capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("hidden", ["", "64,,32", "64,", ","])
def test_an_empty_hidden_size_is_refused_like_zero(capsys, hidden):
    assert usage_error(capsys, "train", "--hidden", hidden) == [
        "chainrule train: error: argument --hidden: --hidden sizes must be positive integers "
        f"separated by commas, e.g. 64,32; got {hidden!r}, which has an empty size",
        HINT,
    ]


def test_argument_errors_are_one_line_and_a_hint_not_the_usage_block(capsys):
    assert usage_error(capsys, "train", "--hidden", "0") == [
        "chainrule train: error: argument --hidden: --hidden sizes must be positive, got '0'",
        HINT,
    ]
    assert usage_error(capsys, "train", "--epochs", "x") == [
        "chainrule train: error: argument --epochs: invalid int value: 'x'",
        HINT,
    ]
    err = usage_error(capsys, "trian")
    assert len(err) == 2 and err[0].startswith("chainrule: error: argument COMMAND: invalid")
    assert err[1] == "  hint: chainrule --help lists the options"


def test_the_playground_install_hint_names_the_editable_install(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_playground(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "playground" and level == 2:
            raise ModuleNotFoundError("No module named 'starlette'", name="starlette")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", no_playground)
    assert main(["playground"]) == 2
    assert capsys.readouterr().err.strip() == (
        "chainrule playground: error: the playground needs starlette; install it from the "
        'source folder with pip install -e ".[playground]"'
    )


def test_predict_notes_imputed_blanks_and_numbers_rows(tmp_path, capsys):
    rows = [f"{(3 * i) % 13},{'xy'[i % 2]},{i % 7},{'pq'[i % 2]}" for i in range(40)]  # no ID
    (tmp_path / "t.csv").write_text("a,b,c,y\n" + "\n".join(rows) + "\n")
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "t.csv"), "--out", str(out),
                 "--no-progress", "--no-plots", "--epochs", "2"]) == 0  # fmt: skip
    (tmp_path / "new.csv").write_text("a,b,c\n1,,2\n,y,\n3,x,4\n")
    capsys.readouterr()
    assert main(["predict", str(out / "model.npz"), str(tmp_path / "new.csv"),
                 "--out", str(tmp_path / "p.csv")]) == 0  # fmt: skip
    said = capsys.readouterr().out
    assert said.splitlines()[0].startswith(
        "note: imputed 3 blank cells with the training rows' values: 1 in 'a' (median "
    )
    assert "; 1 in 'c' (median " in said and "; 1 in 'b' (most frequent " in said
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert predictions.columns[0] == "row" and predictions["row"].tolist() == [0, 1, 2]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_bom_files_are_read(tmp_path, encoding):
    frame = pd.DataFrame({"name": ["café", "bär"] * 15, "x": range(30), "y": ["a", "b"] * 15})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False, encoding=encoding)
    ds = load_table(str(path), target="y")
    assert list(ds.frame.columns) == ["name", "x", "y"]
    assert ds.frame["name"].tolist() == frame["name"].tolist()


def test_a_latin1_file_is_named_as_not_utf8(tmp_path):
    path = tmp_path / "l1.csv"
    path.write_bytes("name,x,y\ncafé,1,a\nbar,2,b\n".encode("latin-1"))
    with pytest.raises(DataError) as error:
        load_table(str(path), target="y")
    assert str(error.value).startswith(
        f"'{path}' is not UTF-8 text: byte 0xe9 in line 2 is not UTF-8. It is probably "
        "Latin-1 or Windows-1252"
    )
    assert f"iconv -f latin1 -t utf-8 '{path}' > utf8.csv" in str(error.value)


def test_a_latin1_byte_past_the_first_64_kib_is_named_too(tmp_path):
    path = tmp_path / "late.csv"
    body = "".join(f"{i},{i % 3},a\n" for i in range(9000))
    path.write_bytes(("x,z,y\n" + body + "caf\xe9,1,b\n").encode("latin-1"))
    with pytest.raises(DataError, match=r"is not UTF-8 text\. It is probably Latin-1"):
        load_table(str(path), target="y")
