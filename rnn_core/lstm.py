"""The long short-term memory (LSTM), forward and hand-derived backward, cell
by cell, with the names of the deeplearning.ai sequence-models course:

    Γf = σ(Wf [a⟨t−1⟩; x⟨t⟩] + bf)          forget gate
    Γi = σ(Wi [a⟨t−1⟩; x⟨t⟩] + bi)          input (update) gate
    c̃  = tanh(Wc [a⟨t−1⟩; x⟨t⟩] + bc)       candidate
    c⟨t⟩ = Γf ⊙ c⟨t−1⟩ + Γi ⊙ c̃             cell state
    Γo = σ(Wo [a⟨t−1⟩; x⟨t⟩] + bo)          output gate
    a⟨t⟩ = Γo ⊙ tanh(c⟨t⟩)

Parameters: Wf, Wi, Wc, Wo (n_a, n_a + n_x), whose first n_a columns act on
a⟨t−1⟩; bf, bi, bc, bo (n_a, 1); Wy (n_y, n_a), by (n_y, 1) for the per-step
prediction ŷ = softmax(Wy a + by). Hochreiter & Schmidhuber (1997); the forget
gate is Gers et al.'s (2000) addition, as in every modern LSTM.
Introduced in the chapter *The LSTM*.
"""
from __future__ import annotations

import numpy as np

from .activations import sigmoid, softmax
from .validation import check_gated_parameters, check_positive_int, check_shape

LSTM_GATE_NAMES = ("Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo")


def check_lstm_parameters(parameters, with_output=True):
    """Validate LSTM parameters; return (n_x, n_a, n_y or None, dtype)."""
    return check_gated_parameters(parameters, ('Wf', 'Wi', 'Wc', 'Wo'), ('bf', 'bi', 'bc', 'bo'), with_output)


def lstm_cell_forward(xt, a_prev, c_prev, parameters):
    """One LSTM step. xt (n_x, m), a_prev, c_prev (n_a, m)
    -> a_next, c_next (n_a, m), yt_pred (n_y, m), cache."""
    n_x, n_a, _, dtype = check_lstm_parameters(parameters)
    check_shape("xt", xt, (n_x, None), ("n_x", "m"), dtype)
    m = xt.shape[1]
    check_shape("a_prev", a_prev, (n_a, m), ("n_a", "m"), dtype)
    check_shape("c_prev", c_prev, (n_a, m), ("n_a", "m"), dtype)
    p = parameters
    concat = np.concatenate([a_prev, xt], axis=0)
    # the course's names for the post-activations: ft, it, ot = Γf, Γi, Γo; cct = c̃
    ft = sigmoid(p["Wf"] @ concat + p["bf"])
    it = sigmoid(p["Wi"] @ concat + p["bi"])
    cct = np.tanh(p["Wc"] @ concat + p["bc"])
    c_next = ft * c_prev + it * cct
    ot = sigmoid(p["Wo"] @ concat + p["bo"])
    a_next = ot * np.tanh(c_next)
    yt_pred = softmax(p["Wy"] @ a_next + p["by"])
    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return a_next, c_next, yt_pred, cache


def lstm_cell_backward(da_next, dc_next, cache):
    """Backward of one LSTM step. da_next, dc_next (n_a, m): ∂J/∂a⟨t⟩ (δ) and
    δ_c⟨t⟩, the share of ∂J/∂c⟨t⟩ arriving from step t+1.

    Returns dxt, da_prev, dc_prev, dWf, dbf, dWi, dbi, dWc, dbc, dWo, dbo, and
    dc_total, the whole ∂J/∂c⟨t⟩ (lstm-b-c).
    """
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, p = cache
    check_shape("da_next", da_next, a_next.shape, ("n_a", "m"), a_next.dtype)
    check_shape("dc_next", dc_next, a_next.shape, ("n_a", "m"), a_next.dtype)
    n_a = a_prev.shape[0]
    tanh_c = np.tanh(c_next)

    # dc_next is δ_c⟨t⟩, c⟨t⟩'s share from step t+1; dc_total is the whole ∂J/∂c⟨t⟩,
    # adding the share through a⟨t⟩ = Γo ⊙ tanh(c⟨t⟩)
    dc_total = dc_next + da_next * ot * (1 - tanh_c ** 2)
    # dpre_k = ∂J/∂z_k, the gradient on the pre-activation z_k of Γk (k = f, i, o) or c̃ (c)
    dpre_o = da_next * tanh_c * ot * (1 - ot)
    dpre_c = dc_total * it * (1 - cct ** 2)
    dpre_i = dc_total * cct * it * (1 - it)
    dpre_f = dc_total * c_prev * ft * (1 - ft)

    concat = np.concatenate([a_prev, xt], axis=0)
    dconcat = (p["Wf"].T @ dpre_f + p["Wi"].T @ dpre_i + p["Wc"].T @ dpre_c
               + p["Wo"].T @ dpre_o)
    # da_prev, dc_prev: the shares of ∂J/∂a⟨t−1⟩, ∂J/∂c⟨t−1⟩ through step t
    return {
        "dxt": dconcat[n_a:], "da_prev": dconcat[:n_a], "dc_prev": dc_total * ft,
        "dc_total": dc_total,
        "dWf": dpre_f @ concat.T, "dbf": dpre_f.sum(axis=1, keepdims=True),
        "dWi": dpre_i @ concat.T, "dbi": dpre_i.sum(axis=1, keepdims=True),
        "dWc": dpre_c @ concat.T, "dbc": dpre_c.sum(axis=1, keepdims=True),
        "dWo": dpre_o @ concat.T, "dbo": dpre_o.sum(axis=1, keepdims=True),
    }


