"""Chapter 11: pre-train the book's reference GPT on the Tang-poem corpus (or on synthetic tokens).

One process (CPU or one GPU)::

    python benchmarks/llm_pretrain.py --size reference --seed 0 --threads 2 \
        --out aibook/results/gpt_reference.pt

The same script, unchanged, on 8 GPUs of one machine, and on 2 machines of 8 GPUs (DDP: each process
trains on its slice of every global batch, so the result equals one process)::

    torchrun --nproc_per_node=8 benchmarks/llm_pretrain.py --size reference --seed 0
    torchrun --nnodes=2 --nproc_per_node=8 --node_rank=0 --master_addr=HOST --master_port=29500 \\
        benchmarks/llm_pretrain.py --size reference --seed 0      # and --node_rank=1 on the other

``--out`` writes the checkpoint (float16 weights, with the date, command, seed, data hash and the
validation loss of the stored weights); ``--json`` appends one line of results (losses at every
evaluation, tokens/s, seconds, machine). ``--data synthetic`` trains on a generated token stream
(the tests use it to compare 2 gloo processes with one).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

from aibook.gpt import GPT, GPTConfig, parameter_count
from aibook.train import LMTrainConfig, evaluate_lm, load_checkpoint, save_checkpoint, train_lm

#: model shapes (layers, width, heads, context); "reference" is the checkpoint the chapter ships
SIZES = {
    "tiny": (1, 32, 2, 32),
    "small": (2, 64, 4, 64),
    "reference": (4, 192, 6, 128),
    "narrow": (4, 128, 4, 128),
}
#: training settings per size: (steps, global batch, peak learning rate, warm-up steps)
RECIPES = {
    "tiny": (60, 16, 3e-3, 10),
    "small": (600, 32, 3e-3, 50),
    "reference": (2800, 16, 2e-3, 100),
    "narrow": (3000, 16, 3e-3, 100),
}


def synthetic_tokens(n: int, vocab: int = 64, seed: int = 0) -> np.ndarray:
    """A second-order Markov stream with few likely successors: learnable, with a known floor."""
    rng = np.random.default_rng(seed)
    table = rng.dirichlet(np.full(vocab, 0.1), size=(vocab, vocab))
    cum = table.cumsum(axis=-1)
    u = rng.random(n)
    out = np.zeros(n, dtype=np.int64)
    for i in range(2, n):
        out[i] = min(np.searchsorted(cum[out[i - 2], out[i - 1]], u[i]), vocab - 1)
    return out.astype(np.uint16)


def load_tokens(data: str) -> tuple[np.ndarray, np.ndarray, int, str]:
    """(train tokens, validation tokens, vocabulary size, a description naming the data)."""
    if data == "synthetic":
        stream = synthetic_tokens(48_000)
        return stream[:40_000], stream[40_000:], 64, "synthetic 2nd-order Markov, V=64"
    from aibook.bpe import reference_tokenizer
    from aibook.poetry import token_ids

    tok = reference_tokenizer()
    return (token_ids("train", tok), token_ids("validation", tok), tok.vocab_size,
            "Tang poems (aibook.poetry), reference BPE tokenizer")


def data_hash(*arrays: np.ndarray) -> str:
    """SHA-256 of the token streams the run trained and validated on (first 16 hex digits)."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.uint16).tobytes())
    return h.hexdigest()[:16]


def machine() -> str:
    """Processor or GPU, cores and threads, torch version: enough to compare timings honestly."""
    if torch.cuda.is_available():
        where = torch.cuda.get_device_name()
    else:
        where = f"{platform.processor() or platform.machine()}; {os.cpu_count()} logical CPUs"
    return f"{where}, torch threads {torch.get_num_threads()}; torch {torch.__version__}"


