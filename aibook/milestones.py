"""Published sizes of well-known neural networks (Chapter 1) and the growth rate fitted to them.

Every figure in ``MILESTONES`` is one the cited paper states, or derives from its stated steps,
batch and sequence length (``cite`` is its key in ``book/references.bib``); a number is left out
when its paper does not give it. ``year`` is
the year of the cited publication. Training compute is not stored: it is estimated as C = 6·N·D
(``aibook.scaling.training_flops``) and compared with ``stated_flops`` where the paper gives one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Milestone:
    """One model: name, year, parameters N, training tokens D (language models, if stated)."""

    name: str
    year: int
    params: float
    kind: str  # "vision" or "language"
    cite: str
    tokens: float | None = None
    stated_flops: float | None = None  # training compute the paper itself states


MILESTONES: tuple[Milestone, ...] = (
    Milestone("LeNet-5", 1998, 60e3, "vision", "lecun1998gradient"),
    Milestone("AlexNet", 2012, 60e6, "vision", "krizhevsky2012imagenet"),
    Milestone("VGG-16", 2015, 138e6, "vision", "simonyan2015very"),
    Milestone("Transformer (big)", 2017, 213e6, "language", "vaswani2017attention"),
    # BERT: 1,000,000 steps of 256 sequences, 90 % of the steps at length 128, the rest at 512
    # (Devlin et al. 2019, Appendix A.2); 256 x 512 = 128K tokens per batch is the upper bound
    Milestone("BERT-large", 2019, 340e6, "language", "devlin2019bert",
              tokens=1e6 * 256 * (0.9 * 128 + 0.1 * 512)),
    Milestone("GPT-2", 2019, 1542e6, "language", "radford2019language"),
    Milestone("Megatron-LM", 2019, 8.3e9, "language", "shoeybi2019megatron"),
    # T5: 1 million steps of 2^11 sequences of 512 tokens ("about 1 trillion" tokens, Sec. 3.7)
    Milestone("T5-11B", 2020, 11e9, "language", "raffel2020exploring", tokens=1e6 * 2**11 * 512),
    Milestone("GPT-3", 2020, 175e9, "language", "brown2020language", tokens=300e9, stated_flops=3.14e23),
    Milestone("Gopher", 2021, 280e9, "language", "rae2021scaling", tokens=300e9),
    Milestone("Chinchilla", 2022, 70e9, "language", "hoffmann2022training", tokens=1.4e12),
    Milestone("PaLM", 2022, 540e9, "language", "chowdhery2022palm", tokens=780e9),
    Milestone("LLaMA-65B", 2023, 65.2e9, "language", "touvron2023llama", tokens=1.4e12),
    Milestone("Llama 3 405B", 2024, 405e9, "language", "grattafiori2024llama3", tokens=15.6e12,
              stated_flops=3.8e25),
)


def growth_per_year(years: Sequence[float], values: Sequence[float]) -> float:
    """Factor by which ``values`` grow per year, from a least-squares line through log10(values)."""
    years, values = np.asarray(years, dtype=float), np.asarray(values, dtype=float)
    if years.shape != values.shape or years.size < 2 or np.ptp(years) == 0:
        raise ValueError("need at least two points with different years, as two sequences of equal length")
    if np.any(values <= 0):
        raise ValueError("values must be positive to take their logarithm")
    slope, _ = np.polyfit(years, np.log10(values), 1)
    return float(10.0**slope)


def doubling_time_months(factor_per_year: float) -> float:
    """Months it takes to double at a growth of ``factor_per_year`` (> 1)."""
    if factor_per_year <= 1:
        raise ValueError(f"a doubling time needs growth above 1 per year, got {factor_per_year}")
    return 12.0 * np.log(2.0) / np.log(factor_per_year)
