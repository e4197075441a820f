"""What each page of the website loads: only what it uses, so a phone on a slow line gets the page.

- The ipywidgets manager (3.5 MiB) and the saved widget state only on a page that shows a live
  widget; a slider of ``aibook.widgets.interact_frames`` shows pre-rendered frames instead.
- The search index and its scripts only on the search page (the theme loads them on every page
  for a search-as-you-type box the book does not use).
- Font Awesome's SVG script (1.4 MiB) not at all: the theme's stylesheet already draws the same
  icons with Font Awesome's web font.
- One viewport tag (the Sphinx, Jupyter Book and theme templates each write one) and a favicon
  (``html.favicon`` in ``_config.yml``).
"""

from __future__ import annotations

import re

from aibook.booktools.sphinx_ext import wrap_rendered_pages

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# the manager as _config.yml lists it (nb_ipywidgets_js), matched by the end of the file name
WIDGET_MANAGER_FILES = ("require.js", "aibook-widgets.js", "embed-amd.js")
_SEARCH_SCRIPTS = re.compile(
    r'[ \t]*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)[^"]*">'
    r"</script>\n?")
_FONTAWESOME = re.compile(
    r'[ \t]*<(?:script defer src|link rel="preload" as="script" href)='
    r'"[^"]*_static/scripts/fontawesome\.js[^"]*"\s*/?>(?:</script>)?\n?')
_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>\s*')


def _drop_unused_widget_manager(app, pagename, templatename, context, doctree) -> None:
    """Runs after myst-nb added the manager to a notebook page with saved widget state: drop it (and
    the state) unless the rendered body shows a widget view (the frames of a slider replace it)."""
    scripts = context.get("script_files")
    if not scripts or WIDGET_VIEW in context.get("body", ""):
        return
    manager = tuple(getattr(app.config, "nb_ipywidgets_js", {}) or {}) + WIDGET_MANAGER_FILES

    def is_widget_script(script) -> bool:
        attributes = getattr(script, "attributes", {}) or {}
        return (str(getattr(script, "filename", None) or "").endswith(manager)
                or attributes.get("type") == WIDGET_STATE)
    scripts[:] = [script for script in scripts if not is_widget_script(script)]


def light_page(html: str, pagename: str) -> str:
    """The rendered page without scripts it does not use and with one viewport tag."""
    if pagename != "search":
        html = _SEARCH_SCRIPTS.sub("", html)
    html = _FONTAWESOME.sub("", html)
    seen = []

    def first_only(match: re.Match) -> str:
        seen.append(match)
        return match[0] if len(seen) == 1 else ""

    return _VIEWPORT.sub(first_only, html)


def _lighten_rendered_pages(app) -> None:
    wrap_rendered_pages(app, lambda html, context: light_page(html, context.get("pagename", "")))


def setup(app):
    # the other fixes of the theme's rendered pages, its accessibility faults, come with this one
    app.setup_extension("aibook.booktools.site_accessibility")
    app.connect("html-page-context", _drop_unused_widget_manager, priority=900)  # after myst-nb
    app.connect("builder-inited", _lighten_rendered_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
