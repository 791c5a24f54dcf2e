"""Long-range tasks as seeded generators, each with its trivial baseline.

* Adding problem (Hochreiter & Schmidhuber 1997): two input rows, random
  values in [0, 1] and a marker row with exactly two 1s, one in each half of
  the sequence; the target is the sum of the two marked values. Always
  answering 1 (the mean) gives MSE = Var(u₁ + u₂) = 2/12 ≈ 0.167.
* Copy memory (Arjovsky, Shah & Bengio 2016): ten symbols from {1..8}, then
  T blanks with a delimiter at the last of them, then ten more blanks; the
  target is blank everywhere except the last ten steps, which must repeat
  the ten symbols (``length`` sets how many). Answering blank, then a
  uniform guess, costs 10·ln 8 / (T + 20) nats per step and recalls 1/8.
* Embedded Reber grammar (Hochreiter & Schmidhuber 1997): strings
  B T <Reber> T E or B P <Reber> P E; the second-to-last symbol repeats the
  second, however long the embedded string. A model that has not remembered
  it is right half of the time on that symbol.

Introduced in the chapter *Vanishing and exploding gradients*; raced in the
GRU and LSTM chapters.
"""
from __future__ import annotations

import numpy as np

from .validation import check_positive_int

ADDING_BASELINE_MSE = 2 / 12


def adding_problem(T, m, rng):
    """x (2, m, T): values and markers; y (1, m): the sum of the two marked values."""
    T, m = check_positive_int("T", T), check_positive_int("m", m)
    if T < 2:
        raise ValueError(f"T must be at least 2 for the adding problem, got {T}")
    values = rng.uniform(0, 1, (m, T))
    markers = np.zeros((m, T))
    half = T // 2
    first = rng.integers(0, half, m)
    second = rng.integers(half, T, m)
    rows = np.arange(m)
    markers[rows, first] = 1
    markers[rows, second] = 1
    x = np.stack([values, markers])                                 # (2, m, T)
    y = (values[rows, first] + values[rows, second])[None, :]       # (1, m)
    return x, y


COPY_SYMBOLS, COPY_BLANK, COPY_DELIMITER, COPY_LENGTH = 8, 0, 9, 10
COPY_BASELINE_RECALL = 1 / COPY_SYMBOLS       # a uniform guess among the symbols
REBER_BASELINE_ACCURACY = 0.5                  # a guess between T and P


def copy_memory(T, m, rng, length=COPY_LENGTH):
    """ids (m, T + 2·length) over 10 tokens (0 blank, 1–8 symbols, 9 delimiter);
    targets (m, T + 2·length): blank, then the ``length`` symbols in the last
    ``length`` steps (ten by default; the showdown copies fewer)."""
    T, m = check_positive_int("T", T), check_positive_int("m", m)
    L = check_positive_int("length", length)
    symbols = rng.integers(1, COPY_SYMBOLS + 1, (m, L))
    ids = np.full((m, T + 2 * L), COPY_BLANK)
    ids[:, :L] = symbols
    ids[:, L + T - 1] = COPY_DELIMITER
    targets = np.full((m, T + 2 * L), COPY_BLANK)
    targets[:, -L:] = symbols
    return ids, targets


def copy_memory_baseline(T, length=COPY_LENGTH):
    """Cross-entropy per step of answering blank, then uniformly among the 8 symbols."""
    L = check_positive_int("length", length)
    return L * np.log(COPY_SYMBOLS) / (check_positive_int("T", T) + 2 * L)


REBER_SYMBOLS = "BTSXPVE"
# the Reber grammar's transition graph: node -> [(symbol, next node)]; node 5 is the end
_REBER_GRAPH = {0: [("T", 1), ("P", 2)], 1: [("S", 1), ("X", 3)], 2: [("T", 2), ("V", 4)],
                3: [("X", 2), ("S", 5)], 4: [("P", 3), ("V", 5)]}


def reber_string(rng, max_length=None):
    """One string of the (plain) Reber grammar, B … E."""
    while True:
        out, node = ["B"], 0
        while node != 5:
            symbol, node = _REBER_GRAPH[node][rng.integers(len(_REBER_GRAPH[node]))]
            out.append(symbol)
        out.append("E")
        if max_length is None or len(out) <= max_length:
            return "".join(out)


def embedded_reber(m, rng, max_length=None):
    """m strings of the embedded Reber grammar as ids (m, T) over REBER_SYMBOLS,
    padded at the end with E, and a mask (m, T) of real steps.

    The next-symbol task: predict ids[:, t + 1] from ids[:, :t + 1]. The
    long-range step is the second-to-last symbol, which equals the second."""
    m = check_positive_int("m", m)
    inner_max = None if max_length is None else max_length - 4
    strings = []
    for _ in range(m):
        branch = "T" if rng.integers(2) == 0 else "P"
        strings.append("B" + branch + reber_string(rng, inner_max) + branch + "E")
    T = max(map(len, strings))
    ids = np.full((m, T), REBER_SYMBOLS.index("E"))
    mask = np.zeros((m, T))
    for i, s in enumerate(strings):
        ids[i, :len(s)] = [REBER_SYMBOLS.index(c) for c in s]
        mask[i, :len(s)] = 1
    return ids, mask


def reber_penultimate_positions(mask):
    """For each string, the index of the step whose *next* symbol is the
    long-range one (the second-to-last symbol is at length − 2)."""
    return mask.sum(axis=1).astype(int) - 3
