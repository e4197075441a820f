"""The book's one bibliography (``book/references.bib``) and the audit of the article's own
references (``book/10_references/article_references.yml``, Chapter 10).

These read the book's files, so they need a clone of the repository (locally, in CI, or on Colab
after ``git clone``); the BibTeX parsing is pybtex's, the library Sphinx's bibliography uses.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

BIB = Path("book") / "references.bib"
AUDIT = Path("book") / "10_references" / "article_references.yml"
VERDICTS = {"correct": "正确", "corrected": "有误，已更正", "not-found": "查无此文",
            "unverifiable": "无法核实"}
AUDIT_FIELDS = {"article", "where", "kind", "verdict", "keys", "note"}


def repo_root(start: Path | None = None) -> Path:
    """The repository root (the folder with ``_toc.yml`` and ``book/``) at or above ``start``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").is_file() and (folder / "book").is_dir():
            return folder
    raise FileNotFoundError(f"no book repository at or above {here}: this page reads the book's files, "
                            "so run it inside a clone (git clone, then open the notebook there)")


def load_bib(root: Path) -> dict[str, dict[str, str]]:
    """Every entry of ``book/references.bib`` as {key: {"type", "title", "authors", "year", ...}}."""
    from pybtex.database import parse_file
    from pybtex.richtext import Text

    def plain(latex: str) -> str:  # "{GShard}" -> "GShard", "Fran{\c{c}}ois" -> "François"
        return " ".join(Text.from_latex(latex).render_as("text").split())

    data = parse_file(str(root / BIB), bib_format="bibtex")
    entries = {}
    for key, entry in data.entries.items():
        fields = {name.lower(): plain(str(value)) if name.lower() != "url" else str(value)
                  for name, value in entry.fields.items()}
        people = entry.persons.get("author", [])
        fields["authors"] = "; ".join(plain(" ".join(p.first_names + p.middle_names + p.prelast_names
                                                      + p.last_names)) for p in people)
        fields["first_author_last_name"] = plain(" ".join(people[0].last_names)) if people else ""
        fields["type"] = entry.type
        entries[key] = fields
    return entries


def load_audit(root: Path) -> list[dict]:
    """The audit of the article's references, each entry checked for its fields and verdict."""
    entries = yaml.safe_load((root / AUDIT).read_text(encoding="utf-8")) or []
    for number, entry in enumerate(entries, 1):
        missing = AUDIT_FIELDS - set(entry)
        if missing:
            raise ValueError(f"{AUDIT}, entry {number}: missing {', '.join(sorted(missing))}")
        if entry["verdict"] not in VERDICTS:
            raise ValueError(f"{AUDIT}, entry {number}: verdict {entry['verdict']!r} is not one of "
                             f"{', '.join(VERDICTS)}")
    return entries


def verdict_counts(entries: list[dict]) -> dict[str, int]:
    """How many references got each verdict, in the order of VERDICTS (Chinese labels)."""
    counts = Counter(e["verdict"] for e in entries)
    return {VERDICTS[v]: counts.get(v, 0) for v in VERDICTS}


def describe(entry: dict[str, str]) -> str:
    """A one-line reference: authors (year). Title. Venue."""
    venue = (entry.get("booktitle") or entry.get("journal") or entry.get("publisher")
             or entry.get("howpublished", ""))
    return f"{entry['authors']} ({entry.get('year', 'n.d.')}). {entry.get('title', '')}. {venue}".strip()


def audit_markdown(entries: list[dict]) -> str:
    """The audit as a Markdown table: the article's reference, verdict, what is correct."""
    def cell(text: str) -> str:
        return " ".join(str(text).split()).replace("|", "\\|")

    rows = ["| 原文引用 | 位置 | 结论 | 说明 |", "|---|---|---|---|"]
    for e in entries:
        verdict = VERDICTS[e["verdict"]]
        rows.append(f"| {cell(e['article'])} | {cell(e['where'])} | {verdict} | {cell(e['note'])} |")
    return "\n".join(rows)
