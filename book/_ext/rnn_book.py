"""Sphinx extension for the book: serves plotly.js once from _static for the
kernel-free interactive figures, and provides the ``gpu`` admonition that marks
pages whose full results need a GPU."""
from pathlib import Path

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


def write_plotly_js(app, exc):
    """Copy the plotly.js bundle that the plotly package ships into _static."""
    if exc is not None or app.builder.format != "html":
        return
    from plotly.offline import get_plotlyjs
    target = Path(app.outdir) / "_static" / "plotly.min.js"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(get_plotlyjs(), encoding="utf-8")


def deduplicate_scripts(app, pagename, templatename, context, doctree):
    """Drop repeated <script> entries: sphinx-thebe registers its inline config
    once per read of the sources, and a repeated ``const`` is a console error."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (getattr(script, "filename", str(script)) or "",   # None and "" both mean inline
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.add_directive("gpu", GPUAdmonition)
    app.add_js_file("plotly.min.js")
    app.connect("build-finished", write_plotly_js)
    app.connect("html-page-context", deduplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
