"""The book's tooling: run notebooks and store their outputs (``nbrun``), read notebooks for the
conventions tests (``nbcheck``), the run-time table (``runtimes``), cited keys (``citations``),
exercise notebooks from their solutions (``exercise_notebooks``), the GPU check (``gpu_check``)
and the Sphinx extension of the website (``sphinx_ext``).

It may import the learner library and the grader; neither imports it.
"""
