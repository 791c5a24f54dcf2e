"""rnn_core.interactive: one experiment, a live widget and a kernel-free HTML figure."""
import json
import re
import shutil

import numpy as np
import plotly.graph_objects as go
import pytest

from rnn_core import interactive as interactive_module
from rnn_core.interactive import BUILD_ENV, deduplicate, interactive, traces_outside_axes


def line(slope, offset):
    x = np.linspace(0, 1, 5)
    return go.Figure(go.Scatter(x=x, y=slope * x + offset))


class Counted:
    """An experiment that counts its calls."""

    def __init__(self, experiment):
        self.experiment, self.calls, self.__name__ = experiment, 0, experiment.__name__

    def __call__(self, **kwargs):
        self.calls += 1
        return self.experiment(**kwargs)


def spec_of(html):
    data = re.search(r'<script type="application/json" class="rnn-interactive-data">(.*?)</script>',
                     html, re.S).group(1)
    return json.loads(data)


def resolved(spec, key):
    """A frame of a website spec with its shared pieces put back, as the controller does."""
    def walk(node):
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, dict):
            return walk(spec["pool"][node["@ref"]]) if "@ref" in node else \
                {k: walk(v) for k, v in node.items()}
        return node
    return walk(spec["frames"][key])


@pytest.fixture
def live(monkeypatch):
    monkeypatch.delenv(BUILD_ENV, raising=False)


def test_every_slider_combination_is_precomputed_once():
    experiment = Counted(line)
    fig = interactive(experiment, slope=[1, 2, 3], offset=[0.0, 0.5])
    frames = fig.frames()
    assert sorted(frames) == [f"{i},{j}" for i in range(3) for j in range(2)]
    assert frames["0,0"] != frames["2,1"]            # different parameters, different data
    fig.static_html(), fig.static_html(), fig.frames()
    assert experiment.calls == 6


def test_static_html_carries_sliders_data_and_controller():
    html = interactive(line, slope=[1, 2, 3], offset=[0.0, 0.5]).static_html()
    assert len(re.findall(r'<input type="range" min="0" max="2"', html)) == 1
    assert len(re.findall(r'<input type="range" min="0" max="1"', html)) == 1
    spec = spec_of(html)
    assert spec["labels"] == [["1", "2", "3"], ["0", "0.5"]]
    assert len(spec["frames"]) == 6
    assert "Plotly.react" in html and "cdn" not in html.lower()


def test_json_cannot_close_its_script_tag():
    html = interactive(lambda name: go.Figure(layout_title_text=name),
                       name=["</script><b>x</b>"]).static_html()
    assert html.count("</script>") == 2       # the data block's and the controller's


def test_a_live_kernel_computes_no_website_frames(live):
    """#19: in Jupyter/Colab the figure is drawn once, for the widget; the
    precomputed frames are never made (they were made twice)."""
    experiment = Counted(line)
    bundle = interactive(experiment, slope=[1, 2, 3], offset=[0.0, 0.5])._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert experiment.calls == 1
    assert "rnn-interactive-data" not in bundle["text/html"]
    assert "rnn-live-only" in bundle["text/html"]        # the site tests see it as undrawn


@pytest.mark.parametrize("value", ["1", "yes"])
def test_the_book_build_gets_every_frame_exactly_once(monkeypatch, value):
    monkeypatch.setenv(BUILD_ENV, value)
    experiment = Counted(line)
    bundle = interactive(experiment, slope=[1, 2, 3], offset=[0.0, 0.5])._repr_mimebundle_()
    assert experiment.calls == 6
    assert len(spec_of(bundle["text/html"])["frames"]) == 6
    assert "application/vnd.jupyter.widget-view+json" not in bundle   # nobody runs it there


def test_build_signal_off_when_unset_or_zero(monkeypatch):
    monkeypatch.setenv(BUILD_ENV, "0")
    assert not interactive_module.website_build()
    monkeypatch.delenv(BUILD_ENV)
    assert not interactive_module.website_build()
    monkeypatch.setenv(BUILD_ENV, "1")
    assert interactive_module.website_build()


def choose(gate, rho):
    return go.Figure(go.Scatter(x=[0, 1], y=[rho, rho * (1 if gate == "update" else 2)]))


def test_labels_and_choices_in_the_live_widget(live):
    fig = interactive(choose, gate=["update", "reset"], rho=[0.5, 1.0],
                      labels={"gate": "gate Γ", "rho": "ρ<sub>0</sub>"})
    box = fig.widget()
    kinds = [type(w).__name__ for w in box.children[:2]]
    assert kinds == ["Dropdown", "SelectionSlider"]
    assert [w.description for w in box.children[:2]] == ["gate Γ", "ρ<sub>0</sub>"]
    assert all(w.description_allow_html for w in box.children[:2])
    assert box.children[0].options == (("update", "update"), ("reset", "reset"))


