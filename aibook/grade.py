"""Old name of ``python -m aibook.grader``, kept as an alias for the 0.2 release; it will be removed.

The one module of the learner library that imports the grader (tests/test_package_layout.py names it).
"""

import sys

if __name__ == "__main__":
    from aibook.grader.cli import main

    print("note: 'python -m aibook.grade' is now 'python -m aibook.grader'", file=sys.stderr)
    raise SystemExit(main())
