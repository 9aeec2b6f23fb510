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
