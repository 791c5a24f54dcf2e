"""Interpolated Kneser–Ney (rnn_core.ngram): probabilities computed by hand on a
toy corpus, normalisation, agreement with a direct dictionary implementation of
the equations, the networks' coverage, and bad inputs.

Probabilities are compared to 1e-12: they are a handful of float64 sums and
products of exact fractions, so the only error is rounding (~1e-16).
"""
from fractions import Fraction as F
from itertools import product

import numpy as np
import pytest

from rnn_core.charlm import chunk_batches
from rnn_core.ngram import KneserNey, chunk_coverage, estimate_discounts, kneser_ney_perplexities

TOL = 1e-12

# The toy corpus: five names "ab", "abb", "ba", "c", "b" as a stream
# END a b END a b b END b a END c END b END, with END = 0, a = 1, b = 2, c = 3.
# The vocabulary also holds d = 4, which never occurs: only the uniform
# distribution at the bottom of the interpolation gives it probability.
E, A, B, C, D = range(5)
V = 5
TOY = np.array([E, A, B, E, A, B, B, E, B, A, E, C, E, B, E])

# Bigram counts (14 bigrams):  \na 2, \nb 2, \nc 1, ab 2, a\n 1, b\n 3, bb 1, ba 1, c\n 1
#   count-of-counts n1 = 5 (\nc a\n bb ba c\n), n2 = 3 (\na \nb ab)  ->  D_2 = 5/(5 + 2*3) = 5/11
# Continuation counts of the unigrams (distinct predecessors over the 9 bigram types):
#   \n <- {a, b, c}: 3    a <- {\n, b}: 2    b <- {\n, a, b}: 3    c <- {\n}: 1    d: 0
#   C_1 = 9, n1 = 1 (c), n2 = 1 (a)  ->  D_1 = 1/(1 + 2) = 1/3;  S_1 = 4 types * 1/3 = 4/3
#   p_1(w) = (c_1(w) - D_1 + S_1/5) / 9,  S_1/5 = 4/15:
P1 = {E: F(44, 135), A: F(29, 135), B: F(44, 135), C: F(14, 135), D: F(4, 135)}


def test_toy_unigram_level_by_hand():
    assert sum(P1.values()) == 1
    lm = KneserNey(TOY, 2, V)
    assert lm.discounts[0] == pytest.approx((1 / 3,) * 3, abs=TOL)
    assert lm.fallback_orders == []
    np.testing.assert_allclose(lm.distribution([D]), [float(P1[w]) for w in range(V)],
                               rtol=0, atol=TOL)        # unseen context "d": all of p_1


def test_toy_bigram_by_hand():
    lm = KneserNey(TOY, 2, V)
    assert lm.discounts[1] == pytest.approx((5 / 11,) * 3, abs=TOL)
    D2 = F(5, 11)
    # context \n: \na 2, \nb 2, \nc 1 -> C = 5, S = 3 D_2 = 15/11
    assert lm.distribution([E])[A] == pytest.approx(float((2 - D2 + 3 * D2 * P1[A]) / 5), abs=TOL)
    assert lm.distribution([E])[A] == pytest.approx(182 / 495, abs=TOL)
    assert lm.distribution([E])[D] == pytest.approx(4 / 495, abs=TOL)     # (15/11)(4/135)/5
    # context c: c\n 1 -> C = 1, S = 5/11
    assert lm.distribution([C])[E] == pytest.approx(206 / 297, abs=TOL)   # 6/11 + (5/11)(44/135)
    assert lm.distribution([C])[A] == pytest.approx(29 / 297, abs=TOL)    # (5/11)(29/135)
    # only the last symbol of a longer context is read
    assert lm.distribution([B, A, C])[A] == pytest.approx(29 / 297, abs=TOL)


# Trigrams (13; \nab twice, the 11 others once): top-order counts n1 = 11, n2 = 1
#   -> D_3 = 11/13.
# Continuation counts of the bigrams (distinct predecessors over the 12 trigram types):
#   \na <- {b}: 1 (the \na at the very start has no predecessor)   ab <- {\n}: 1
#   b\n <- {a, b, \n}: 3   bb <- {a}: 1   \nb <- {b, c}: 2   ba <- {\n}: 1   a\n <- {b}: 1
#   \nc <- {a}: 1   c\n <- {\n}: 1
#   n1 = 7, n2 = 1  ->  D_2 = 7/9 (the order-2 discount of the trigram model).
# Unigram level: as in the bigram model (same bigram types), P1.
#   context \n at order 2: \na 1, \nb 2, \nc 1 -> C = 4, S = 3 (7/9) = 7/3
#   context a  at order 2: ab 1, a\n 1          -> C = 2, S = 14/9
D2_OF_3, D3 = F(7, 9), F(11, 13)
P2_B_AFTER_E = (2 - D2_OF_3 + F(7, 3) * P1[B]) / 4                  # 803/1620
P2_C_AFTER_E = (1 - D2_OF_3 + F(7, 3) * P1[C]) / 4                  # 47/405
P2_B_AFTER_A = (1 - D2_OF_3 + F(14, 9) * P1[B]) / 2                 # 443/1215


