"""Interactive experiments written once, shown two ways.

``interactive(experiment, **ranges)`` takes a function that returns a plotly
figure and, for each of its keyword arguments, the values a slider offers.

* In a running kernel (Jupyter, Colab, Binder) it shows live ipywidgets
  sliders that call the experiment again whenever a slider moves.
* On the website (no kernel) it shows the same figure with working sliders:
  every combination of slider values is computed when the book is built, and
  a few lines of JavaScript swap the precomputed frames with plotly.js, which
  the site serves once from its own ``_static`` folder.

Both live in one output: a widget view for notebook front ends and an HTML
fallback that the book's build selects (see ``_config.yml``), so the website
never shows an empty widget area.

Introduced in the chapter *The RNN cell and the forward pass*.
"""
from __future__ import annotations

import html
import itertools
import json
import uuid
from collections.abc import Callable, Sequence

CONTROLLER_JS = """
(function () {
  var root = document.currentScript.previousElementSibling;
  var spec = JSON.parse(root.querySelector("script.rnn-interactive-data").textContent);
  var plot = root.querySelector(".rnn-interactive-plot");
  var inputs = Array.prototype.slice.call(root.querySelectorAll("input[type=range]"));
  function draw(first) {
    inputs.forEach(function (input, k) {
      input.nextElementSibling.textContent = spec.labels[k][input.value];
    });
    var frame = spec.frames[inputs.map(function (i) { return i.value; }).join(",")];
    var config = {displaylogo: false, responsive: true};
    (first ? Plotly.newPlot : Plotly.react)(plot, frame.data, frame.layout, config);
    root.setAttribute("data-frame", inputs.map(function (i) { return i.value; }).join(","));
  }
  function start() {
    if (!window.Plotly) {
      plot.textContent = "This figure needs plotly.js, which the book's website provides.";
      return;
    }
    draw(true);
    inputs.forEach(function (input) { input.addEventListener("input", function () { draw(false); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
"""


def _label(value) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else str(value)


class Interactive:
    """An experiment with slider ranges; display it in a notebook to use it."""

    def __init__(self, experiment: Callable, ranges: dict[str, Sequence], height: int = 450):
        if not callable(experiment):
            raise ValueError(f"experiment must be callable, got {type(experiment).__name__}")
        if not ranges:
            raise ValueError("interactive needs at least one parameter range, e.g. rho=[0.5, 1.0]")
        for name, values in ranges.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
                raise ValueError(f"the range of {name} must be a non-empty list of values, "
                                 f"got {values!r}")
        self.experiment = experiment
        self.ranges = {name: list(values) for name, values in ranges.items()}
        self.height = height
        self.defaults = {name: len(values) // 2 for name, values in self.ranges.items()}

    def figure(self, **kwargs):
        """The plotly figure for one choice of parameters (defaults: middle values)."""
        chosen = {name: values[self.defaults[name]] for name, values in self.ranges.items()}
        chosen.update(kwargs)
        return self.experiment(**chosen)

    def frames(self) -> dict[str, dict]:
        """Every combination of slider positions -> {"data", "layout"} of its figure."""
        import plotly.io as pio
        names = list(self.ranges)
        frames = {}
        for positions in itertools.product(*(range(len(self.ranges[n])) for n in names)):
            fig = self.experiment(**{n: self.ranges[n][i] for n, i in zip(names, positions)})
            frames[",".join(map(str, positions))] = json.loads(pio.to_json(fig, validate=False))
        return frames

    def static_html(self) -> str:
        """HTML with sliders and precomputed frames; needs only plotly.js in the page."""
        spec = {"labels": [[_label(v) for v in values] for values in self.ranges.values()],
                "frames": self.frames()}
        controls = "".join(
            f'<label class="rnn-interactive-control">{html.escape(name)} '
            f'<input type="range" min="0" max="{len(values) - 1}" step="1" '
            f'value="{self.defaults[name]}" data-param="{html.escape(name)}" '
            f'aria-label="{html.escape(name)}">'
            f'<output>{html.escape(_label(values[self.defaults[name]]))}</output></label>'
            for name, values in self.ranges.items())
        return figure_html(spec, self.height, controls)

    def widget(self):
        """Live ipywidgets sliders that re-run the experiment in the kernel."""
        import ipywidgets as widgets
        import plotly.io as pio
        from IPython.display import display

        # The classic-notebook renderer would inline all of plotly.js into the
        # widget's saved state; the mimetype renderer stores only the figure.
        renderer = "plotly_mimetype" if "notebook" in (pio.renderers.default or "") else None
        sliders = {
            name: widgets.SelectionSlider(
                options=[(_label(v), v) for v in values], value=values[self.defaults[name]],
                description=name, continuous_update=False,
                style={"description_width": "initial"}, layout={"width": "420px"})
            for name, values in self.ranges.items()}
        out = widgets.Output()

        def redraw(_change=None):
            with out:
                out.clear_output(wait=True)
                fig = self.experiment(**{n: s.value for n, s in sliders.items()})
                fig.show(renderer=renderer) if renderer else display(fig)

        for slider in sliders.values():
            slider.observe(redraw, names="value")
        redraw()
        return widgets.VBox([*sliders.values(), out])

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": f"<interactive {self.experiment.__name__}: "
                                f"{', '.join(self.ranges)}>",
                  "text/html": self.static_html()}
        try:
            bundle.update(self.widget()._repr_mimebundle_())
            bundle["text/html"] = self.static_html()
        except ImportError:      # no ipywidgets: the static figure alone
            pass
        return bundle


def figure_html(spec: dict, height: int, controls: str = "") -> str:
    """The kernel-free figure: controls, a plot area, the frames as JSON and the
    controller script. Without controls it draws its single frame (key "")."""
    data = json.dumps(spec, separators=(",", ":")).replace("</", "<\\/")
    kind = "rnn-interactive" + ("" if controls else " rnn-static")
    uid = uuid.uuid4().hex[:8]
    return (f'<div class="{kind}" id="rnn-interactive-{uid}">'
            f'<div class="rnn-interactive-controls">{controls}</div>'
            f'<div class="rnn-interactive-plot" style="height:{height}px"></div>'
            f'<script type="application/json" class="rnn-interactive-data">{data}</script>'
            f'</div><script>{CONTROLLER_JS}</script>')


class PlotlyMimeRenderer:
    """myst-nb mime renderer (entry point ``myst_nb.mime_renderers``): a plain
    plotly figure output (``application/vnd.plotly.v1+json``, what notebooks
    store) becomes a kernel-free figure on the website, drawn by the site's own
    plotly.js. Notebook front ends render that MIME type themselves."""

    mime_priority_overrides = [("html", "application/vnd.plotly.v1+json", 5)]

    @staticmethod
    def handle_mime(renderer, data, inline):
        if inline or data.mime_type != "application/vnd.plotly.v1+json":
            return None
        from docutils import nodes
        fig = data.content if isinstance(data.content, dict) else json.loads(data.content)
        fig = {"data": fig.get("data", []), "layout": fig.get("layout", {})}
        height = int(fig["layout"].get("height") or 450)
        return [nodes.raw("", figure_html({"labels": [], "frames": {"": fig}}, height),
                          format="html")]


def interactive(experiment: Callable, height: int = 450, **ranges: Sequence) -> Interactive:
    """Show ``experiment(**kwargs) -> plotly Figure`` with one slider per range.

    Example: ``interactive(trajectory, scale=[0.5, 1.0, 1.5], T=[10, 50])``.
    The website precomputes every combination: keep the grid small.
    """
    return Interactive(experiment, ranges, height)
