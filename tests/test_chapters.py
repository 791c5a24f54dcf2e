"""The chapters as stored, as executed, and as built."""
import json
import re

import nbformat
import pytest
import yaml

from tests.book_build import ROOT, chapter_paths, toc_files

CHAPTERS = chapter_paths()
REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def test_every_notebook_in_book_is_in_the_toc():
    stored = {p.relative_to(ROOT).with_suffix("").as_posix() for p in (ROOT / "book").glob("*.ipynb")}
    assert stored and stored <= set(toc_files())


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"cell {i} has outputs"
            assert cell.get("execution_count") is None, f"cell {i} has an execution count"
    nbformat.validate(nbformat.reads(path.read_text(), as_version=4))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_setup_cell_installs_from_the_configured_repository(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a chapter without code"
    setup = code[0].source
    assert "import rnn_core" in setup and "except ImportError" in setup
    urls = re.findall(r"git\+(\S+?)[\"']", setup)
    assert urls == [REPO_URL], f"setup cell installs from {urls}, _config.yml says {REPO_URL}"


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_executes(built_book, path):
    assert path.name in built_book.seconds, "chapter was not executed"
    assert path.name not in built_book.errors, built_book.errors.get(path.name)


@pytest.mark.slow
def test_book_builds_strictly(built_book):
    assert built_book.build_returncode == 0, built_book.build_log[-5000:]
    assert "WARNING" not in built_book.build_log
    for page in toc_files():
        assert (built_book.html / f"{page}.html").exists(), page
    # the kernel-free figures' plotly.js and MathJax are served from the site itself
    assert (built_book.html / "_static" / "plotly.min.js").stat().st_size > 1_000_000
    assert (built_book.html / "_static" / "mathjax" / "tex-chtml.js").exists()


@pytest.mark.slow
def test_built_pages_have_launch_buttons_for_the_repository(built_book):
    html = (built_book.html / "book" / "rnn_forward.html").read_text()
    owner_repo = REPO_URL.split("github.com/")[1]
    assert f"colab.research.google.com/github/{owner_repo}/blob/main/book/rnn_forward.ipynb" in html
    assert f"mybinder.org/v2/gh/{owner_repo}/main" in html
