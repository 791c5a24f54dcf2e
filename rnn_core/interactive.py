"""Interactive experiments written once, shown two ways.

``interactive(experiment, **ranges)`` takes a function that returns a plotly
figure and, for each of its keyword arguments, the values a control offers:
numbers get a slider, anything else (strings such as a gate's or a model's
name) a dropdown. ``labels={"rho": "ρ", "b_f": "b<sub>f</sub>"}`` names the
controls in the book's symbols; ``start={"gate": "update"}`` picks the values
the figure opens on.

* In a running kernel (Jupyter, Colab, Binder) it shows live ipywidgets
  controls that call the experiment again whenever one changes. Nothing is
  precomputed there.
* On the website (no kernel) it shows the same figure with working controls:
  every combination of values is computed once while the book is built, and
  a few lines of JavaScript swap the precomputed frames with plotly.js, which
  the site serves from its own ``_static`` folder. The book build says so by
  setting the environment variable ``RNN_BOOK_BUILD=1`` for the kernels that
  execute the chapters (``scripts/book.sh``, ``tests/book_build.py``).

On the website, every axis of a figure with controls gets one range shared by
all frames (unless the experiment fixed one that already holds every frame's
data), so no curve leaves its axes when a slider moves;
:func:`traces_outside_axes` checks that. Data repeated in several frames
(a contour drawn under every frame, the template) is stored once.

Introduced in the chapter *The RNN cell and the forward pass*.
"""
from __future__ import annotations

import base64
import html
import itertools
import json
import math
import os
import re
import uuid
from collections.abc import Callable, Mapping, Sequence

BUILD_ENV = "RNN_BOOK_BUILD"
NARROW_PX = 600          # below this plot width: legend under the plot, no toolbar

# The controller's contract with the page: it starts as soon as window.Plotly
# exists. That may be before DOMContentLoaded, at it (a ``defer`` script), or
# later (``async``): it also listens for every plotly script's "load", for the
# document event "rnn-plotly-ready" and for window "load".
CONTROLLER_JS = """
(function () {
  var root = document.currentScript.previousElementSibling;
  var spec = JSON.parse(root.querySelector("script.rnn-interactive-data").textContent);
  var plot = root.querySelector(".rnn-interactive-plot");
  var controls = Array.prototype.slice.call(root.querySelectorAll("[data-param]"));
  var started = false, narrow = null;
  function resolve(node) {
    if (Array.isArray(node)) { return node.map(resolve); }
    if (node && typeof node === "object") {
      if (Object.prototype.hasOwnProperty.call(node, "@ref")) { return resolve(spec.pool[node["@ref"]]); }
      var copy = {};
      for (var key in node) { copy[key] = resolve(node[key]); }
      return copy;
    }
    return node;
  }
  function key() { return controls.map(function (c) { return c.value; }).join(","); }
  function draw(first) {
    controls.forEach(function (c, k) {
      var out = c.parentNode.querySelector("output");
      if (out) { out.textContent = spec.labels[k][c.value]; }
    });
    var frame = resolve(spec.frames[key()]);
    var layout = frame.layout || {};
    narrow = plot.clientWidth < NARROW_PX;
    if (narrow) {
      layout.legend = Object.assign({}, layout.legend || {}, {orientation: "h", x: 0, xanchor: "left",
                                    y: 0, yanchor: "bottom", yref: "container"});
      layout.margin = Object.assign({t: 60}, layout.margin || {}, {l: 50, r: 10});
      layout.margin.b = Math.max(layout.margin.b || 0, 90);
    }
    var config = {displaylogo: false, responsive: true, displayModeBar: narrow ? false : "hover"};
    (first ? Plotly.newPlot : Plotly.react)(plot, frame.data || [], layout, config);
    root.setAttribute("data-frame", key());
  }
  function missing() {
    if (!started) { plot.textContent = "This figure needs plotly.js, which the book's website provides."; }
  }
  function start() {
    if (started || !window.Plotly) { return; }
    started = true;
    draw(true);
    controls.forEach(function (c) {
      c.addEventListener("input", function () { draw(false); });
      c.addEventListener("change", function () { if (root.getAttribute("data-frame") !== key()) { draw(false); } });
    });
    window.addEventListener("resize", function () {
      if ((plot.clientWidth < NARROW_PX) !== narrow) { draw(false); }
    });
  }
  if (window.Plotly) { start(); return; }
  Array.prototype.forEach.call(document.querySelectorAll("script[src*='plotly']"), function (s) {
    s.addEventListener("load", start);
  });
  document.addEventListener("rnn-plotly-ready", start);
  document.addEventListener("DOMContentLoaded", start);
  window.addEventListener("load", function () { start(); missing(); });
  if (document.readyState === "complete") { missing(); }
})();
""".replace("NARROW_PX", str(NARROW_PX))


