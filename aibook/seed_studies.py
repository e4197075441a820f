"""Per-seed claims of Chapters 2 and 6 checked on seeds 0–4, as stored: five seeds of these studies do
not fit in their page's 45 s, so ``benchmarks/seed_studies.py`` runs them (the page's own cells, one
CPU thread) and their results ship with the package in ``aibook/results/seed_studies.jsonl``, one JSON
line per (study, setting, seed), so the pages can show and check them on Colab too.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "seed_studies.jsonl"
SEEDS = (0, 1, 2, 3, 4)


def stored_runs(study: str, path: Path = RESULTS) -> list[dict]:
    """The stored lines of one study; where a (setting, epochs, seed) was run again, the latest wins."""
    latest: dict[tuple, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        run = json.loads(line)
        if run["study"] == study:
            latest[run["setting"], run.get("epochs"), run["seed"]] = run
    return list(latest.values())


def per_seed(study: str, setting: str, metric: str, epochs: int | None = None,
             path: Path = RESULTS) -> list[float]:
    """``metric`` of one setting for seeds 0–4, in seed order; fails if a seed is missing."""
    found = {r["seed"]: r[metric] for r in stored_runs(study, path)
             if r["setting"] == setting and r.get("epochs") == epochs}
    missing = [s for s in SEEDS if s not in found]
    if missing:
        raise LookupError(f"no stored run of {study} / {setting} for seeds {missing}: "
                          f"run benchmarks/seed_studies.py {study}")
    return [found[s] for s in SEEDS]


def describe(study: str, path: Path = RESULTS) -> str:
    """One line that says when, where and with which command a study's runs were made."""
    runs = stored_runs(study, path)
    dates = sorted({r["date"] for r in runs})
    return (f"stored runs of '{study}': {len(runs)} lines, {dates[0]}–{dates[-1]}, {runs[0]['machine']}; "
            f"command: python benchmarks/seed_studies.py {study}")


def row(values: list[float], digits: int = 3) -> str:
    """Values of seeds 0–4 followed by their mean and range (max − min), fixed width."""
    cells = [f"{v:>8.{digits}f}" for v in values]
    return "".join(cells) + f"{statistics.mean(values):>8.{digits}f}{max(values) - min(values):>8.{digits}f}"


def header(first: str = "", width: int = 28) -> str:
    """The column heads that go with ``row``."""
    return f"{first:<{width}}" + "".join(f"{'seed ' + str(s):>8}" for s in SEEDS) + f"{'mean':>8}{'range':>8}"


def report(studies: list[str] | None = None, path: Path = RESULTS) -> str:
    """Every stored metric of the given studies (default: all), one line per setting."""
    if not path.exists():
        return "no stored runs yet"
    lines_of_file = path.read_text(encoding="utf-8").splitlines()
    names = studies or sorted({json.loads(line)["study"] for line in lines_of_file})
    lines = []
    for study in names:
        lines.append(describe(study, path))
        runs = stored_runs(study, path)
        keys = sorted({(r["setting"], r.get("epochs")) for r in runs}, key=str)
        metrics = [m for m in runs[0] if isinstance(runs[0][m], float) and m != "seconds"]
        lines.append(header("setting / metric", 44))
        for setting, epochs in keys:
            for metric in metrics:
                try:
                    values = per_seed(study, setting, metric, epochs, path)
                except (LookupError, KeyError):
                    continue
                label = f"{setting}{'' if epochs is None else f', {epochs} ep'} / {metric}"
                lines.append(f"{label:<44}" + row(values))
    return "\n".join(lines)
