"""The claims ledger's mechanical check: a chapter's prose quotes no measured
number by hand.

Every number a chapter states about a result must come from ``glue`` (and be
backed by an assertion in a code cell). This module finds the numbers in a
chapter's markdown that are *not* inside a glue role, so that a test can
refuse them. What it lets through, and why:

- inside roles (``{glue:text}`name:.3f```, ``{eq}``, ``{cite:p}``, ``{ref}``,
  ``{numref}``, ...), inline code, link targets, HTML tags, directive lines
  and their options, and labels: these are references and formats, not claims;
- identifiers with digits (``float64``, ``L2``, ``W2``): names, not numbers;
- years 1900-2099 (citations and dates);
- single-digit integers in prose and integers inside math: counts, indices,
  ordinals and settings such as $T = 30$ read as definitions, not results;
- a short per-chapter allowlist of reviewed tokens with the reason for each,
  kept in the notebook's metadata under ``claims.allowed`` (for instance a
  hyper-parameter quoted in the text, ``"0.9": "w, the toy recurrence's decay"``).

Everything else is flagged: decimals, integers of two or more digits in prose,
percentages, powers of ten in math (``10^{-5}``), and any number right after
``\\approx`` or ``≈``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ROLE = re.compile(r"\{[\w:.-]+\}`[^`]*`")            # {glue:text}`x:.3f`, {eq}`label`, ...
INLINE_CODE = re.compile(r"``[^\n]*?``|`[^`\n]*`")          # never across lines
LINK_TARGET = re.compile(r"\]\([^)]*\)")
HTML_TAG = re.compile(r"<[^>]+>")
LABEL_LINE = re.compile(r"^\s*\([\w:.-]+\)=\s*$", re.M)           # (ch-bptt)=
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
INDENTED_CODE = "\0indented code\0"                # a marker: lines of an indented code block
FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,}|:{3,})[ \t]*(.*?)[ \t]*$")


def _without_fences(markdown: str) -> str:
    """The markdown without its fence lines (```{figure} path, :::, ```) and
    without code: the bodies of code blocks (```python ... ```) and indented
    code blocks (4 spaces after a blank line). A directive's body (exercise,
    note, solution, caption) is prose and stays."""
    kept, stack = [], []                 # stack: (fence, is_code) of the open fences
    for line in markdown.split("\n"):
        m = FENCE.match(line)
        if stack and stack[-1][1]:       # inside a code block only its own fence counts
            fence = stack[-1][0]
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not m.group(2):
                stack.pop()
            continue
        if not m:
            indented_code = line.startswith("    ") and line.strip() and \
                not LIST_ITEM.match(line) and (not kept or not kept[-1].strip()
                                               or kept[-1] == INDENTED_CODE)
            kept.append(INDENTED_CODE if indented_code else line)
            continue
        fence, info = m.groups()
        if stack and not info and fence[0] == stack[-1][0][0] and len(fence) >= len(stack[-1][0]):
            stack.pop()                  # closes the innermost directive
        else:
            stack.append((fence, fence[0] != ":" and not info.startswith("{")))
        kept.append("")
    return "\n".join(line for line in kept if line != INDENTED_CODE)
OPTION_LINE = re.compile(r"^\s*:[\w-]+:.*$", re.M)                # :label: x, :width: 80%
FOOTNOTE = re.compile(r"\[\^[\w-]+\]")
DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$(?:\s*\([\w:.-]+\))?", re.S)   # with its label
INLINE_MATH = re.compile(r"\$([^$\n]+?)\$")
ENV_MATH = re.compile(r"\\begin\{(\w+\*?)\}(.+?)\\end\{\1\}", re.S)

NUMBER = re.compile(r"(?<![\w.])[−-]?\d+(?:[.,]\d+)*(?:[eE][−+-]?\d+)?%?(?![\w])")
APPROX_NUMBER = re.compile(r"(?:\\approx|≈)\s*\{?\s*[−-]?\d")
# in math, "≈ 10 k 0.9^{k-1}" is a formula, not a measured value: a number
# followed by a variable, a function or a bracket is part of an expression
APPROX_VALUE = re.compile(r"(?:\\approx|≈)\s*\{?\s*[−-]?\d+(?:[.,]\d+)*(?:[eE][−+-]?\d+)?"
                          r"(?![\d.,])(?!\s*(?:\\[,;!]\s*)*(?:[A-Za-z(\[]|\\(?!times|cdot)[A-Za-z]+))")
POWER_OF_TEN = re.compile(r"10\s*\^\s*(?:\{\s*[−-]?\d+\s*\}|[−-]?\d+)")


@dataclass(frozen=True)
class Finding:
    token: str
    context: str

    def __str__(self):
        return f"{self.token!r} in: …{self.context}…"


def _context(text: str, start: int, end: int, width: int = 50) -> str:
    return " ".join(text[max(0, start - width):end + width].split())


def _prose_number_is_fine(token: str) -> bool:
    bare = token.lstrip("−-")
    if re.fullmatch(r"\d", bare):                          # a count, an index, an ordinal
        return True
    return bool(re.fullmatch(r"(19|20)\d\d", bare))        # a year


def hand_typed_numbers(markdown: str, allowed=()) -> list[Finding]:
    """The numbers in ``markdown`` that are not glued, referenced or allowed."""
    allowed = set(allowed)
    text = markdown
    # fences first: their backticks must not pair with anything in the body
    text = _without_fences(text)
    for pattern in (ROLE, INLINE_CODE):
        text = pattern.sub(" ", text)
    findings: list[Finding] = []

    def check_math(m):
        body = m.group(1) if m.re is not ENV_MATH else m.group(2)
        for bad in (APPROX_VALUE, POWER_OF_TEN):
            for hit in bad.finditer(body):
                findings.append(Finding(hit.group(0), _context(body, hit.start(), hit.end())))
        for hit in NUMBER.finditer(body):
            token = hit.group(0)
            if ("." in token or "%" in token) and token.lstrip("−-") not in allowed \
                    and token not in allowed:
                findings.append(Finding(token, _context(body, hit.start(), hit.end())))
        return " "

    # math before HTML tags: a "<" in $\rho < 1$ is no tag
    for pattern in (DISPLAY_MATH, ENV_MATH, INLINE_MATH):
        text = pattern.sub(check_math, text)
    for pattern in (LINK_TARGET, HTML_TAG, LABEL_LINE, OPTION_LINE, FOOTNOTE):
        text = pattern.sub(" ", text)
    for hit in APPROX_NUMBER.finditer(text):
        findings.append(Finding(hit.group(0), _context(text, hit.start(), hit.end())))
    for hit in NUMBER.finditer(text):
        token = hit.group(0)
        if token in allowed or token.lstrip("−-") in allowed or _prose_number_is_fine(token):
            continue
        findings.append(Finding(token, _context(text, hit.start(), hit.end())))
    return findings


GLUE_USE = re.compile(r"\{glue(?::\w+)?\}`([\w-]+)")
GLUE_CALL = re.compile(r"""glue\(\s*(?:f?["'])([\w{}-]+)["']""")


def glue_names_used(markdown: str) -> set[str]:
    """The names the prose quotes with a glue role."""
    return set(GLUE_USE.findall(markdown))


GLUE_BY_VARIABLE = re.compile(r"\bglue\(\s*[A-Za-z_]\w*\s*,")
STRING_LITERAL = re.compile(r"""["']([\w-]+)["']""")
KEYWORD_NAME = re.compile(r"[(,]\s*([A-Za-z_]\w*)\s*=(?!=)")           # dict(lm_lr=LR, ...)


def glue_names_defined(code: str) -> set[str]:
    """The names glued by literal ``glue("name", ...)`` calls (f-string names are
    returned with their braces, as patterns). Where the code also glues through
    a variable (``for name, value in settings.items(): glue(name, value)``),
    every string literal and keyword of the code may be such a name and is
    counted too."""
    names = set(GLUE_CALL.findall(code))
    if GLUE_BY_VARIABLE.search(code):
        names |= set(STRING_LITERAL.findall(code)) | set(KEYWORD_NAME.findall(code))
    return names
