r"""Interpolated Kneser–Ney n-gram models of a stream of symbol ids: the
strongest simple baseline for a character-level language model.

Written from Chen & Goodman (1998), *An empirical study of smoothing
techniques for language modeling*, section 3 (interpolated Kneser–Ney, one
fixed discount per order; with ``modified=True`` their modified Kneser–Ney,
three discounts per order). Notation: the stream is ``x`` (ids in
``[0, V)``), an order-``j`` n-gram is a context ``h`` of ``j - 1`` symbols
followed by a symbol ``w``; ``h'`` is ``h`` without its first (oldest) symbol.

**Counts.** At the highest order ``n`` the count of ``hw`` is its number of
occurrences in the training stream; at every lower order ``j < n`` it is the
*continuation count*, the number of distinct symbols ``u`` that precede it::

    c_n(h w) = #{t : x[t-n+1 : t+1] = h w}
    c_j(h w) = N1+(. h w) = #{u : c(u h w) > 0}            (j < n)

(the bigram ``"ab"`` seen 100 times after the same letter has continuation
count 1: a lower order is used only when the longer context was not seen, so
it should count in how many contexts ``hw`` occurs, not how often).

**Discounts.** From the count-of-counts ``n_r`` (the number of order-``j``
n-grams whose ``c_j`` is exactly ``r``) of that order::

    D_j = n_1 / (n_1 + 2 n_2)                              (one discount)
    Y = n_1 / (n_1 + 2 n_2),  D_j(1) = 1 - 2Y n_2/n_1,
    D_j(2) = 2 - 3Y n_3/n_2,  D_j(3+) = 3 - 4Y n_4/n_3     (modified=True)

and ``D_j(c)`` is the discount of an n-gram with count ``c`` (``D_j(0) = 0``).
Where the closed form fails (no n-gram of that order has count 1; for
modified, also none with 2 or 3, or a discount outside ``(0, r]``) the order
takes fixed ``fallback`` discounts, as KenLM's ``lmplz --discount_fallback``
does. On characters that happens at order 1: every symbol follows many
different symbols.

**Interpolation.** With ``C_j(h) = sum_w c_j(h w)`` and
``S_j(h) = sum_w D_j(c_j(h w))`` (the mass the discounts take from ``h``),::

    p_0(w)     = 1 / V
    p_j(w | h) = [c_j(h w) - D_j(c_j(h w)) + S_j(h) p_{j-1}(w | h')] / C_j(h)   if C_j(h) > 0
    p_j(w | h) = p_{j-1}(w | h')                                                  if C_j(h) = 0

so an unseen context backs off through the interpolation, the lowest order
mixes in the uniform distribution (no probability is 0 while ``D_1 > 0``),
and each ``p_j(. | h)`` sums to 1 over the vocabulary because the discounts
taken, ``S_j(h)``, are given back through the normalised ``p_{j-1}``. For
``j = 1`` the context is empty (``C_1`` is the total of the ``c_1``).

A target whose history is shorter than ``n - 1`` symbols (the start of a
stream, or of a row the networks read from a zero state) is predicted by
``p_j`` with ``j - 1`` the length of its history.

Introduced for the baseline of the chapter *A character-level language model*.
"""
from __future__ import annotations

import numpy as np

from .validation import check_positive_int


def _check_stream(name: str, stream, vocab_size: int, min_length: int = 1) -> np.ndarray:
    if not isinstance(stream, np.ndarray) or not np.issubdtype(stream.dtype, np.integer) \
            or stream.ndim != 1:
        got = f"{stream.dtype} array of shape {stream.shape}" if isinstance(stream, np.ndarray) \
            else type(stream).__name__
        raise ValueError(f"{name} must be a 1-D integer numpy array of symbol ids, got {got}")
    if len(stream) < min_length:
        raise ValueError(f"{name} must hold at least {min_length} ids, got {len(stream)}")
    if stream.size and (stream.min() < 0 or stream.max() >= vocab_size):
        raise ValueError(f"{name} must hold ids in [0, {vocab_size}), "
                         f"got values in [{stream.min()}, {stream.max()}]")
    return stream.astype(np.int64)


def _codes(stream: np.ndarray, j: int, V: int) -> np.ndarray:
    """Every window of j consecutive ids as one integer in base V (oldest digit first)."""
    code = np.zeros(len(stream) - j + 1, dtype=np.int64)
    for i in range(j):
        code = code * V + stream[i:len(stream) - j + 1 + i]
    return code


