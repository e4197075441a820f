"""Chinese typography for the website, applied to the text of every page at build time.

Two things go wrong when Chinese Markdown is turned into HTML:

- a line break inside a paragraph of the source becomes a space between two Chinese characters
  (browsers do not drop it), so "算出，\\n关键" reads "算出， 关键"; spaces written around a link
  or emphasis ("汇总到 {doc}`勘误表`") show the same way;
- Sphinx's smart quotes decide between an opening and a closing quote from the character before
  it, and after a Chinese character every straight quote looks like a closing one ("会"死掉""
  becomes 会”死掉”).

``typeset`` fixes both in a string; ``sphinx_ext`` applies it to each paragraph (or title, caption,
...) of a page, with code and math hidden from it.
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform

# Han ideographs, CJK punctuation, kana, full-width forms: characters between which Chinese text
# takes no space.
WIDE = re.compile("[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf"
                  "\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
CURLY_QUOTES = "“”‘’"
OPAQUE = "\ufffc"  # stands for code or math inside a paragraph: never joined to, never quoted


def _wide(char: str) -> bool:
    return bool(char) and bool(WIDE.match(char))


def has_chinese(text: str) -> bool:
    return any(_wide(c) for c in text)


# "第 4 章 数学模型和公式": the space after a chapter or section number is a separator, kept
NUMBER_SEPARATOR = re.compile(r"第\s*\d+\s*[章节]$")


def join_spaces(chars: list[str], text: str) -> None:
    """Delete every whitespace run between two Chinese characters (or a Chinese character and a
    curly quote): source line breaks, and the spaces written around links and emphasis, which
    Chinese typography does not have. The separator after "第 N 章" stays."""
    for match in re.finditer(r"\s+", text):
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        joins = (_wide(before) and _wide(after)) or (_wide(before) and after in CURLY_QUOTES) \
            or (before in CURLY_QUOTES and _wide(after))
        if before and after and joins and not NUMBER_SEPARATOR.search(text[:match.start()]):
            for i in range(match.start(), match.end()):
                chars[i] = ""


def pair_quotes(chars: list[str], text: str) -> None:
    """Turn straight double quotes into “…” pairs, in order, when the text is Chinese and they pair up."""
    positions = [i for i, c in enumerate(text) if c == '"']
    if positions and len(positions) % 2 == 0 and has_chinese(text):
        for n, i in enumerate(positions):
            chars[i] = "“" if n % 2 == 0 else "”"


def typeset(text: str, quotes: bool = True) -> list[str]:
    """One replacement per character of ``text`` (the character itself, another one, or "" to
    delete it), so a caller can map the result back onto the pieces the text came from."""
    chars = list(text)
    if quotes:
        pair_quotes(chars, text)
    join_spaces(chars, text)
    return chars


def typeset_string(text: str) -> str:
    return "".join(typeset(text))


# inline nodes whose text is code, math or markup: hidden from the typography (never joined or quoted)
OPAQUE_NODES = (nodes.literal, nodes.math, nodes.raw, nodes.FixedTextElement, nodes.image,
                nodes.footnote_reference, nodes.citation_reference, nodes.substitution_reference)


def _text_pieces(element: nodes.Element) -> list[nodes.Text | None]:
    """The Text nodes of a paragraph (or title, caption, ...) in reading order; None for code or math."""
    pieces: list[nodes.Text | None] = []
    for child in element.children:
        if isinstance(child, nodes.Text):
            pieces.append(child)
        elif isinstance(child, OPAQUE_NODES):
            pieces.append(None)
        elif isinstance(child, nodes.Element):
            pieces += _text_pieces(child)
    return pieces


def typeset_document(document: nodes.document, quotes: bool) -> None:
    """Apply ``typography.typeset`` to every paragraph, title, caption, ... of a doctree."""
    for block in list(document.findall(nodes.TextElement)):
        if isinstance(block, (nodes.Inline, nodes.FixedTextElement)):
            continue
        pieces = _text_pieces(block)
        text = "".join(OPAQUE if p is None else str(p) for p in pieces)
        if not has_chinese(text):
            continue
        chars = typeset(text, quotes=quotes)
        start = 0
        for piece in pieces:
            if piece is None:
                start += 1
                continue
            new = "".join(chars[start:start + len(piece)])
            start += len(piece)
            if new != str(piece):
                # by identity: Text nodes compare equal as strings, so parent.replace() could hit
                # an earlier equal sibling (two line breaks in one paragraph)
                parent = piece.parent
                index = next(i for i, child in enumerate(parent.children) if child is piece)
                replacement = nodes.Text(new)
                replacement.parent = parent
                parent.children[index] = replacement


class ChineseTypography(SphinxTransform):
    """Joins Chinese text split by source line breaks or spaces around markup, and pairs straight
    quotes as “…” in Chinese text (see the functions above). Runs before Sphinx's smart
    quotes (750), which would turn every quote after a Chinese character into a closing one."""

    default_priority = 700

    def apply(self, **kwargs) -> None:
        typeset_document(self.document, quotes=True)


class ChineseTypographyAfterReferences(SphinxPostTransform):
    """The joins again once cross-references carry their titles ("汇总在 {doc}`../errata` 中" only
    reads "汇总在 附录：原文勘误表 中" after the reference is resolved)."""

    default_priority = 900

    def run(self, **kwargs) -> None:
        typeset_document(self.document, quotes=False)
