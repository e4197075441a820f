"""Sphinx extension for the book's website: small fixes that keep every page offline and clean.

- Drops duplicate <script> entries (sphinx-thebe's config script is added twice under Jupyter
  Book 1, which makes the browser report "Identifier 'THEBE_JS_URL' has already been declared").
- Gives the theme an explicit default colour mode so its script logs no error.
"""

from __future__ import annotations


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        # inline scripts come with filename None or "" from different extensions: treat alike
        key = (getattr(script, "filename", None) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _default_mode(app, pagename, templatename, context, doctree) -> None:
    context.setdefault("default_mode", "auto")
    if not context["default_mode"]:
        context["default_mode"] = "auto"


def setup(app):
    app.connect("html-page-context", _default_mode)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
