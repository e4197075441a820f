"""``python -m aibook.exercises build|check``: write exercises/ from solutions/, or check they agree.

``build`` (``make exercises``) regenerates every ``exercises/chNN.ipynb``; ``check`` (run by
``make test``) exits 1 with one line when exercises/ is out of date with solutions/.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aibook.exercises import build, out_of_date, pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aibook.exercises",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "check"])
    parser.add_argument("--root", type=Path, default=Path("."),
                        help="repository root holding solutions/ and exercises/ (default: .)")
    args = parser.parse_args(argv)
    root = args.root
    if not (root / "solutions").is_dir():
        print(f"error: no solutions/ folder in {root.resolve()}: run from the repository root "
              "or pass --root", file=sys.stderr)
        return 2
    try:
        if args.command == "build":
            changed = build(root)
            names = ", ".join(str(p.relative_to(root)) for p in changed)
            n = len(pairs(root))
            print(f"exercises/: {n} chapter{'' if n == 1 else 's'}, updated: {names or 'none'}")
            return 0
        stale = out_of_date(root)
    except ValueError as exc:  # unbalanced solution markers
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if stale:
        names = ", ".join(str(p.relative_to(root)) for p in stale)
        print(f"error: exercises/ is out of date with solutions/ ({names}): run 'make exercises'",
              file=sys.stderr)
        return 1
    n = len(pairs(root))
    print(f"exercises/ matches solutions/ ({n} chapter{'' if n == 1 else 's'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