def test_labels_and_choices_in_the_website_figure():
    html = interactive(choose, gate=["update", "reset"], rho=[0.5, 1.0],
                       labels={"gate": "gate Γ", "rho": "ρ<sub>0</sub>"}).static_html()
    assert '<span class="rnn-interactive-name">ρ<sub>0</sub></span>' in html
    assert 'aria-label="ρ0"' in html                       # tags stripped for screen readers
    select = re.search(r'<select data-param="gate"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="(\d)"( selected)?>(\w+)</option>', select) == \
        [("0", "", "update"), ("1", " selected", "reset")]
    assert len(re.findall(r'type="range"', html)) == 1      # only rho is a slider


def test_a_range_may_name_its_values():
    fig = interactive(lambda gate: choose(gate, 1.0), gate={"Γ_z (update)": "update",
                                                            "Γ_r (reset)": "reset"})
    assert fig.ranges["gate"] == ["update", "reset"]
    assert spec_of(fig.static_html())["labels"] == [["Γ_z (update)", "Γ_r (reset)"]]
    assert fig.choice["gate"]


def test_the_figure_opens_where_start_says(live):
    fig = interactive(choose, gate=["update", "reset"], rho=[0.5, 1.0, 2.0],
                      start={"gate": "update", "rho": 2.0})
    assert fig.defaults == {"gate": 0, "rho": 2}
    assert [c.value for c in fig.widget().children[:2]] == ["update", 2.0]
    html = fig.static_html()
    assert '<option value="0" selected>update</option>' in html
    assert 'value="2" data-param="rho"' in html
    with pytest.raises(ValueError, match=r"start gate='forget' is not one of its values"):
        interactive(choose, gate=["update", "reset"], rho=[1.0], start={"gate": "forget"})
    with pytest.raises(ValueError, match="start for a parameter that has no range: 'sigma'"):
        interactive(choose, gate=["update"], rho=[1.0], start={"sigma": 1})


def test_bad_arguments():
    with pytest.raises(ValueError, match="experiment must be callable, got int"):
        interactive(3, a=[1])
    with pytest.raises(ValueError, match="interactive needs at least one parameter range"):
        interactive(line)
    with pytest.raises(ValueError, match=r"the range of slope must be a non-empty list of values, got \[\]"):
        interactive(line, slope=[], offset=[0])
    with pytest.raises(ValueError, match=r"labels for parameters that have no range: \['sloop'\]"):
        interactive(line, slope=[1], offset=[0], labels={"sloop": "s"})


def growing(scale):
    """Curves that leave the experiment's own fixed range for large scales."""
    t = np.arange(1, 21)
    fig = go.Figure([go.Scatter(x=t, y=scale ** t, name="power"),
                     go.Bar(x=["a", "b"], y=[scale, -scale], xaxis="x2", yaxis="y2")])
    fig.update_layout(yaxis=dict(type="log", range=[-1, 1]), xaxis2=dict(domain=[0.6, 1]),
                      xaxis=dict(domain=[0, 0.5]), yaxis2=dict(anchor="x2", range=[-1, 1]))
    return fig


def test_shared_axis_ranges_keep_every_trace_inside_in_every_frame():
    fig = interactive(growing, scale=[0.5, 1.0, 1.5])
    raw = {"frames": fig.frames()}
    outside = traces_outside_axes(raw)
    assert any("frame '0'" in p for p in outside) and any("frame '2'" in p for p in outside)
    spec = fig.spec()
    assert traces_outside_axes(spec) == []
    ranges = {resolved(spec, k)["layout"]["yaxis"]["range"][0] for k in spec["frames"]}
    assert len(ranges) == 1                                  # one range for all frames
    low, high = resolved(spec, "0")["layout"]["yaxis"]["range"]
    assert low <= 20 * np.log10(0.5) and high >= 20 * np.log10(1.5)    # log10 units
    assert high - 20 * np.log10(1.5) < 0.1 * (high - low)                # and not much more
    bars = resolved(spec, "2")["layout"]["yaxis2"]["range"]
    assert bars[0] <= -1.5 and bars[1] >= 1.5
    assert "range" not in resolved(spec, "0")["layout"].get("xaxis2", {})   # categories


def test_a_fixed_range_that_holds_all_data_is_kept():
    def fixed(scale):
        return go.Figure(go.Scatter(x=[0, 1], y=[0, scale]), layout_yaxis_range=[-5, 5])
    spec = interactive(fixed, scale=[1.0, 2.0]).spec()
    assert all(resolved(spec, k)["layout"]["yaxis"]["range"] == [-5, 5] for k in ("0", "1"))
    assert traces_outside_axes(interactive(fixed, scale=[1.0, 9.0]).spec()) == []


