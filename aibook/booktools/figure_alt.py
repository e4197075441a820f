"""Alt text of the book's figures: one data file (book/figure_alt.yml), written into cell metadata.

myst-nb reads `metadata.mystnb.image.alt` of a code cell and puts it on every <img> the cell
outputs, on the website and in the PDF. Cell metadata survives re-execution, so the text is set
once per figure. Applying touches metadata only (never sources or outputs) and is idempotent.

    python -m aibook.booktools.figure_alt apply [NOTEBOOK ...]   # default: every notebook listed
    python -m aibook.booktools.figure_alt check                  # figures without alt text
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

from aibook.booktools import nbcheck

ROOT = Path(__file__).resolve().parents[2]
ALT_FILE = ROOT / "book" / "figure_alt.yml"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")


def load_alt_texts(path: Path = ALT_FILE) -> dict[str, dict[str, str]]:
    """{notebook path relative to the repository: {cell id: alt text}}."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {nb: {str(cell): str(text).strip() for cell, text in cells.items()} for nb, cells in data.items()}


def figure_cells(nb) -> list:
    """Code cells that output at least one image (a saved widget is not an image output)."""
    return [c for c in nb.cells if c.cell_type == "code"
            and any(t in o.get("data", {}) for o in c.get("outputs", []) for t in IMAGE_TYPES)]


def cell_alt(cell) -> str:
    return cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")


def apply(nb, texts: dict[str, str]) -> list[str]:
    """Set each listed cell's alt text in place; return the ids of the cells that changed."""
    changed = []
    for cell in nb.cells:
        text = texts.get(cell.get("id"))
        if text is None or cell_alt(cell) == text:
            continue
        cell.metadata.setdefault("mystnb", {}).setdefault("image", {})["alt"] = text
        changed.append(cell.id)
    return changed


def missing(nb, texts: dict[str, str]) -> list[str]:
    """Ids of figure cells without alt text in the data file or in the cell."""
    return [c.get("id", "?") for c in figure_cells(nb) if not texts.get(c.get("id")) or not cell_alt(c)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aibook.booktools.figure_alt",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("apply", "check"))
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: apply: those in book/figure_alt.yml; check: book/ and solutions/")
    args = parser.parse_args(argv)
    alt = load_alt_texts()
    if args.notebooks:
        paths = args.notebooks
    elif args.command == "apply":
        paths = [ROOT / nb for nb in alt]
    else:
        paths = [ROOT / nb for nb in nbcheck.list_notebooks(ROOT, ("book", "solutions"))]
    status = 0
    for path in paths:
        key = Path(path).resolve().relative_to(ROOT).as_posix()
        nb = nbformat.read(path, as_version=4)
        texts = alt.get(key, {})
        if args.command == "apply":
            changed = apply(nb, texts)
            if changed:
                nbformat.write(nb, path)
            print(f"{key}: {len(changed)} cell(s) updated")
        else:
            for cell_id in missing(nb, texts):
                print(f"{key}: figure cell {cell_id} has no alt text (add it to book/figure_alt.yml, then "
                      f"run 'python -m aibook.booktools.figure_alt apply {key}')")
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
