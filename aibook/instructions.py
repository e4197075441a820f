"""Instruction and preference data built offline from the Tang-poem corpus (Chapter 11).

Every task has an answer a program can score, so fine-tuning is measured, not eyeballed:
续写下一句 (next line), 作者 (author), 诗题 (title) and a format constraint (写一首五言绝句，以「春」字开头).
Preference pairs for DPO are (prompt, chosen, rejected) with a chosen poem that meets the prompt's
format constraint and a rejected real poem that breaks exactly one part of it (line length, number
of lines, first character). Works on any objects with ``title``, ``author`` and ``text`` (one line
per couplet), such as ``aibook.poetry.poems(split)``.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from aibook.bpe import ASSISTANT, END_OF_TEXT, USER
from aibook.finetune import sft_example

TASKS = ("next_line", "author", "title", "format")
FORMS = {"五言绝句": (5, 4), "七言绝句": (7, 4), "五言律诗": (5, 8), "七言律诗": (7, 8)}  # chars, lines
_HEMISTICH = re.compile(r"[^，。？！；\n]+[，。？！；]")
_FORMAT_PROMPT = re.compile(r"写一首(五言绝句|七言绝句|五言律诗|七言律诗)，以「(.)」字开头。")


class Example(NamedTuple):
    """One instruction: the task's name, the user's prompt and the reference answer."""

    task: str
    prompt: str
    answer: str


class PreferencePair(NamedTuple):
    """A prompt, a response that meets its constraint, one that breaks it, and what it breaks."""

    prompt: str
    chosen: str
    rejected: str
    violation: str


def hemistichs(text: str) -> list[str]:
    """The half-lines of a poem, each with its closing punctuation (床前明月光， / 疑是地上霜。)."""
    return _HEMISTICH.findall(text)


def poem_form(text: str) -> str | None:
    """'五言绝句', '七言绝句', '五言律诗' or '七言律诗' when ``text`` has that exact shape, else None.

    Shape: 4 or 8 half-lines of 5 or 7 characters, ending alternately in a comma and a stop, and nothing
    else (a stray character outside the half-lines breaks the form).
    """
    parts = hemistichs(text)
    if "".join(parts) != text.replace("\n", "") or not parts:
        return None
    lengths = {len(p) - 1 for p in parts}
    commas_ok = all((p[-1] == "，") == (i % 2 == 0) for i, p in enumerate(parts))
    for name, (chars, lines) in FORMS.items():
        if lengths == {chars} and len(parts) == lines and commas_ok:
            return name
    return None


def _next_line(poem, rng: random.Random) -> Example | None:
    parts = hemistichs(poem.text)
    if len(parts) < 2:
        return None
    i = rng.randrange(0, len(parts) - 1, 2) if len(parts) % 2 == 0 else rng.randrange(len(parts) - 1)
    return Example("next_line", f"续写下一句：{parts[i]}", parts[i + 1])


def _format(poem, rng: random.Random) -> Example | None:
    form = poem_form(poem.text)
    if form is None:
        return None
    return Example("format", f"写一首{form}，以「{poem.text[0]}」字开头。", poem.text)


def _first_couplet(poem) -> str:
    return "".join(hemistichs(poem.text)[:2])


def build_instructions(poems: Sequence, tasks: Sequence[str] = TASKS, per_task: int = 1000,
                       seed: int = 0, authors: set[str] | None = None) -> list[Example]:
    """Up to ``per_task`` examples of each task drawn from ``poems`` (each task shuffled with ``seed``).

    ``authors``: keep the author task to these names (for held-out prompts: authors seen in training).
    """
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"unknown task(s) {sorted(unknown)}: use some of {', '.join(TASKS)}")
    rng = random.Random(seed)
    examples: list[Example] = []
    for task in tasks:  # each task its own order, so the tasks do not all quote the same poems
        order = list(poems)
        rng.shuffle(order)
        made = []
        for poem in order:
            if len(made) == per_task:
                break
            if task == "next_line":
                ex = _next_line(poem, rng)
            elif task == "format":
                ex = _format(poem, rng)
            elif not hemistichs(poem.text):
                ex = None
            elif task == "author":
                keep = authors is None or poem.author in authors
                question = f"这首诗的作者是谁？\n{_first_couplet(poem)}"
                ex = Example("author", question, poem.author) if keep else None
            else:
                ex = Example("title", f"这首诗的题目是什么？\n{_first_couplet(poem)}", poem.title)
            if ex is not None:
                made.append(ex)
        examples.extend(made)
    return examples


def frequent_authors(poems: Sequence, min_poems: int = 20) -> set[str]:
    """Authors with at least ``min_poems`` poems: the ones an author question can fairly ask about."""
    counts = Counter(p.author for p in poems)
    return {a for a, n in counts.items() if n >= min_poems}


def is_correct(example: Example, output: str) -> bool:
    """Score a model's ``output`` for ``example``: exact answer, or the format constraint met."""
    output = output.strip()
    if example.task == "format":
        return satisfies_format(example.prompt, output)
    return output == example.answer