def test_traces_outside_axes_reads_figures_and_is_exact():
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0.0, 1.0]), layout_yaxis_range=[0, 1])
    assert traces_outside_axes(fig) == []
    fig.update_layout(yaxis_range=[0, 0.99])
    [problem] = traces_outside_axes(fig)
    assert "y spans [0, 1] outside yaxis range [0, 0.99]" in problem
    log = go.Figure(go.Scatter(x=[1, 2], y=[1e-3, 1e2]), layout_yaxis=dict(type="log", range=[-3, 1]))
    assert "log10 [-3, 2]" in traces_outside_axes(log)[0]


def test_log_axes_show_powers_of_ten_unless_set():
    def fig(fmt):
        f = go.Figure(go.Scatter(x=[1, 2], y=[1e-6, 1]), layout_yaxis_type="log")
        return f.update_layout(yaxis_exponentformat=fmt) if fmt else f
    spec = interactive(fig, fmt=["", "e"]).spec()
    assert resolved(spec, "0")["layout"]["yaxis"]["exponentformat"] == "power"
    assert resolved(spec, "1")["layout"]["yaxis"]["exponentformat"] == "e"
    assert "exponentformat" not in resolved(spec, "0")["layout"].get("xaxis", {})


def contour_under_a_point(where):
    """A large map that every frame repeats, and one point that moves."""
    grid = np.linspace(-1, 1, 60)
    z = np.add.outer(grid ** 2, grid ** 2)
    return go.Figure([go.Contour(x=grid, y=grid, z=z), go.Scatter(x=[where], y=[where])])


def test_data_repeated_in_frames_is_stored_once():
    fig = interactive(contour_under_a_point, where=[-0.5, 0.0, 0.5, 0.9])
    spec = fig.spec()
    size = len(json.dumps(spec))
    raw = len(json.dumps(fig.frames()))
    assert size < 0.4 * raw, (size, raw)                   # the map and the template once
    shared = json.dumps(spec["pool"])
    assert len(shared) > 0.5 * size
    for k, frame in fig.frames().items():                  # and nothing is lost
        back = resolved(spec, k)
        assert back["data"] == frame["data"]
    assert deduplicate({"frames": {"a": [1], "b": [2]}})["pool"] == []


def test_mimebundle_offers_widget_and_html(live):
    bundle = interactive(line, slope=[1, 2], offset=[0.0])._repr_mimebundle_()
    assert "text/html" in bundle and "rnn-interactive" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle


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
    spec = spec_of(html)
    assert list(spec["frames"]) == [""] and spec["labels"] == []
    assert PlotlyMimeRenderer.handle_mime(None, SimpleNamespace(mime_type="text/html", content=""),
                                          False) is None
    assert ("html", mime, 5) in PlotlyMimeRenderer.mime_priority_overrides


# ------------------------------------------------------------ the controller in a browser

def legend_figure(gate, rho):
    fig = go.Figure([go.Scatter(x=[0, 1], y=[0, rho], name="Γ<sub>z</sub> " + gate),
                     go.Scatter(x=[0, 1], y=[rho, 0], name="second curve")])
    return fig.update_layout(title="a title")


@pytest.fixture(scope="module")
def chromium_page():
    playwright = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium")
    if not executable:
        pytest.skip("Debian's chromium is not installed")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.mark.browser
