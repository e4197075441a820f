"""aibook.bibliography and the book's one bibliography: every citation resolves, the audit is sound."""

import json
import re
from pathlib import Path

import pytest

from aibook import bibliography
from aibook.booktools import citations

ROOT = Path(__file__).resolve().parents[1]


def test_every_key_cited_in_the_book_is_in_references_bib():
    bib = bibliography.load_bib(ROOT)
    cited = citations.cited_keys(ROOT)
    assert cited, "no {cite} found in the book"
    missing = {key: files for key, files in cited.items() if key not in bib}
    assert not missing, f"cited but not in book/references.bib: {missing}"


def test_references_bib_has_no_duplicate_keys():
    text = (ROOT / bibliography.BIB).read_text(encoding="utf-8")
    keys = re.findall(r"^@\w+\{([^,]+),", text, flags=re.M)
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"duplicate BibTeX keys: {duplicates}"


def test_one_bibliography_file_is_configured():
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert re.search(r"bibtex_bibfiles:\s*\n\s*- book/references.bib\s*\n(?!\s*- )", config)


def test_the_audit_points_at_real_entries_and_has_every_verdict_kind():
    audit = bibliography.load_audit(ROOT)
    bib = bibliography.load_bib(ROOT)
    assert {k for e in audit for k in e["keys"]} <= set(bib)
    assert set(bibliography.verdict_counts(audit).values()) != {0}
    # what the book says of the worst two, independently of the notebook
    assert bib["lepikhin2021gshard"]["first_author_last_name"] == "Lepikhin"
    assert "Conditional Computation" in bib["lepikhin2021gshard"]["title"]


def test_describe_renders_latex_accents_and_braces(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / bibliography.BIB).write_text(
        "@misc{k, title = {{GShard}: x}, author = {Fran{\\c{c}}ois, A. and Kaiser, {\\L}ukasz},"
        " howpublished = {Web}, year = {2020}}\n")
    entry = bibliography.load_bib(tmp_path)["k"]
    assert bibliography.describe(entry) == "A. François; Łukasz Kaiser (2020). GShard: x. Web"


@pytest.mark.parametrize("entry, message", [
    ({"article": "a", "where": "w", "kind": "k", "verdict": "maybe", "keys": [], "note": ""}, "not one of"),
    ({"article": "a", "where": "w", "kind": "k", "keys": [], "note": ""}, "missing verdict"),
])
def test_a_malformed_audit_entry_is_named(tmp_path, entry, message):
    path = tmp_path / bibliography.AUDIT
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps([entry]))  # JSON is YAML
    with pytest.raises(ValueError, match=f"entry 1: .*{message}"):
        bibliography.load_audit(tmp_path)


def test_repo_root_outside_a_clone_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="run it inside a clone"):
        bibliography.repo_root(tmp_path)
    assert bibliography.repo_root(ROOT / "book" / "04_math") == ROOT
