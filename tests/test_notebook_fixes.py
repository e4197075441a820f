"""The idempotent notebook fixes: test-tool comments into metadata, title before the setup cell."""

import json

from aibook.booktools import notebook_fixes as nf

WIDGET = ("# nbval-ignore-output because the figure's place differs by runner, not by run: nbrun\n"
          "# stores it inside the saved widget.\n"
          "# a learner's own comment\n"
          "explore()")


def code(source, tags=()):
    return {"cell_type": "code", "source": source, "metadata": {"tags": list(tags)}, "outputs": [],
            "execution_count": 1}


def test_the_reason_moves_into_metadata_and_the_learners_comment_stays():
    source, reason = nf.split_ignore_reason(WIDGET)
    assert source == "# a learner's own comment\nexplore()"
    assert reason == ("the figure's place differs by runner, not by run: nbrun stores it inside the "
                      "saved widget.")


def test_the_not_compared_form_is_recognised():
    source, reason = nf.split_ignore_reason("# timings vary: not compared by the tests\nrun()\n")
    assert (source, reason) == ("run()\n", "timings vary.")


def test_a_cell_without_the_comment_is_untouched():
    assert nf.split_ignore_reason("x = 1  # a comment\n") == ("x = 1  # a comment\n", None)


def test_fixes_are_idempotent_and_never_touch_outputs(tmp_path):
    cell = code(WIDGET, ["nbval-ignore-output"])
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
    title = {"cell_type": "markdown", "source": "# 第 4 章练习", "metadata": {}}
    nb = {"cells": [code("import aibook"), title, cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "ch04.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert nf.fix_file(path) == ["ignore_reasons", "title_first"]
    once = path.read_text(encoding="utf-8")
    assert nf.fix_file(path) == []
    assert path.read_text(encoding="utf-8") == once
    fixed = json.loads(once)
    assert fixed["cells"][0]["cell_type"] == "markdown"
    assert fixed["cells"][2]["outputs"] == cell["outputs"]
    assert fixed["cells"][2]["metadata"]["aibook"][nf.REASON_KEY].startswith("the figure's place")
    assert nf.main([str(path), "--check"]) == 0
