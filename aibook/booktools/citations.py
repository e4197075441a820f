"""Which bibliography keys the book's pages cite (``{cite}`key```), for the bibliography tests."""

from __future__ import annotations

import re
from pathlib import Path

from aibook.booktools import nbcheck

# {cite}`a,b`, {cite:p}`a`, {cite:t}`a`, {cite:ps}`a` in markdown; not `{cite}` shown as code
_CITE = re.compile(r"(?<!`)\{cite(?::\w+)?\}`([^`\n]+)`")
_SCANNED = ("book", "solutions")


def _markdown_texts(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    cells = nbcheck.load(path).get("cells", [])
    return [nbcheck.source(c) for c in cells if c.get("cell_type") == "markdown"]


def cited_keys(root: Path) -> dict[str, list[str]]:
    """{key: [files citing it]} over the markdown of every page under book/ and solutions/."""
    found: dict[str, list[str]] = {}
    for folder in _SCANNED:
        for path in sorted((root / folder).rglob("*")):
            skipped = "_build" in path.parts or ".ipynb_checkpoints" in path.parts
            if path.suffix not in (".md", ".ipynb") or skipped:
                continue
            for text in _markdown_texts(path):
                for group in _CITE.findall(text):
                    for key in (k.strip() for k in group.split(",")):
                        found.setdefault(key, [])
                        rel = str(path.relative_to(root))
                        if rel not in found[key]:
                            found[key].append(rel)
    return found
