"""Chapter 11's inference benchmark (page 11.8): the KV cache's speed-up against the number of new
tokens, batched against one-prompt-at-a-time generation, and int8 weight-only quantisation of the
reference checkpoint on every validation token.

    .venv/bin/python benchmarks/llm_inference.py --threads 1

Part ``cache``: the reference model's context is 128 tokens, too short for 256 new tokens, so this part
times a GPT of the reference model's shape (layers, width, heads, vocabulary) with a context of 512
tokens and random weights (seed 0). The time of a forward pass does not depend on the values of the
weights, and every run generates exactly the requested number of tokens (greedy, no stop token), so
trained weights would take the same time. In every round each length is timed with and without the
cache, the order alternating between rounds, so that a change of machine load falls on both; the two
runs must give identical tokens. Part ``batch``: the reference checkpoint continues prompts of
different lengths, one at a time and as one left-padded batch (identical tokens required). Part
``int8``: the reference checkpoint and its int8 weight-only copy: bytes in memory and on disk,
validation loss on every validation token, and the time of a forward pass (interleaved).

Writes ``--out`` (default ``aibook/results/llm_inference.json``): one entry per part, each with its
date, command, machine (and the checkpoint's SHA-256 for the parts that use it) and every raw time;
running some ``--parts`` replaces those and keeps the others.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import functools
import hashlib
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

from aibook.bpe import END_OF_TEXT, reference_tokenizer
from aibook.compression import interleaved_latencies, model_size_bytes, quantize_weights_int8, tensor_bytes
from aibook.gpt import GPT, GPTConfig, generate, left_pad
from aibook.poetry import poems, token_ids
from aibook.train import REFERENCE_CHECKPOINT, evaluate_lm, load_checkpoint

sys.path.insert(0, str(Path(__file__).resolve().parent))
from llm_pretrain import machine  # noqa: E402

RESULTS = Path(__file__).resolve().parent.parent / "aibook" / "results"


def timed(fn, device: torch.device):
    """(result of fn(), wall seconds), waiting for the GPU to finish when there is one."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def cache_part(vocab: int, reference: GPTConfig, prompt: torch.Tensor, lengths: list[int], rounds: int,
               context: int, device: torch.device) -> dict:
    """Seconds to generate each number of new tokens with and without the KV cache, ``rounds`` times."""
    cfg = GPTConfig(vocab, context, reference.n_layers, reference.d_model, reference.n_heads)
    torch.manual_seed(0)
    model = GPT(cfg).to(device).eval()
    if prompt.shape[1] + max(lengths) > context:
        raise SystemExit(f"prompt ({prompt.shape[1]}) + {max(lengths)} new tokens exceed the context "
                         f"{context}: raise --context")
    for use_cache in (True, False):  # warm-up
        generate(model, prompt, 8, use_cache=use_cache)
    times = {n: {"cache": [], "no_cache": []} for n in lengths}
    for r in range(rounds):
        for n in lengths:
            order = (True, False) if r % 2 == 0 else (False, True)
            out = {}
            for use_cache in order:
                run = functools.partial(generate, model, prompt, n, use_cache=use_cache)
                out[use_cache], seconds = timed(run, device)
                times[n]["cache" if use_cache else "no_cache"].append(seconds)
            if not torch.equal(out[True], out[False]):
                raise SystemExit(f"{n} new tokens: the cached and uncached tokens differ")
            ratio = times[n]["no_cache"][-1] / times[n]["cache"][-1]
            print(f"round {r}: {n:>4} new tokens: cache {times[n]['cache'][-1]:.3f} s, "
                  f"no cache {times[n]['no_cache'][-1]:.3f} s, speed-up {ratio:.1f}x", flush=True)
    return {"config": cfg.to_dict(), "prompt_tokens": prompt.shape[1], "rounds": rounds,
            "weights": "random (seed 0): generation time does not depend on the weights' values",
            "seconds": {str(n): t for n, t in times.items()}}


