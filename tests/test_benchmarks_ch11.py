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
