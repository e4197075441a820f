"""The grader: question banks, the learner's ``check`` and the batch grader for instructors.

It uses the learner library (``aibook.*``) and is never imported by it. In a notebook:
``from aibook.grader import check``; for a batch: ``python -m aibook.grader SUBMISSION.ipynb ...``.
"""

from aibook.grader.check import check

__all__ = ["check"]