def batch_part(model: GPT, prompts: list[list[int]], new_tokens: int, rounds: int, pad_id: int,
               device: torch.device) -> dict:
    """Seconds to continue ``prompts`` one at a time and as one left-padded batch (greedy, KV cache)."""
    idx, padding = left_pad(prompts, pad_id, device)
    alone_inputs = [torch.tensor([p], device=device) for p in prompts]
    times: dict[str, list[float]] = {"one_at_a_time": [], "batched": []}
    for r in range(rounds + 1):  # round 0 warms up and is not kept
        order = ("batched", "one_at_a_time") if r % 2 else ("one_at_a_time", "batched")
        for kind in order:
            if kind == "batched":
                out, seconds = timed(lambda: generate(model, idx, new_tokens, padding=padding), device)
                batched = [row[idx.shape[1]:].tolist() for row in out]
            else:
                out, seconds = timed(lambda: [generate(model, x, new_tokens) for x in alone_inputs], device)
                alone = [o[0, x.shape[1]:].tolist() for o, x in zip(out, alone_inputs, strict=True)]
            if r:
                times[kind].append(seconds)
        if batched != alone:
            raise SystemExit("batched generation differs from one prompt at a time")
    median = {kind: statistics.median(t) for kind, t in times.items()}
    print(f"{len(prompts)} prompts x {new_tokens} new tokens: one at a time {median['one_at_a_time']:.3f} s, "
          f"batched {median['batched']:.3f} s")
    return {"prompts": len(prompts), "prompt_lengths": [len(p) for p in prompts], "new_tokens": new_tokens,
            "rounds": rounds, "seconds": times}


def int8_part(model: GPT, val, rounds: int, device: torch.device) -> dict:
    """Bytes, validation loss on ``val`` and forward time of float32 and int8 weights."""
    quantised = copy.deepcopy(model)
    layers = quantize_weights_int8(quantised, skip=("head",))  # the head is the embedding matrix, tied
    context = model.config.context
    losses = {name: evaluate_lm(m, val, context, device=device)
              for name, m in (("float32", model), ("int8", quantised))}
    x = torch.as_tensor(val[:context].astype("int64"), device=device)[None]
    latencies = interleaved_latencies({"float32": model, "int8": quantised}, x, rounds=rounds)
    print(f"int8: {len(layers)} layers; validation loss float32 {losses['float32']:.4f}, "
          f"int8 {losses['int8']:.4f}; tensor bytes {tensor_bytes(model):,} -> {tensor_bytes(quantised):,}")
    return {"layers": layers, "val_tokens": len(val), "val_loss": losses,
            "tensor_bytes": {"float32": tensor_bytes(model), "int8": tensor_bytes(quantised)},
            "file_bytes": {"float32": model_size_bytes(model), "int8": model_size_bytes(quantised)},
            "forward_seconds": latencies, "forward_tokens": context}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parts = ["cache", "batch", "int8"]
    ap.add_argument("--parts", nargs="+", choices=parts, default=parts)
    ap.add_argument("--lengths", type=int, nargs="+", default=[32, 64, 128, 256])
    ap.add_argument("--context", type=int, default=512, help="context of the timed model (part cache)")
    ap.add_argument("--prompt-tokens", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batch-prompts", type=int, default=16)
    ap.add_argument("--batch-new-tokens", type=int, default=48)
    ap.add_argument("--int8-tokens", type=int, help="validation tokens for the int8 loss (default: all)")
    ap.add_argument("--checkpoint", default=str(REFERENCE_CHECKPOINT))
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--out", default=str(RESULTS / "llm_inference.json"))
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("--device cuda: CUDA is not available here; use --device cpu")
    device = torch.device(a.device)

    tok = reference_tokenizer()
    val = token_ids("validation", tok)
    model, meta = load_checkpoint(a.checkpoint, device)
    model.eval()
    # each part carries its own provenance, so parts can be re-run alone (a new checkpoint needs only
    # batch and int8) and the others stay in the file
    result = {}
    common = {"date": datetime.date.today().isoformat(),
              "command": shlex.join(["python", "benchmarks/llm_inference.py",
                                     *(argv if argv is not None else sys.argv[1:])]),
              "machine": machine(), "device": device.type}
    checkpoint = {"checkpoint_sha256": hashlib.sha256(Path(a.checkpoint).read_bytes()).hexdigest()[:16],
                  "checkpoint_val_loss": meta.get("stored_val_loss")}
    if "cache" in a.parts:
        prompt = torch.as_tensor(val[:a.prompt_tokens].astype("int64"), device=device)[None]
        result["cache"] = {**common, **cache_part(tok.vocab_size, model.config, prompt, a.lengths, a.rounds,
                                                  a.context, device)}
    if "batch" in a.parts:
        prompts = [tok.encode(f"{p.title}\n{p.author}\n") for p in poems("validation")[:a.batch_prompts]]
        result["batch"] = {**common, **checkpoint, **batch_part(model, prompts, a.batch_new_tokens, a.rounds,
                                                                tok.special_tokens[END_OF_TEXT], device)}
    if "int8" in a.parts:
        measured = int8_part(model, val[:a.int8_tokens], 4 * a.rounds, device)
        result["int8"] = {**common, **checkpoint, **measured}
    path = Path(a.out)  # read just before writing: another run may have stored other parts meanwhile
    stored = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    path.write_text(json.dumps({**stored, **result}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