def lstm_forward(x, a0, parameters, c0=None):
    """LSTM over a sequence. x (n_x, m, T_x), a0 and c0 (n_a, m) or None (zeros)
    -> a (n_a, m, T_x), y_pred (n_y, m, T_x), c (n_a, m, T_x), caches = (list, x)."""
    n_x, n_a, n_y, dtype = check_lstm_parameters(parameters)
    check_shape("x", x, (n_x, None, None), ("n_x", "m", "T_x"), dtype)
    _, m, T_x = x.shape
    check_positive_int("T_x", T_x)
    check_positive_int("m", m)
    a0 = np.zeros((n_a, m), dtype) if a0 is None else a0
    c0 = np.zeros((n_a, m), dtype) if c0 is None else c0
    check_shape("a0", a0, (n_a, m), ("n_a", "m"), dtype)
    check_shape("c0", c0, (n_a, m), ("n_a", "m"), dtype)
    a = np.zeros((n_a, m, T_x), dtype)
    c = np.zeros((n_a, m, T_x), dtype)
    y_pred = np.zeros((n_y, m, T_x), dtype)
    caches, a_next, c_next = [], a0, c0
    for t in range(T_x):
        a_next, c_next, y_pred[:, :, t], cache = lstm_cell_forward(x[:, :, t], a_next, c_next,
                                                                   parameters)
        a[:, :, t], c[:, :, t] = a_next, c_next
        caches.append(cache)
    return a, y_pred, c, (caches, x)


def lstm_backward(da, caches, dc_last=None, totals=False):
    """BPTT through the LSTM. da (n_a, m, T_x) upstream on every hidden state;
    dc_last (n_a, m) an optional gradient on the final cell state.
    -> dx, da0, dc0, dWf, dbf, dWi, dbi, dWc, dbc, dWo, dbo; with totals=True also
    da_total, dc_total (n_a, m, T_x): the whole ∂J/∂a⟨t⟩ and ∂J/∂c⟨t⟩ at every step
    (the chapter's split of the gradient into the cell path and the hidden path)."""
    cache_list, x = caches
    a1 = cache_list[0][0]
    check_shape("da", da, (a1.shape[0], a1.shape[1], len(cache_list)), ("n_a", "m", "T_x"),
                a1.dtype)
    p = cache_list[0][-1]
    grads = {"dx": np.zeros_like(x)}
    for key in LSTM_GATE_NAMES:
        grads["d" + key] = np.zeros_like(p[key])
    if totals:
        grads["da_total"], grads["dc_total"] = np.zeros_like(da), np.zeros_like(da)
    da_prevt = np.zeros_like(a1)
    dc_prevt = np.zeros_like(a1) if dc_last is None else \
        check_shape("dc_last", dc_last, a1.shape, ("n_a", "m"), a1.dtype)
    for t in reversed(range(len(cache_list))):
        da_t = da[:, :, t] + da_prevt                  # the whole ∂J/∂a⟨t⟩
        step = lstm_cell_backward(da_t, dc_prevt, cache_list[t])
        if totals:
            grads["da_total"][:, :, t], grads["dc_total"][:, :, t] = da_t, step["dc_total"]
        grads["dx"][:, :, t] = step["dxt"]
        for key in LSTM_GATE_NAMES:
            grads["d" + key] += step["d" + key]
        da_prevt, dc_prevt = step["da_prev"], step["dc_prev"]
    grads["da0"], grads["dc0"] = da_prevt, dc_prevt
    return grads
