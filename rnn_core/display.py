"""Small display helpers for the chapters: the library's own source beside the
equations, and result tables.

Introduced in the chapter *The RNN cell and the forward pass*.
"""
from __future__ import annotations

import inspect


def show_source(obj):
    """Syntax-highlighted source of a library function or class, as it is in rnn_core."""
    from IPython.display import Code
    return Code(inspect.getsource(obj), language="python")


def error_table(errors: dict[str, float], tol: float, title: str = "relative error"):
    """An HTML table of {name: error} with a pass mark against ``tol``."""
    from IPython.display import HTML
    rows = "".join(
        f"<tr><td><code>{name}</code></td><td>{err:.2e}</td>"
        f"<td>{'✔ below' if err < tol else '✘ above'} {tol:g}</td></tr>"
        for name, err in errors.items())
    return HTML(f"<table><thead><tr><th>parameter</th><th>{title}</th><th>check</th></tr>"
                f"</thead><tbody>{rows}</tbody></table>")


def glue(name: str, value):
    """Make a number computed in a chapter quotable in its text as
    {glue:text}`name` (with a format, {glue:text}`name:.3f`) on the website.
    Outside a book build (Colab, plain Jupyter) it only returns the value."""
    value = value.item() if hasattr(value, "item") else value      # numpy scalar -> Python
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    myst_glue(name, value, display=False)
    return value
