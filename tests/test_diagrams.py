"""The cell diagrams (book/images/cell-*.svg, drawn from book/diagrams/cell-*.dot):
up to date with their sources, every symbol of the chapter's equations written
in the figure as text, in the chapter's own notation, readable on a phone, on a
light card that also reads in dark mode."""
import importlib.util
import json
import re
import xml.etree.ElementTree as ET

import pytest

from tests.book_build import ROOT

DIAGRAMS = ROOT / "book" / "diagrams"
IMAGES = ROOT / "book" / "images"
spec = importlib.util.spec_from_file_location("render_diagrams", DIAGRAMS / "render.py")
render = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render)

SVG = "{http://www.w3.org/2000/svg}"
PHONE_PX = 358          # the article's width on a 390 px phone
MIN_TEXT_PX = 12

# symbol as the figure writes it (_ subscript, ^ superscript) -> as the chapter writes it in TeX
SYMBOLS = {
    "cell-rnn": ("rnn_forward", {
        "a^⟨t−1⟩": r"a^{\langle t-1 \rangle}", "x^⟨t⟩": r"x^{\langle t \rangle}",
        "z^⟨t⟩": r"z^{\langle t \rangle}", "a^⟨t⟩": r"a^{\langle t \rangle}",
        "ŷ^⟨t⟩": r"\hat y^{\langle t \rangle}", "W_aa": "W_{aa}", "W_ax": "W_{ax}",
        "W_ya": "W_{ya}", "b_a": "b_a", "b_y": "b_y", "tanh": r"\tanh",
        "softmax": r"\operatorname{softmax}"}),
    "cell-gru": ("gru", {
        "a^⟨t−1⟩": r"a^{\langle t-1 \rangle}", "x^⟨t⟩": r"x^{\langle t \rangle}",
        "a^⟨t⟩": r"a^{\langle t \rangle}", "Γ_r": r"\Gamma_r", "Γ_z": r"\Gamma_z",
        "c̃": r"\tilde c", "W_ca": "W_{ca}", "W_cx": "W_{cx}", "b_ca": "b_{ca}", "b_c": "b_c",
        "W_k": "W_r", "b_k": "b_z", "σ": r"\sigma", "tanh": r"\tanh", "⊙": r"\odot",
        "1−": r"(1 - \Gamma_z)"}),
    "cell-lstm": ("lstm", {
        "a^⟨t−1⟩": r"a^{\langle t-1 \rangle}", "x^⟨t⟩": r"x^{\langle t \rangle}",
        "c^⟨t−1⟩": r"c^{\langle t-1 \rangle}", "c^⟨t⟩": r"c^{\langle t \rangle}",
        "a^⟨t⟩": r"a^{\langle t \rangle}", "Γ_f": r"\Gamma_f", "Γ_i": r"\Gamma_i",
        "Γ_o": r"\Gamma_o", "c̃": r"\tilde c", "W_k": "W_f", "b_k": "b_f", "σ": r"\sigma",
        "tanh": r"\tanh", "⊙": r"\odot"}),
}


def svg_root(name):
    return ET.parse(IMAGES / f"{name}.svg").getroot()


def text_runs(root):
    """The text of each node, edge and legend row, sub- and superscripts marked _ and ^."""
    runs = []
    for group in root.iter(f"{SVG}g"):
        rows = {}
        for text in group.findall(f"{SVG}text"):
            mark = {"sub": "_", "super": "^"}.get(text.get("baseline-shift"), "")
            rows.setdefault(text.get("y"), []).append(mark + (text.text or ""))
        runs += ["".join(parts) for parts in rows.values()]
    return runs


def tex_key(tex):
    """TeX without spacing, sizing and line-breaking commands, so that an equation
    broken into aligned lines or re-spaced still matches."""
    tex = re.sub(r"\\(left|right|big|Big|bigg|Bigg)(?![a-zA-Z])|\\[,;:!]|\\q?quad|\\\\|&", "", tex)
    return re.sub(r"\s+", "", tex)


def chapter_tex(chapter):
    nb = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    return tex_key("\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"))


