"""The student edition: the website without answer keys (no page, no link, no search entry)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from aibook.booktools.student_edition import (
    answer_key_leaks,
    build,
    main,
    student_config,
    student_toc,
    write_sources,
)

ROOT = Path(__file__).resolve().parents[1]


def files(toc: dict) -> list[str]:
    found = []

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                found.append(entry["file"])
            walk(entry.get("sections", []) + entry.get("chapters", []))

    walk(toc.get("parts", []) + toc.get("chapters", []))
    return found


def test_student_toc_keeps_everything_but_the_answer_keys():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    full, student = files(toc), files(student_toc(toc))
    assert any(f.startswith("solutions/") for f in full)
    assert student == [f for f in full if not f.startswith("solutions/")]
    assert "参考答案" not in [p["caption"] for p in student_toc(toc)["parts"]]
    assert student_toc(toc)["root"] == toc["root"]


def test_student_config_marks_the_edition_and_keeps_the_rest(tmp_path):
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    student = student_config(config)
    assert student["sphinx"]["config"]["aibook_edition"] == "student"
    assert student["title"].endswith("（学生版）")
    assert student["sphinx"]["config"]["html_static_path"] == config["sphinx"]["config"]["html_static_path"]
    assert "aibook_edition" not in config["sphinx"]["config"]  # the full edition stays the default
    toc_path, config_path = write_sources(ROOT, tmp_path)
    assert yaml.safe_load(config_path.read_text(encoding="utf-8")) == student
    assert "solutions/" not in toc_path.read_text(encoding="utf-8")


def test_main_needs_the_repository_root(tmp_path, capsys):
    assert main(["sources", "--root", str(tmp_path)]) == 2
    assert "no _toc.yml" in capsys.readouterr().err


def test_a_small_student_edition_has_no_answer_keys_and_the_full_one_has(tmp_path):
    """Builds the home page (with its run-time table), one exercise and its answer key, as the
    full edition and as the student edition; the same check finds the key only in the first."""
    subset = {"format": "jb-book", "root": "book/index", "parts": [
        {"caption": "练习", "chapters": [{"file": "exercises/ch04"}]},
        {"caption": "参考答案", "chapters": [{"file": "solutions/ch04", "title": "第 4 章参考答案"}]}]}
    toc = tmp_path / "_toc.yml"
    toc.write_text(yaml.safe_dump(subset, allow_unicode=True), encoding="utf-8")

    full_out = tmp_path / "full"
    jupyter_book = str(Path(sys.executable).with_name("jupyter-book"))
    subprocess.run([jupyter_book, "build", str(ROOT), "--toc", str(toc), "--path-output", str(full_out),
                    "--builder", "html", "-q"], check=True)
    full_html = full_out / "_build" / "html"
    leaks = answer_key_leaks(full_html)
    assert any(leak.startswith("page solutions/ch04") for leak in leaks)
    assert any(leak.startswith("link") for leak in leaks)
    assert "searchindex.js names a solutions/ page" in leaks
    assert "参考答案在“参考答案”部分" in (full_html / "book" / "index.html").read_text(encoding="utf-8")

    html = build(ROOT, tmp_path / "student", toc_path=toc, strict=False)
    assert (html / "exercises" / "ch04.html").exists()
    assert answer_key_leaks(html) == []
    home = (html / "book" / "index.html").read_text(encoding="utf-8")
    assert "参考答案在“参考答案”部分" not in home and "第 4 章练习的参考答案" not in home
    assert "（学生版）" in home
