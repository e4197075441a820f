"""A chapter's Gradescope autograder: ``python -m aibook.grader.gradescope 4 [--out FILE]`` writes
``autograder_ch04.zip`` with ``setup.sh`` (installs this package and its pinned dependencies once,
when Gradescope builds the image) and ``run_autograder`` (grades ``/autograder/submission/*.ipynb``
into ``/autograder/results/results.json``), plus the package source and the pins.

``run_autograder`` reads ``AUTOGRADER_ROOT`` (default ``/autograder``) and ``AUTOGRADER_PYTHON``
(default the venv ``setup.sh`` made), so the same script runs in a temporary copy of that layout.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

from aibook.grader.banks import banks
from aibook.grader.sandbox import IDENTITY_PREFIX

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# what grading needs: the kernel runs the learner's notebook (numpy, torch, matplotlib, ...) and
# the references use scikit-learn and scipy; the website and test tools are left out
RUNTIME_PINS = ("torch", "numpy", "sympy", "matplotlib", "scikit-learn", "scipy", "tqdm", "ipywidgets",
                "ipykernel", "nbformat", "nbclient", "PyYAML")

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root with network, when it builds the autograder image.
# Choose the Ubuntu 24.04 base image: the package needs Python >= 3.11.
set -euo pipefail
cd /autograder/source
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip util-linux passwd
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {{
    echo "Python >= 3.11 needed: choose Gradescope's Ubuntu 24.04 base image" >&2; exit 1; }}
python3 -m venv /autograder/venv
# the small CPU build of PyTorch; the grader needs no GPU
/autograder/venv/bin/pip install --extra-index-url https://download.pytorch.org/whl/cpu \\
    -r requirements.txt ./package
# The learner's code runs as this unprivileged user (aibook/grader/sandbox.py makes more on demand).
id {identity}-0 >/dev/null 2>&1 || useradd --system --user-group --no-create-home \\
    --home-dir /nonexistent --shell /usr/sbin/nologin {identity}-0
# Only root may read the question banks and this folder; the kernel gets a copy of the learner
# library without them.
chmod -R go-rwx /autograder/source
GRADER="$(/autograder/venv/bin/python -c 'import aibook.grader as g, os; print(os.path.dirname(g.__file__))')"
chmod -R go-rwx "$GRADER"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission. results/results.json is always the grader's own: any
# file already there is deleted first, the grader writes into a folder only root can enter, and its
# file is moved into place only when the grader finished; otherwise 0 points and the reason.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
PRIVATE="$(mktemp -d)"
trap 'rm -rf "$PRIVATE"' EXIT
shopt -s nullglob
notebooks=("$ROOT"/submission/*.ipynb "$ROOT"/submission/*/*.ipynb)
metadata=()
if [ -f "$ROOT/submission_metadata.json" ]; then
    metadata=(--metadata "$ROOT/submission_metadata.json")
fi
"$PYTHON" -m aibook.grader --chapter {chapter} --jobs 1 --timeout {timeout} "${{metadata[@]}}" \\
    --gradescope "$PRIVATE/results.json" "${{notebooks[@]}}" > "$PRIVATE/log" 2>&1
status=$?
cat "$PRIVATE/log"
rm -f "$RESULTS"
if [ "$status" -le 1 ] && [ -s "$PRIVATE/results.json" ]; then
    cp "$PRIVATE/results.json" "$RESULTS"
else
    reason="$(grep -m 1 '^error' "$PRIVATE/log" | tr -d '"\\\\' | cut -c 1-300)"
    printf '{{"score": 0, "tests": [], "output": "%s"}}' \\
        "autograder error (exit $status): ${{reason:-the grader stopped}}. Please tell your instructor." \\
        > "$RESULTS"
fi
exit 0
"""


def runtime_lines(requirements: Path) -> list[str]:
    """The lines of a requirements file, with those of the files it includes (``-r``) in their place."""
    lines = []
    for line in (line.strip() for line in requirements.read_text().splitlines()):
        lines += runtime_lines(requirements.parent / line[3:].strip()) if line.startswith("-r ") else [line]
    return lines


def runtime_requirements(requirements: Path) -> str:
    """The exact pins of ``RUNTIME_PINS`` from the repository's requirements.txt (and the files it
    includes with ``-r``, such as requirements-lab.txt)."""
    lines = runtime_lines(requirements)
    pins = [line for line in lines if line.split("==")[0] in RUNTIME_PINS]
    found = {pin.split("==")[0] for pin in pins}
    if found != set(RUNTIME_PINS):
        raise ValueError(f"{requirements}: no pin for {', '.join(sorted(set(RUNTIME_PINS) - found))}")
    return "\n".join(pins) + "\n"


def _package_files(root: Path) -> list[Path]:
    files = [root / "pyproject.toml", root / "README.md"]
    files += sorted(p for p in (root / "aibook").rglob("*")
                    if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    return files


def build_zip(chapter: int, out: Path, root: Path = PACKAGE_ROOT, timeout: int = 600) -> Path:
    """Write the autograder zip of ``chapter`` to ``out``; scripts executable, paths relative."""
    if chapter not in banks():
        raise ValueError(f"no exercises for chapter {chapter}: choose one of {sorted(banks())}")

    def add(z: zipfile.ZipFile, name: str, text: str | bytes, executable: bool = False) -> None:
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = (0o755 if executable else 0o644) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, text)

    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as z:
        add(z, "setup.sh", SETUP_SH.format(identity=IDENTITY_PREFIX), executable=True)
        add(z, "run_autograder", RUN_AUTOGRADER.format(chapter=chapter, timeout=timeout), executable=True)
        add(z, "requirements.txt", runtime_requirements(root / "requirements.txt"))
        for path in _package_files(root):
            add(z, f"package/{path.relative_to(root).as_posix()}", path.read_bytes())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aibook.grader.gradescope",
                                     description="Package a chapter's Gradescope autograder zip.")
    parser.add_argument("chapter", type=int, help="the chapter whose exercises it grades, e.g. 4")
    parser.add_argument("--out", type=Path, help="the zip to write (default: autograder_chNN.zip)")
    parser.add_argument("--timeout", type=int, default=600,
                        help="seconds for running one submission's cells (default 600)")
    args = parser.parse_args(argv)
    out = args.out or Path(f"autograder_ch{args.chapter:02d}.zip")
    try:
        build_zip(args.chapter, out, timeout=args.timeout)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}: upload it as the Gradescope autograder (base image Ubuntu 24.04)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
