"""benchmarks/llm_finetune.py end to end on a tiny random GPT: every part runs and stores its record."""

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import llm_finetune  # noqa: E402

from aibook.bpe import reference_tokenizer  # noqa: E402
from aibook.gpt import GPT, GPTConfig  # noqa: E402
from aibook.train import save_checkpoint  # noqa: E402


def test_finetune_benchmark_records_sft_lora_and_dpo(tmp_path):
    torch.manual_seed(0)
    ckpt, out = tmp_path / "tiny.pt", tmp_path / "runs.jsonl"
    vocab = reference_tokenizer().vocab_size
    model = GPT(GPTConfig(vocab, context=128, n_layers=1, d_model=16, n_heads=2))
    save_checkpoint(ckpt, model, {"val_loss": 8.3})
    llm_finetune.main(["--checkpoint", str(ckpt), "--seeds", "0", "--train-per-task", "20",
                       "--eval-per-task", "3", "--sft-steps", "2", "--batch-size", "4", "--dpo-pairs", "20",
                       "--dpo-steps", "2", "--betas", "0.1", "--dpo-eval-prompts", "2", "--dpo-samples", "2",
                       "--int8-tokens", "600", "--out", str(out)])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    kinds = [(r["kind"], r.get("mask_prompt")) for r in rows]
    assert kinds == [("int8", None), ("sft", True), ("sft", False), ("lora", None), ("dpo", None)]
    int8, rows = rows[0], rows[1:]
    assert int8["layers"] == 4 and int8["tensor_bytes_int8"] < int8["tensor_bytes_float32"]
    assert abs(int8["val_loss_int8"] - int8["val_loss_float32"]) < 0.05
    for r in rows:
        assert r["command"].startswith("benchmarks/llm_finetune.py --checkpoint") and r["seed"] == 0
        assert r["date"] and r["corpus"] and r["tokenizer"] and r["checkpoint"] == "tiny.pt"
    sft = rows[0]
    assert set(sft["test"]) >= {"next_line", "next_line_shape", "author", "title", "format"}
    lora = rows[2]
    assert lora["optimizer_bytes"] == lora["optimizer_bytes_formula"] < lora["full_optimizer_bytes_formula"]
    dpo = rows[3]
    assert 0 <= dpo["test"]["win_rate"] <= 1 and dpo["beta"] == 0.1
