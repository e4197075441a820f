"""Chapter 11 benchmark scripts on synthetic tokens: options, stored records, resumption, errors."""

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import llm_pretrain  # noqa: E402
import llm_scaling  # noqa: E402

from aibook.train import load_checkpoint  # noqa: E402


def test_pretrain_writes_a_checkpoint_with_its_metadata(tmp_path, capsys):
    out, log = tmp_path / "m.pt", tmp_path / "runs.jsonl"
    assert llm_pretrain.main(["--data", "synthetic", "--size", "tiny", "--steps", "8", "--eval-every", "4",
                              "--threads", "1", "--out", str(out), "--json", str(log)]) == 0
    model, meta = load_checkpoint(out)
    for key in ("date", "command", "seed", "data_hash", "stored_val_loss", "stored_val_loss_first_32768"):
        assert key in meta
    assert meta["command"].startswith("python benchmarks/llm_pretrain.py --data synthetic")
    assert json.loads(log.read_text())["eval_steps"] == [4, 8]
    assert model.config.n_layers == llm_pretrain.SIZES["tiny"][0]
    assert "final validation loss" in capsys.readouterr().out


def test_baselines_choose_on_validation(tmp_path):
    path = tmp_path / "b.json"
    llm_pretrain.main(["--data", "synthetic", "--baselines", str(path)])
    out = json.loads(path.read_text())
    best = min(out["grid"], key=lambda r: r["val_loss"])
    assert out["best"] == {"order": best["order"], "discount": best["discount"]}
    assert best["order"] >= 2  # the synthetic stream is a second-order chain


def test_scaling_runs_are_stored_and_not_repeated(tmp_path, capsys):
    out = tmp_path / "s.jsonl"
    args = ["--data", "synthetic", "--budgets", "4096", "--widths", "32", "--out", str(out)]
    llm_scaling.main(args)
    llm_scaling.main(args)  # already stored: skipped
    rows = llm_scaling.stored(out)
    assert len(rows) == 1 and rows[0]["tokens"] == 4096 and rows[0]["width"] == 32
    assert rows[0]["flops"] > 6 * rows[0]["non_embedding"] * rows[0]["tokens"]
    llm_scaling.main(["--report", "--out", str(out)])
    assert "| 12,768 | 32 | 4,096 | 1 |" in capsys.readouterr().out


def test_cuda_without_a_gpu_is_one_clear_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the error cannot occur")
    with pytest.raises(SystemExit, match="CUDA is not available"):
        llm_pretrain.main(["--data", "synthetic", "--size", "tiny", "--device", "cuda"])


def test_inference_benchmark_stores_every_part(tmp_path):
    import llm_inference

    out = tmp_path / "inference.json"
    assert llm_inference.main(["--lengths", "4", "8", "--context", "32", "--prompt-tokens", "4",
                               "--rounds", "2", "--batch-prompts", "3", "--batch-new-tokens", "4",
                               "--int8-tokens", "600", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    for part in ("cache", "batch", "int8"):
        assert result[part]["command"].startswith("python benchmarks/llm_inference.py --lengths 4 8")
        assert {"date", "machine"} <= result[part].keys()
    assert "checkpoint_sha256" in result["int8"] and "checkpoint_sha256" not in result["cache"]
    assert result["cache"]["config"]["context"] == 32 and len(result["cache"]["seconds"]["8"]["cache"]) == 2
    assert len(result["batch"]["seconds"]["batched"]) == 2
    assert result["int8"]["tensor_bytes"]["int8"] < result["int8"]["tensor_bytes"]["float32"]
    assert result["int8"]["val_tokens"] == 600
    llm_inference.main(["--parts", "int8", "--int8-tokens", "300", "--rounds", "1", "--out", str(out)])
    again = json.loads(out.read_text())
    assert again["int8"]["val_tokens"] == 300 and again["cache"] == result["cache"]  # other parts kept