def test_toy_trigram_by_hand():
    assert P2_B_AFTER_E == F(803, 1620) and P2_C_AFTER_E == F(47, 405)
    lm = KneserNey(TOY, 3, V)
    assert [d[0] for d in lm.discounts] == pytest.approx([1 / 3, 7 / 9, 11 / 13], abs=TOL)
    # context "a\n": only a\nc, once -> C = 1, S = 11/13
    p = lm.distribution([A, E])
    assert p[B] == pytest.approx(float(D3 * P2_B_AFTER_E), abs=TOL)            # 8833/21060
    assert p[C] == pytest.approx(float(1 - D3 + D3 * P2_C_AFTER_E), abs=TOL)   # 1327/5265
    # context "\na": \nab twice -> C = 2, S = 11/13
    expected = (2 - D3 + D3 * P2_B_AFTER_A) / 2
    assert expected == F(11549, 15795)
    assert lm.distribution([E, A])[B] == pytest.approx(float(expected), abs=TOL)
    # a history of one symbol (start of a stream) is predicted by the order-2 level
    assert lm.distribution([E])[B] == pytest.approx(float(P2_B_AFTER_E), abs=TOL)
    assert np.exp(lm.log_probs(np.array([E, B]))) == pytest.approx([float(P2_B_AFTER_E)], abs=TOL)


def test_toy_modified_bigram_by_hand():
    lm = KneserNey(TOY, 2, V, modified=True)
    # order 2, counts as above, n1 = 5, n2 = 3, n3 = 1, n4 = 0, Y = 5/11:
    #   D(1) = 1 - 2Y(3/5) = 5/11,  D(2) = 2 - 3Y(1/3) = 17/11,  D(3+) = 3 - 4Y(0/1) = 3
    assert lm.discounts[1] == pytest.approx((5 / 11, 17 / 11, 3.0), abs=TOL)
    # order 1, continuation counts 3, 2, 3, 1: n1 = 1, n2 = 1, n3 = 2, Y = 1/3,
    #   D(2) = 2 - 3Y(2/1) = 0: the closed form fails -> the fallback (0.5, 1, 1.5)
    assert lm.fallback_orders == [1] and lm.discounts[0] == (0.5, 1.0, 1.5)
    # p_1: D(c) = 1.5, 1, 1.5, 0.5 for \n, a, b, c; S_1 = 4.5, S_1/5 = 0.9, C_1 = 9
    q1 = {E: F(4, 15), A: F(19, 90), B: F(4, 15), C: F(7, 45), D: F(1, 10)}
    assert sum(q1.values()) == 1
    np.testing.assert_allclose(lm.distribution([D]), [float(q1[w]) for w in range(V)],
                               rtol=0, atol=TOL)
    # context \n: \na 2, \nb 2, \nc 1 -> C = 5, S = 17/11 + 17/11 + 5/11 = 39/11
    assert (2 - F(17, 11) + F(39, 11) * q1[A]) / 5 == F(397, 1650)
    assert lm.distribution([E])[A] == pytest.approx(397 / 1650, abs=TOL)
    # context b: b\n 3 (D = 3: all of it taken), bb 1, ba 1 -> C = 5, S = 3 + 10/11 = 43/11
    assert lm.distribution([B])[E] == pytest.approx(float(F(43, 11) * q1[E] / 5), abs=TOL)
    assert lm.distribution([B])[E] == pytest.approx(172 / 825, abs=TOL)


def test_a_wrong_discount_changes_the_hand_value():
    right = KneserNey(TOY, 3, V).distribution([A, E])[B]
    wrong = KneserNey(TOY, 3, V, discounts=[1 / 3, 7 / 9, 10 / 13]).distribution([A, E])[B]
    same = KneserNey(TOY, 3, V, discounts=[1 / 3, 7 / 9, 11 / 13]).distribution([A, E])[B]
    assert same == pytest.approx(right, abs=TOL)
    assert abs(wrong - right) > 1e-3


def test_estimated_discounts():
    counts = np.array([1, 1, 1, 2, 2, 3, 4, 7])            # n1 = 3, n2 = 2, n3 = 1, n4 = 1
    Y = 3 / (3 + 2 * 2)
    assert estimate_discounts(counts) == pytest.approx((Y, Y, Y), abs=TOL)
    assert estimate_discounts(counts, modified=True) == pytest.approx(
        (1 - 2 * Y * 2 / 3, 2 - 3 * Y * 1 / 2, 3 - 4 * Y * 1 / 1), abs=TOL)
    with pytest.raises(ValueError, match="n1"):
        estimate_discounts(np.array([2, 2, 3]))


