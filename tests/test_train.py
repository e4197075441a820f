import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from aibook.device import seed_everything
from aibook.train import History, evaluate, fit, train_epoch


def separable_data(n=256):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 2, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return TensorDataset(x, y)


def test_fit_learns_a_separable_problem(capsys):
    seed_everything(0)
    data = separable_data()
    loader = DataLoader(data, batch_size=32, shuffle=True)
    model = nn.Linear(2, 2)
    hist = fit(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.5),
               epochs=5, val_loader=DataLoader(data, batch_size=64), progress=False)
    assert isinstance(hist, History) and hist.epochs == 5
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert hist.val_acc[-1] > 0.95
    out = capsys.readouterr().out
    assert out.count("epoch") == 5 and "val loss" in out


def test_evaluate_matches_manual_computation():
    data = separable_data(50)
    model = nn.Linear(2, 2)
    loss, acc = evaluate(model, DataLoader(data, batch_size=7), nn.CrossEntropyLoss())
    with torch.no_grad():
        out = model(data.tensors[0])
        ref_loss = nn.functional.cross_entropy(out, data.tensors[1]).item()
        ref_acc = (out.argmax(1) == data.tensors[1]).float().mean().item()
    assert loss == pytest.approx(ref_loss, rel=1e-6)
    assert acc == pytest.approx(ref_acc)


def test_regression_targets_report_nan_accuracy():
    x = torch.randn(20, 3)
    loader = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=5)
    model = nn.Linear(3, 1)
    loss, acc = train_epoch(model, loader, nn.MSELoss(), torch.optim.SGD(model.parameters(), 0.1))
    assert loss > 0 and math.isnan(acc)


def test_progress_bar_goes_to_stderr_not_stdout(capsys, monkeypatch):
    monkeypatch.delenv("AIBOOK_PROGRESS", raising=False)
    loader = DataLoader(separable_data(64), batch_size=16)
    model = nn.Linear(2, 2)
    train_epoch(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 0.1),
                progress=True)
    captured = capsys.readouterr()
    assert captured.out == "" and "train:" in captured.err


def test_bad_arguments_give_clear_errors():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        fit(model, [], nn.CrossEntropyLoss(), opt, epochs=0)
    with pytest.raises(ValueError, match="empty loader"):
        train_epoch(model, [], nn.CrossEntropyLoss(), opt)
    with pytest.raises(ValueError, match="empty loader"):
        evaluate(model, [], nn.CrossEntropyLoss())


def test_progress_bar_can_be_switched_off_for_stored_outputs(capsys, monkeypatch):
    monkeypatch.setenv("AIBOOK_PROGRESS", "0")
    loader = DataLoader(separable_data(64), batch_size=16)
    model = nn.Linear(2, 2)
    train_epoch(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 0.1),
                progress=True)
    assert capsys.readouterr().err == ""


def test_tally_sums_exactly_like_python_floats():
    """Summing on the device (to avoid a host sync per batch) gives the old Python-float numbers."""
    from aibook.train import _Tally

    g = torch.Generator().manual_seed(0)
    for dtype in (torch.float32, torch.float64):
        tally, reference, seen = _Tally(), 0.0, 0
        for n in (64, 64, 17, 3):
            loss = torch.rand((), generator=g, dtype=dtype) * 3
            out, y = torch.randn(n, 10, generator=g), torch.randint(0, 10, (n,), generator=g)
            tally.add(loss, out, y)
            reference += loss.item() * n
            seen += n
        assert tally.result("test")[0] == reference / seen


def test_train_epoch_reads_no_value_per_batch(monkeypatch):
    """No ``.item()`` per step: on a GPU each one would stall the host until the step finishes."""
    calls = []
    original = torch.Tensor.item
    monkeypatch.setattr(torch.Tensor, "item", lambda self: calls.append(1) or original(self))
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    batches = [(torch.randn(8, 4), torch.randint(0, 3, (8,))) for _ in range(5)]
    loss, acc = train_epoch(model, batches, torch.nn.functional.cross_entropy,
                            torch.optim.SGD(model.parameters(), lr=0.1))
    assert calls == [] and 0 <= acc <= 1 and loss > 0


