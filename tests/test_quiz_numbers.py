"""Every number typed into a self-check question (its text, an option, a why, an explanation) must
come from its page: it appears, to the digits typed, in the page's prose, code or stored outputs.
Outputs of cells whose output is not compared (``nbval-ignore-output``: timings) do not count, so a
number read off a timing cannot be typed into a question. A number that is not on the page is
declared below with the reason it may be typed; when a notebook changes, a stale number fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from aibook.booktools.quizzes import load_chapter

ROOT = Path(__file__).resolve().parents[1]

# A number: not glued to an identifier (fp32, ZeRO-3, GPT-3, W1), optional thousands commas, decimals
# and exponent (1e-3). Section references (3.2 节, 第 5 章) and exercise numbers are cross-references.
NUMBER = re.compile(r"(?<![A-Za-z0-9_.\-/$\\^])(\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?)(?![A-Za-z_0-9])")
PAGE_NUMBER = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)(e[-+]?\d+)?")  # on the page glued ones count: x1.88
REFERENCE = re.compile(r"^\s*(节|章|轮?节|\.ipynb)|^\s*[–-]\s*\d")
REFERENCE_BEFORE = re.compile(r"(第|练习|习题|exercise|Exercise|§)\s*$")

# (page, number as typed): why it may be typed although the page does not show it. Numbers worked out from
# the question's own givens (a wrong option's arithmetic, an input format) cannot go stale with the page.
WORKED = "worked from the question's own givens, in the text"
DECLARED: dict[tuple[str, str], str] = {
    ("01_1_large_models", "1.2e23"): "an example of the input format, not a result",
    ("01_1_large_models", "1750"): "GPT-3 has 175 billion parameters (Brown et al. 2020): the wrong option",
    ("02_3_cnn_rnn", "12"): WORKED + ": the wrong option (28 - 5) // 2 + 1 without padding",
    ("02_3_cnn_rnn", "13"): WORKED + ": the wrong option that drops the + 1",
    ("02_3_cnn_rnn", "784"): WORKED + ": a 28 x 28 input has 784 pixels",
    ("02_3_cnn_rnn", "6272"): WORKED + ": 8 channels of 28 x 28 outputs",
    ("03_1_data_input", "62"): WORKED + ": 16000 / 256 frames without overlap, the wrong option",
    ("03_1_data_input", "196"): WORKED + ": the wrong option that drops the 1 +",
    ("03_6_putting_together", "938"): WORKED + ": ceil(60000 / 64) steps per epoch",
    ("03_6_putting_together", "937"): WORKED + ": the full batches of 64 in 60000",
    ("04_3_worked_example", "9.4249"): WORKED + ": 3.07 squared, from the page's a2 - y",
    ("04_3_worked_example", "17.2225"): WORKED + ": 4.15 squared, from the page's a2 - y",
    ("05_2_data", "180"): WORKED + ": 60000 x 784 float32 values are 179.4 MiB",
    ("05_3_training", "781"): WORKED + ": 50000 = 781 x 64 + 16",
    ("07_2_numpy_vs_pytorch", "48"): WORKED + ": 16 x 3 weights of the output layer",
    ("08_1_scale", "1e9"): "the question's given model size",
    ("08_1_scale", "2e10"): "the question's given number of tokens",
    ("08_1_scale", "1e20"): "an example of the input format, not a result",
    ("09_5_evaluation", "0.615"): WORKED + ": the F1 of the question's TP, FP and FN (its answer_expr)",
    ("07_1_resources", "2.4"): "the Keras release (2020) that kept only the TensorFlow backend",
}


def _pages() -> dict[str, Path]:
    return {p.stem: p for p in (ROOT / "book").glob("*/*.ipynb")}


def page_numbers(notebook: Path) -> list[float]:
    """Every number in the page's markdown, code and compared outputs (timing outputs excluded)."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        parts.append("".join(cell["source"]))
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            continue
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            for mime in ("text/plain", "text/markdown", "text/html"):
                value = out.get("data", {}).get(mime)
                if value:
                    parts.append("".join(value) if isinstance(value, list) else value)
    values = []
    for m in PAGE_NUMBER.finditer("\n".join(parts)):
        mantissa = float(m.group(1).replace(",", ""))
        v = mantissa * 10 ** int(m.group(2)[1:]) if m.group(2) else mantissa
        values += [v, 100 * v, v / 100, mantissa]  # 0.93 typed as 93%; 5.88e+23 as 5.88·10²³
    return values


def typed_numbers(text: str) -> list[str]:
    """The numbers typed in a question's text, without cross-references such as "3.2 节"."""
    found = []
    for m in NUMBER.finditer(text):
        if REFERENCE.match(text[m.end():]) or REFERENCE_BEFORE.search(text[:m.start()]):
            continue
        found.append(m.group(1))
    return found


def shown(typed: str, values: list[float]) -> bool:
    """Whether some number of the page rounds to ``typed`` at the digits typed."""
    mantissa = typed.replace(",", "").split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    target = float(typed.replace(",", ""))
    if "e" in typed:
        return any(abs(v - target) <= 1e-12 * max(1.0, abs(target)) for v in values)
    half = 0.5 * 10 ** -decimals + 1e-9
    return any(abs(v - target) <= half for v in values)


def question_texts(q) -> list[str]:
    return [q.prompt, q.explanation, *(o.text for o in q.options), *(o.why for o in q.options)]


def all_typed() -> list[tuple[str, int, str]]:
    rows = []
    for chapter in range(1, 11):
        for page, questions in load_chapter(ROOT, chapter).items():
            for i, q in enumerate(questions, 1):
                for text in question_texts(q):
                    rows += [(page, i, n) for n in typed_numbers(text)]
    return rows


TYPED = all_typed()


def test_the_number_pattern_reads_what_a_reader_reads():
    assert typed_numbers("准确率从约 0.93 降到 0.54，ε 从 262 降到 14；批 1,024；lr 1e-3") == [
        "0.93", "0.54", "262", "14", "1,024", "1e-3"]
    assert typed_numbers("fp32、ZeRO-3、GPT-3、W1 和 3.2 节、第 5 章、练习 2.6") == []
    assert shown("0.54", [0.539]) and not shown("0.54", [0.531]) and shown("93", [93.3])
    assert shown("14", [13.8]) and not shown("24", [23.4])


def test_questions_type_numbers_at_all():
    assert len(TYPED) > 100  # the check below must have something to check


def test_every_typed_number_is_on_its_page_or_declared():
    pages = _pages()
    cache: dict[str, list[float]] = {}
    missing = []
    for page, index, typed in TYPED:
        if (page, typed) in DECLARED:
            continue
        values = cache.setdefault(page, page_numbers(pages[page]))
        if not shown(typed, values):
            missing.append(f"{page} Q{index}: {typed}")
    assert missing == [], ("numbers typed in questions that their page does not show (or shows only in a "
                           "timing output); read them with answer_from, reword, or declare them in DECLARED "
                           "with a reason:\n" + "\n".join(missing))


@pytest.mark.parametrize("key", sorted(DECLARED))
def test_declared_numbers_are_typed_and_have_a_reason(key):
    page, typed = key
    assert len(DECLARED[key]) > 10, f"{key}: say why this number may be typed"
    assert any(p == page and t == typed for p, _, t in TYPED), f"{key} is declared but no question types it"
