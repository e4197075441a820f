"""A tiny scalar automatic-differentiation engine (in the spirit of Karpathy's micrograd).

Every ``Value`` remembers the values it was computed from and a ``_backward`` closure that
applies the chain rule locally; ``backward()`` visits the graph in reverse topological order.
Chapter 3 checks it against finite differences and ``torch.autograd``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence


class Value:
    """A scalar in a computation graph: its ``data``, its ``grad`` and how it was made."""

    def __init__(self, data: float, _children: tuple[Value, ...] = (), _op: str = "",
                 label: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0  # dL/d(self), filled in by backward()
        self._backward: Callable[[], None] = lambda: None
        self._prev = _children
        self._op = _op
        self.label = label

    def __repr__(self) -> str:
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"

    # --- operations: each computes the forward value and defines its local chain rule ---
    def __add__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += out.grad  # d(a+b)/da = 1; += because a node may be used many times
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent: float) -> Value:
        if not isinstance(exponent, (int, float)):
            raise TypeError("Value ** only supports a constant int or float exponent")
        out = Value(self.data**exponent, (self,), f"**{exponent:g}")

        def _backward() -> None:
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Value:
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward() -> None:
            self.grad += (self.data > 0) * out.grad  # ReLU'(0) = 0, as in PyTorch

        out._backward = _backward
        return out

    def exp(self) -> Value:
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward() -> None:
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self) -> Value:
        out = Value(math.log(self.data), (self,), "log")

        def _backward() -> None:
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    # --- everything else is built from the operations above ---
    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | float) -> Value:
        return self + (-other)

    def __truediv__(self, other: Value | float) -> Value:
        return self * (other if isinstance(other, Value) else Value(other)) ** -1

    def __radd__(self, other: float) -> Value:
        return self + other

    def __rmul__(self, other: float) -> Value:
        return self * other

    def __rsub__(self, other: float) -> Value:
        return Value(other) - self

    def __rtruediv__(self, other: float) -> Value:
        return Value(other) / self

    def backward(self) -> None:
        """Fill ``grad`` of every node this value depends on with d(self)/d(node).

        Gradients are reset first, so calling it twice gives the same result (PyTorch instead adds
        into the leaves' ``.grad`` until ``zero_grad()``).
        """
        for node in topological_order(self):
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(topological_order(self)):
            node._backward()


def topological_order(root: Value) -> list[Value]:
    """All nodes ``root`` depends on, each after the nodes it was computed from.

    Iterative depth-first search with an explicit stack, so graphs deeper than Python's recursion
    limit (a loop of a few thousand steps) work too.
    """
    order: list[Value] = []
    seen: set[int] = {id(root)}
    stack: list[tuple[Value, Iterator[Value]]] = [(root, iter(root._prev))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append((child, iter(child._prev)))
                break
        else:  # every child is placed: the node comes after them
            stack.pop()
            order.append(node)
    return order


def finite_difference(f: Callable[[Sequence[float]], float], x: Sequence[float],
                      h: float = 1e-6) -> list[float]:
    """Central differences (f(x + h e_i) - f(x - h e_i)) / 2h for every coordinate i."""
    grads = []
    for i in range(len(x)):
        up, down = list(x), list(x)
        up[i] += h
        down[i] -= h
        grads.append((f(up) - f(down)) / (2 * h))
    return grads


def graph_layout(root: Value) -> tuple[dict[int, tuple[float, float]], list[tuple[Value, Value]]]:
    """Positions (column = depth from the inputs, row) of every node, and the (input, output) edges."""
    order = topological_order(root)
    depth: dict[int, int] = {}
    for node in order:  # inputs first, so each node's children already have a depth
        depth[id(node)] = 1 + max((depth[id(c)] for c in node._prev), default=-1)
    leaf_column: dict[int, int] = {}  # each leaf goes just left of its earliest user
    for node in order:
        for child in node._prev:
            if not child._prev:
                leaf_column[id(child)] = min(leaf_column.get(id(child), depth[id(node)] - 1),
                                             depth[id(node)] - 1)
    depth.update(leaf_column)
    rows: dict[int, int] = {}
    pos = {}
    for node in order:
        col = depth[id(node)]
        pos[id(node)] = (float(col), float(rows.get(col, 0)))
        rows[col] = rows.get(col, 0) + 1
    for key, (col, row) in pos.items():  # first node on top, each column centred vertically
        pos[key] = (col, (rows[int(col)] - 1) / 2 - row)
    edges = [(child, node) for node in order for child in node._prev]
    return pos, edges


def draw_graph(root: Value, ax=None, show_grad: bool = True):
    """Draw the computation graph of ``root`` with matplotlib: one box per node, inputs on the left.

    Each box shows the node's label (or the operation that made it), its value and its gradient.
    """
    import matplotlib.pyplot as plt

    pos, edges = graph_layout(root)
    nodes = {id(n): n for n in topological_order(root)}
    if ax is None:
        n_cols = 1 + max(int(c) for c, _ in pos.values())
        n_rows = max(sum(1 for c, _ in pos.values() if c == col) for col in range(n_cols))
        _, ax = plt.subplots(figsize=(1.9 * n_cols + 0.5, 0.9 * n_rows + 0.8))
    for child, node in edges:
        (x0, y0), (x1, y1) = pos[id(child)], pos[id(node)]
        ax.annotate("", xy=(x1 - 0.36, y1), xytext=(x0 + 0.36, y0),
                    arrowprops={"arrowstyle": "->", "color": "0.45", "lw": 1})
    for key, (x, y) in pos.items():
        node = nodes[key]
        name = f"{node.label} [{node._op}]" if node.label and node._op else node.label or node._op
        name = name or "const"
        text = f"{name}\ndata {node.data:.3g}" + (f"\ngrad {node.grad:.3g}" if show_grad else "")
        colour = "#dbe9f6" if not node._prev else "#fde9c9"
        ax.text(x, y, text, ha="center", va="center", fontsize=7.5, family="monospace",
                bbox={"boxstyle": "round,pad=0.3", "fc": colour, "ec": "0.4"})
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set(xlim=(min(xs) - 0.6, max(xs) + 0.6), ylim=(min(ys) - 0.7, max(ys) + 0.7))
    ax.axis("off")
    return ax