def test_every_source_has_its_svg_and_no_svg_is_orphaned():
    sources = {p.stem for p in DIAGRAMS.glob("cell-*.dot")}
    images = {p.stem for p in IMAGES.glob("cell-*.svg")}
    assert sources == images == set(SYMBOLS) == set(render.ALT)


@pytest.mark.parametrize("name", sorted(SYMBOLS))
def test_svg_was_drawn_from_the_current_source(name):
    source = (DIAGRAMS / f"{name}.dot").read_text(encoding="utf-8")
    assert svg_root(name).get("data-source-sha256") == render.source_hash(source), \
        "the .dot source changed: run .venv/bin/python book/diagrams/render.py"


@pytest.mark.parametrize("name", sorted(SYMBOLS))
def test_svg_is_exactly_what_the_script_draws(name):
    version = render.graphviz_version()
    if version is None:
        pytest.skip("graphviz's dot is not installed")
    recorded = svg_root(name).get("data-graphviz")
    if version != recorded:
        pytest.skip(f"drawn with graphviz {recorded}, this machine has {version}")
    assert render.render(DIAGRAMS / f"{name}.dot") == \
        (IMAGES / f"{name}.svg").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SYMBOLS))
def test_every_symbol_of_the_equations_is_in_the_figure_as_the_chapter_writes_it(name):
    chapter, symbols = SYMBOLS[name]
    runs = text_runs(svg_root(name))
    missing = [s for s in symbols if not any(s in run for run in runs)]
    assert not missing, f"{name}.svg lacks {missing}; it has {runs}"
    tex = chapter_tex(chapter)
    unused = [t for t in symbols.values() if tex_key(t) not in tex]
    assert not unused, f"book/{chapter}.ipynb no longer writes {unused}: redraw {name}"


def test_the_gru_figure_follows_the_chapters_convention():
    """Γ_z keeps the old state, 1 − Γ_z weights the candidate (PyTorch's GRU), and
    the reset gate multiplies W_ca a⟨t−1⟩ + b_ca, after the product."""
    tex = chapter_tex("gru")
    assert tex_key(r"(1 - \Gamma_z) \odot \tilde c + \Gamma_z \odot a^{\langle t-1 \rangle}") in tex
    assert tex_key(r"\Gamma_r \odot \left(W_{ca}\, a^{\langle t-1 \rangle} + b_{ca}\right)") in tex
    source = (DIAGRAMS / "cell-gru.dot").read_text(encoding="utf-8")
    for edge in ["a_prev -> mul_z", "z -> mul_z", "z -> one_minus", "one_minus -> mul_c",
                 "tanh -> mul_c", "wca -> mul_r", "r -> mul_r", "mul_r -> sum", "wcx -> sum",
                 "mul_c -> plus"]:
        assert re.search(rf"^\s*{re.escape(edge)}\b", source, re.M), edge


@pytest.mark.parametrize("name", sorted(SYMBOLS))
def test_text_is_readable_on_a_phone(name):
    root = svg_root(name)
    width = float(root.get("viewBox").split()[2])
    sizes = [float(t.get("font-size")) for t in root.iter(f"{SVG}text")]
    assert sizes and min(sizes) * PHONE_PX / width >= MIN_TEXT_PX, (min(sizes), width)


@pytest.mark.parametrize("name", sorted(SYMBOLS))
def test_a_light_card_under_everything_and_alt_text(name):
    root = svg_root(name)
    graph = root.find(f"{SVG}g")
    card = graph.find(f"{SVG}rect")
    assert card is not None and list(graph).index(card) <= 1
    _, _, width, height = map(float, root.get("viewBox").split())
    assert float(card.get("width")) == pytest.approx(width, abs=0.02)
    assert float(card.get("height")) == pytest.approx(height, abs=0.02)
    rgb = [int(card.get("fill")[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    assert 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] > 0.9     # light in dark mode too
    fills = {t.get("fill") for t in root.iter(f"{SVG}text")}
    assert fills <= {None, "#000000", "black"}                          # dark text on it
    assert root.get("role") == "img" and root.find(f"{SVG}title").text == render.ALT[name]
    assert root.get("aria-label") == render.ALT[name]
