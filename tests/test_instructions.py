"""Instruction tasks, their scorers and the DPO preference pairs of aibook.instructions, on known poems."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import pytest

from aibook.bpe import reference_tokenizer
from aibook.finetune import IGNORE_INDEX
from aibook.instructions import (
    FORMS,
    Example,
    build_instructions,
    chat_prompt,
    encode_chat,
    format_close,
    frequent_authors,
    hemistichs,
    is_correct,
    poem_form,
    preference_pairs,
    satisfies_format,
)


class Poem(NamedTuple):
    title: str
    author: str
    text: str


JUEJU5 = "白日依山尽，黄河入海流。\n欲穷千里目，更上一层楼。"
JUEJU7 = "朝辞白帝彩云间，千里江陵一日还。\n两岸猿声啼不住，轻舟已过万重山。"
LUSHI5 = ("国破山河在，城春草木深。\n感时花溅泪，恨别鸟惊心。\n"
          "烽火连三月，家书抵万金。\n白头搔更短，浑欲不胜簪。")


def test_poem_form_recognises_the_four_forms_and_nothing_else():
    assert poem_form(JUEJU5) == "五言绝句"
    assert poem_form(JUEJU7) == "七言绝句"
    assert poem_form(LUSHI5) == "五言律诗"
    assert poem_form(LUSHI5.replace("白头", "白")) is None  # one half-line of 4 characters
    assert poem_form(JUEJU5.replace("。\n欲", "，\n欲")) is None  # comma where a stop belongs
    assert poem_form(JUEJU5 + "啊") is None  # a stray character after the last stop
    assert poem_form("白日依山尽，黄河入海流。") is None  # two half-lines only
    assert hemistichs(JUEJU5) == ["白日依山尽，", "黄河入海流。", "欲穷千里目，", "更上一层楼。"]
    assert set(FORMS) == {"五言绝句", "七言绝句", "五言律诗", "七言律诗"}


def toy_corpus(n: int = 60) -> list[Poem]:
    texts = [JUEJU5, JUEJU7, LUSHI5, "春眠不觉晓，处处闻啼鸟。\n夜来风雨声，花落知多少。"]
    return [Poem(f"题{i}", "王之涣" if i % 3 else f"诗人{i}", texts[i % 4]) for i in range(n)]


def test_build_instructions_makes_every_task_with_scorable_answers():
    examples = build_instructions(toy_corpus(), per_task=10, seed=0)
    assert Counter(e.task for e in examples) == {"next_line": 10, "author": 10, "title": 10, "format": 10}
    for e in examples:
        assert is_correct(e, e.answer) and is_correct(e, f"  {e.answer}\n")  # the reference answer scores
        assert not is_correct(e, e.answer[:-2])
        if e.task == "next_line":
            assert e.prompt.startswith("续写下一句：") and e.prompt[-1] == "，" and format_close(e, e.answer)
            assert format_close(e, "一" * (len(e.answer) - 1) + e.answer[-1])
            assert not format_close(e, e.answer + e.answer)
        if e.task == "format":
            assert satisfies_format(e.prompt, e.answer)
    assert build_instructions(toy_corpus(), per_task=10, seed=0) == examples  # seeded
    assert build_instructions(toy_corpus(), per_task=10, seed=1) != examples


def test_author_task_keeps_to_the_given_authors():
    poems = toy_corpus()
    assert frequent_authors(poems, min_poems=20) == {"王之涣"}
    examples = build_instructions(poems, tasks=["author"], per_task=100, authors={"王之涣"})
    assert len(examples) == 40 and {e.answer for e in examples} == {"王之涣"}
    with pytest.raises(ValueError, match="unknown task"):
        build_instructions(poems, tasks=["rhyme"])


def test_satisfies_format_checks_form_and_first_character():
    prompt = "写一首五言绝句，以「白」字开头。"
    assert satisfies_format(prompt, JUEJU5)
    assert not satisfies_format(prompt, JUEJU7)  # wrong line length
    assert not satisfies_format(prompt, LUSHI5)  # eight lines, and the wrong first character
    assert not satisfies_format("写一首五言绝句，以「春」字开头。", JUEJU5)
    with pytest.raises(ValueError, match="not a format prompt"):
        satisfies_format("续写下一句：白日依山尽，", JUEJU5)
    assert is_correct(Example("format", prompt, JUEJU5), JUEJU5)


def test_preference_pairs_are_judged_correctly_by_the_program():
    texts = (JUEJU5, JUEJU7, LUSHI5, JUEJU5.replace("白日", "黄日"),
             "白云千里外，明月一楼中。\n远客思乡久，春风入梦空。\n山高云雾重，水阔鸟飞穷。\n独坐长亭下，悠然万事同。",
             "白发三千丈，缘愁似个长。\n不知明镜里，何处得秋霜。",
             "白帝城头春草生，白盐山下蜀江清。\n南有龙湫北虎穴，殷勤问主人名声。")
    poems = [Poem("t", "a", t) for t in texts]
    pairs = preference_pairs(poems * 5, n=40, seed=0)
    assert pairs and {p.violation for p in pairs} == {"length", "lines", "first_char"}
    for p in pairs:
        assert satisfies_format(p.prompt, p.chosen) and not satisfies_format(p.prompt, p.rejected)
        rejected_form = poem_form(p.rejected)
        if p.violation == "first_char":
            assert rejected_form == poem_form(p.chosen) and p.rejected[0] != p.chosen[0]
        else:
            assert p.rejected[0] == p.chosen[0] and rejected_form != poem_form(p.chosen)


def test_encode_chat_masks_the_user_turn_and_ends_with_the_end_token():
    tok = reference_tokenizer()
    prompt_ids = chat_prompt(tok, "续写下一句：白日依山尽，")
    assert prompt_ids[0] == tok.special_tokens["<|user|>"]
    assert prompt_ids[-1] == tok.special_tokens["<|assistant|>"]
    assert tok.decode(prompt_ids) == "<|user|>续写下一句：白日依山尽，<|assistant|>"
    inputs, targets = encode_chat(tok, "续写下一句：白日依山尽，", "黄河入海流。")
    counted = [t for t in targets if t != IGNORE_INDEX]
    assert tok.decode(counted) == "黄河入海流。<|endoftext|>"
    assert inputs[: len(prompt_ids)] == prompt_ids and len(targets) == len(inputs)
    _, unmasked = encode_chat(tok, "续写下一句：白日依山尽，", "黄河入海流。", mask_prompt=False)
    assert len(unmasked) == len(targets) and IGNORE_INDEX not in unmasked
