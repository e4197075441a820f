"""aibook.distributed: the DDP demo runs offline with gloo and matches single-process training."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from aibook import distributed as d


def test_shard_gradients_average_to_the_global_batch_gradient():
    x, y = d.global_batch(0, 32)
    full = d.make_model()
    torch.nn.functional.cross_entropy(full(x), y).backward()
    shards = []
    for r in range(4):
        m = d.make_model()
        torch.nn.functional.cross_entropy(m(x[r * 8:(r + 1) * 8]), y[r * 8:(r + 1) * 8]).backward()
        shards.append(torch.cat([p.grad.reshape(-1) for p in m.parameters()]))
    want = torch.cat([p.grad.reshape(-1) for p in full.parameters()])
    torch.testing.assert_close(torch.stack(shards).mean(0), want)


def test_model_and_batches_are_deterministic():
    assert torch.equal(d.flat_parameters(d.make_model()), d.flat_parameters(d.make_model()))
    a, b = d.global_batch(3, 16), d.global_batch(3, 16)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(d.global_batch(4, 16)[0], a[0])
    assert len(set(a[1].tolist())) > 1  # more than one class in a batch


def test_ddp_two_gloo_processes_match_single_process():
    r = subprocess.run([sys.executable, "-m", "aibook.distributed", "--world-size", "2", "--steps", "3"],
                       capture_output=True, text=True, timeout=600)  # hang protection only
    assert r.returncode == 0, r.stderr[-2000:]
    assert "replicas identical after training: True" in r.stdout
    assert "max |DDP - single process| < 1e-12: True" in r.stdout


def test_bad_arguments_give_one_line_errors():
    with pytest.raises(SystemExit, match="must be divisible"):
        d.main(["--world-size", "3", "--batch-size", "32"])
    if not torch.cuda.is_available():
        with pytest.raises(SystemExit, match="nccl needs CUDA"):
            d.main(["--backend", "nccl"])


def test_report_measures_float32_broadcast_fsdp_and_timings(tmp_path):
    out = tmp_path / "report.json"
    r = subprocess.run([sys.executable, "-m", "aibook.distributed", "--report", str(out), "--repeats", "1",
                        "--timing-steps", "1"], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    rep = json.loads(out.read_text())
    assert 0 < rep["float32_max_diff"] < 1e-5  # equal up to float32 rounding, not bit for bit
    assert rep["seeds_differ_before_wrap"] and rep["after_wrap_equals_rank0"]
    assert rep["different_seeds_max_diff"] < 1e-12
    assert sum(rep["fsdp_local_parameters"]) == rep["fsdp_total_parameters"]
    assert max(rep["fsdp_local_parameters"]) < rep["fsdp_total_parameters"]
    assert rep["fsdp_max_diff"] < 1e-12
    assert [(o["hidden"], o["batch"]) for o in rep["overhead"]] == list(d.TIMING_CONFIGS)
    assert all(len(o["single"]) == len(o["ddp"]) == 1 for o in rep["overhead"])
    assert [a["elements"] for a in rep["allreduce"]] == sorted(a["elements"] for a in rep["allreduce"])


def test_report_needs_two_gloo_processes():
    with pytest.raises(SystemExit, match="--world-size 2"):
        d.main(["--report", "x.json", "--world-size", "4"])
