"""The errata record (book/errata/chNN.yml): well formed, every proof points at a real cell."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aibook.booktools import nbcheck

ROOT = Path(__file__).resolve().parents[1]
ERRATA = [
    entry
    for path in sorted((ROOT / "book" / "errata").glob("ch*.yml"))
    for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []
]
FIELDS = {"id", "chapter", "where", "article", "correct", "proof"}


def test_errata_record_is_not_empty_and_ids_are_unique():
    assert ERRATA, "book/errata/ lists no errors"
    ids = [e["id"] for e in ERRATA]
    assert len(ids) == len(set(ids)), "duplicate errata ids"


@pytest.mark.parametrize("entry", ERRATA, ids=lambda e: e.get("id", "?"))
def test_entry_has_all_fields_and_its_proof_cell_exists(entry):
    assert FIELDS <= set(entry), f"missing fields: {FIELDS - set(entry)}"
    notebook, _, label = entry["proof"].partition("#")
    path = ROOT / notebook
    assert path.is_file(), f"{notebook} does not exist"
    cells = nbcheck.load(path)["cells"]
    target = f"({label})="
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "markdown" and nbcheck.source(cell).lstrip().startswith(target):
            following = [c for c in cells[i + 1 :] if c["cell_type"] == "code"]
            assert following, f"label {label} is not followed by a code cell"
            nxt = cells[i + 1]
            assert nxt["cell_type"] == "code", f"label {label}: the next cell must be the proof"
            return
    pytest.fail(f"{notebook} has no markdown cell starting with {target}")