# --- language-model pre-training (Chapter 11) ---

def markov_stream(n: int, vocab: int = 16, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    table = rng.dirichlet(np.full(vocab, 0.1), size=vocab)
    out = [0]
    for _ in range(n - 1):
        out.append(rng.choice(vocab, p=table[out[-1]]))
    return np.array(out, dtype=np.uint16)


def tiny_gpt(vocab: int = 16, context: int = 8):
    from aibook.gpt import GPT, GPTConfig

    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=vocab, context=context, n_layers=1, d_model=16, n_heads=2))


def test_lm_batch_is_a_fixed_function_of_seed_and_step_and_targets_are_shifted():
    from aibook.train import lm_batch

    stream = markov_stream(500)
    x, y = lm_batch(stream, step=3, batch_size=4, context=8, seed=1)
    assert x.shape == y.shape == (4, 8) and x.dtype == torch.long
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert torch.equal(lm_batch(stream, 3, 4, 8, 1)[0], x)
    assert not torch.equal(lm_batch(stream, 4, 4, 8, 1)[0], x)
    with pytest.raises(ValueError, match="longer than context"):
        lm_batch(stream[:9], 0, 1, 8)


def test_warmup_cosine_matches_pytorch_schedulers():
    from aibook.train import warmup_cosine

    w, total, floor = 5, 25, 0.1
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    ref = torch.optim.lr_scheduler.SequentialLR(opt, [
        torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / w, end_factor=1.0, total_iters=w - 1),
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - w, eta_min=floor)], milestones=[w])
    for step in range(total):
        assert abs(opt.param_groups[0]["lr"] - warmup_cosine(step, w, total, floor)) < 1e-9, step
        opt.step()
        ref.step()


def test_evaluate_lm_is_the_mean_token_loss_over_all_windows():
    from aibook.train import evaluate_lm

    model, stream = tiny_gpt(), markov_stream(30)
    got = evaluate_lm(model, stream, context=8, batch_size=2)  # windows 0-8, 8-16, 16-24, 24-29 (short)
    idx = torch.as_tensor(stream.astype("int64"))
    losses = []
    for s in range(0, 29, 8):
        w = idx[s:s + 9]
        with torch.no_grad():
            losses.append(nn.functional.cross_entropy(model(w[None, :-1])[0], w[1:], reduction="none"))
    assert abs(got - torch.cat(losses).mean().item()) < 1e-6
    assert torch.cat(losses).numel() == 29