def _lookup(keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """values[i] where keys[i] == query (keys sorted), 0 where the query is absent."""
    i = np.searchsorted(keys, queries)
    i_safe = np.minimum(i, len(keys) - 1)
    found = (i < len(keys)) & (keys[i_safe] == queries)
    return np.where(found, values[i_safe], 0)


def estimate_discounts(counts: np.ndarray, modified: bool = False) -> tuple[float, float, float]:
    """(D(1), D(2), D(3+)) of one order from its n-gram counts (Chen & Goodman 1998).

    counts: (number of n-gram types,) positive integers. One discount:
    D = n1/(n1 + 2 n2) for every count; modified: the three of the module's
    docstring. ValueError where the closed form fails (no singletons, or for
    modified no doubletons or tripletons, or a discount outside (0, r])."""
    n = [int(np.sum(counts == r)) for r in (1, 2, 3, 4)]
    if n[0] == 0 or (modified and (n[1] == 0 or n[2] == 0)):
        need = "n1, n2 and n3" if modified else "n1"
        raise ValueError(f"cannot estimate discounts: the count-of-counts {need} must be "
                         f"positive, got n1..n4 = {n}")
    Y = n[0] / (n[0] + 2 * n[1])
    D = (Y, Y, Y) if not modified else \
        (1 - 2 * Y * n[1] / n[0], 2 - 3 * Y * n[2] / n[1], 3 - 4 * Y * n[3] / n[2])
    _check_discounts(D, f"estimated from n1..n4 = {n}")
    return D


def _check_discounts(D, where: str) -> None:
    if not all(0 < d <= r for d, r in zip(D, (1, 2, 3))):
        raise ValueError(f"discounts must satisfy 0 < D(1) <= 1, 0 < D(2) <= 2, "
                         f"0 < D(3+) <= 3; got {D} ({where})")


def _as_triple(entry, name: str) -> tuple[float, float, float]:
    D = tuple(float(d) for d in (entry if np.ndim(entry) else (entry,) * 3))
    if len(D) != 3:
        raise ValueError(f"{name} must be a number or a triple (D(1), D(2), D(3+)), got {entry!r}")
    _check_discounts(D, name)
    return D


class KneserNey:
    """Interpolated Kneser–Ney model of order ``order`` fit on ``train_stream``.

    train_stream: (N,) ids in [0, vocab_size). modified: three discounts per
    order instead of one. discounts: None (estimated from the counts), or one
    entry per order 1..n, each a number (one discount) or a triple
    (D(1), D(2), D(3+)). fallback: the discounts of an order whose closed-form
    estimate fails (a number or a triple; with one discount only its first
    value is used) — the situation and the default (0.5, 1, 1.5) of KenLM's
    ``lmplz --discount_fallback``; None raises instead. On a character corpus
    it is needed at order 1, where every symbol follows many different symbols
    (no continuation count is 1). After fitting, ``discounts[j - 1]`` is the
    triple used at order j and ``fallback_orders`` lists the orders that fell back."""

    def __init__(self, train_stream, order: int, vocab_size: int, modified: bool = False,
                 discounts=None, fallback=(0.5, 1.0, 1.5)):
        self.order = check_positive_int("order", order)
        self.V = V = check_positive_int("vocab_size", vocab_size)
        if V ** order >= 2 ** 62:
            raise ValueError(f"vocab_size**order = {V}**{order} is too large to index n-grams")
        x = _check_stream("train_stream", train_stream, V, min_length=order + 1)
        if discounts is not None and len(discounts) != order:
            raise ValueError(f"discounts needs one entry per order 1..{order}, "
                             f"got {len(discounts)}")
        if fallback is not None:
            fallback = _as_triple(fallback, "fallback")
            if not modified:
                fallback = (fallback[0],) * 3
        self.modified = modified
        self.tables, self.contexts, self.discounts, self.fallback_orders = [], [], [], []
        for j in range(1, order + 1):
            if j == order:      # raw counts
                keys, counts = np.unique(_codes(x, j, V), return_counts=True)
            else:               # continuation counts: distinct predecessors of each j-gram
                longer = np.unique(_codes(x, j + 1, V))
                keys, counts = np.unique(longer % V ** j, return_counts=True)
            if discounts is not None:
                D = _as_triple(discounts[j - 1], f"discounts[{j - 1}]")
            else:
                try:
                    D = estimate_discounts(counts, modified)
                except ValueError as err:
                    if fallback is None:
                        raise ValueError(f"order {j}: {err}; "
                                         "pass discounts= or fallback=") from None
                    D = fallback
                    self.fallback_orders.append(j)
            d_of = np.array(D)[np.minimum(counts, 3) - 1]        # D_j(c_j(hw)) of each n-gram
            ctx, inverse = np.unique(keys // V, return_inverse=True)
            C = np.bincount(inverse, weights=counts.astype(float))
            S = np.bincount(inverse, weights=d_of)
            self.tables.append((keys, counts.astype(float), d_of))
            self.contexts.append((ctx, C, S))
            self.discounts.append(D)

    def _probabilities(self, history: np.ndarray, lengths: np.ndarray, w: np.ndarray) -> np.ndarray:
        """p(w | history) for a batch: history (B, n-1) ids, the last lengths[b]
        of row b are the usable context (older entries are ignored); w (B,)."""
        n, V = self.order, self.V
        p = np.full(len(w), 1.0 / V)                            # p_0
        for j in range(1, n + 1):
            h = np.zeros(len(w), dtype=np.int64)                # the last j-1 symbols of history
            for i in range(n - j, n - 1):
                h = h * V + history[:, i]
            keys, counts, d_of = self.tables[j - 1]
            ctx, C, S = self.contexts[j - 1]
            c = _lookup(keys, counts, h * V + w)
            d = _lookup(keys, d_of, h * V + w)
            C_h, S_h = _lookup(ctx, C, h), _lookup(ctx, S, h)
            seen = C_h > 0                                      # else back off: p_j = p_{j-1}
            p_j = np.where(seen, (c - d + S_h * p) / np.where(seen, C_h, 1.0), p)
            p = np.where(lengths >= j - 1, p_j, p)              # too short a history: stop at j-1
        return p

    def distribution(self, context=()) -> np.ndarray:
        """(V,) p(w | context) for every symbol w; context: ids, of which the last
        order-1 are used (fewer: the order is lowered to the context's length + 1)."""
        if not isinstance(context, np.ndarray):
            context = np.array(context, dtype=np.int64)
        context = _check_stream("context", context, self.V, min_length=0)
        context = context[max(0, len(context) - (self.order - 1)):]
        history = np.zeros((self.V, self.order - 1), dtype=np.int64)
        history[:, self.order - 1 - len(context):] = context
        return self._probabilities(history, np.full(self.V, len(context)), np.arange(self.V))

    def log_probs(self, stream, positions=None, history_starts=None) -> np.ndarray:
        """log p(stream[t] | the up to order-1 ids before t) for each t in positions.

        stream: (L,) ids. positions: (P,) target indices in [1, L) (default: all
        of them, 1..L-1). history_starts: stream indices where a history begins
        (a context never reaches back before the latest start <= t-1; index 0
        is always one), e.g. the first index of each row the networks read from
        a zero state. Returns (P,) natural logarithms."""
        x = _check_stream("stream", stream, self.V, min_length=2)
        L, n = len(x), self.order
        t = np.arange(1, L) if positions is None else np.asarray(positions)
        if not np.issubdtype(t.dtype, np.integer) or t.ndim != 1 or not t.size:
            raise ValueError("positions must be a non-empty 1-D integer array of target indices")
        if t.min() < 1 or t.max() >= L:
            raise ValueError(f"positions must lie in [1, {L}) (a target needs a preceding id), "
                             f"got values in [{t.min()}, {t.max()}]")
        starts = np.array([0]) if history_starts is None else np.asarray(history_starts)
        if not np.issubdtype(starts.dtype, np.integer) or starts.ndim != 1 or not starts.size \
                or starts.min() < 0 or starts.max() >= L:
            raise ValueError(f"history_starts must be a non-empty 1-D integer array of "
                             f"indices in [0, {L})")
        starts = np.union1d(starts, [0])
        first = starts[np.searchsorted(starts, t - 1, side="right") - 1]   # latest start <= t-1
        lengths = np.minimum(t - first, n - 1)
        # history[:, i] = x[t - (n-1) + i]; entries before index 0 (clipped) lie beyond `lengths`
        history = x[np.maximum(t[:, None] + np.arange(-(n - 1), 0), 0)]
        return np.log(self._probabilities(history, lengths, x[t]))

    def perplexity(self, stream, positions=None, history_starts=None) -> float:
        """exp(-mean log p) over the targets of log_probs (same arguments)."""
        return float(np.exp(-self.log_probs(stream, positions, history_starts).mean()))


def chunk_coverage(stream_length: int, m: int = 64, k: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The targets ``rnn_core.charlm.chunk_batches(stream, m, k)`` yields, and where
    its rows start from a zero state.

    The stream is laid out as m rows of per_row = (L-1)//m inputs and read in
    whole chunks of k, so the last per_row mod k columns of every row and the
    last (L-1) - m*per_row targets of the stream are not in any batch.
    (``rnn_core.charlm.perplexity`` scores every target, 1..L-1, from the same
    row starts: pass ``chunk_coverage(L, m, k)[1]`` as ``history_starts``.) Returns
    (positions, row_starts): the target indices, sorted, and the m indices
    r*per_row of each row's first input."""
    L, m, k = (check_positive_int(n, v) for n, v in
               (("stream_length", stream_length), ("m", m), ("k", k)))
    per_row = (L - 1) // m
    if per_row < k:
        raise ValueError(f"a stream of {L} ids is too short for m={m} rows of k={k}")
    columns = np.arange(per_row // k * k)
    row_starts = np.arange(m) * per_row
    return (row_starts[:, None] + columns[None, :] + 1).ravel(), row_starts


def kneser_ney_perplexities(train_stream, val_stream, vocab_size, orders=(2, 3, 4, 5),
                            modified=False, positions=None,
                            history_starts=None) -> dict[int, float]:
    """{n: validation perplexity of the order-n KneserNey model fit on train_stream},
    scored on val_stream's positions with its history_starts (see KneserNey.log_probs)."""
    return {n: KneserNey(train_stream, n, vocab_size, modified=modified)
            .perplexity(val_stream, positions, history_starts) for n in orders}
