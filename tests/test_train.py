import math

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
