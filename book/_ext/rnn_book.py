"""Sphinx extension for the book.

- Serves plotly.js from _static, deferred and only on the pages that draw
  kernel-free figures (the contract with their controller: ``page_scripts``).
- Keeps pages light: no saved widget state, no source maps, the theme's icon
  script deferred (``deduplicate_scripts``, ``remove_source_maps``,
  ``defer_icon_script``).
- Provides the ``gpu`` admonition that marks pages whose full results need a GPU.
- Labels the bibliography by author and year, as the text cites it
  (``rnn_author_year``, set as ``bibtex_default_style`` in _config.yml).

tests/test_site.py checks each of these on the built site."""
import re
from collections import Counter
from pathlib import Path

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle

from docutils import nodes
from docutils.parsers.rst.directives.admonitions import BaseAdmonition
from sphinx.util.docutils import SphinxDirective


class GPUAdmonition(BaseAdmonition, SphinxDirective):
    """``{gpu}``: the one admonition that marks a GPU page."""
    node_class = nodes.admonition

    def run(self):
        self.arguments = ["GPU page"]
        self.options.setdefault("class", []).extend(["gpu-page", "warning"])
        return super().run()


class AuthorYearLabels(BaseLabelStyle):
    """Bibliography labels as the text cites: "Elman, 1990", "Glorot and Bengio,
    2010", "Bengio et al., 1994"; a, b, ... after the year where two would be equal."""

    @staticmethod
    def label(entry) -> str:
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        last = [" ".join(name.render_as("text") for name in p.rich_last_names) for p in people]
        names = (last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2
                 else f"{last[0]} et al." if last else entry.fields.get("organization", entry.key))
        return f"{names}, {entry.fields.get('year', 'n.d.')}"

    def format_labels(self, sorted_entries):
        labels = [self.label(entry) for entry in sorted_entries]
        total, seen = Counter(labels), Counter()
        for label in labels:
            if total[label] > 1:
                seen[label] += 1
                label += "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            yield label


class AuthorYearStyle(PlainStyle):
    """pybtex's "plain" entries (sorted by author, year, title), labelled by author and year."""
    default_label_style = "rnn_author_year"


register_plugin("pybtex.style.labels", "rnn_author_year", AuthorYearLabels)
register_plugin("pybtex.style.formatting", "rnn_author_year", AuthorYearStyle)


PLOTLY_JS = "plotly.min.js"
FIGURE_MARK = 'class="rnn-interactive'     # every kernel-free figure (rnn_core.interactive)


def write_plotly_js(app, exc):
    """Copy the plotly.js bundle that the plotly package ships into _static."""
    if exc is not None or app.builder.format != "html":
        return
    from plotly.offline import get_plotlyjs
    target = Path(app.outdir) / "_static" / PLOTLY_JS
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(get_plotlyjs(), encoding="utf-8")


def page_scripts(app, pagename, templatename, context, doctree):
    """plotly.js on the pages that draw figures, and only there.

    The contract with the figures' controller (``rnn_core.interactive``): the
    page loads plotly.js with ``defer``. A deferred script runs after the
    document is parsed and before ``DOMContentLoaded``, so it never blocks
    the first paint, and a controller that starts on ``DOMContentLoaded`` (or
    at once, if the document is no longer loading) finds ``window.Plotly``.
    Never load it ``async``: that may run after ``DOMContentLoaded``.
    """
    if FIGURE_MARK in context.get("body", ""):
        app.add_js_file(PLOTLY_JS, loading_method="defer")   # this page only (Sphinx >= 3.5)
    deduplicate_scripts(context)


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def deduplicate_scripts(context):
    """Drop repeated <script> entries: sphinx-thebe registers its inline config
    once per read of the sources, and a repeated ``const`` is a console error.
    Drop the saved ipywidgets state too: the site loads no widget manager
    (``nb_ipywidgets_js: {}``), so it is dead weight (a quarter megabyte on a page)."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", str(script)) or "",   # None and "" both mean inline
               tuple(sorted(attributes.items())))
        if attributes.get("type") == WIDGET_STATE:
            continue
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def remove_source_maps(app, exc):
    """Ship no source maps (megabytes no reader needs): delete the themes'
    ``*.map`` files and the comments that point to them."""
    if exc is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    for source_map in static.rglob("*.map"):
        source_map.unlink()
    for asset in [*static.rglob("*.js"), *static.rglob("*.css")]:
        text = asset.read_text(encoding="utf-8", errors="surrogateescape")
        if "sourceMappingURL=" in text:
            kept = [line for line in text.split("\n") if "sourceMappingURL=" not in line
                    or not line.lstrip().startswith(("//#", "/*#"))]
            asset.write_text("\n".join(kept), encoding="utf-8", errors="surrogateescape")


BLOCKING_FONTAWESOME = re.compile(r'<script src="([^"]*/fontawesome\.js[^"]*)"></script>')


def defer_icon_script(app, exc):
    """pydata-sphinx-theme writes its 1.5 MB Font Awesome script into every
    page's head as a blocking script (a fixed template line): defer it, so the
    text paints first and the icons follow a moment later."""
    if exc is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        deferred = BLOCKING_FONTAWESOME.sub(r'<script defer src="\1"></script>', html)
        if deferred != html:
            page.write_text(deferred, encoding="utf-8")


def setup(app):
    app.add_directive("gpu", GPUAdmonition)
    app.connect("build-finished", write_plotly_js)
    app.connect("build-finished", remove_source_maps, priority=900)   # after other copies
    app.connect("build-finished", defer_icon_script)
    app.connect("html-page-context", page_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