def random_stream(n, V, seed):
    rng = np.random.default_rng(seed)
    return rng.choice(V, size=n, p=rng.dirichlet(np.ones(V) * 0.7))


@pytest.mark.parametrize("order,modified",
                         [(1, False), (2, False), (3, True), (4, False), (5, True)])
def test_every_conditional_distribution_sums_to_one(order, modified):
    train = random_stream(3000, 7, seed=order)
    lm = KneserNey(train, order, 7, modified=modified)
    rng = np.random.default_rng(0)
    contexts = [train[i:i + order - 1] for i in rng.integers(0, 2000, 50)]
    contexts += [rng.integers(0, 7, order - 1) for _ in range(50)]     # mostly unseen
    contexts += [rng.integers(0, 7, j) for j in range(order)]          # short histories
    for context in contexts:
        p = lm.distribution(context)
        assert p.min() > 0
        assert abs(p.sum() - 1) < TOL


def reference_probability(train, order, V, discounts, context, w):
    """The module docstring's equations with dictionaries and loops (no numpy)."""
    train = [int(s) for s in train]

    def grams(j):
        return [tuple(train[i:i + j]) for i in range(len(train) - j + 1)]

    def count(j, gram):
        if j == order:
            return sum(g == gram for g in grams(j))
        return len({g[0] for g in set(grams(j + 1)) if g[1:] == gram})

    def p(j, h, w):
        if j == 0:
            return 1 / V
        D = discounts[j - 1]
        c = {v: count(j, h + (v,)) for v in range(V)}
        total = sum(c.values())
        lower = p(j - 1, h[1:], w)
        if total == 0:
            return lower
        taken = sum(D[min(n, 3) - 1] for n in c.values() if n > 0)
        own = c[w] - D[min(c[w], 3) - 1] if c[w] else 0
        return (own + taken * lower) / total

    h = tuple(int(s) for s in context)[-(order - 1):] if order > 1 else ()
    return p(len(h) + 1, h, w)


@pytest.mark.parametrize("order,modified", [(2, False), (3, True), (4, False)])
def test_matches_a_direct_implementation(order, modified):
    train = random_stream(400, 4, seed=10 + order)
    lm = KneserNey(train, order, 4, modified=modified)
    rng = np.random.default_rng(1)
    for _ in range(15):
        context = rng.integers(0, 4, rng.integers(0, order))
        got = lm.distribution(context)
        want = [reference_probability(train, order, 4, lm.discounts, context, w) for w in range(4)]
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL)


def test_log_probs_read_each_target_with_its_history():
    lm = KneserNey(TOY, 3, V)
    stream = np.array([C, E, A, B, E, D])
    expected = [lm.distribution(stream[max(0, t - 2):t])[stream[t]] for t in range(1, 6)]
    np.testing.assert_allclose(np.exp(lm.log_probs(stream)), expected, rtol=0, atol=TOL)
    # a history starting at index 3 cuts the context of the targets at 4 and 5
    cut = [lm.distribution(stream[max(3, t - 2):t])[stream[t]] for t in (4, 5)]
    np.testing.assert_allclose(np.exp(lm.log_probs(stream, np.array([4, 5]), np.array([3]))),
                               cut, rtol=0, atol=TOL)
    assert cut[0] != pytest.approx(expected[3], abs=1e-3)
    assert lm.perplexity(stream, np.array([4, 5])) == pytest.approx(
        np.exp(-np.log(expected[3:5]).mean()), abs=TOL)


def test_uniform_model_has_perplexity_of_the_vocabulary_size():
    # every symbol counted twice: p_1(w) = (2 - D + D*4/4)/8 = 1/4 whatever D is
    lm = KneserNey(np.array([0, 1, 2, 3, 3, 2, 1, 0]), 1, 4, discounts=[0.5])
    np.testing.assert_allclose(lm.distribution([]), 0.25, rtol=0, atol=TOL)
    assert lm.perplexity(random_stream(500, 4, seed=3)) == pytest.approx(4.0, abs=TOL)


def test_saturated_counts_fall_back_to_fixed_discounts():
    # every one of 3 symbols follows every symbol: continuation counts all 3, no n1
    train = np.array(list(product(range(3), repeat=2))).ravel()
    lm = KneserNey(train, 2, 3)
    assert lm.fallback_orders == [1] and lm.discounts[0] == (0.5, 0.5, 0.5)
    assert KneserNey(train, 2, 3, modified=True).discounts[0] == (0.5, 1.0, 1.5)
    with pytest.raises(ValueError, match="order 1.*n1"):
        KneserNey(train, 2, 3, fallback=None)


