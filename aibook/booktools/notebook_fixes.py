"""Idempotent fixes of notebooks' cell order and metadata, for many notebooks at once.

- ``ignore_reasons``: a cell's ``# nbval-ignore-output because ...`` comment (a note for the test
  tool that every learner sees on the website and on Colab) moves into the cell's metadata,
  ``{"aibook": {"ignore_output_reason": "..."}}``, next to the ``nbval-ignore-output`` tag.
- ``title_first``: when the first cell is the setup code cell and the title markdown cell follows it,
  the title comes first (so a page opens with its title, not with code).

Only sources, metadata and cell order change, never outputs, so stored outputs stay valid without
re-running anything; a second run changes nothing.
``python -m aibook.booktools.notebook_fixes NOTEBOOK... [--check]``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

IGNORE_TAG = "nbval-ignore-output"
REASON_KEY = "ignore_output_reason"
# "# nbval-ignore-output because <reason>" and "# <reason>: (this output is) not compared by the tests"
MARKER = re.compile(r"^\s*#\s*nbval-ignore-output\b:?\s*(?:because\s+)?(?P<reason>.*)$"
                    r"|^\s*#\s*(?P<reason2>.*?):?\s*(?:this output is\s+)?not compared by the tests\.?\s*$")
COMMENT = re.compile(r"^\s*#\s?(?P<text>.*)$")


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def split_ignore_reason(source: str) -> tuple[str, str | None]:
    """(source without the test-tool comment, the reason it gave) or (source, None) if there is none.

    The comment is the marker line plus the comment lines that continue its sentence (up to the
    first one ending with a full stop), so a learner's own comment after it stays."""
    lines = source.splitlines(keepends=True)
    for start, line in enumerate(lines):
        match = MARKER.match(line.rstrip("\n"))
        if not match:
            continue
        if match["reason"] is None:  # the second form ends its sentence on its line
            match_reason = match["reason2"].strip()
            parts = [match_reason + "."]
        else:
            parts = [match["reason"].strip()]
        end = start + 1
        while not parts[-1].endswith(".") and end < len(lines) and COMMENT.match(lines[end].rstrip("\n")):
            parts.append(COMMENT.match(lines[end].rstrip("\n"))["text"].strip())
            end += 1
        rest = lines[:start] + lines[end:]
        text = "".join(rest)
        if not source.endswith("\n"):
            text = text.removesuffix("\n")
        return text, " ".join(p for p in parts if p)
    return source, None


def ignore_reasons(nb: dict) -> bool:
    """Move every test-tool comment into its cell's metadata; True if anything changed."""
    changed = False
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source, reason = split_ignore_reason(_source(cell))
        if reason is None:
            continue
        cell["source"] = source
        meta = cell.setdefault("metadata", {})
        meta.setdefault("aibook", {})[REASON_KEY] = reason
        tags = meta.setdefault("tags", [])
        if IGNORE_TAG not in tags:
            tags.append(IGNORE_TAG)
        changed = True
    return changed


def _is_title(cell: dict) -> bool:
    return cell.get("cell_type") == "markdown" and _source(cell).lstrip().startswith("# ")


def title_first(nb: dict) -> bool:
    """Put the title cell before the setup cell when the setup cell comes first; True if changed."""
    cells = nb.get("cells", [])
    if len(cells) >= 2 and cells[0].get("cell_type") == "code" and _is_title(cells[1]):
        cells[0], cells[1] = cells[1], cells[0]
        return True
    return False


FIXES = {"ignore_reasons": ignore_reasons, "title_first": title_first}


def fix_file(path: Path, fixes=tuple(FIXES), write: bool = True) -> list[str]:
    """Apply the named fixes to one notebook file; the names of those that changed something."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    changed = [name for name in fixes if FIXES[name](nb)]
    if changed and write:
        # the layout nbformat writes (indent 1, non-ASCII kept), so diffs show only the change
        path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aibook.booktools.notebook_fixes", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--only", choices=sorted(FIXES), action="append",
                        help="apply only this fix (repeatable; default: all)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a fix would")
    args = parser.parse_args(argv)
    pending = 0
    for path in args.notebooks:
        if not path.is_file():
            print(f"{path}: not found", file=sys.stderr)
            return 2
        changed = fix_file(path, args.only or tuple(FIXES), write=not args.check)
        if changed:
            pending += 1
            print(f"{path}: {'needs' if args.check else 'fixed'} {', '.join(changed)}")
    return 1 if args.check and pending else 0


if __name__ == "__main__":
    sys.exit(main())
