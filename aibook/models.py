"""Chapter 5's models: the article's CNN corrected (``SeedCNN``) and the book's faster CNN
(``FastCNN``), with tools to count their parameters and trace their shapes.

The data pipeline around them is in ``aibook.image_data``, their training recipes in
``aibook.recipes``, evaluation in ``aibook.train``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from aibook.numpy_nn import conv_output_size

# --------------------------------------------------------------------------------------- models


def _pair(size: int | tuple[int, int]) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _check_input(x: torch.Tensor, shape: tuple[int, int, int], name: str) -> None:
    if x.ndim != 4 or tuple(x.shape[1:]) != shape:
        want = "×".join(map(str, shape))
        got = "×".join(map(str, x.shape[1:])) if x.ndim == 4 else f"a {x.ndim}-D tensor"
        raise ValueError(
            f"{name} was built for N×{want} inputs, got {got}: "
            "pass in_channels and image_size to match the data"
        )


class SeedCNN(nn.Module):
    """The article's CNN (two 3×3 convolutions, each followed by ReLU and 2×2 max pooling, then
    two linear layers), with the flattened size computed from the input shape.

    Works for any ``in_channels``/``image_size`` (3×32×32 CIFAR-10, 1×28×28 Fashion-MNIST) and any
    batch size: ``torch.flatten(x, 1)`` keeps the batch axis where the article's ``view(-1, ...)``
    could merge or split samples.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, image_size: int | tuple[int, int] = 32):
        super().__init__()
        h, w = _pair(image_size)
        self.input_shape = (in_channels, h, w)
        self.conv1 = nn.Conv2d(in_channels, 64, 3, padding=1)
        self.conv2 = nn.Conv2d(64, 128, 3, padding=1)
        for _ in range(2):  # each block: 3×3 convolution with padding 1, then 2×2 pooling
            h = conv_output_size(conv_output_size(h, 3, padding=1), 2, stride=2)
            w = conv_output_size(conv_output_size(w, 3, padding=1), 2, stride=2)
        self.feature_shape = (128, h, w)
        self.flat_features = 128 * h * w
        self.fc1 = nn.Linear(self.flat_features, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.input_shape, "SeedCNN")
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # (N, 128·h·w) for every N, including 1 and a last partial batch
        x = self.relu(self.fc1(x))
        return self.fc2(x)


class FastCNN(nn.Module):
    """The book's CNN: three blocks of 3×3 convolution, BatchNorm, ReLU and 2×2 max pooling, then
    one linear layer. Deeper than ``SeedCNN`` but narrower, so it costs about a third of the work.

    ``batch_norm=False`` gives the same network without BatchNorm (convolutions get a bias).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        image_size: int | tuple[int, int] = 32,
        widths: tuple[int, ...] = (32, 64, 128),
        batch_norm: bool = True,
    ):
        super().__init__()
        h, w = _pair(image_size)
        self.input_shape = (in_channels, h, w)
        layers: list[nn.Module] = []
        c = in_channels
        for width in widths:
            layers.append(nn.Conv2d(c, width, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers += [nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            h, w = conv_output_size(h, 2, stride=2), conv_output_size(w, 2, stride=2)
            c = width
        self.features = nn.Sequential(*layers)
        self.flat_features = c * h * w
        self.classifier = nn.Linear(self.flat_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.input_shape, "FastCNN")
        return self.classifier(torch.flatten(self.features(x), 1))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ------------------------------------------------------------------------------- shape tracing


@dataclass
class ShapeTrace:
    """Output shape of every layer call of one forward pass, in call order, and the error if any."""

    rows: list[tuple[str, str, tuple[int, ...]]] = field(default_factory=list)
    error: str | None = None

    def __str__(self) -> str:
        lines = [f"{'step':>4}  {'layer':<10} {'type':<10} output shape"]
        for i, (name, kind, shape) in enumerate(self.rows):
            lines.append(f"{i:>4}  {name:<10} {kind:<10} {tuple(shape)}")
        if self.error is not None:
            lines.append(f"   !  {'(forward)':<10} {'error':<10} {self.error}")
        return "\n".join(lines)


def trace_shapes(model: nn.Module, x: torch.Tensor) -> ShapeTrace:
    """Run ``model(x)`` and record each leaf layer's output shape (a reused layer appears once
    per call). If the forward pass fails, the rows up to the failure and the error are kept."""
    trace = ShapeTrace(rows=[("input", "-", tuple(x.shape))])
    leaves = [(n, m) for n, m in model.named_modules() if n and not list(m.children())]

    def hook_for(name: str):
        def hook(module, inputs, output):
            trace.rows.append((name, type(module).__name__, tuple(output.shape)))

        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in leaves]
    try:
        with torch.no_grad():
            model(x)
    except (RuntimeError, ValueError) as e:
        trace.error = f"{type(e).__name__}: {str(e).splitlines()[0]}"
    finally:
        for h in handles:
            h.remove()
    return trace
