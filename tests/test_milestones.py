"""aibook.milestones: the table is well formed and the growth fit recovers known rates."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from aibook.milestones import MILESTONES, doubling_time_months, growth_per_year

BOOK = Path(__file__).resolve().parents[1] / "book"


def test_table_is_sorted_unique_and_sane():
    years = [m.year for m in MILESTONES]
    assert years == sorted(years)
    assert len({m.name for m in MILESTONES}) == len(MILESTONES)
    for m in MILESTONES:
        assert m.kind in ("vision", "language")
        assert 1e4 < m.params < 1e13
        assert m.tokens is None or (m.kind == "language" and m.tokens > m.params)


def test_every_citation_key_is_in_a_bibliography():
    text = (BOOK / "references.bib").read_text(encoding="utf-8")
    keys = set(re.findall(r"@\w+\{([^,]+),", text))
    missing = {m.cite for m in MILESTONES} - keys
    assert not missing, f"add these keys to book/references.bib: {missing}"


def test_bert_tokens_follow_from_its_stated_schedule():
    bert = next(m for m in MILESTONES if m.name == "BERT-large")
    upper = 1_000_000 * 256 * 512  # every step at the full length 512
    assert bert.tokens == pytest.approx(0.9 * upper / 4 + 0.1 * upper)


def test_stated_compute_matches_six_n_d():
    stated = [m for m in MILESTONES if m.stated_flops]
    assert len(stated) >= 2
    for m in stated:
        assert 6 * m.params * m.tokens == pytest.approx(m.stated_flops, rel=0.03), m.name


def test_growth_recovers_an_exact_exponential():
    years = np.arange(2000, 2011)
    assert growth_per_year(years, 5.0 * 3.0 ** (years - 2000)) == pytest.approx(3.0)
    assert growth_per_year([1, 2], [10, 10]) == pytest.approx(1.0)


def test_growth_rejects_bad_input():
    with pytest.raises(ValueError, match="positive"):
        growth_per_year([1, 2], [1, 0])
    with pytest.raises(ValueError, match="two points"):
        growth_per_year([1, 1], [1, 2])
    with pytest.raises(ValueError, match="two points"):
        growth_per_year([1, 2, 3], [1, 2])


def test_doubling_time():
    assert doubling_time_months(2.0) == pytest.approx(12.0)
    assert doubling_time_months(4.0) == pytest.approx(6.0)
    with pytest.raises(ValueError):
        doubling_time_months(1.0)