def website_build() -> bool:
    """True while the book build executes the chapters (``$RNN_BOOK_BUILD`` set, not "0")."""
    return os.environ.get(BUILD_ENV, "") not in ("", "0")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _label(value) -> str:
    return f"{value:g}" if _is_number(value) else str(value)


def _plain(label_html: str) -> str:
    """The text of a label without its tags (for aria-label and widget tooltips)."""
    return html.unescape(re.sub(r"<[^>]+>", "", label_html))


def _display_data(fig, renderer=None) -> dict:
    """One display_data output of a plotly figure, as display(fig) makes it
    (the figure's own mime bundle; ``renderer="plotly_mimetype"`` or a renderer
    that opens a browser instead: the figure's JSON only)."""
    data = {} if renderer == "plotly_mimetype" else dict(fig._repr_mimebundle_() or {})
    if not data:
        data = {"application/vnd.plotly.v1+json": json.loads(fig.to_json())}
    data.setdefault("text/plain", repr(fig))
    return {"output_type": "display_data", "data": data, "metadata": {}}


class Interactive:
    """An experiment with control ranges; display it in a notebook to use it."""

    def __init__(self, experiment: Callable, ranges: dict[str, Sequence | Mapping],
                 height: int = 450, labels: Mapping[str, str] | None = None,
                 fit_axes: bool = True, start: Mapping | None = None):
        if not callable(experiment):
            raise ValueError(f"experiment must be callable, got {type(experiment).__name__}")
        if not ranges:
            raise ValueError("interactive needs at least one parameter range, e.g. rho=[0.5, 1.0]")
        self.ranges, self.value_labels, self.choice = {}, {}, {}
        for name, values in ranges.items():
            if isinstance(values, Mapping) and values:       # {shown label: value}
                self.value_labels[name] = [str(k) for k in values]
                self.ranges[name] = list(values.values())
                self.choice[name] = True
            elif isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
                raise ValueError(f"the range of {name} must be a non-empty list of values, "
                                 f"got {values!r}")
            else:
                self.ranges[name] = list(values)
                self.value_labels[name] = [_label(v) for v in values]
                self.choice[name] = not all(_is_number(v) for v in values)
        labels = dict(labels or {})
        unknown = sorted(set(labels) - set(self.ranges))
        if unknown:
            raise ValueError(f"labels for parameters that have no range: {unknown}; "
                             f"parameters: {list(self.ranges)}")
        self.labels = {name: labels.get(name, name) for name in self.ranges}
        self.experiment = experiment
        self.height = height
        self.fit_axes = fit_axes
        self.defaults = {name: len(values) // 2 for name, values in self.ranges.items()}
        for name, value in dict(start or {}).items():
            if name not in self.ranges:
                raise ValueError(f"start for a parameter that has no range: {name!r}")
            if value not in self.ranges[name]:
                raise ValueError(f"start {name}={value!r} is not one of its values "
                                 f"{self.ranges[name]}")
            self.defaults[name] = self.ranges[name].index(value)
        self._frames = None

    def figure(self, **kwargs):
        """The plotly figure for one choice of parameters (defaults: middle values)."""
        chosen = {name: values[self.defaults[name]] for name, values in self.ranges.items()}
        chosen.update(kwargs)
        return self.experiment(**chosen)

    def frames(self) -> dict[str, dict]:
        """Every combination of control positions -> {"data", "layout"} of its figure.
        Computed on the first call only."""
        if self._frames is None:
            import plotly.io as pio
            names = list(self.ranges)
            frames = {}
            for positions in itertools.product(*(range(len(self.ranges[n])) for n in names)):
                fig = self.experiment(**{n: self.ranges[n][i] for n, i in zip(names, positions)})
                frames[",".join(map(str, positions))] = json.loads(pio.to_json(fig, validate=False))
            self._frames = frames
        return self._frames

    def spec(self) -> dict:
        """What the website's controller reads: value labels, frames with shared
        axis ranges, and a pool of data that several frames share."""
        frames = {k: {"data": f.get("data", []), "layout": f.get("layout", {})}
                  for k, f in json.loads(json.dumps(self.frames())).items()}
        if self.fit_axes:
            share_axis_ranges(list(frames.values()))
        for frame in frames.values():
            _style_layout(frame["layout"])
        return deduplicate({"labels": [self.value_labels[n] for n in self.ranges],
                            "frames": frames})

    def controls_html(self) -> str:
        parts = []
        for name, values in self.ranges.items():
            label, plain = self.labels[name], html.escape(_plain(self.labels[name]))
            default = self.defaults[name]
            attrs = f'data-param="{html.escape(name)}" aria-label="{plain}"'
            if self.choice[name]:
                options = "".join(
                    f'<option value="{i}"{" selected" if i == default else ""}>'
                    f'{html.escape(text)}</option>'
                    for i, text in enumerate(self.value_labels[name]))
                parts.append(f'<label class="rnn-interactive-control rnn-choice">'
                             f'<span class="rnn-interactive-name">{label}</span> '
                             f'<select {attrs}>{options}</select></label>')
            else:
                parts.append(f'<label class="rnn-interactive-control">'
                             f'<span class="rnn-interactive-name">{label}</span> '
                             f'<input type="range" min="0" max="{len(values) - 1}" step="1" '
                             f'value="{default}" {attrs}>'
                             f'<output>{html.escape(self.value_labels[name][default])}</output>'
                             f'</label>')
        return "".join(parts)

    def static_html(self) -> str:
        """HTML with controls and precomputed frames; needs only plotly.js in the page."""
        return figure_html(self.spec(), self.height, self.controls_html())

    def widget(self):
        """Live ipywidgets controls that re-run the experiment in the kernel."""
        import ipywidgets as widgets
        import plotly.io as pio
        # The classic-notebook renderer would inline all of plotly.js into the
        # widget's saved state; the mimetype renderer stores only the figure.
        renderer = "plotly_mimetype" if "notebook" in (pio.renderers.default or "") else None
        controls = {}
        for name, values in self.ranges.items():
            kind = widgets.Dropdown if self.choice[name] else widgets.SelectionSlider
            extra = {} if self.choice[name] else {"continuous_update": False}
            controls[name] = kind(
                options=list(zip(self.value_labels[name], values)),
                value=values[self.defaults[name]], description=self.labels[name],
                description_allow_html=True, tooltip=_plain(self.labels[name]),
                style={"description_width": "initial"}, layout={"width": "420px"}, **extra)
        out = widgets.Output()

        def redraw(_change=None):
            fig = self.experiment(**{n: c.value for n, c in controls.items()})
            for update in (fig.for_each_xaxis, fig.for_each_yaxis):
                update(lambda ax: ax.update(exponentformat="power")
                       if ax.type == "log" and ax.exponentformat is None else None)
            # One assignment of the Output widget's outputs, never `with out:`:
            # entering the widget makes nbclient (which runs notebooks headless)
            # answer every output with a message to the kernel, and its wait for
            # the cell's reply can then sleep until the cell's timeout.
            out.outputs = (_display_data(fig, renderer),)

        for control in controls.values():
            control.observe(redraw, names="value")
        redraw()
        return widgets.VBox([*controls.values(), out])

    def _repr_mimebundle_(self, include=None, exclude=None):
        names = ", ".join(_plain(label) for label in self.labels.values())
        bundle = {"text/plain": f"<interactive {getattr(self.experiment, '__name__', 'experiment')}:"
                                f" {names}>"}
        if website_build():          # the website shows the HTML; no kernel will run a widget
            bundle["text/html"] = self.static_html()
            return bundle
        try:
            bundle.update(self.widget()._repr_mimebundle_())
        except ImportError:          # no ipywidgets: the default figure, without controls
            bundle.update(self.figure()._repr_mimebundle_())
            return bundle
        # What a front end without widgets shows; the class lets the site's tests
        # notice a book built without $RNN_BOOK_BUILD (a figure that drew nothing).
        bundle["text/html"] = (f'<div class="rnn-interactive rnn-live-only">Interactive figure '
                               f'({html.escape(names)}): run the notebook with ipywidgets to use '
                               f'it, or read it on the book\'s website.</div>')
        return bundle


# ---------------------------------------------------------------- website spec

def _style_layout(layout: dict) -> None:
    """Log axes show powers of ten unless the figure chose a format."""
    for name, axis in layout.items():
        if re.fullmatch(r"[xy]axis\d*", name) and isinstance(axis, dict) \
                and axis.get("type") == "log":
            axis.setdefault("exponentformat", "power")


_DTYPES = {"f8": "<f8", "f4": "<f4", "i1": "i1", "u1": "u1", "i2": "<i2", "u2": "<u2",
           "i4": "<i4", "u4": "<u4", "i8": "<i8", "u8": "<u8"}


def _numbers(value):
    """Finite numbers of a plotly data value (list, nested list, typed array
    {"dtype", "bdata"}, scalar) as a flat float array; None when not numeric."""
    import numpy as np
    if value is None:
        return None
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=_DTYPES[value["dtype"]])
        arr = arr.astype(float)
    else:
        if isinstance(value, dict):
            return None
        try:
            arr = np.asarray(value, dtype=float).ravel()
        except (TypeError, ValueError):
            return None
    return arr[np.isfinite(arr)]


