"""The notebook bundle (make bundle) and the home page's download links."""

from __future__ import annotations

import re
import zipfile

from aibook.booktools import bundle, nbcheck, sphinx_takeaway

ROOT = bundle.ROOT


def test_bundle_holds_every_notebook_and_a_readme(tmp_path):
    output = tmp_path / "b.zip"
    bundle.write_bundle(output, version_line="commit abc1234, 2026-12-01")
    with zipfile.ZipFile(output) as zf:
        names = set(zf.namelist())
        readme = zf.read(f"{bundle.FOLDER}/README.md").decode("utf-8")
    notebooks = nbcheck.list_notebooks(ROOT, ("book", "exercises"))
    expected = {f"{bundle.FOLDER}/{p.as_posix()}" for p in notebooks}
    assert expected and expected <= names
    assert not any("/solutions/" in n for n in names), "answer keys must stay out of the learners' bundle"
    for needed in ("pyproject.toml", "requirements.txt", "requirements-lab.txt", "aibook/__init__.py",
                   "book/references.bib"):
        assert f"{bundle.FOLDER}/{needed}" in names
    assert "Colab" in readme and "jupyter lab" in readme and "commit abc1234" in readme
    # the route without make or apt, the same text as on the home page (tools/check_plain_route.sh runs it)
    assert (ROOT / bundle.PLAIN_ROUTE).read_text(encoding="utf-8") in readme
    assert "pip install -r requirements-lab.txt" in readme and "--index-url" in readme


def test_bundle_holds_the_packages_data_files(tmp_path):
    # the stored results and Chapter 11's checkpoint and tokenizer: without them `pip install .` from
    # the bundle gives a package whose Chapter 2, 5 and 11 pages fail (the first bundle left them out)
    output = tmp_path / "b.zip"
    bundle.write_bundle(output, version_line="v")
    with zipfile.ZipFile(output) as zf:
        names = set(zf.namelist())
    data = bundle.package_data(ROOT)
    assert {p.name for p in data} >= {"gpt_reference.pt", "tang_bpe.json", "seed_studies.jsonl"}
    missing = [p for p in data if f"{bundle.FOLDER}/{p.relative_to(ROOT).as_posix()}" not in names]
    assert not missing, f"package data left out of the bundle: {missing}"
    assert any(n.startswith(f"{bundle.FOLDER}/book/11_llm_project/") and n.endswith(".ipynb") for n in names)


def test_bundle_is_byte_identical_for_the_same_files(tmp_path):
    first, second = tmp_path / "1.zip", tmp_path / "2.zip"
    bundle.write_bundle(first, version_line="v")
    bundle.write_bundle(second, version_line="v")
    assert first.read_bytes() == second.read_bytes()


def test_download_links_only_for_files_that_exist(tmp_path):
    assert sphinx_takeaway.available(tmp_path) == []
    assert sphinx_takeaway.links_html([], "") == ""
    pdf = tmp_path / "_build" / "pdf" / "book.pdf"
    pdf.parent.mkdir(parents=True)
    pdf.write_bytes(b"%PDF-1.7\n" + b"0" * 2**20)
    files = sphinx_takeaway.available(tmp_path)
    assert [name for _, name, _ in files] == ["aibook.pdf"]
    html = sphinx_takeaway.links_html(files, "../")
    assert 'href="../downloads/aibook.pdf"' in html and "1.0 MB" in html and "zip" not in html


def test_pdf_table_of_contents_leaves_out_exercises_and_answer_keys():
    from aibook.booktools import pdf

    files = set(pdf.heading_levels(pdf.pdf_toc()))
    assert "book/04_math/index" in files and "book/errata" in files
    assert not any(f.startswith(("exercises/", "solutions/")) for f in files)
    assert pdf.heading_levels(pdf.pdf_toc(only=["book/04_math/index"])) == {
        "book/04_math/index": 1, **{f"book/04_math/{n}": 2 for n in
                                    ("04_1_networks", "04_2_optimization", "04_3_worked_example")}}
    assert re.fullmatch(r"commit [0-9a-f]{7,}, \d{4}-\d{2}-\d{2}", pdf.version())


def test_the_home_page_gives_the_route_without_make_or_apt():
    home = (ROOT / "book" / "index.md").read_text(encoding="utf-8")
    assert "```{include} _plain_route.md" in home
    route = (ROOT / bundle.PLAIN_ROUTE).read_text(encoding="utf-8")
    assert "python -m venv .venv" in route and "python -m jupyter lab" in route
    assert "://" not in route, "no mirror host is named: the reader puts in the one they can reach"
