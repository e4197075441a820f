"""aibook.booktools.citations: every cite role in markdown pages and notebooks."""

import json

from aibook.booktools import citations


def test_cited_keys_reads_every_cite_role_in_markdown_and_notebooks(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "a.md").write_text("see {cite}`x2020, y2021` and {cite:t}`z2019`;\n"
                                            "cite with `{cite}` (shown as code, not a citation)")
    notebook = {"cells": [{"cell_type": "markdown", "source": ["{cite:p}`x2020`"]},
                          {"cell_type": "code", "source": "'{cite}`not_markdown`'"}]}
    (tmp_path / "book" / "b.ipynb").write_text(json.dumps(notebook))
    assert citations.cited_keys(tmp_path) == {
        "x2020": ["book/a.md", "book/b.ipynb"], "y2021": ["book/a.md"], "z2019": ["book/a.md"]}
