"""Sphinx extension: print styles on every page, on the home page links to the take-away formats, and
the repository's address in the footer taken from _config.yml's ``repository`` (set there only).

`make pdf` writes _build/pdf/book.pdf and `make bundle` _build/bundle/aibook-notebooks.zip. When
the website is built after them, both files are copied into the site's downloads/ folder and the
home page links them (with their size and date); when they were not built, the home page says nothing.
"""

from __future__ import annotations

import datetime
import html
import shutil
from pathlib import Path

# (file under the repository, name in the site, label)
TAKEAWAYS = (
    ("_build/pdf/book.pdf", "aibook.pdf", "整本书 PDF（正文与附录，可离线阅读与检索）"),
    ("_build/bundle/aibook-notebooks.zip", "aibook-notebooks.zip",
     "全部笔记本（正文与练习，附本地与 Colab 运行说明）"),
)
FOLDER = "downloads"


def available(srcdir: Path) -> list[tuple[Path, str, str]]:
    return [(srcdir / source, name, label) for source, name, label in TAKEAWAYS
            if (srcdir / source).is_file()]


def links_html(files: list[tuple[Path, str, str]], prefix: str) -> str:
    """A short paragraph linking each file, or '' when there is none."""
    if not files:
        return ""
    items = []
    for path, name, label in files:
        stat = path.stat()
        day = datetime.date.fromtimestamp(stat.st_mtime).isoformat()
        items.append(f'<li><a class="reference download" href="{prefix}{FOLDER}/{name}" download>'
                     f'{html.escape(label)}</a>（{stat.st_size / 2**20:.1f} MB，{day}）</li>')
    return f'<div class="aibook-downloads"><p><strong>下载</strong></p><ul>{"".join(items)}</ul></div>'


def _outdated_root(app, env, added, changed, removed):
    # the files may appear or change without any page changing: always re-render the home page
    return [app.config.root_doc] if app.builder.name == "html" else []


def _add_links(app, pagename, templatename, context, doctree) -> None:
    if app.builder.name != "html" or pagename != app.config.root_doc or "body" not in context:
        return
    prefix = "../" * pagename.count("/")
    block = links_html(available(Path(app.srcdir)), prefix)
    if block:
        # after the page title (the first heading) if there is one
        body = context["body"]
        end = body.find("</h1>")
        context["body"] = body[: end + 5] + block + body[end + 5:] if end >= 0 else block + body


def _copy_files(app, exception) -> None:
    if exception is not None or app.builder.name != "html":
        return
    target = Path(app.outdir) / FOLDER
    for path, name, _ in available(Path(app.srcdir)):
        target.mkdir(exist_ok=True)
        shutil.copyfile(path, target / name)


def _footer_repository(app, config) -> None:
    """The footer names the repository as {repository_url}/{repository_branch}: _config.yml sets them once."""
    options = config.html_theme_options
    footer = options.get("extra_footer") or ""
    for key in ("repository_url", "repository_branch"):
        footer = footer.replace("{" + key + "}", str(options.get(key, "")))
    if footer:
        options["extra_footer"] = footer


def setup(app):
    app.connect("config-inited", _footer_repository)
    app.add_css_file("aibook-print.css")
    app.connect("env-get-outdated", _outdated_root)
    app.connect("html-page-context", _add_links)
    app.connect("build-finished", _copy_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
