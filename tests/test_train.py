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
