"""Execute notebooks in place, top to bottom in a fresh kernel, the way they are committed.

``python -m aibook.booktools.nbrun book/04_math/*.ipynb`` runs each notebook in its own folder with
nbclient, stores the widget state (so the website can show the widgets) and prints the time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from aibook.device import limit_threads_of_child_processes
from aibook.grader.session import kernel_env_path


def run_notebook(path: Path, timeout: int = 600, save: bool = True) -> float:
    """Execute ``path`` (in place unless ``save`` is False); return the wall time in seconds.

    The kernel gets one thread (``AIBOOK_NUM_THREADS=1``, BLAS and OpenMP likewise) and
    ``AIBOOK_PROGRESS=0`` unless set: the test suite runs notebooks two at a time with one thread
    each and no progress bars, and the stored outputs must come from the same settings.
    """
    kernel_env_path()
    limit_threads_of_child_processes(1)
    os.environ.setdefault("AIBOOK_PROGRESS", "0")  # no progress bars in stored outputs
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    if save:
        nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--no-save", action="store_true",
                        help="only check that they run (e.g. on a GPU machine); leave files as they are")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if not path.is_file():
            print(f"error: {path} not found", file=sys.stderr)
            return 2
        print(f"{path}: {run_notebook(path, args.timeout, save=not args.no_save):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
