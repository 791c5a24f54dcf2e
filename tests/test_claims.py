"""The claims ledger: chapters quote measured numbers only through glue.

Every chapter is held to it (CHECKED lists them; a test keeps the list whole).
The checker itself is tested first, on text with hand-typed numbers, so that
it is known to be able to fail.
"""
import re

import nbformat
import pytest

from tests.book_build import ROOT
from tests.claims import glue_names_defined, glue_names_used, hand_typed_numbers

CHECKED = ["introduction", "rnn_forward", "bptt", "vanishing", "gru", "lstm", "showdown", "charlm",
           "imdb"]


def _chapter(name):
    return nbformat.read(ROOT / "book" / f"{name}.ipynb", as_version=4)


def _markdown(nb):
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _code(nb):
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")


def _allowed(nb):
    return nb.metadata.get("claims", {}).get("allowed", {})


@pytest.mark.parametrize("text, token", [
    ("After training the loss is 0.42, well below the baseline.", "0.42"),
    ("The gradient falls to 1e-5 at distance 60.", "1e-5"),
    ("It is right 41% of the time.", "41%"),
    ("We trained for 4,000 steps.", "4,000"),
    ("It learns the task up to length 30.", "30"),
    ("the ratio is $\\approx 3$ here", "\\approx 3"),
    ("the norm drops to $10^{-7}$", "10^{-7}"),
    ("the measured slope is $g' = 0.43$", "0.43"),
    ("$$\nJ \\approx 1.5\n$$ (eq-x)", "\\approx 1.5"),
    ("exactly what (4.2) predicts", "4.2"),
    ("a slope of ≈ 0.5", "0.5"),
    ("it settles after ≈ 3 steps", "≈ 3"),
    ("when $\\rho < 1$ the loss was 0.42, and at $\\rho > 1$ it grows", "0.42"),
    ("$\\rho \\approx 2 \\times 10^{-3}$", "10^{-3}"),
    ("```{exercise}\n:label: ex-1\nThe loss falls to 0.42 here.\n```", "0.42"),
    ("````{solution} ex-1\n```python\nx = 1\n```\nIt takes 4,000 steps.\n````", "4,000"),
    ("```{note}\nA note.\n```\nAfter the note the loss is 0.42.", "0.42"),
    ("```{exercise}\nOne.\n```\n\nBetween: 0.42.\n\n```{exercise}\nTwo.\n```", "0.42"),
    ("- a list item\n    continued, at 0.42 after 4 spaces", "0.42"),
])
def test_checker_flags_a_hand_typed_number(text, token):
    found = [f.token for f in hand_typed_numbers(text)]
    assert token in found, found


@pytest.mark.parametrize("text", [
    "The loss is {glue:text}`loss:.3f` after {glue:text}`steps` steps.",
    "By {eq}`bptt-paths` and {numref}`fig-3`, see {cite:p}`pascanu2013difficulty`.",
    "In `float64` the L2 norm of `W2` is what Bengio et al. (1994) bounded.",
    "Two cells, 3 seeds, step 1 to step $T = 100$ with $n_a = 32$ units.",
    "(ch-bptt)=\n# Backpropagation\n```{figure} images/fig-12.svg\n:width: 80%\n```",
    "$$\n\\sigma(z) = \\frac{1}{1 + e^{-z}}\n$$ (sigmoid-12)",
    "```python\nW = np.array([[0.9, 10], [0, 0.9]])\n```\nRun it.",
    "$\\lVert W^k \\rVert_2 \\approx 10 k\\, w^{k-1}$ for large $k$",
    "Try it:\n\n    gradient_check(f, v, eps=1e-6)\n    x = 10\n\nThen read the errors.",
])
def test_checker_lets_references_names_and_settings_through(text):
    assert hand_typed_numbers(text) == []


def test_checker_honours_the_allowlist():
    text = "with decay $w = 0.9$ and learning rate 0.05"
    assert {f.token for f in hand_typed_numbers(text)} == {"0.9", "0.05"}
    assert hand_typed_numbers(text, allowed={"0.9", "0.05"}) == []


def test_glue_names_are_read_from_literal_calls_and_from_loops_over_names():
    assert glue_names_defined('glue("loss", 1.0)\nglue(f"ppl_{cell}", p)') == {"loss", "ppl_{cell}"}
    assert "lm_lr" not in glue_names_defined('settings = {"lm_lr": 0.1}')
    assert "lm_lr" in glue_names_defined('settings = {"lm_lr": 0.1}\n'
                                         'for name, v in settings.items():\n    glue(name, v)')
    assert "lm_lr" in glue_names_defined('for name, v in dict(lm_lr=LR).items():\n    glue(name, v)')


@pytest.mark.parametrize("name", CHECKED)
def test_chapter_quotes_no_hand_typed_number(name):
    nb = _chapter(name)
    allowed = _allowed(nb)
    findings = hand_typed_numbers(_markdown(nb), allowed)
    assert not findings, (f"{name}: numbers in the prose outside glue (glue them, or add a "
                          "reviewed entry to metadata.claims.allowed):\n"
                          + "\n".join(map(str, findings)))


@pytest.mark.parametrize("name", CHECKED)
def test_chapter_allowlist_is_short_reasoned_and_used(name):
    nb = _chapter(name)
    allowed = _allowed(nb)
    assert len(allowed) <= 15, f"{name}: {len(allowed)} allowlisted numbers is not a short list"
    markdown = _markdown(nb)
    for token, reason in allowed.items():
        assert isinstance(reason, str) and len(reason.split()) >= 3, \
            f"{name}: allowlisted {token!r} needs its reason"
        assert re.search(rf"(?<![\w.]){re.escape(token)}(?![\w])", markdown), \
            f"{name}: allowlisted {token!r} no longer appears in the text"


@pytest.mark.parametrize("name", CHECKED)
def test_every_glued_name_in_the_prose_is_glued_by_the_chapter(name):
    nb = _chapter(name)
    used = glue_names_used(_markdown(nb))
    defined = glue_names_defined(_code(nb))
    patterns = [re.compile("^" + re.sub(r"\\\{[^}]*\\\}", r"[\\w-]+", re.escape(d)) + "$")
                for d in defined]
    missing = sorted(u for u in used if not any(p.match(u) for p in patterns))
    assert not missing, f"{name}: the prose quotes names no code cell glues: {missing}"


def test_every_chapter_is_checked():
    chapters = {p.stem for p in (ROOT / "book").glob("*.ipynb")}
    assert chapters == set(CHECKED), f"not held to the ledger: {sorted(chapters - set(CHECKED))}"