@pytest.mark.parametrize("L,m,k", [(69_472, 64, 64), (1000, 3, 4), (1000, 5, 7)])
def test_chunk_coverage_is_what_chunk_batches_scores(L, m, k):
    positions, row_starts = chunk_coverage(L, m, k)
    stream = np.arange(L)                   # ids = indices, so y holds the target indices
    scored = np.sort(np.concatenate([y.ravel() for _, y in chunk_batches(stream, m, k)]))
    np.testing.assert_array_equal(positions, scored)
    firsts = [x[:, 0] for x, _ in chunk_batches(stream, m, k)][0]
    np.testing.assert_array_equal(row_starts, firsts)


def test_bad_inputs():
    with pytest.raises(ValueError, match="order"):
        KneserNey(TOY, 0, V)
    with pytest.raises(ValueError, match="vocab_size"):
        KneserNey(TOY, 2, 0)
    with pytest.raises(ValueError, match="integer"):
        KneserNey(TOY.astype(float), 2, V)
    with pytest.raises(ValueError, match=r"ids in \[0, 3\)"):
        KneserNey(TOY, 2, 3)
    with pytest.raises(ValueError, match="at least"):
        KneserNey(TOY[:3], 3, V)
    with pytest.raises(ValueError, match="too large"):
        KneserNey(TOY, 40, V)
    with pytest.raises(ValueError, match="one entry per order"):
        KneserNey(TOY, 2, V, discounts=[0.5])
    with pytest.raises(ValueError, match="0 < D"):
        KneserNey(TOY, 2, V, discounts=[0.5, 1.5])
    with pytest.raises(ValueError, match="triple"):
        KneserNey(TOY, 2, V, discounts=[0.5, (0.5, 0.5)])
    lm = KneserNey(TOY, 2, V)
    with pytest.raises(ValueError, match=r"ids in \[0, 5\)"):
        lm.distribution([7])
    with pytest.raises(ValueError, match=r"positions must lie in \[1, 4\)"):
        lm.log_probs(np.array([0, 1, 2, 0]), np.array([0, 1]))
    with pytest.raises(ValueError, match="positions"):
        lm.log_probs(np.array([0, 1, 2, 0]), np.array([1.0]))
    with pytest.raises(ValueError, match="history_starts"):
        lm.log_probs(np.array([0, 1, 2, 0]), history_starts=np.array([9]))
    with pytest.raises(ValueError, match="too short"):
        chunk_coverage(100, 64, 64)


def test_perplexities_helper_is_the_models_perplexity():
    val = np.array([E, A, B, B, E, C, E, D, E])
    got = kneser_ney_perplexities(TOY, val, V, orders=(1, 3), modified=True)
    assert got == {n: KneserNey(TOY, n, V, modified=True).perplexity(val) for n in (1, 3)}


def test_reproduces_the_independent_measurement_on_the_chapter_split():
    """Issue 16 reports interpolated Kneser–Ney validation perplexities on the
    chapter's split from another implementation: 10.24, 9.06, 8.88 for n = 3, 4, 5,
    on the whole validation stream. They are those of a fixed discount 0.75 at
    every order (a common textbook choice), to every digit given."""
    pytest.importorskip("names")
    from rnn_core.charlm import CharVocab, load_surnames, split, to_stream
    names = load_surnames()
    vocab = CharVocab(names)
    train, val = split(names, 0.1, np.random.default_rng(0))
    train_stream, val_stream = to_stream(train, vocab), to_stream(val, vocab)
    for n, reported in ((3, 10.24), (4, 9.06), (5, 8.88)):
        lm = KneserNey(train_stream, n, vocab.size, discounts=[0.75] * n)
        assert round(lm.perplexity(val_stream), 2) == reported
        p = lm.distribution(val_stream[100:100 + n - 1])
        assert abs(p.sum() - 1) < TOL
    # Every symbol follows several different symbols, so no order-1 continuation
    # count is 1 and order 1 takes the fallback discount; with all V symbols seen
    # the uniform gives back to each exactly what its (equal) discount took, so
    # p_1 = c_1 / C_1 and the fallback's value changes nothing.
    for modified in (False, True):
        low, high = (KneserNey(train_stream, 3, vocab.size, modified=modified, fallback=f)
                     for f in ((0.1, 0.2, 0.3), (0.9, 1.8, 2.7)))
        assert low.fallback_orders == [1] and high.fallback_orders == [1]
        assert low.perplexity(val_stream) == pytest.approx(high.perplexity(val_stream),
                                                           rel=1e-12)
