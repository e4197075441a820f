"""What `make site` publishes, gathered into one folder and checked before it goes out.

    python -m aibook.booktools.publish            # _build/site: the website, downloads/, student/

`make site` first builds the PDF (with its checks), the notebook bundle, the website (whose home
page then links both downloads) and the student edition; this step copies the website into
_build/site, the student edition into _build/site/student/, and refuses to publish when something
a reader would miss is absent: a download the home page does not link or that is not there, a PDF
or zip that does not open, a student edition with answer keys or without its home page.
The GitHub Actions workflow (.github/workflows/site.yml) runs `make site` and deploys _build/site.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from pathlib import Path

import yaml

from aibook.booktools import student_edition
from aibook.booktools.sphinx_takeaway import FOLDER, TAKEAWAYS

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "_build" / "html"
STUDENT = ROOT / "_build" / "student" / "_build" / "html"
OUTPUT = ROOT / "_build" / "site"


def repository_url(root: Path = ROOT) -> str:
    """The repository's address: set once, as ``repository.url`` in _config.yml."""
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]


def problems(site: Path, student: Path) -> list[str]:
    """What keeps the built site from being published; empty when all is there."""
    found = []
    root_doc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["root"]
    home = site / f"{root_doc}.html"
    if not home.is_file():
        return [f"no website at {site}: run 'make book'"]
    text = home.read_text(encoding="utf-8")
    prefix = "../" * root_doc.count("/")
    for _, name, _ in TAKEAWAYS:
        path = site / FOLDER / name
        if f'href="{prefix}{FOLDER}/{name}"' not in text:
            found.append(f"the home page does not link {FOLDER}/{name}: build it before 'make book'")
        if not path.is_file():
            found.append(f"{FOLDER}/{name} is missing from the website")
        elif name.endswith(".pdf") and not path.read_bytes()[:5] == b"%PDF-":
            found.append(f"{FOLDER}/{name} is not a PDF")
        elif name.endswith(".zip"):
            try:
                with zipfile.ZipFile(path) as zf:
                    if zf.testzip() is not None or not any(n.endswith(".ipynb") for n in zf.namelist()):
                        found.append(f"{FOLDER}/{name} is damaged or holds no notebook")
            except zipfile.BadZipFile:
                found.append(f"{FOLDER}/{name} is not a zip file")
    if not (student / "index.html").is_file():
        found.append(f"no student edition at {student}: run 'make book-student'")
    else:
        found += [f"student edition: {leak}" for leak in student_edition.answer_key_leaks(student)[:5]]
    return found


def publish(site: Path = SITE, student: Path = STUDENT, output: Path = OUTPUT) -> Path:
    """Copy the website and, under student/, the student edition into `output`."""
    if output.exists():
        shutil.rmtree(output)
    shutil.copytree(site, output, ignore=shutil.ignore_patterns(".buildinfo", ".doctrees"))
    shutil.copytree(student, output / "student", ignore=shutil.ignore_patterns(".buildinfo", ".doctrees"))
    (output / ".nojekyll").write_text("", encoding="utf-8")  # GitHub Pages: serve _static/ as it is
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aibook.booktools.publish",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    if found := problems(SITE, STUDENT):
        print("not published:\n  " + "\n  ".join(found), file=sys.stderr)
        return 1
    out = publish(output=args.output)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    print(f"{out}: the website with its downloads and the student edition in student/ ({size:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