def _count(value) -> int:
    if isinstance(value, dict) and "bdata" in value:
        shape = value.get("shape")
        if shape:
            return int(str(shape).split(",")[0])
        return len(base64.b64decode(value["bdata"])) // int(_DTYPES[value["dtype"]][-1])
    return len(value) if isinstance(value, (list, tuple)) else 0


def _z_shape(trace):
    z = trace.get("z")
    if isinstance(z, dict) and "bdata" in z:
        rows, cols = (int(s) for s in str(z.get("shape", "0,0")).split(","))
        return rows, cols
    if isinstance(z, list) and z and isinstance(z[0], (list, tuple)):
        return len(z), len(z[0])
    return None


CARTESIAN = {"scatter", "scattergl", "bar", "heatmap", "contour"}


def _trace_extents(trace: dict):
    """{"x": array or None, "y": array or None}: the positions a trace draws at
    on each axis (None: not plain numbers, e.g. categories or bar positions, so
    that axis is left alone); None for trace types other than CARTESIAN."""
    import numpy as np
    kind = trace.get("type", "scatter")
    if kind not in CARTESIAN:
        return None
    out = {}
    if kind in ("heatmap", "contour"):
        shape = _z_shape(trace) or (0, 0)
        for letter, n in zip("yx", shape):
            given = _numbers(trace.get(letter))
            if trace.get(letter) is not None and given is None:
                out[letter] = None                           # categorical positions
                continue
            if given is None or len(given) == 0:
                start, step = trace.get(letter + "0", 0), trace.get("d" + letter, 1)
                given = start + step * np.arange(n, dtype=float)
            if kind == "heatmap" and len(given) == n and n > 1:   # cells around their centres
                half = (given[1] - given[0]) / 2, (given[-1] - given[-2]) / 2
                given = np.concatenate([given, [given[0] - half[0], given[-1] + half[1]]])
            out[letter] = given
        return out
    horizontal = kind == "bar" and trace.get("orientation") == "h"
    for letter in "xy":
        raw = trace.get(letter)
        if raw is None:
            other = trace.get("y" if letter == "x" else "x")
            n = _count(other) if other is not None else 0
            start, step = trace.get(letter + "0", 0), trace.get("d" + letter, 1)
            vals = start + step * np.arange(n, dtype=float)
        else:
            vals = _numbers(raw)
        value_axis = (letter == "x") == horizontal
        if vals is None or kind == "bar" and not value_axis:  # bar widths: plotly places them
            out[letter] = None
            continue
        if kind == "bar":
            base = _numbers(trace.get("base", 0))
            vals = np.concatenate([vals, base if base is not None and base.size else [0.0]])
        elif trace.get("fill") == "tozero" + letter:
            vals = np.concatenate([vals, [0.0]])
        error = trace.get("error_" + letter) or {}
        err = _numbers(error.get("array")) if error.get("visible", True) else None
        if err is not None and len(err) == len(vals):
            vals = np.concatenate([vals - err, vals + err])
        out[letter] = vals
    return out


