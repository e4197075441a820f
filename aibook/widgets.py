"""Sliders that move a figure both in a live notebook and on the static website, from one call.

``interact_frames(draw, threshold=[0.0, 0.1, 0.2], labels={"threshold": "阈值"})`` shows, in a running
kernel, the usual ipywidgets slider that redraws the figure; the same output also carries every figure
pre-rendered as PNG (``text/html``), which the website shows with a plain range input, so the figure
changes without a kernel (``booktools/static/aibook-frames.js``). The frames are drawn once, when the
cell runs. Both show each slider under its label for the reader (Chinese), values through ``value_label``.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
import numbers
from collections.abc import Callable, Sequence
from typing import Any
from unittest.mock import patch

import matplotlib.pyplot as plt

FRAMES_LIMIT = 60  # frames per slider cell: keeps the notebook and the page small


def value_label(value: Any) -> str:
    """How a slider value is shown: numbers compactly (0.25, 0.0003, 429, 1.2e+04), else as str()."""
    if isinstance(value, bool) or not isinstance(value, int | float | numbers.Real):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{float(value):.4g}"


def _slider_label(name: str, labels: dict[str, str] | None) -> str:
    """The label a reader sees for slider ``name``: its entry in ``labels``, else the name itself."""
    return (labels or {}).get(name, name)


def render_frame(draw: Callable[..., Any], kwargs: dict[str, Any], dpi: int = 72) -> str:
    """Call ``draw(**kwargs)`` and return its figure as base64 PNG (the figure is closed)."""
    before = set(plt.get_fignums())
    with patch.object(plt, "show", lambda *args, **kw: None):  # draw() may end with plt.show()
        result = draw(**kwargs)
    figure = result if isinstance(result, plt.Figure) else plt.gcf()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    for number in set(plt.get_fignums()) - before:
        plt.close(number)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def frames_html(draw: Callable[..., Any], sliders: dict[str, Sequence[Any]], start: dict[str, Any],
                alt: str, dpi: int = 72, labels: dict[str, str] | None = None) -> str:
    """The static version: one range input per slider and every combination's figure as PNG."""
    names = list(sliders)
    index_of_start = [list(sliders[n]).index(start[n]) for n in names]
    frames = {}
    for combination in itertools.product(*(range(len(sliders[n])) for n in names)):
        kwargs = {n: sliders[n][i] for n, i in zip(names, combination, strict=True)}
        frames[",".join(map(str, combination))] = render_frame(draw, kwargs, dpi)
    shown = {n: _slider_label(n, labels) for n in names}
    labels = {n: [value_label(v) for v in sliders[n]] for n in names}
    controls = "".join(
        f'<label class="aibook-frames-control">'
        f'<span class="aibook-frames-name">{html.escape(shown[n])}</span>'
        f'<input type="range" min="0" max="{len(sliders[n]) - 1}" step="1" value="{i}" '
        f'data-name="{html.escape(n)}" data-label="{html.escape(shown[n])}" '
        f'aria-valuetext="{html.escape(labels[n][i])}">'
        f'<output>{html.escape(labels[n][i])}</output></label>'
        for n, i in zip(names, index_of_start, strict=True))
    first = ",".join(map(str, index_of_start))
    first_alt = _alt_text(alt, [shown[n] for n in names], [labels[n] for n in names], index_of_start)
    # "</" inside a <script> element would end it early
    data = json.dumps({"names": names, "labels": labels, "frames": frames}, separators=(",", ":"))
    data = data.replace("</", "<\\/")
    return (f'<div class="aibook-frames" data-alt="{html.escape(alt)}">'
            f'<div class="aibook-frames-controls">{controls}</div>'
            f'<img class="aibook-frames-image" alt="{html.escape(first_alt)}" '
            f'src="data:image/png;base64,{frames[first]}">'
            f'<script type="application/json" class="aibook-frames-data">{data}</script>'
            "</div>")


def _alt_text(alt: str, shown: list[str], values: list[list[str]], indices: list[int]) -> str:
    parts = [f"{s} = {v[i]}" for s, v, i in zip(shown, values, indices, strict=True)]
    return alt + "（" + "，".join(parts) + "）"


class FrameSlider:
    """What ``interact_frames`` displays: the live ipywidgets slider plus the pre-rendered frames."""

    def __init__(self, draw: Callable[..., Any], sliders: dict[str, Sequence[Any]], start: dict[str, Any],
                 alt: str, labels: dict[str, str] | None = None):
        import ipywidgets

        def show(**kwargs):
            draw(**kwargs)
            plt.show()

        controls = {n: ipywidgets.SelectionSlider(options=[(value_label(v), v) for v in values],
                                                  value=start[n], description=_slider_label(n, labels),
                                                  style={"description_width": "initial"},
                                                  layout=ipywidgets.Layout(width="32rem", max_width="100%"),
                                                  continuous_update=False)
                    for n, values in sliders.items()}
        self.widget = ipywidgets.interactive(show, **controls)
        self.html = frames_html(draw, sliders, start, alt, labels=labels)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        bundle = dict(bundle)
        bundle["text/html"] = self.html
        return bundle


def interact_frames(draw: Callable[..., Any], *, alt: str, labels: dict[str, str] | None = None,
                    start: dict[str, Any] | None = None, **sliders: Sequence[Any]) -> FrameSlider:
    """Show a slider per keyword (its list of values) that redraws ``draw(**values)``, live and on the site.

    ``alt`` describes the figure for screen readers (the current values are appended); ``labels``
    names each slider for the reader (``{"lr": "学习率"}``; default: the keyword); ``start`` gives the
    initial values (default: the middle of each list). Returns the displayed object.
    """
    from IPython.display import display

    if not sliders:
        raise ValueError("interact_frames needs at least one slider, e.g. threshold=[0.1, 0.2, 0.3]")
    sliders = {n: list(v) for n, v in sliders.items()}
    for name, values in sliders.items():
        if len(values) < 2:
            raise ValueError(f"slider {name!r} needs at least two values, got {values!r}")
    count = 1
    for values in sliders.values():
        count *= len(values)
    if count > FRAMES_LIMIT:
        raise ValueError(f"{count} frames (every combination of the sliders) is more than {FRAMES_LIMIT}: "
                         "use fewer values per slider")
    start = {n: (start or {}).get(n, v[len(v) // 2]) for n, v in sliders.items()}
    for name, value in start.items():
        if value not in sliders[name]:
            raise ValueError(f"start value {value!r} of {name!r} is not one of its values {sliders[name]!r}")
    unknown = sorted(set(labels or {}) - set(sliders))
    if unknown:
        raise ValueError(f"labels name no slider: {unknown}; the sliders are {sorted(sliders)}")
    shown = FrameSlider(draw, sliders, start, alt, labels)
    display(shown)
    return shown
