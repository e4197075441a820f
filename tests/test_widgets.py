"""aibook.widgets: one call gives the live slider and the pre-rendered frames of the website."""

from __future__ import annotations

import base64
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from aibook import widgets  # noqa: E402


def draw_line(slope=1.0, color="C0"):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, slope], color=color)
    ax.set(ylim=(0, 3), title=f"slope {slope}")
    plt.show()  # as a notebook's draw function does; must not close the figure before it is saved


def frames_data(page_html: str) -> dict:
    return json.loads(re.search(r'class="aibook-frames-data">(.*?)</script>', page_html).group(1))


def test_every_combination_is_rendered_once_as_a_png_and_the_start_frame_is_shown():
    before = plt.get_fignums()
    page_html = widgets.frames_html(draw_line, {"slope": [0.5, 1.0, 2.0], "color": ["C0", "C1"]},
                                    {"slope": 2.0, "color": "C0"}, alt="a line")
    data = frames_data(page_html)
    assert plt.get_fignums() == before, "frames must not leave figures open"
    assert sorted(data["frames"]) == [f"{i},{j}" for i in range(3) for j in range(2)]
    pngs = [base64.b64decode(f) for f in data["frames"].values()]
    assert all(p.startswith(b"\x89PNG") for p in pngs)
    assert len(set(pngs)) == 6, "different values must give different figures"
    assert data["labels"] == {"slope": ["0.5", "1", "2"], "color": ["C0", "C1"]}
    assert f'src="data:image/png;base64,{data["frames"]["2,0"]}"' in page_html
    assert 'value="2"' in page_html and 'alt="a line（slope = 2，color = C0）"' in page_html


def test_interact_frames_displays_the_live_widget_and_the_frames(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    result = widgets.interact_frames(draw_line, slope=[1.0, 2.0], alt="a line")
    assert shown == [result]
    bundle = result._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/plain" in bundle
    assert bundle["text/html"].startswith('<div class="aibook-frames"')
    slider = result.widget.children[0]
    assert slider.label == "2" and slider.value == 2.0  # the middle of the list by default
    assert [label for label, _ in slider.options] == ["1", "2"]


@pytest.mark.parametrize("kwargs,message", [
    ({}, "at least one slider"),
    ({"slope": [1.0]}, "at least two values"),
    ({"slope": list(range(61))}, "more than 60"),
    ({"slope": [1.0, 2.0], "start": {"slope": 3.0}}, "is not one of its values"),
])
def test_bad_sliders_get_one_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        widgets.interact_frames(draw_line, alt="a line", **kwargs)


def test_value_labels_are_short_and_whole_numbers_keep_every_digit():
    import numpy as np

    assert [widgets.value_label(v) for v in (0.05, 1e-3, 0.1 + 0.2, 3, "relu", 2.5e-3, True)] == \
        ["0.05", "0.001", "0.3", "3", "relu", "0.0025", "True"]
    # 8.3's carbon intensity: 429 g/kWh must read 429, whatever type the list holds
    assert [widgets.value_label(v) for v in (429, 429.0, np.int64(429), np.float64(429.0), 14.8, 12000)] == \
        ["429", "429", "429", "429", "14.8", "12000"]


def test_slider_labels_are_the_readers_words_live_and_on_the_site(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda obj: None)
    result = widgets.interact_frames(draw_line, slope=[1.0, 2.0], color=["C0", "C1"], alt="一条直线",
                                     labels={"slope": "斜率", "color": "颜色"})
    assert [w.description for w in result.widget.children[:2]] == ["斜率", "颜色"]
    page_html = result.html
    assert re.findall(r'class="aibook-frames-name">([^<]*)<', page_html) == ["斜率", "颜色"]
    assert 'alt="一条直线（斜率 = 2，颜色 = C1）"' in page_html
    assert 'data-name="slope" data-label="斜率"' in page_html  # the script keys frames by the name
    with pytest.raises(ValueError, match="labels name no slider"):
        widgets.interact_frames(draw_line, slope=[1.0, 2.0], alt="x", labels={"slop": "斜率"})


def test_no_slider_page_is_left_frozen_on_the_website():
    """Plain ipywidgets.interact shows only the saved state on the site: every slider goes through
    aibook.widgets.interact_frames. Lists the notebooks still to convert."""
    from pathlib import Path

    from aibook.booktools import nbcheck

    root = Path(__file__).resolve().parents[1]
    frozen = [str(p) for p in nbcheck.list_notebooks(root, ("book",))
              if any(re.search(r"\binteract\(", nbcheck.source(c))
                     for c in nbcheck.code_cells(nbcheck.load(root / p)))]
    assert frozen == [], f"use aibook.widgets.interact_frames instead of interact in: {frozen}"