def format_close(example: Example, output: str) -> bool:
    """A lenient next-line score: the output is one half-line of the right length and punctuation."""
    out = output.strip()
    parts = hemistichs(out)
    one_half_line = len(parts) == 1 and parts[0] == out
    return one_half_line and len(out) == len(example.answer) and out[-1] == example.answer[-1]


def satisfies_format(prompt: str, output: str) -> bool:
    """Whether ``output`` is a poem of the form the prompt asks for, starting with its character."""
    match = _FORMAT_PROMPT.fullmatch(prompt)
    if match is None:
        raise ValueError(f"not a format prompt: {prompt!r}")
    output = output.strip()
    return poem_form(output) == match.group(1) and output.startswith(match.group(2))


def chat_prompt(tokenizer, prompt: str) -> list[int]:
    """Token ids of one user turn up to the assistant's marker: <|user|>prompt<|assistant|>."""
    special = tokenizer.special_tokens
    return [special[USER], *tokenizer.encode_ordinary(prompt), special[ASSISTANT]]


def encode_chat(tokenizer, prompt: str, answer: str, mask_prompt: bool = True) -> tuple[list[int], list[int]]:
    """(inputs, targets) of one exchange; the answer ends with <|endoftext|>, so the model learns to stop."""
    response = [*tokenizer.encode_ordinary(answer), tokenizer.special_tokens[END_OF_TEXT]]
    return sft_example(chat_prompt(tokenizer, prompt), response, mask_prompt)


def preference_pairs(poems: Sequence, n: int, seed: int = 0) -> list[PreferencePair]:
    """Up to ``n`` format-constraint pairs; each rejected poem is a real poem that breaks one rule."""
    rng = random.Random(seed)
    by_form: dict[str, list] = {form: [] for form in FORMS}
    for p in poems:
        form = poem_form(p.text)
        if form is not None:
            by_form[form].append(p)
    by_form_and_char = {(f, p.text[0]): [] for f, ps in by_form.items() for p in ps}
    for f, ps in by_form.items():
        for p in ps:
            by_form_and_char[(f, p.text[0])].append(p)
    swap = {"五言绝句": ("七言绝句", "五言律诗"), "七言绝句": ("五言绝句", "七言律诗"),
            "五言律诗": ("七言律诗", "五言绝句"), "七言律诗": ("五言律诗", "七言绝句")}
    candidates = [(f, p) for f, ps in by_form.items() for p in ps]
    rng.shuffle(candidates)
    pairs: list[PreferencePair] = []
    for i, (form, poem) in enumerate(candidates):
        if len(pairs) == n:
            break
        first = poem.text[0]
        prompt = f"写一首{form}，以「{first}」字开头。"
        violation = ("length", "lines", "first_char")[i % 3]
        if violation == "first_char":
            pool = [p for p in rng.sample(by_form[form], min(20, len(by_form[form]))) if p.text[0] != first]
        else:
            other = swap[form][0 if violation == "length" else 1]
            pool = by_form_and_char.get((other, first), [])
        if pool:
            pairs.append(PreferencePair(prompt, poem.text, rng.choice(pool).text, violation))
    return pairs
