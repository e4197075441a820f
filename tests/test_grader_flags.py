"""Copies flagged (issue 27, item 2), without kernels: which library functions are each question's
answer, the static reading of a submission's imports, and the batch similarity report."""

from __future__ import annotations

import inspect

from aibook import numpy_nn
from aibook.grader.banks import banks, find_question
from aibook.grader.integrity import library_answers, names_used, similar_pairs, static_flags
from aibook.grader.questions import QuestionResult

POOL = '''def max_pool2d(x, kernel, stride=None):
    """My pooling."""
    stride = stride or kernel
    n, c, h, w = x.shape
    out = np.empty((n, c, (h - kernel) // stride + 1, (w - kernel) // stride + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            window = x[:, :, i * stride:i * stride + kernel, j * stride:j * stride + kernel]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out'''
RENAMED = POOL.replace("out", "result").replace("stride", "step").replace('"""My pooling."""', "# mine")


def test_the_library_answer_of_each_chapter_4_question():
    assert [library_answers(q) for q in banks()[4]] == [
        ("aibook.numpy_nn.mlp_forward",), ("aibook.numpy_nn.mlp_backward",),
        ("aibook.numpy_nn.conv_output_size",), ("aibook.numpy_nn.conv2d",),
        ("aibook.numpy_nn.max_pool2d",), ("aibook.numpy_nn.adam_step",), ("aibook.numpy_nn.rnn_step",)]


def test_imports_are_resolved_through_aliases():
    assert "aibook.numpy_nn.conv2d" in names_used("from aibook import numpy_nn as nn\ny = nn.conv2d")
    assert "aibook.numpy_nn.conv2d" in names_used("import aibook.numpy_nn\naibook.numpy_nn.conv2d(1)")
    assert "aibook.numpy_nn.conv2d" in names_used("from aibook.numpy_nn import conv2d as c")
    assert "aibook.numpy_nn.conv2d" not in names_used("def conv2d(x):\n    return x")


def test_static_flags_name_the_question_and_spare_the_honest_and_the_given_code():
    questions = banks()[4] + banks()[5]
    cells = [(None, "import numpy as np\nfrom aibook.grader import check\nimport aibook.numpy_nn as nn"),
             ("4.5", "def max_pool2d(x, k, s=None):\n    return nn.max_pool2d(x, k, s)"),
             ("4.1", "from aibook.grader.banks import find_question\n"
                     "mlp_forward = find_question('4.1').reference"),
             ("4.7", "def rnn_step(x, h, a, b, c):\n    return np.tanh(h @ a.T + x @ b.T + c)"),
             ("5.3", "from aibook.grader.banks.ch05 import build_eval_model")]  # given code
    flags = static_flags(cells, questions)
    assert set(flags) == {"4.1", "4.5"}
    assert flags["4.5"] == ["uses aibook.numpy_nn.max_pool2d, the library's answer to 4.5"]
    assert "question bank" in flags["4.1"][0]
    outside = static_flags([(None, "import aibook.grader.banks.ch04 as bank")], questions)
    assert set(outside) == {"notebook"}  # looked at by a person, no answer loses points for it


def test_a_flag_zeroes_the_answer_and_keeps_why():
    result = QuestionResult("4.5", "max_pool2d", 8, 8, "passed all 6 tests")
    result.flag("uses aibook.numpy_nn.max_pool2d")
    assert result.points == 0
    assert result.message.startswith("flagged: uses aibook.numpy_nn.max_pool2d; passed")
    assert result.to_json()["flags"] == ["uses aibook.numpy_nn.max_pool2d"]


def test_similarity_report_finds_renamed_copies_and_copies_of_the_library():
    library = "import numpy as np\n" + inspect.getsource(numpy_nn.max_pool2d)
    honest = POOL.replace("for i in range(out.shape[2]):", "for i in reversed(range(out.shape[2])):")
    other = honest.replace("np.empty", "np.zeros").replace(".max(axis=(2, 3))", ".reshape(n, c, -1).max(-1)")
    answers = {"alice.ipynb": {"4.5": POOL}, "bob.ipynb": {"4.5": RENAMED}, "carol.ipynb": {"4.5": library},
               "dave.ipynb": {"4.5": "def max_pool2d(x, k, s=None):\n    ..."}, "erin.ipynb": {"4.5": other}}
    pairs = similar_pairs(answers, [find_question("4.5")])
    found = {(p.first, p.other) for p in pairs}
    assert ("alice.ipynb", "bob.ipynb") in found  # renamed variables and a changed comment
    assert ("carol.ipynb", "library: aibook.numpy_nn.max_pool2d") in found
    assert not any("dave" in a or "dave" in b for a, b in found)  # unanswered stubs are skipped
    assert all(0.8 <= p.score <= 1 for p in pairs)
