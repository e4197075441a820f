"""``python -m aibook.grader``: grade submissions (see ``aibook.grader.cli``)."""

from aibook.grader.cli import main

raise SystemExit(main())
