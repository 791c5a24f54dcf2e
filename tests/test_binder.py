"""Binder and Colab stay green: every module a chapter imports — directly, or
through the rnn_core modules it imports — is installed by binder/requirements.txt,
and by the [book] extra (with rnn_core's own dependencies) plus what Colab
preinstalls. Imports are read with ast; import names are mapped to the names
of the distributions that provide them (sklearn → scikit-learn)."""
from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

from tests.book_build import ROOT, chapter_paths

# what Colab's runtime preinstalls (and the book relies on)
COLAB = {"torch", "numpy", "matplotlib", "plotly", "ipywidgets", "scikit-learn", "tqdm"}
# the Jupyter kernel itself, present wherever a notebook runs (Binder's base image, Colab)
KERNEL = {"ipython", "ipykernel", "matplotlib-inline"}
# used only while the website is built (jupyter-book), never in a reader's kernel
BUILD_ONLY = {"docutils", "myst-nb", "sphinx"}
DISTRIBUTION = {"sklearn": "scikit-learn", "IPython": "ipython", "yaml": "pyyaml",
                "PIL": "pillow", "matplotlib_inline": "matplotlib-inline", "myst_nb": "myst-nb"}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution(module: str) -> str:
    top = module.split(".")[0]
    return normalise(DISTRIBUTION.get(top, top))


def requirement_names(lines) -> set[str]:
    """Distribution names in requirement lines (pins, extras, markers and options dropped)."""
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        names.add(normalise(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line).group(0)))
    return names


def _guarded(node, parents) -> bool:
    """An import inside `try: ... except ImportError` (an optional import)."""
    for parent in parents.get(node, ()):
        if isinstance(parent, ast.Try):
            caught = [h.type for h in parent.handlers]
            names = {getattr(t, "id", None) for c in caught
                     for t in (c.elts if isinstance(c, ast.Tuple) else [c])}
            if names & {"ImportError", "ModuleNotFoundError"} and any(node is n or _inside(node, n)
                                                                       for n in parent.body):
                return True
    return False


def _inside(node, root) -> bool:
    return any(node is n for n in ast.walk(root))


def imports(source: str, package: str | None = None) -> set[str]:
    """Absolute module names imported anywhere in ``source`` (relative imports
    resolved against ``package``), except optional ones."""
    tree = ast.parse(source)
    parents = {}
    for parent in ast.walk(tree):
        for child in ast.walk(parent):
            if child is not parent:
                parents.setdefault(child, []).append(parent)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and _guarded(node, parents):
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module
            else:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}       # from pkg import module
        elif (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "files"
              and node.args and isinstance(node.args[0], ast.Constant)):
            found.add(node.args[0].value)          # importlib.resources.files("names"): data package
    return found


def notebook_imports(path: Path) -> set[str]:
    """The modules a chapter's code cells import (each cell parsed alone; IPython
    magics and shell lines dropped)."""
    found = set()
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "code":
            lines = "".join(cell["source"]).splitlines()
            found |= imports("\n".join(l for l in lines if not l.lstrip().startswith(("%", "!"))))
    return found


def rnn_core_file(module: str) -> Path | None:
    path = ROOT.joinpath(*module.split("."))
    if path.is_dir() and (path / "__init__.py").exists():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else None


def third_party_modules(path: Path) -> set[str]:
    """Top-level third-party modules a chapter needs, following rnn_core's own imports."""
    pending, seen, needed = list(notebook_imports(path)), set(), set()
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        top = module.split(".")[0]
        if top == "rnn_core":
            file = rnn_core_file(module)
            if file is not None:
                package = module if file.name == "__init__.py" else module.rpartition(".")[0]
                pending += imports(file.read_text(), package)
                if module != "rnn_core":
                    pending.append("rnn_core")                  # importing a submodule runs __init__
        elif top not in sys.stdlib_module_names and top != "__future__":
            needed.add(top)
    return needed


def missing(chapters, provided: set[str]) -> dict[str, set[str]]:
    """{chapter: distributions it needs that ``provided`` lacks}."""
    out = {}
    for path in chapters:
        lacking = {distribution(m) for m in third_party_modules(path)} - provided - KERNEL - BUILD_ONLY
        if lacking:
            out[path.stem] = lacking
    return out


def binder_provides(lines=None) -> set[str]:
    if lines is None:
        lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    return requirement_names(lines)


def colab_provides() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return COLAB | requirement_names(project["dependencies"]) \
        | requirement_names(project["optional-dependencies"]["book"])


CHAPTERS = chapter_paths()


def test_the_checker_reads_imports_and_follows_rnn_core():
    src = "import numpy as np\nfrom sklearn.linear_model import X\ntry:\n    import myst_nb\nexcept ImportError:\n    pass\n"
    assert {m.split(".")[0] for m in imports(src)} == {"numpy", "sklearn"}
    imdb = next(p for p in CHAPTERS if p.stem == "imdb")
    assert {"sklearn", "torch", "numpy"} <= third_party_modules(imdb)      # via rnn_core.sentiment
    charlm = next(p for p in CHAPTERS if p.stem == "charlm")
    assert "names" in third_party_modules(charlm)          # the corpus, read as package data
    assert distribution("sklearn.feature_extraction.text") == "scikit-learn"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_binder_installs_what_the_chapter_imports(path):
    assert missing([path], binder_provides()) == {}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_colab_and_the_book_extra_provide_what_the_chapter_imports(path):
    assert missing([path], colab_provides()) == {}


def test_binder_check_fails_without_scikit_learn():
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    without = [l for l in lines if not l.strip().lower().startswith("scikit-learn")]
    assert len(without) < len(lines)
    assert missing(CHAPTERS, binder_provides(without)) == {"imdb": {"scikit-learn"}}


def test_binder_installs_rnn_core_dependencies():
    # postBuild installs rnn_core with --no-deps: its dependencies must be listed
    deps = requirement_names(tomllib.loads((ROOT / "pyproject.toml").read_text())
                             ["project"]["dependencies"])
    assert deps <= binder_provides()
    assert "--no-deps" in (ROOT / "binder" / "postBuild").read_text()
