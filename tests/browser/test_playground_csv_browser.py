"""The playground in Chromium: an uploaded CSV is read as ``chainrule train`` reads it,
and the reader's notes are listed on the page (see conftest.py for the server)."""

from __future__ import annotations

import numpy as np
from playground_server import shot


def test_an_uploaded_id_column_is_noted_on_the_page(page):
    rng = np.random.default_rng(2)
    rows = ["customer,u,v,kind"] + [
        f"c{i:03d},{a:.3f},{b:.3f},{'left' if a < 0 else 'right'}"
        for i, (a, b) in enumerate(rng.normal(size=(40, 2)))
    ]
    page.set_input_files(
        "#csv-file",
        files=[{"name": "ids.csv", "mimeType": "text/csv", "buffer": "\n".join(rows).encode()}],
    )
    page.wait_for_function("window.playground.config.data.name === 'upload'")
    note = (  # issue 24: left out, where it used to be noted and trained on
        "left out 'customer': it has a different value in every row, like an identifier, so "
        "it carries no pattern to learn (predict copies it into its table); to use it as a "
        "feature, --keep customer"
    )
    assert page.locator("#table-notes li").all_inner_texts() == [note]
    assert page.is_visible("#table-notes")
    assert note not in page.inner_text("#data-notes")  # listed once, under the table
    assert "ids.csv: 40 rows, 2 features" in page.inner_text("#table-describe")
    shot(page, "csv-notes")


def _upload(page, name: str, text: str) -> None:
    page.set_input_files(
        "#csv-file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
    )


def test_a_semicolon_file_with_decimal_commas_is_read_and_noted(page):
    X = np.random.default_rng(3).normal(size=(50, 2)).round(3)
    rows = ["u;v;kind"] + [f"{a};{b};{int(a > b)}".replace(".", ",") for a, b in X]
    _upload(page, "komma.csv", "\n".join(rows))
    page.wait_for_function("window.playground.config.data.name === 'upload'")
    assert page.locator("#table-notes li").all_inner_texts() == [
        "numbers are written with a decimal comma (such as 3,14): read so"
    ]
    assert page.input_value("#feature-x") == "u" and page.input_value("#feature-y") == "v"
    shown = np.array(page.evaluate("window.playground.view.data.X"))
    expected = 0.5 * (X - X.mean(axis=0)) / X.std(axis=0)  # the page's standardisation
    np.testing.assert_allclose(shown, expected, atol=1e-5)


def test_three_classes_switch_the_page_to_softmax_and_cross_entropy(page):
    X = np.random.default_rng(4).normal(size=(60, 2)).round(3)
    rows = ["u,v,kind"] + [f"{a},{b},{'rgb'[i % 3]}" for i, (a, b) in enumerate(X)]
    _upload(page, "three.csv", "\n".join(rows))
    page.wait_for_function("window.playground.config.data.name === 'upload'")
    assert page.input_value("#output") == "softmax"
    assert page.input_value("#loss") == "cross_entropy"
    assert page.evaluate("window.playground.view.network.sizes") == [2, 4, 4, 3]
    page.select_option("#data-name", "circles")  # two classes: back to sigmoid + BCE
    page.wait_for_function("window.playground.config.data.name === 'circles'")
    page.select_option("#data-name", "upload")  # the table again: softmax again
    page.wait_for_function("window.playground.config.data.name === 'upload'")
    assert page.input_value("#output") == "softmax"
    assert page.input_value("#loss") == "cross_entropy"


def test_wide_text_columns_are_left_out_of_the_projection_with_a_note(page):
    rng = np.random.default_rng(5)
    head = ",".join([*(f"t{j}" for j in range(16)), "x", "color", "label"])
    rows = [head] + [
        ",".join(
            [
                *(f"w{k}" for k in rng.integers(0, 1000, 16)),
                f"{rng.normal():.3f}",
                str(rng.choice(["red", "blue", "green"])),
                str(i % 2),
            ]
        )
        for i in range(2000)
    ]
    _upload(page, "wide.csv", "\n".join(rows))
    page.wait_for_function("window.playground.config.data.name === 'upload'", timeout=20_000)
    notes = page.inner_text("#data-notes")
    assert "PCA leaves out 't" in notes and "and 13 more" in notes
    assert "the projection takes at most 500; it uses the other 2 feature columns" in notes
    assert page.is_checked("#use-pca")
    shot(page, "csv-wide-text")


def test_one_numeric_feature_is_refused_with_a_message(page):
    page.expected_errors.append("400")
    x = np.random.default_rng(6).normal(size=30).round(3)
    _upload(page, "one.csv", "size,label\n" + "\n".join(f"{v},{int(v > 0)}" for v in x))
    page.wait_for_selector("#message:not([hidden])")
    assert page.inner_text("#message") == (
        "PCA needs at least two feature columns; one.csv has 1 ('size'). Add a second "
        "feature column to the CSV: the playground draws two inputs."
    )
    assert page.evaluate("window.playground.config.data.name") == "circles"


def test_the_step_through_batch_mixes_the_classes(page):
    page.fill("#st-start", "0")
    page.fill("#st-size", "16")
    page.click("#st-begin")
    page.wait_for_function("window.playground.stage === 0")
    rows = page.evaluate("window.playground.trace.rows")
    data = page.evaluate("window.playground.view.data")
    assert rows[0] == data["train"][0] and len(set(rows)) == 16
    assert set(rows) <= set(data["train"])
    assert {data["y"][r] for r in rows} == {0, 1}  # circles: consecutive rows were one class


def test_imputed_gaps_are_noted_under_the_plot_controls(page):
    X = np.random.default_rng(7).normal(size=(40, 2)).round(3)
    rows = ["u,v,kind"] + [
        f"{a},{'' if i in (3, 9) else b},{int(a > 0)}" for i, (a, b) in enumerate(X)
    ]
    _upload(page, "gaps.csv", "\n".join(rows))
    page.wait_for_function("window.playground.config.data.name === 'upload'")
    median = np.median(np.delete(X[:, 1], [3, 9]))
    assert page.inner_text("#data-notes") == (
        f"preprocessing: imputed 2 missing values in 'v' with the median {median:.6g}"
    )
