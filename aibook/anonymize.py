"""Pseudonymisation and k-anonymity (Chapter 9), with the standard library and NumPy only.

A table is a list of dicts (one per person). ``pseudonymize`` replaces an identifier by a keyed
hash (HMAC-SHA256): stable, so records can still be joined, but not reversible without the key.
``k_anonymity`` measures the smallest group of rows sharing the same quasi-identifiers;
``generalize`` coarsens them (age to a band, postcode to a prefix) until that group is big enough.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

Row = dict[str, object]


def pseudonymize(value: str, key: bytes, length: int = 16) -> str:
    """HMAC-SHA256 of ``value`` under ``key``, as the first ``length`` hex digits."""
    if not key:
        raise ValueError("pseudonymize needs a secret, non-empty key (bytes), kept apart from the data")
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:length]


def synthetic_patients(n: int, seed: int = 0) -> list[Row]:
    """A synthetic table of n people: name, age, 5-digit postcode, sex and a diagnosis."""
    rng = np.random.default_rng(seed)
    diagnoses = ["flu", "asthma", "diabetes", "hypertension", "migraine"]
    return [{"name": f"person{i:04d}", "age": int(rng.integers(18, 90)),
             "zip": f"{int(rng.choice([10115, 10117, 10119, 10243, 10245])) + int(rng.integers(0, 3))}",
             "sex": str(rng.choice(["F", "M"])), "diagnosis": str(rng.choice(diagnoses))}
            for i in range(n)]


def group_sizes(rows: Sequence[Row], quasi_identifiers: Sequence[str]) -> Counter:
    """How many rows share each combination of quasi-identifier values."""
    return Counter(tuple(r[q] for q in quasi_identifiers) for r in rows)


def k_anonymity(rows: Sequence[Row], quasi_identifiers: Sequence[str]) -> int:
    """The k of the table: the size of the smallest group with equal quasi-identifiers."""
    if not rows:
        raise ValueError("k-anonymity of an empty table is undefined: pass at least one row")
    return min(group_sizes(rows, quasi_identifiers).values())


def age_band(age: int, width: int) -> str:
    """Generalise an age to a band of ``width`` years, e.g. 37 -> '30-39' for width 10."""
    low = age // width * width
    return f"{low}-{low + width - 1}" if width > 1 else str(age)


def zip_prefix(code: str, keep: int) -> str:
    """Generalise a postcode by keeping ``keep`` leading digits: '10117' -> '101**'."""
    return code[:keep] + "*" * (len(code) - keep)


def generalize(rows: Sequence[Row], age_width: int, zip_keep: int) -> list[Row]:
    """A copy of the table with ages in bands and postcodes truncated; names dropped."""
    return [{**{k: v for k, v in r.items() if k != "name"}, "age": age_band(int(r["age"]), age_width),
             "zip": zip_prefix(str(r["zip"]), zip_keep)} for r in rows]


def generalize_until_k(rows: Sequence[Row], k: int, quasi_identifiers: Sequence[str] = ("age", "zip", "sex"),
                       levels: Sequence[tuple[int, int]] = ((1, 5), (5, 4), (10, 4), (10, 3), (20, 3),
                                                            (20, 2), (100, 0))
                       ) -> tuple[list[Row], tuple[int, int]]:
    """Apply the generalisation levels (age width, postcode digits kept) in order until the
    table is k-anonymous; return the table and the level used.
    """
    for level in levels:
        table = generalize(rows, *level)
        if k_anonymity(table, quasi_identifiers) >= k:
            return table, level
    raise ValueError(f"no generalisation level reaches k={k}: add coarser levels or suppress rows")


def link(released: Sequence[Row], public: Sequence[Row], on: Sequence[str],
         match: Callable[[Row, Row], bool] | None = None) -> list[tuple[Row, Row]]:
    """Linkage attack: pairs (public row, released row) that agree on the columns ``on``
    and are the only released row that does (a unique match re-identifies a person).
    """
    match = match or (lambda a, b: all(a[c] == b[c] for c in on))
    found = []
    for person in public:
        hits = [r for r in released if match(person, r)]
        if len(hits) == 1:
            found.append((person, hits[0]))
    return found
