"""The scalar autograd engine against finite differences and torch.autograd."""

import math

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from aibook.autograd import (  # noqa: E402
    Value,
    draw_graph,
    finite_difference,
    graph_layout,
    topological_order,
)

EXPRESSIONS = {
    "polynomial": lambda a, b, c: (a * b + c) ** 2 - 3 * a,
    "division and powers": lambda a, b, c: (a + 2) / (b * b + 1) + c ** 3,
    "tanh neuron": lambda a, b, c: (a * 0.5 + b * -1.5 + c).tanh(),
    "exp and log": lambda a, b, c: (a.exp() + b * b + 1).log() * c,
    "relu and reuse": lambda a, b, c: (a * b).relu() + (a - c).relu() * a + 1 / (c * c + 1),
    "reverse operators": lambda a, b, c: 2 - a / 4 + 3 * b - (1 - c) / (2 + b * b),
}
POINT = [0.7, -1.3, 0.4]


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_gradients_match_torch_and_finite_differences(name):
    f = EXPRESSIONS[name]
    xs = [Value(v) for v in POINT]
    out = f(*xs)
    out.backward()
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in POINT]
    ref = f(*ts)
    ref.backward()
    assert out.data == pytest.approx(ref.item(), rel=1e-12)
    for x, t in zip(xs, ts, strict=True):
        assert x.grad == pytest.approx(t.grad.item(), rel=1e-10, abs=1e-12)
    numeric = finite_difference(lambda p: f(*[Value(v) for v in p]).data, POINT)
    for x, g in zip(xs, numeric, strict=True):
        assert x.grad == pytest.approx(g, rel=1e-6, abs=1e-8)


def test_node_used_twice_accumulates_and_backward_is_repeatable():
    a = Value(3.0)
    y = a * a + a  # dy/da = 2a + 1
    y.backward()
    assert a.grad == 7.0
    y.backward()  # gradients are reset, not added up
    assert a.grad == 7.0


def test_relu_derivative_at_zero_is_zero_like_torch():
    a = Value(0.0)
    a.relu().backward()
    assert a.grad == 0.0


def test_pow_rejects_value_exponent_and_repr_is_short():
    with pytest.raises(TypeError, match="constant"):
        Value(2.0) ** Value(3.0)
    assert repr(Value(2.0)) == "Value(data=2, grad=0)"


def test_topological_order_puts_inputs_first_and_lists_each_node_once():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + a
    order = topological_order(d)
    assert order[-1] is d and len(order) == len({id(n) for n in order}) == 4
    assert order.index(a) < order.index(c) and order.index(b) < order.index(c)


def test_backward_through_a_graph_deeper_than_the_recursion_limit():
    # x * 1.0001 applied 5,000 times: a chain far deeper than sys.getrecursionlimit() (1,000)
    import sys

    depth = 5 * sys.getrecursionlimit()
    x = Value(1.0)
    y = x
    for _ in range(depth):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** depth, rel=1e-9)
    assert len(topological_order(y)) == 2 * depth + 1  # x, and per step the constant and the product


def test_finite_difference_of_a_known_function():
    grads = finite_difference(lambda p: p[0] ** 2 * p[1], [2.0, 3.0])
    assert grads == pytest.approx([12.0, 4.0], rel=1e-8)


def test_graph_layout_and_drawing():
    a, b = Value(2.0, label="a"), Value(-1.0, label="b")
    out = (a * b).tanh()
    out.label = "out"
    out.backward()
    pos, edges = graph_layout(out)
    assert len(pos) == 4 and len(edges) == 3
    assert pos[id(a)][0] == 0 and pos[id(out)][0] == 2  # columns = depth from the inputs
    ax = draw_graph(out)
    texts = [t.get_text() for t in ax.texts if t.get_text()]  # arrows are empty annotations
    assert any(t.startswith("out [tanh]") for t in texts) and len(texts) == 4
    assert any(f"grad {a.grad:.3g}" in t for t in texts)
    assert math.isclose(a.grad, -(1 - math.tanh(-2.0) ** 2))
