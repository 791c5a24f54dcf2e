"""Render the cell diagrams: book/diagrams/cell-*.dot -> book/images/cell-*.svg.

    .venv/bin/python book/diagrams/render.py          # needs graphviz's `dot` (apt-get install graphviz)
    .venv/bin/python book/diagrams/render.py --check  # exit 1 if an SVG is not up to date

Each diagram is written in graphviz's DOT language, laid out by `dot`, then
finished here: the background becomes a rounded light card (so the diagram
reads the same in the site's dark mode), fonts get fallbacks, the alt text
becomes the SVG's <title>, and the SVG records the sha256 of its source and
the graphviz version that drew it (tests/test_diagrams.py checks both).
"""
from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGES = HERE.parent / "images"
FONTS = "DejaVu Sans,Verdana,Arial,sans-serif"

# The alt text of each figure (also its SVG <title>): what a reader who cannot see it needs.
ALT = {
    "cell-rnn": "The vanilla RNN cell: the previous state a⟨t−1⟩ times W_aa and the input x⟨t⟩ times "
                "W_ax are added with the bias b_a to give z⟨t⟩; tanh of z⟨t⟩ is the new state a⟨t⟩, "
                "which goes on to the next step and, through W_ya, b_y and a softmax, gives the "
                "prediction ŷ⟨t⟩.",
    "cell-gru": "The GRU cell: from a⟨t−1⟩ and x⟨t⟩, sigmoid layers give the reset gate Γ_r and the "
                "update gate Γ_z; Γ_r multiplies W_ca a⟨t−1⟩ + b_ca, which is added to W_cx x⟨t⟩ + b_c "
                "and passed through tanh to give the candidate c̃; the new state is "
                "a⟨t⟩ = Γ_z ⊙ a⟨t−1⟩ + (1 − Γ_z) ⊙ c̃, drawn as the straight line along the top.",
    "cell-lstm": "The LSTM cell: from a⟨t−1⟩ and x⟨t⟩, three sigmoid layers give the forget, input and "
                 "output gates Γ_f, Γ_i, Γ_o and a tanh layer gives the candidate c̃; along the top, "
                 "the cell state c⟨t−1⟩ is multiplied by Γ_f and Γ_i ⊙ c̃ is added to give c⟨t⟩; "
                 "the new state is a⟨t⟩ = Γ_o ⊙ tanh(c⟨t⟩).",
}


def graphviz_version() -> str | None:
    try:
        out = subprocess.run(["dot", "-V"], capture_output=True, text=True, check=True).stderr
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.search(r"version (\S+)", out)
    return match.group(1) if match else None


def source_hash(dot_source: str) -> str:
    return hashlib.sha256(dot_source.encode("utf-8")).hexdigest()


def render(dot_path: Path) -> str:
    """The finished SVG text of one diagram."""
    import html
    source = dot_path.read_text(encoding="utf-8")
    svg = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True,
                         check=True).stdout
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)          # dot's comments: node names, version
    svg = re.sub(r"<\?xml[^>]*>\n?|<!DOCTYPE[^>]*>\n?", "", svg)
    svg = svg.replace('font-family="DejaVu Sans"', f'font-family="{FONTS}"')
    # the page background polygon becomes a rounded card
    def card(match):
        xs = [float(v) for v in re.findall(r"(-?[\d.]+),", match.group(2))]
        ys = [float(v) for v in re.findall(r",(-?[\d.]+)", match.group(2))]
        return (f'<rect fill="{match.group(1)}" stroke="#c9c4b5" stroke-width="1" rx="10" ry="10" '
                f'x="{min(xs):.2f}" y="{min(ys):.2f}" width="{max(xs) - min(xs):.2f}" '
                f'height="{max(ys) - min(ys):.2f}"/>')
    svg = re.sub(r'<polygon fill="(#[0-9a-f]{6})" stroke="transparent" points="([^"]*)"/>', card, svg,
                 count=1)
    svg = _space_legend_rows(svg)
    name = dot_path.stem
    alt = html.escape(ALT[name], quote=False)
    svg = re.sub(r"<svg ", f'<svg role="img" aria-label="{html.escape(ALT[name])}" '
                           f'data-source-sha256="{source_hash(source)}" '
                           f'data-graphviz="{graphviz_version()}" ', svg, count=1)
    svg = re.sub(r"(<svg[^>]*>)\n", rf"\1\n<title>{alt}</title>\n", svg, count=1)
    svg = re.sub(r"<title>[^<]*</title>\n(?=<polygon|<rect)", "", svg)   # dot's graph title
    return svg


def _space_legend_rows(svg: str, gap: float = 7.0) -> str:
    """dot spaces the rows of the legend (the graph label) by their font size,
    but a superscript row then touches the subscripts of the row above: move
    row k down by k * gap and make the picture that much taller."""
    head, sep, rest = svg.partition('<g id="clust1"')
    rows = sorted({float(y) for y in re.findall(r'<text [^>]*y="(-?[\d.]+)"', head)})
    if len(rows) < 2:
        return svg
    extra = gap * (len(rows) - 1)
    head = re.sub(r'(<text [^>]*y=")(-?[\d.]+)(")',
                  lambda m: f"{m.group(1)}{float(m.group(2)) + gap * rows.index(float(m.group(2))):g}"
                            f"{m.group(3)}", head)
    head = re.sub(r'(<svg [^>]*height=")([\d.]+)pt"', lambda m: f'{m.group(1)}{float(m.group(2)) + extra:g}pt"',
                  head, count=1)
    head = re.sub(r'viewBox="([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)"',
                  lambda m: f'viewBox="{m.group(1)} {m.group(2)} {m.group(3)} {float(m.group(4)) + extra:.2f}"',
                  head, count=1)
    head = re.sub(r'(<rect [^>]*height=")([\d.]+)"', lambda m: f'{m.group(1)}{float(m.group(2)) + extra:.2f}"',
                  head, count=1)
    return head + sep + rest


def main(argv: list[str]) -> int:
    if graphviz_version() is None:
        print("graphviz's dot is not installed: apt-get install graphviz", file=sys.stderr)
        return 2
    stale = []
    for dot_path in sorted(HERE.glob("cell-*.dot")):
        target = IMAGES / f"{dot_path.stem}.svg"
        svg = render(dot_path)
        if "--check" in argv:
            if not target.exists() or target.read_text(encoding="utf-8") != svg:
                stale.append(target.name)
        else:
            IMAGES.mkdir(exist_ok=True)
            target.write_text(svg, encoding="utf-8")
            print(f"wrote {target.relative_to(HERE.parents[1])}")
    if stale:
        print(f"out of date: {stale}; run python book/diagrams/render.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
