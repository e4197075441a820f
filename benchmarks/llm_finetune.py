"""Chapter 11's fine-tuning benchmark: SFT with and without the prompt mask, LoRA against full
fine-tuning, DPO against the SFT model for several β, over seeds, from the reference checkpoint;
and the int8 weight-only model's memory and validation loss.

    .venv/bin/python benchmarks/llm_finetune.py --seeds 0 1 2

Every run starts from the shipped pre-trained checkpoint, trains on instructions built from the
training poems only, and is scored on prompts built from the validation poems (used for choices) and
the test poems (reported). One JSON line per run is appended to ``--out`` (default
``aibook/results/llm_finetune.jsonl``) with the date, the command, the seed and the data hashes; the
pages 11.5–11.7 read that file. Single-threaded by default (``--threads``), so runs are comparable.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from aibook.bpe import reference_tokenizer
from aibook.compression import quantize_weights_int8, tensor_bytes
from aibook.finetune import (
    adamw_state_bytes,
    add_lora,
    complete,
    dpo_train,
    optimizer_state_bytes,
    sft_eval_loss,
    sft_train,
    trainable_parameter_count,
)
from aibook.instructions import (
    build_instructions,
    chat_prompt,
    encode_chat,
    format_close,
    frequent_authors,
    is_correct,
    preference_pairs,
    satisfies_format,
)
from aibook.poetry import corpus_hash, poems, token_ids
from aibook.train import REFERENCE_CHECKPOINT, evaluate_lm, load_checkpoint

RESULTS = Path(__file__).resolve().parent.parent / "aibook" / "results"
SFT_TASKS = ("next_line", "author", "title", "format")
LORA_TARGETS = ("attn.qkv", "attn.proj", "mlp.0", "mlp.2")


def setting(args) -> dict:
    return {k: v for k, v in vars(args).items() if k not in ("seeds", "out", "parts")}


def encode_all(tokenizer, examples, mask_prompt: bool, context: int):
    encoded = [encode_chat(tokenizer, e.prompt, e.answer, mask_prompt) for e in examples]
    return [x for x in encoded if len(x[0]) <= context]


def task_scores(model, tokenizer, examples, context: int, max_new: int = 100) -> dict:
    """Greedy answers to held-out prompts, scored per task (and the lenient next-line shape score)."""
    eot = tokenizer.special_tokens["<|endoftext|>"]
    prompts = [chat_prompt(tokenizer, e.prompt) for e in examples]
    outputs = []
    for i in range(0, len(prompts), 64):
        batch = prompts[i : i + 64]
        room = context - max(len(p) for p in batch)
        outputs += complete(model, batch, min(max_new, room), eot, context)
    texts = [tokenizer.decode(o) for o in outputs]
    scores: dict[str, list[float]] = {}
    for e, text in zip(examples, texts, strict=True):
        scores.setdefault(e.task, []).append(float(is_correct(e, text)))
        if e.task == "next_line":
            scores.setdefault("next_line_shape", []).append(float(format_close(e, text)))
    return {task: statistics.fmean(v) for task, v in scores.items()}


def sampled_satisfaction(model, tokenizer, prompts: list[str], samples: int, context: int, seed: int,
                         max_new: int = 100) -> list[float]:
    """For each format prompt, the fraction of ``samples`` sampled poems (temperature 1) that satisfy it."""
    eot = tokenizer.special_tokens["<|endoftext|>"]
    g = torch.Generator().manual_seed(seed)
    ids = [chat_prompt(tokenizer, p) for p in prompts]
    out = []
    for p, prompt_ids in zip(prompts, ids, strict=True):
        batch = [prompt_ids] * samples
        new = complete(model, batch, min(max_new, context - len(prompt_ids)), eot, context,
                       temperature=1.0, generator=g)
        texts = [tokenizer.decode(o) for o in new]
        out.append(statistics.fmean(float(satisfies_format(p, t)) for t in texts))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None, help="default: the book's reference checkpoint")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--parts", nargs="+", default=["int8", "sft", "lora", "dpo"],
                        choices=["int8", "sft", "lora", "dpo"])
    parser.add_argument("--int8-tokens", type=int, default=65536, help="validation tokens for the int8 loss")
    parser.add_argument("--train-per-task", type=int, default=2000)
    parser.add_argument("--eval-per-task", type=int, default=100)
    parser.add_argument("--sft-steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sft-lr", type=float, default=3e-4)
    parser.add_argument("--lora-lr", type=float, default=3e-3)
    parser.add_argument("--lora-r", type=int, default=8)
    parser.add_argument("--lora-alpha", type=float, default=16.0)
    parser.add_argument("--dpo-pairs", type=int, default=2000)
    parser.add_argument("--dpo-steps", type=int, default=100)
    parser.add_argument("--dpo-lr", type=float, default=1e-4)
    parser.add_argument("--betas", type=float, nargs="+", default=[0.05, 0.1, 0.5])
    parser.add_argument("--dpo-eval-prompts", type=int, default=60)
    parser.add_argument("--dpo-samples", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS / "llm_finetune.jsonl"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    tokenizer = reference_tokenizer()
    path = args.checkpoint or REFERENCE_CHECKPOINT
    base, meta = load_checkpoint(path)
    context = base.config.context
    pad = tokenizer.special_tokens["<|endoftext|>"]
    train, val, test = poems("train"), poems("validation"), poems("test")
    authors = frequent_authors(train)
    train_ex = build_instructions(train, SFT_TASKS, args.train_per_task, seed=0, authors=authors)
    held_out = {split: build_instructions(ps, SFT_TASKS, args.eval_per_task, seed=1, authors=authors)
                for split, ps in (("validation", val), ("test", test))}
    common = {"date": datetime.date.today().isoformat(), "command": " ".join(["benchmarks/llm_finetune.py",
              *(argv if argv is not None else sys.argv[1:])]), "corpus": corpus_hash()[:16],
              "tokenizer": tokenizer.fingerprint()[:16], "checkpoint": Path(path).name,
              "checkpoint_val_loss": meta.get("val_loss"), "threads": args.threads, "settings": setting(args)}

    def record(row: dict) -> None:
        row = {**common, **row}
        shown = {k: v for k, v in row.items() if k not in ("settings", "command")}
        print(json.dumps(shown, ensure_ascii=False), flush=True)
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")

    def evaluate(model, kind: str, seed: int, **extra) -> dict:
        row = {"kind": kind, "seed": seed, **extra}
        for split, examples in held_out.items():
            row[split] = task_scores(model, tokenizer, examples, context)
            encoded = encode_all(tokenizer, examples, True, context)
            row[f"{split}_response_loss"] = sft_eval_loss(model, encoded, pad)
        return row

    if "int8" in args.parts:  # weight-only int8: memory and validation loss against float32
        val_tokens = token_ids("validation", tokenizer)
        quantised = copy.deepcopy(base)
        names = quantize_weights_int8(quantised, skip=("head",))  # the head is tied to the embedding
        losses = {name: evaluate_lm(m, val_tokens, context, args.int8_tokens)
                  for name, m in (("float32", base), ("int8", quantised))}
        record({"kind": "int8", "seed": None, "layers": len(names), "val_tokens": args.int8_tokens,
                "val_loss_float32": losses["float32"], "val_loss_int8": losses["int8"],
                "tensor_bytes_float32": tensor_bytes(base), "tensor_bytes_int8": tensor_bytes(quantised)})

    sft_models = {}
    for seed in args.seeds:
        for mask in (True, False) if "sft" in args.parts or "dpo" in args.parts else ():
            if not mask and "sft" not in args.parts:
                continue
            torch.manual_seed(seed)
            model = copy.deepcopy(base)
            data = encode_all(tokenizer, train_ex, mask, context)
            t0 = time.perf_counter()
            losses = sft_train(model, data, args.sft_steps, args.batch_size, args.sft_lr, pad, seed=seed)
            seconds = time.perf_counter() - t0
            if mask:
                sft_models[seed] = model
            if "sft" in args.parts:
                record(evaluate(model, "sft", seed, mask_prompt=mask, final_train_loss=losses[-1],
                                seconds=seconds, trainable=trainable_parameter_count(model)))
        if "lora" in args.parts:
            torch.manual_seed(seed)
            model = copy.deepcopy(base)
            add_lora(model, LORA_TARGETS, args.lora_r, args.lora_alpha)
            data = encode_all(tokenizer, train_ex, True, context)
            t0 = time.perf_counter()
            losses = sft_train(model, data, args.sft_steps, args.batch_size, args.lora_lr, pad, seed=seed)
            seconds = time.perf_counter() - t0
            params = [p for p in model.parameters() if p.requires_grad]
            probe = torch.optim.AdamW(params, lr=0.0, weight_decay=0.0)  # changes no weight
            for p in params:
                p.grad = torch.zeros_like(p)
            probe.step()  # one zero-gradient step fills the state, to measure its size
            record(evaluate(model, "lora", seed, r=args.lora_r, alpha=args.lora_alpha,
                            final_train_loss=losses[-1], seconds=seconds,
                            trainable=trainable_parameter_count(model),
                            optimizer_bytes=optimizer_state_bytes(probe),
                            optimizer_bytes_formula=adamw_state_bytes(sum(p.numel() for p in params),
                                                                      len(params)),
                            full_optimizer_bytes_formula=adamw_state_bytes(
                                sum(p.numel() for p in base.parameters()), len(list(base.parameters())))))
        if "dpo" in args.parts:
            sft = sft_models[seed]
            pairs = preference_pairs(train, args.dpo_pairs, seed=seed)
            encoded = [tuple(encode_chat(tokenizer, p.prompt, answer) for answer in (p.chosen, p.rejected))
                       for p in pairs]
            encoded = [pc for pc in encoded if max(len(pc[0][0]), len(pc[1][0])) <= context]
            eval_prompts = {split: [p.prompt for p in preference_pairs(ps, args.dpo_eval_prompts, seed=100)]
                            for split, ps in (("validation", val), ("test", test))}
            sft_sat = {split: sampled_satisfaction(sft, tokenizer, ps, args.dpo_samples, context, seed)
                       for split, ps in eval_prompts.items()}
            for beta in args.betas:
                policy = copy.deepcopy(sft)
                t0 = time.perf_counter()
                history = dpo_train(policy, copy.deepcopy(sft), encoded, args.dpo_steps, args.batch_size // 2,
                                    args.dpo_lr, beta, pad, seed=seed)
                row = {"kind": "dpo", "seed": seed, "beta": beta, "seconds": time.perf_counter() - t0,
                       "final_loss": history[-1]["loss"], "final_margin": history[-1]["margin"],
                       "final_reward_accuracy": history[-1]["reward_accuracy"]}
                for split, ps in eval_prompts.items():
                    dpo_sat = sampled_satisfaction(policy, tokenizer, ps, args.dpo_samples, context, seed)
                    wins = [1.0 if d > s else 0.5 if d == s else 0.0
                            for d, s in zip(dpo_sat, sft_sat[split], strict=True)]
                    row[split] = {"sft_satisfaction": statistics.fmean(sft_sat[split]),
                                  "dpo_satisfaction": statistics.fmean(dpo_sat),
                                  "win_rate": statistics.fmean(wins)}
                    row[f"{split}_response_loss"] = sft_eval_loss(
                        policy, encode_all(tokenizer, held_out[split], True, context), pad)
                record(row)


if __name__ == "__main__":
    main()
