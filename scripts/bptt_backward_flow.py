"""Draw the backward flow of BPTT (chapter *Backpropagation through time*) as an SVG.

The gradient δ⟨t⟩ on a hidden state arrives along two routes: from the output
o⟨t⟩ at the same step (the output's share) and from the next pre-activation
z⟨t+1⟩ (the future's share). The graph is written in Graphviz's dot language
and laid out and drawn by ``dot`` (Debian: ``apt-get install graphviz``):

    python scripts/bptt_backward_flow.py      # writes book/images/bptt-backward-flow.svg
"""
from __future__ import annotations

import subprocess
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "book" / "images" / "bptt-backward-flow.svg"

OUTPUT = "#D55E00"     # the output's share (Okabe–Ito vermillion)
FUTURE = "#0072B2"     # the future's share (Okabe–Ito blue)
LOCAL = "#444444"      # through the cell: tanh′ and the weights
FONT = "DejaVu Sans"
PAD = "&#160;"         # keeps an edge's label off its line

STEPS = {"p": "t−1", "c": "t", "n": "t+1"}      # previous, current, next column


def sup(step: str) -> str:
    return f"<SUP>⟨{step}⟩</SUP>"


def node(name: str, label: str, **attrs) -> str:
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return f"  {name} [label=<{label}>{extra}];"


def edge(tail: str, head: str, **attrs) -> str:
    extra = ", ".join(f'{k}="{v}"' if not str(v).startswith("<") else f"{k}={v}"
                      for k, v in attrs.items())
    return f"  {tail} -> {head} [{extra}];"


def graph() -> str:
    lines = [
        "digraph bptt {",
        # a white card: readable on the website's dark theme too
        f'  graph [rankdir=TB, bgcolor="white", pad=0.3, nodesep=0.45, ranksep=0.7, '
        f'splines=line, fontname="{FONT}", newrank=true];',
        f'  node [shape=box, style="rounded,filled", fillcolor="#F7F7F7", color="#888888", '
        f'fontname="{FONT}", fontsize=16, margin="0.14,0.06", height=0.42];',
        f'  edge [fontname="{FONT}", fontsize=14, arrowsize=0.8, penwidth=1.6];',
    ]
    for k, s in STEPS.items():
        state = f"a{sup(s)}"
        style = {}
        if k == "c":
            state += (f"<BR/><FONT POINT-SIZE='14'>δ{sup(s)} = δ<SUB>out</SUB>{sup(s)}"
                      f" + δ<SUB>fut</SUB>{sup(s)}</FONT>")
            style = {"fillcolor": "#FFF3D6", "color": "#B58900", "penwidth": "1.8"}
        lines += [
            node(f"J{k}", f"<I>J</I>{sup(s)}", group=k, shape="plaintext", style=""),
            node(f"o{k}", f"o{sup(s)}", group=k),
            node(f"a{k}", state, group=k, **style),
            node(f"z{k}", f"z{sup(s)}", group=k),
            node(f"x{k}", f"x{sup(s)}", group=k),
        ]
    # where the picture continues: toward a⟨t−2⟩ on the left, from z⟨t+2⟩ on the right
    lines += [node("aleft", "⋯", shape="plaintext", style=""),
              node("zright", "⋯", shape="plaintext", style="")]
    for row in ("J", "o", "a", "z", "x"):
        cols = ([f"{row}left"] if row == "a" else []) + [f"{row}{k}" for k in STEPS] \
            + (["zright"] if row == "z" else [])
        if row == "z":
            cols.insert(cols.index("zn"), "future")
        lines.append("  { rank=same; " + " -> ".join(cols) + " [style=invis]; }")
    # backward pass, top to bottom within a step: the loss, the output's share,
    # tanh′, the input's gradient
    for k, s in STEPS.items():
        here = k == "c"
        dlogits = f"<<FONT COLOR='{OUTPUT}'>{PAD}(ŷ{sup(s)} − y{sup(s)})/m</FONT>>"
        share = (f"<<FONT COLOR='{OUTPUT}'>{PAD}W<SUB>ya</SUB><SUP>⊤</SUP> ∂<I>J</I>/∂o{sup(s)}"
                 f"<BR ALIGN='LEFT'/>{PAD}the output's share<BR ALIGN='LEFT'/></FONT>>")
        lines.append(edge(f"J{k}", f"o{k}", color=OUTPUT, **({"label": dlogits} if here else {})))
        lines.append(edge(f"o{k}", f"a{k}", color=OUTPUT, penwidth="2.4",
                          **({"label": share} if here else {})))
        lines.append(edge(f"a{k}", f"z{k}", color=LOCAL,
                          **({"label": f"<{PAD}⊙ (1 − (a{sup(s)})<SUP>2</SUP>)>"} if here else {})))
        lines.append(edge(f"z{k}", f"x{k}", color=LOCAL, penwidth="1.2",
                          **({"label": f"<{PAD}W<SUB>ax</SUB><SUP>⊤</SUP>>"} if here else {})))
    # the future's share: from z⟨s+1⟩ back to a⟨s⟩
    for tail, head in (("zright", "an"), ("zn", "ac"), ("zc", "ap"), ("zp", "aleft")):
        lines.append(edge(tail, head, color=FUTURE, penwidth="2.4", constraint="false"))
    # its label sits in the gap under the edge that enters δ⟨t⟩
    lines.append(node("future", f"<FONT COLOR='{FUTURE}'>W<SUB>aa</SUB><SUP>⊤</SUP> ∂<I>J</I>/∂z"
                                f"<SUP>⟨t+1⟩</SUP><BR/>the future's share</FONT>",
                      shape="plaintext", style="", fontsize="14"))
    lines.append("}")
    return "\n".join(lines)


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # cairo's SVG draws the text as outlines: the sub- and superscripts sit where
    # dot placed them in every browser, whatever fonts the reader has
    svg = subprocess.run(["dot", "-Tsvg:cairo"], input=graph(), capture_output=True, text=True,
                         check=True).stdout
    OUT.write_text(svg)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
