"""aibook.anonymize: HMAC pseudonyms, k-anonymity, generalisation and the linkage attack."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from aibook import anonymize as an


def test_pseudonym_is_rfc_hmac_and_keyed():
    key = b"secret"
    assert an.pseudonymize("alice", key, length=64) == hmac.new(key, b"alice", hashlib.sha256).hexdigest()
    # RFC 4231 test case 2
    assert (an.pseudonymize("what do ya want for nothing?", b"Jefe", length=64)
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    assert an.pseudonymize("alice", key) == an.pseudonymize("alice", key)  # stable: joins still work
    assert an.pseudonymize("alice", key) != an.pseudonymize("alice", b"other")
    assert an.pseudonymize("alice", key) != an.pseudonymize("bob", key)
    assert len(an.pseudonymize("alice", key)) == 16
    with pytest.raises(ValueError, match="non-empty key"):
        an.pseudonymize("alice", b"")


def test_k_anonymity_counts_the_smallest_group():
    rows = [{"a": 1, "b": "x"}, {"a": 1, "b": "x"}, {"a": 2, "b": "x"}, {"a": 2, "b": "x"},
            {"a": 2, "b": "y"}]
    assert an.k_anonymity(rows, ["a"]) == 2
    assert an.k_anonymity(rows, ["a", "b"]) == 1
    assert an.k_anonymity(rows, []) == 5  # no quasi-identifiers: one group
    with pytest.raises(ValueError, match="empty table"):
        an.k_anonymity([], ["a"])


def test_generalisers():
    assert an.age_band(37, 10) == "30-39"
    assert an.age_band(40, 10) == "40-49"
    assert an.age_band(37, 1) == "37"
    assert an.zip_prefix("10117", 3) == "101**"
    assert an.zip_prefix("10117", 0) == "*****"


def test_generalize_until_k_reaches_k_and_drops_names():
    rows = an.synthetic_patients(200, seed=0)
    assert an.k_anonymity(rows, ["age", "zip", "sex"]) == 1
    table, level = an.generalize_until_k(rows, 5)
    assert an.k_anonymity(table, ["age", "zip", "sex"]) >= 5
    assert "name" not in table[0] and len(table) == len(rows)
    assert [r["diagnosis"] for r in table] == [r["diagnosis"] for r in rows]
    with pytest.raises(ValueError, match="no generalisation level"):
        an.generalize_until_k(rows[:3], 10)


def test_link_finds_unique_matches_only():
    released = [{"zip": "1", "age": 30, "d": "flu"}, {"zip": "1", "age": 30, "d": "x"},
                {"zip": "2", "age": 40, "d": "y"}]
    public = [{"name": "A", "zip": "1", "age": 30}, {"name": "B", "zip": "2", "age": 40}]
    pairs = an.link(released, public, ["zip", "age"])
    assert [(p["name"], r["d"]) for p, r in pairs] == [("B", "y")]