def ngram_baselines(data: str, path: str) -> None:
    """Unigram, bigram and the best Kneser-Ney n-gram (order and discount chosen on validation)."""
    from aibook.ngram import choose_ngram

    train, val, vocab, description = load_tokens(data)
    best, rows = choose_ngram(train, val, vocab, orders=(1, 2, 3, 4))
    out = {"data": description, "data_hash": data_hash(train, val), "vocab_size": vocab,
           "best": {"order": best.order, "discount": best.discount}, "grid": rows,
           "date": datetime.date.today().isoformat(),
           "command": f"python benchmarks/llm_pretrain.py --baselines {path}"}
    Path(path).write_text(json.dumps(out, indent=1), encoding="utf-8")
    for r in rows:
        print(f"order {r['order']} discount {r['discount']}: validation loss {r['val_loss']:.4f}")
    print(f"best on validation: order {best.order}, discount {best.discount}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="reference")
    ap.add_argument("--data", choices=["poetry", "synthetic"], default="poetry")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, help="override the size's number of steps")
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-tokens", type=int, default=32_768,
                    help="validation tokens of the evaluations during training (the final one uses all)")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--out", help="write the checkpoint here (.pt)")
    ap.add_argument("--json", help="append one JSON line of results here")
    ap.add_argument("--baselines", metavar="PATH", help="only fit the n-gram baselines, write them to PATH")
    a = ap.parse_args(argv)
    if a.baselines:
        ngram_baselines(a.data, a.baselines)
        return 0
    if a.threads:
        torch.set_num_threads(a.threads)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:  # launched by torchrun: one process per GPU (NCCL) or per CPU process (gloo)
        import torch.distributed as dist

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "gloo" and sys.platform.startswith("linux"):
            os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
        dist.init_process_group(backend)
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = a.device.startswith("cuda") or (a.device == "auto" and torch.cuda.is_available())
    if use_cuda and not torch.cuda.is_available():
        sys.exit("--device cuda: CUDA is not available here; use --device cpu")
    device = torch.device("cuda", local) if use_cuda else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    rank = int(os.environ.get("RANK", "0"))

    train, val, vocab, description = load_tokens(a.data)
    layers, width, heads, context = SIZES[a.size]
    steps, batch, lr, warmup = RECIPES[a.size]
    cfg = GPTConfig(vocab, context, layers, width, heads)
    steps = a.steps or steps
    tcfg = LMTrainConfig(steps=steps, batch_size=batch, lr=lr, warmup=min(warmup, max(1, steps // 2)),
                         eval_every=a.eval_every, eval_tokens=a.eval_tokens, seed=a.seed)
    torch.manual_seed(a.seed)  # the same initial weights in every process
    dtype = getattr(torch, a.dtype)
    model = GPT(cfg).to(device=device, dtype=dtype)
    if rank == 0:
        print(f"data: {description}; {len(train):,} training and {len(val):,} validation tokens; "
              f"hash {data_hash(train, val)}")
        print(f"model: {a.size} {cfg}; {parameter_count(cfg):,} parameters; seed {a.seed}; "
              f"{tcfg.steps} steps x {batch} x {context} tokens; {world} process(es)")
    hist = train_lm(model, train, val, tcfg, device=device, verbose=rank == 0)
    # the final numbers on every validation token: disjoint windows (as during training) and sliding
    # windows (each target with >= context/2 tokens of history, the fair comparison with an n-gram)
    final_disjoint = evaluate_lm(model, val, context, device=device)
    final_sliding = evaluate_lm(model, val, context, device=device, stride=context // 2)
    result = {
        "size": a.size, "config": cfg.to_dict(), "parameters": parameter_count(cfg), "seed": a.seed,
        "steps": tcfg.steps, "batch_size": batch, "lr": lr, "tokens": tcfg.steps * batch * context,
        "data": description, "data_hash": data_hash(train, val), "eval_steps": hist.steps,
        "train_loss": hist.train_loss, "val_loss": hist.val_loss, "val_loss_tokens": tcfg.eval_tokens,
        "final_val_loss": final_disjoint, "final_val_loss_sliding": final_sliding,
        "tokens_per_second": round(hist.tokens_per_second, 1), "train_seconds": round(hist.seconds, 1),
        "processes": world, "machine": machine(), "date": datetime.date.today().isoformat(),
        "command": shlex.join(["python", "benchmarks/llm_pretrain.py",
                               *(argv if argv is not None else sys.argv[1:])]),
        "parameter_checksum": float(sum(p.detach().double().sum() for p in model.parameters())),
    }
    if rank == 0:
        print(f"final validation loss (all tokens) {final_disjoint:.4f} in disjoint windows, "
              f"{final_sliding:.4f} sliding; {result['tokens_per_second']:,.0f} tokens/s "
              f"over {result['train_seconds']:.0f} s of training")
        if a.out:
            save_checkpoint(a.out, model.float().cpu(), result)
            stored, _ = load_checkpoint(a.out)  # record the loss of the float16 weights actually shipped
            result["stored_val_loss"] = evaluate_lm(stored, val, context)
            result["stored_val_loss_sliding"] = evaluate_lm(stored, val, context, stride=context // 2)
            # what 11.3 recomputes within its time budget: the first 32,768 validation tokens
            result["stored_val_loss_first_32768"] = evaluate_lm(stored, val, context, 32_768)
            save_checkpoint(a.out, stored, result)
            print(f"checkpoint {a.out}: {Path(a.out).stat().st_size / 1e6:.1f} MB, stored weights give "
                  f"validation loss {result['stored_val_loss']:.4f} "
                  f"({result['stored_val_loss_sliding']:.4f} sliding)")
        if a.json:
            with open(a.json, "a", encoding="utf-8") as f:
                f.write(json.dumps(result) + "\n")
    if world > 1:
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