def _tight(trace: dict, letter: str) -> bool:
    """Whether an axis may end exactly at this trace's data (lines along x, maps)."""
    kind = trace.get("type", "scatter")
    if kind in ("heatmap", "contour"):
        return True
    return letter == "x" and kind in ("scatter", "scattergl") and \
        "markers" not in trace.get("mode", "lines") and "text" not in trace.get("mode", "lines")


def _axis_names(trace: dict) -> dict:
    return {letter: letter + "axis" + (trace.get(letter + "axis", letter)[1:])
            for letter in "xy"}


def _axis_bounds(axis: dict, values):
    """(low, high) of values in the axis' own units (log10 for log axes); None if empty."""
    import numpy as np
    values = np.asarray(values, dtype=float)
    if axis.get("type") == "log":
        values = np.log10(values[values > 0])
    if values.size == 0:
        return None
    return float(values.min()), float(values.max())


def share_axis_ranges(frames: list[dict], pad: float = 0.04) -> None:
    """Give every axis one range for all frames, in place: the union of its data
    over the frames (log axes in powers of ten), padded by ``pad`` of the span
    (not along x for lines, nor for heatmaps), unless every frame fixed the same
    range and it contains all the data. Axes that show categories, dates, or
    trace types other than CARTESIAN are left alone."""
    extents, skip, loose = {}, set(), set()
    for frame in frames:
        layout = frame.setdefault("layout", {})
        for trace in frame.get("data", []):
            names = _axis_names(trace)
            spans = _trace_extents(trace)
            if spans is None:
                skip.update(names.values())
                continue
            for letter, name in names.items():
                axis = layout.get(name, {})
                if spans[letter] is None or \
                        axis.get("type") in ("category", "multicategory", "date"):
                    skip.add(name)
                    continue
                if not _tight(trace, letter):
                    loose.add(name)
                bounds = _axis_bounds(axis, spans[letter])
                if bounds is None:
                    continue
                lo, hi = extents.get(name, (math.inf, -math.inf))
                extents[name] = (min(lo, bounds[0]), max(hi, bounds[1]))
    for name, (lo, hi) in extents.items():
        if name in skip:
            continue
        axes = [frame["layout"].get(name, {}) for frame in frames]
        if any(a.get("autorange") == "reversed" or a.get("matches") or a.get("scaleanchor")
               or a.get("range") is not None and a["range"][0] is not None
               and a["range"][1] is not None and a["range"][0] > a["range"][1] for a in axes):
            continue
        fixed = [tuple(a["range"]) for a in axes if a.get("range") is not None
                 and a.get("autorange") is not True]
        if len(fixed) == len(axes) and len(set(fixed)) == 1 and \
                None not in fixed[0] and fixed[0][0] <= lo and hi <= fixed[0][1]:
            continue
        log = axes[0].get("type") == "log"
        if axes[0].get("rangemode") == "tozero" and not log:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        span = hi - lo
        if span == 0:
            margin = 0.5 if log else max(abs(hi) * 0.1, 1.0)
        else:
            margin = pad * span if name in loose else 0.0
        low = lo if (lo == 0 and not log and span > 0) else lo - margin   # bars, counts from 0
        for frame in frames:
            axis = frame["layout"].setdefault(name, {})
            axis["range"] = [low, hi + margin]
            axis["autorange"] = False