def test_sliding_evaluation_scores_each_target_once_with_its_longest_allowed_history():
    from aibook.train import evaluate_lm

    model, stream = tiny_gpt(), markov_stream(30)
    idx = torch.as_tensor(stream.astype("int64"))
    for stride in (1, 3, 4, 8):
        losses = []
        for t in range(1, 30):  # target t is predicted in the first window s = k*stride with s + 8 >= t
            s = max(0, -(-(t - 8) // stride) * stride)
            with torch.no_grad():
                logits = model(idx[None, s:t])[0, -1]
            losses.append(nn.functional.cross_entropy(logits, idx[t]).item())
        got = evaluate_lm(model, stream, context=8, batch_size=3, stride=stride)
        assert abs(got - sum(losses) / len(losses)) < 1e-6, stride
    with pytest.raises(ValueError, match="stride"):
        evaluate_lm(model, stream, context=8, stride=9)


def test_window_losses_are_the_windows_of_evaluate_lm():
    from aibook.train import evaluate_lm, window_losses

    model, stream = tiny_gpt(), markov_stream(30)
    idx = torch.as_tensor(stream.astype("int64"))
    losses, counts = window_losses(model, stream, context=8, batch_size=3)
    expected = []
    for s in range(0, 29, 8):  # disjoint windows 0-8, 8-16, 16-24, 24-29 (short, alone in its batch)
        w = idx[s:s + 9]
        with torch.no_grad():
            expected.append(nn.functional.cross_entropy(model(w[None, :-1])[0], w[1:]).item())
    assert counts.tolist() == [8, 8, 8, 5]
    assert np.allclose(losses, expected, atol=1e-6)
    for stride in (None, 3):
        losses, counts = window_losses(model, stream, context=8, batch_size=2, stride=stride)
        assert counts.sum() == 29  # every target scored once
        mean = float((losses * counts).sum() / counts.sum())
        assert abs(mean - evaluate_lm(model, stream, context=8, batch_size=2, stride=stride)) < 1e-6


def test_train_lm_beats_the_unigram_baseline_and_checkpoint_round_trips(tmp_path, capsys):
    from aibook.ngram import KneserNey
    from aibook.train import LMTrainConfig, evaluate_lm, load_checkpoint, save_checkpoint, train_lm

    stream = markov_stream(7000)
    train, val = stream[:6000], stream[6000:]
    model = tiny_gpt()
    cfg = LMTrainConfig(steps=150, batch_size=16, lr=1e-2, warmup=10, eval_every=50, seed=0)
    hist = train_lm(model, train, val, cfg)
    assert hist.steps == [50, 100, 150] and len(hist.val_loss) == 3
    assert hist.val_loss[0] < math.log(16)
    unigram = KneserNey(1, 16).fit(train).cross_entropy(val)
    assert hist.val_loss[-1] < unigram - 0.2
    assert hist.tokens_per_second > 0
    assert capsys.readouterr().out.count("val loss") == 3
    save_checkpoint(tmp_path / "m.pt", model, {"seed": 0, "val_loss": hist.val_loss[-1]})
    loaded, meta = load_checkpoint(tmp_path / "m.pt")
    assert meta["seed"] == 0 and loaded.config == model.config
    assert abs(evaluate_lm(loaded, val, 8) - hist.val_loss[-1]) < 1e-2  # float16 storage
    with pytest.raises(FileNotFoundError, match="run the benchmark"):
        load_checkpoint(tmp_path / "missing.pt")


def test_ddp_two_gloo_processes_under_torchrun_equal_one_process(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    args = ["benchmarks/llm_pretrain.py", "--data", "synthetic", "--size", "tiny", "--steps", "6",
            "--eval-every", "3", "--dtype", "float64", "--threads", "1"]
    for procs in (1, 2):
        out = tmp_path / f"{procs}.jsonl"
        r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                            f"--nproc_per_node={procs}", *args, "--json", str(out)],
                           cwd=root, env=env, capture_output=True, text=True, timeout=600)  # hang protection
        assert r.returncode == 0, r.stderr[-3000:]
    one, two = (json.loads((tmp_path / f"{p}.jsonl").read_text()) for p in (1, 2))
    assert (one["processes"], two["processes"]) == (1, 2)
    assert one["val_loss"][0] != one["val_loss"][1]  # it trained
    for key in ("train_loss", "val_loss"):
        assert max(abs(a - b) for a, b in zip(one[key], two[key], strict=True)) < 1e-10, key
    assert abs(one["parameter_checksum"] - two["parameter_checksum"]) < 1e-9


def test_mean_and_range_formats_the_spread_of_seeds():
    from aibook.train import mean_and_range

    assert mean_and_range([0.84, 0.92, 0.85]) == "0.87 [0.84, 0.92]"
    assert mean_and_range((x for x in [4.8349, 4.8891]), digits=3) == "4.862 [4.835, 4.889]"
    assert mean_and_range([0.5]) == "0.50 [0.50, 0.50]"
    with pytest.raises(ValueError, match="at least one value"):
        mean_and_range([])