@pytest.mark.parametrize("loading", ["blocking", "defer", "async", "late"])
def test_controller_starts_however_plotly_js_is_loaded(chromium_page, tmp_path, loading):
    """The figure draws whether plotly.js is a blocking script, a ``defer`` or
    ``async`` one, or added after the page loaded (then it announces itself
    with the "rnn-plotly-ready" event); its dropdown and slider redraw it."""
    from plotly.offline import get_plotlyjs
    (tmp_path / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    head = {"blocking": '<script src="plotly.min.js"></script>',
            "defer": '<script defer src="plotly.min.js"></script>',
            "async": '<script async src="plotly.min.js"></script>', "late": ""}[loading]
    late = """<script>window.addEventListener("load", function () { setTimeout(function () {
      var s = document.createElement("script"); s.src = "plotly.min.js";
      s.onload = function () { document.dispatchEvent(new Event("rnn-plotly-ready")); };
      document.head.appendChild(s); }, 300); });</script>""" if loading == "late" else ""
    fig = interactive(legend_figure, gate=["update", "reset"], rho=[0.5, 1.0, 2.0],
                      labels={"rho": "ρ"})
    (tmp_path / "page.html").write_text(
        f'<!doctype html><html><head><meta charset="utf-8">{head}</head>'
        f'<body style="width:900px">{fig.static_html()}{late}</body></html>', encoding="utf-8")
    page = chromium_page.new_page(viewport={"width": 1000, "height": 800})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((tmp_path / "page.html").as_uri(), wait_until="load")
    page.wait_for_selector(".rnn-interactive-plot .main-svg", timeout=20_000)
    root = page.locator(".rnn-interactive")
    assert root.get_attribute("data-frame") == "1,1"
    page.select_option("select[data-param=gate]", "0")
    page.wait_for_function("() => document.querySelector('.rnn-interactive')"
                           ".getAttribute('data-frame') === '0,1'")
    page.locator("input[data-param=rho]").evaluate(
        "el => { el.value = 2; el.dispatchEvent(new Event('input')); }")
    assert root.get_attribute("data-frame") == "0,2"
    assert page.locator("output").inner_text() == "2"
    legend = page.evaluate("() => document.querySelector('.rnn-interactive-plot')"
                           "._fullLayout.legend.orientation")
    assert legend == "v"                                  # wide: plotly's own legend
    assert not errors, errors
    page.close()


@pytest.mark.browser
def test_on_a_phone_the_legend_is_below_and_no_toolbar(chromium_page, tmp_path):
    from plotly.offline import get_plotlyjs
    (tmp_path / "plotly.min.js").write_text(get_plotlyjs(), encoding="utf-8")
    fig = interactive(legend_figure, gate=["update", "reset"], rho=[0.5, 1.0])
    (tmp_path / "page.html").write_text(
        f'<!doctype html><html><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width">'
        f'<script defer src="plotly.min.js"></script></head><body>{fig.static_html()}</body></html>',
        encoding="utf-8")
    page = chromium_page.new_page(viewport={"width": 390, "height": 800})
    page.goto((tmp_path / "page.html").as_uri(), wait_until="load")
    page.wait_for_selector(".rnn-interactive-plot .main-svg", timeout=20_000)
    box = page.evaluate("""() => {
        const plot = document.querySelector('.rnn-interactive-plot');
        const legend = plot.querySelector('.legend').getBoundingClientRect();
        const area = plot.querySelector('.nsewdrag').getBoundingClientRect();
        const xtitle = plot.querySelector('.xtick') ? plot.querySelector('.xaxislayer-above')
            .getBoundingClientRect() : area;
        return {orientation: plot._fullLayout.legend.orientation, legendTop: legend.top,
                legendBottom: legend.bottom, plotBottom: area.bottom, ticksBottom: xtitle.bottom,
                height: plot.getBoundingClientRect().bottom,
                modebar: plot.querySelectorAll('.modebar-btn').length};
    }""")
    assert box["orientation"] == "h"
    assert box["legendTop"] >= box["ticksBottom"] and box["legendBottom"] <= box["height"] + 1, box
    assert box["modebar"] == 0
    page.close()


def test_the_book_builds_kernels_get_the_build_signal(tmp_path, live):
    """tests/book_build.py executes the chapters with $RNN_BOOK_BUILD set, so
    their figures carry the website frames (scripts/book.sh exports it too)."""
    import nbformat
    from tests.book_build import ROOT, execute_chapter
    assert "export RNN_BOOK_BUILD=1" in (ROOT / "scripts" / "book.sh").read_text()
    code = ("from rnn_core.interactive import interactive\nimport plotly.graph_objects as go\n"
            "interactive(lambda k: go.Figure(go.Scatter(y=[0, k])), k=[1, 2, 3])")
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), path)
    execute_chapter(path)
    [output] = nbformat.read(path, as_version=4).cells[0].outputs
    assert len(spec_of(output["data"]["text/html"])["frames"]) == 3


def test_live_widget_sets_its_output_without_entering_it(live, monkeypatch):
    """Entering the Output widget (``with out:``) makes nbclient answer every
    output with a kernel message, and a headless run can then stall for the
    cell's whole timeout: the widget must assign its outputs instead."""
    import ipywidgets
    import plotly.io as pio

    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")   # as in JupyterLab

    def refuse(self):
        raise AssertionError("the live figure entered its Output widget")
    monkeypatch.setattr(ipywidgets.Output, "__enter__", refuse)
    box = interactive(choose, gate=["update", "reset"], rho=[0.5, 1.0]).widget()
    out = box.children[-1]
    (shown,) = out.outputs
    assert shown["output_type"] == "display_data"
    figure = shown["data"]["application/vnd.plotly.v1+json"]
    assert figure["data"][0]["y"][0] == box.children[1].value
    box.children[1].value = 0.5 if box.children[1].value != 0.5 else 1.0   # move rho
    (redrawn,) = out.outputs
    assert redrawn["data"]["application/vnd.plotly.v1+json"]["data"][0]["y"][0] == \
        box.children[1].value != figure["data"][0]["y"][0]
