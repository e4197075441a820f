import matplotlib

matplotlib.use("Agg")

from aibook.plot import plot_history  # noqa: E402
from aibook.train import History  # noqa: E402


def test_plot_history_draws_train_and_validation_with_labels():
    h = History([1.0, 0.5], [0.5, 0.8], [1.1, 0.7], [0.4, 0.7])
    fig = plot_history(h, title="demo")
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_xlabel() == "epoch" and loss_ax.get_ylabel() == "loss"
    assert [line.get_label() for line in loss_ax.lines] == ["train", "validation"]
    assert list(acc_ax.lines[1].get_ydata()) == [0.4, 0.7]
    assert fig._suptitle.get_text() == "demo"


def test_plot_history_hides_accuracy_for_regression():
    h = History([1.0, 0.5], [float("nan"), float("nan")])
    fig = plot_history(h)
    assert fig.axes[0].get_visible() and not fig.axes[1].get_visible()
    assert len(fig.axes[0].lines) == 1