def traces_outside_axes(spec, rel_tol: float = 1e-9) -> list[str]:
    """Every place where a trace's data leaves a fixed axis range, over all frames.

    ``spec``: a website spec (``Interactive.spec()``, or the JSON in a built
    page's ``script.rnn-interactive-data``), a plotly figure or its dict, or an
    ``Interactive``. Axes without a fixed range autoscale and are not checked.
    Returns readable descriptions; an empty list means every trace stays inside.
    """
    if isinstance(spec, Interactive):
        spec = spec.spec()
    elif hasattr(spec, "to_plotly_json"):
        spec = json.loads(spec.to_json())
    if "frames" not in spec:
        spec = {"frames": {"": spec}, "pool": []}
    pool = spec.get("pool", [])

    def resolve(node):
        if isinstance(node, list):
            return [resolve(v) for v in node]
        if isinstance(node, dict):
            if "@ref" in node:
                return resolve(pool[node["@ref"]])
            return {k: resolve(v) for k, v in node.items()}
        return node

    problems = []
    for key, frame in spec["frames"].items():
        frame = resolve(frame)
        layout = frame.get("layout", {})
        for i, trace in enumerate(frame.get("data", [])):
            spans = _trace_extents(trace)
            if spans is None:
                continue
            for letter, name in _axis_names(trace).items():
                axis = layout.get(name, {})
                rng = axis.get("range")
                if rng is None or axis.get("autorange") is True or None in rng or \
                        spans.get(letter) is None:
                    continue
                bounds = _axis_bounds(axis, spans[letter])
                if bounds is None:
                    continue
                low, high = sorted(rng)
                tol = rel_tol * max(high - low, 1e-300)
                if bounds[0] < low - tol or bounds[1] > high + tol:
                    unit = "log10 " if axis.get("type") == "log" else ""
                    problems.append(
                        f"frame {key!r}: trace {i} ({trace.get('name') or trace.get('type', 'scatter')}) "
                        f"{letter} spans {unit}[{bounds[0]:.4g}, {bounds[1]:.4g}] outside {name} "
                        f"range [{low:.4g}, {high:.4g}]")
    return problems


