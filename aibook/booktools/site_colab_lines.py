"""Sphinx extension: hide the first cell's Colab-install lines on the website, keep them in the notebook.

Every notebook starts with ``import sys`` and an ``if "google.colab" in sys.modules:`` block that
installs the book's package on Colab only (CONTRIBUTING.md). Readers of the site do not need it,
so the page shows that cell without those lines; the downloaded notebook and Colab keep them.
Done at build time rather than by a cell tag: no notebook is edited (chapters are owned and re-run
by others), and the imports that follow in the same cell stay visible, which a tag on the whole
cell would hide too.
"""

from __future__ import annotations

import re

from docutils import nodes

COLAB_GUARD = re.compile(r'^if "google\.colab" in sys\.modules:.*$')


def without_colab_install(source: str) -> str | None:
    """``source`` without the Colab guard block (and ``import sys`` when nothing else uses sys),
    or None when the cell has no such block."""
    lines = source.split("\n")
    start = next((i for i, line in enumerate(lines) if COLAB_GUARD.match(line)), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "\t"))):
        end += 1
    while end < len(lines) and not lines[end].strip():  # the blank line after the block
        end += 1
    kept = lines[:start] + lines[end:]
    if not any("sys." in line for line in kept):
        kept = [line for line in kept if line.strip() != "import sys"]
    while kept and not kept[0].strip():
        kept.pop(0)
    return "\n".join(kept)


def _hide_colab_lines(app, doctree, docname) -> None:
    if app.builder.format != "html":
        return
    for block in doctree.findall(nodes.literal_block):
        shorter = without_colab_install(block.astext())
        if shorter is not None:
            block.children = [nodes.Text(shorter)]
            block.rawsource = shorter
            return  # only the setup cell


def setup(app):
    app.connect("doctree-resolved", _hide_colab_lines)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
