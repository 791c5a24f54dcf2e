"""rnn_core.interactive: one experiment, a live widget and a kernel-free HTML figure."""
import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from rnn_core.interactive import interactive


def line(slope, offset):
    x = np.linspace(0, 1, 5)
    return go.Figure(go.Scatter(x=x, y=slope * x + offset))


def test_every_slider_combination_is_precomputed():
    fig = interactive(line, slope=[1, 2, 3], offset=[0.0, 0.5])
    frames = fig.frames()
    assert sorted(frames) == [f"{i},{j}" for i in range(3) for j in range(2)]
    assert frames["0,0"] != frames["2,1"]            # different parameters, different data


def test_static_html_carries_sliders_data_and_controller():
    html = interactive(line, slope=[1, 2, 3], offset=[0.0, 0.5]).static_html()
    assert len(re.findall(r'<input type="range" min="0" max="2"', html)) == 1
    assert len(re.findall(r'<input type="range" min="0" max="1"', html)) == 1
    data = re.search(r'<script type="application/json" class="rnn-interactive-data">(.*?)</script>',
                     html, re.S).group(1)
    spec = json.loads(data)
    assert spec["labels"] == [["1", "2", "3"], ["0", "0.5"]]
    assert len(spec["frames"]) == 6
    assert "Plotly.react" in html and "cdn" not in html.lower()


def test_json_cannot_close_its_script_tag():
    html = interactive(lambda name: go.Figure(layout_title_text=name),
                       name=["</script><b>x</b>"]).static_html()
    assert html.count("</script>") == 2       # the data block's and the controller's


def test_mimebundle_offers_widget_and_html():
    bundle = interactive(line, slope=[1, 2], offset=[0.0])._repr_mimebundle_()
    assert "text/html" in bundle and "rnn-interactive" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_bad_arguments():
    with pytest.raises(ValueError, match="experiment must be callable, got int"):
        interactive(3, a=[1])
    with pytest.raises(ValueError, match="interactive needs at least one parameter range"):
        interactive(line)
    with pytest.raises(ValueError, match=r"the range of slope must be a non-empty list of values, got \[\]"):
        interactive(line, slope=[], offset=[0])


def test_plain_plotly_outputs_become_static_kernel_free_figures():
    """The myst-nb plugin turns a notebook's plotly output into the same HTML,
    with one frame and no sliders, and leaves other outputs alone."""
    from types import SimpleNamespace
    from rnn_core.interactive import PlotlyMimeRenderer
    fig = line(2, 1).to_plotly_json()
    mime = "application/vnd.plotly.v1+json"
    [node] = PlotlyMimeRenderer.handle_mime(None, SimpleNamespace(mime_type=mime, content=fig), False)
    html = node.astext()
    assert 'class="rnn-interactive rnn-static"' in html and 'type="range"' not in html
    spec = json.loads(re.search(r'class="rnn-interactive-data">(.*?)</script>', html, re.S).group(1))
    assert list(spec["frames"]) == [""] and spec["labels"] == []
    assert PlotlyMimeRenderer.handle_mime(None, SimpleNamespace(mime_type="text/html", content=""),
                                          False) is None
    assert ("html", mime, 5) in PlotlyMimeRenderer.mime_priority_overrides
