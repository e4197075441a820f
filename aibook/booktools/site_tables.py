"""Tables the website's directives render from data files (errata, glossary, run times, library)."""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


def list_table(directive: SphinxDirective, source: Path, summary: str, css_class: str, widths: str,
               header: list[str], rows: list[list[str]]) -> list[nodes.Node]:
    """A summary line and a MyST list-table of ``rows`` (cells are MyST, so roles such as {doc} work),
    parsed in the directive's context; ``source`` is the data file, a dependency of the page."""
    directive.env.note_dependency(str(source))
    lines = [":::{list-table}", ":header-rows: 1", f":widths: {widths}", ":width: 100%",
             f":class: {css_class}", ""]
    for row in [header, *rows]:
        lines += [f"{'*' if i == 0 else ' '} - {cell}" for i, cell in enumerate(row)]
    lines.append(":::")
    container = nodes.container()
    directive.state.nested_parse(StringList(lines, source=str(source)), directive.content_offset, container)
    return [nodes.paragraph(text=summary), *container.children]
