"""Sphinx extension: the page script and style of the kernel-free sliders (aibook.widgets.interact_frames).

A slider cell's output holds both the live widget view and the pre-rendered frames (text/html); the
book's ``_config.yml`` ranks text/html above the widget view for HTML, so the site shows the frames.
"""

from __future__ import annotations


def setup(app):
    app.add_css_file("aibook-frames.css")
    app.add_js_file("aibook-frames.js", defer="defer")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
