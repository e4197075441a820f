"""Static checks of the book's notebooks, shared by the test suite and the timing report."""

from __future__ import annotations

import json
import re
from pathlib import Path

NOTEBOOK_FOLDERS = ("book", "solutions", "exercises")
IGNORE_TAGS = {"nbval-ignore-output", "nbval-skip", "skip-execution"}
MACHINE_PATH = re.compile(r"/(root|home|tmp/ipykernel_)\S*")


def list_notebooks(root: Path, folders=NOTEBOOK_FOLDERS) -> list[Path]:
    """All notebooks under the given top-level folders, relative to root, sorted."""
    found = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" not in path.parts and "_build" not in path.parts:
                found.append(path.relative_to(root))
    return found


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def code_cells(nb: dict) -> list[dict]:
    """Code cells with some source (empty cells are not run by nbval either)."""
    return [c for c in nb.get("cells", []) if c.get("cell_type") == "code" and source(c).strip()]


def tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def checked_share(nb: dict) -> tuple[int, int]:
    """(checked, total) over code cells that have output; checked = output compared by nbval."""
    with_output = [c for c in code_cells(nb) if c.get("outputs")]
    checked = [c for c in with_output if not (tags(c) & IGNORE_TAGS)]
    return len(checked), len(with_output)


def execution_counts(nb: dict) -> list[int | None]:
    return [c.get("execution_count") for c in code_cells(nb)]


def machine_paths(nb: dict) -> list[int]:
    """Indices (1-based, among code cells) whose outputs mention a machine path."""
    return [i for i, c in enumerate(code_cells(nb), 1)
            if any(MACHINE_PATH.search(json.dumps(o)) for o in c.get("outputs", []))]
