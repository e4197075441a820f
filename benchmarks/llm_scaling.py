"""Chapter 11.4: loss against model size and training tokens, measured on our own small GPTs.

    python benchmarks/llm_scaling.py --seeds 0 --threads 1              # the whole grid, seed 0
    python benchmarks/llm_scaling.py --seeds 1 2 --budgets 524288         # more seeds, largest budget
    python benchmarks/llm_scaling.py --report                            # what is stored so far

Every (size, token budget, seed) is its own run with its own warm-up + cosine schedule that ends at
the budget (reading the loss of a longer run part-way would understate small budgets: Hoffmann et
al. 2022, section 3). All runs share the batch (16 x 128 tokens), the peak learning rate and the
validation tokens. Each finished run appends one JSON line to ``aibook/results/llm_scaling.jsonl``
(runs already stored are skipped, so the grid can be run in pieces and in parallel processes);
11.4 fits L(N) and L(N, D) to them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llm_pretrain import data_hash, load_tokens, machine  # noqa: E402

from aibook.gpt import GPT, GPTConfig, flops_per_token, non_embedding_count, parameter_count  # noqa: E402
from aibook.train import LMTrainConfig, evaluate_lm, train_lm  # noqa: E402

RESULTS = Path(__file__).resolve().parent.parent / "aibook" / "results" / "llm_scaling.jsonl"
#: (layers, width, heads): non-embedding parameters from about 13 thousand to 0.8 million
SIZES = ((1, 32, 2), (2, 48, 4), (2, 64, 4), (3, 96, 4), (4, 128, 4))
BUDGETS = (131_072, 262_144, 524_288)  # training tokens: 64, 128, 256 steps of 16 x 128
CONTEXT, BATCH, LR, VAL_TOKENS = 128, 16, 2e-3, 131_072


def stored(path: Path = RESULTS) -> list[dict]:
    """The runs stored so far."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(size: tuple[int, int, int], budget: int, seed: int, data: str, train, val, vocab: int) -> dict:
    """Train one size on one budget from one seed; return its JSON record."""
    layers, width, heads = size
    cfg = GPTConfig(vocab, CONTEXT, layers, width, heads)
    steps = budget // (BATCH * CONTEXT)
    tcfg = LMTrainConfig(steps=steps, batch_size=BATCH, lr=LR, warmup=max(1, steps // 20), eval_every=steps,
                         eval_tokens=VAL_TOKENS, seed=seed)
    torch.manual_seed(seed)
    model = GPT(cfg)
    hist = train_lm(model, train, val, tcfg, verbose=False)
    return {
        "layers": layers, "width": width, "heads": heads, "parameters": parameter_count(cfg),
        "non_embedding": non_embedding_count(cfg), "tokens": steps * BATCH * CONTEXT, "seed": seed,
        "flops": flops_per_token(cfg) * steps * BATCH * CONTEXT, "lr": LR, "batch": BATCH, "context": CONTEXT,
        "val_loss": evaluate_lm(model, val, CONTEXT, VAL_TOKENS), "train_loss": hist.train_loss[-1],
        "tokens_per_second": round(hist.tokens_per_second, 1), "train_seconds": round(hist.seconds, 1),
        "data": data, "data_hash": data_hash(train, val), "machine": machine(),
        "date": datetime.date.today().isoformat(),
    }


def report(rows: list[dict]) -> str:
    """Markdown table: mean validation loss (min to max over seeds) per size and budget."""
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        groups.setdefault((r["non_embedding"], r["width"], r["tokens"]), []).append(r["val_loss"])
    lines = ["| N (non-emb.) | width | tokens | seeds | val loss (range) |", "|---|---|---|---|---|"]
    for (n, w, d), v in sorted(groups.items()):
        mean = sum(v) / len(v)
        lines.append(f"| {n:,} | {w} | {d:,} | {len(v)} | {mean:.4f} ({min(v):.4f}-{max(v):.4f}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    ap.add_argument("--widths", type=int, nargs="+", help="only these sizes (by width)")
    ap.add_argument("--data", choices=["poetry", "synthetic"], default="poetry")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--report", action="store_true", help="print the stored runs as a table and stop")
    a = ap.parse_args(argv)
    if a.report:
        print(report(stored(a.out)))
        return 0
    torch.set_num_threads(a.threads)
    train, val, vocab, description = load_tokens(a.data)
    sizes = [s for s in SIZES if a.widths is None or s[1] in a.widths]
    key = data_hash(train, val)
    for seed in a.seeds:
        for budget in sorted(a.budgets):
            for size in sizes:
                done = {(r["width"], r["tokens"], r["seed"], r["data_hash"]) for r in stored(a.out)}
                if (size[1], budget // (BATCH * CONTEXT) * BATCH * CONTEXT, seed, key) in done:
                    continue
                row = run(size, budget, seed, description, train, val, vocab)
                with open(a.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"width {size[1]:>3} tokens {row['tokens']:>9,} seed {seed}: "
                      f"val loss {row['val_loss']:.4f} "
                      f"({row['train_seconds']:.0f} s, {row['tokens_per_second']:,.0f} tokens/s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