def deduplicate(spec: dict, min_chars: int = 200) -> dict:
    """Store once what several frames repeat: every list or object of at least
    ``min_chars`` characters of JSON that occurs twice or more in the frames
    moves to ``spec["pool"]`` and is replaced by {"@ref": index}."""
    counts = {}

    def count(node):
        if isinstance(node, (list, dict)):
            text = json.dumps(node, sort_keys=True, separators=(",", ":"))
            if len(text) >= min_chars:
                counts[text] = counts.get(text, 0) + 1
            for child in (node.values() if isinstance(node, dict) else node):
                count(child)

    index, pool = {}, []

    def replace(node):
        if not isinstance(node, (list, dict)):
            return node
        text = json.dumps(node, sort_keys=True, separators=(",", ":"))
        if counts.get(text, 0) > 1:
            if text not in index:
                index[text] = len(pool)
                pool.append(node)
            return {"@ref": index[text]}
        if isinstance(node, dict):
            return {k: replace(v) for k, v in node.items()}
        return [replace(v) for v in node]

    frames = spec["frames"]
    for frame in frames.values():
        count(frame)
    return {**spec, "frames": {k: replace(f) for k, f in frames.items()}, "pool": pool}


def figure_html(spec: dict, height: int, controls: str = "") -> str:
    """The kernel-free figure: controls, a plot area, the frames as JSON and the
    controller script. Without controls it draws its single frame (key "")."""
    spec = {"pool": [], **spec}
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
        _style_layout(fig["layout"])
        height = int(fig["layout"].get("height") or 450)
        return [nodes.raw("", figure_html({"labels": [], "frames": {"": fig}}, height),
                          format="html")]


def interactive(experiment: Callable, height: int = 450, labels: Mapping[str, str] | None = None,
                fit_axes: bool = True, start: Mapping | None = None,
                **ranges: Sequence | Mapping) -> Interactive:
    """Show ``experiment(**kwargs) -> plotly Figure`` with one control per range.

    Example: ``interactive(trajectory, scale=[0.5, 1.0, 1.5], gate=["update", "reset"],
    labels={"scale": "ρ"})``: a slider for numbers, a dropdown for other values
    (a range may also be ``{shown label: value}``). ``labels`` maps a parameter
    to its name in the book's symbols (HTML such as ``b<sub>f</sub>`` allowed).
    ``start={"gate": "update"}`` chooses the values shown first (default: the
    middle of each range), so that the figure opens on what the text describes.
    ``fit_axes=False`` keeps each frame's own axis ranges on the website.
    The website precomputes every combination: keep the grid small.
    """
    return Interactive(experiment, ranges, height, labels, fit_axes, start)
