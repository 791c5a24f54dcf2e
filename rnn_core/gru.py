"""The gated recurrent unit (GRU), forward and hand-derived backward, cell by
cell, in the book's notation. PyTorch's formulation (the default everywhere
today):

    Γr = σ(Wr [a⟨t−1⟩; x⟨t⟩] + br)                       reset gate
    Γz = σ(Wz [a⟨t−1⟩; x⟨t⟩] + bz)                       update gate
    c̃  = tanh(Wcx x⟨t⟩ + bc + Γr ⊙ (Wca a⟨t−1⟩ + bca))    candidate
    a⟨t⟩ = (1 − Γz) ⊙ c̃ + Γz ⊙ a⟨t−1⟩

Wc = [Wca | Wcx] is stored as one (n_a, n_a + n_x) matrix like Wr and Wz,
whose first n_a columns act on a⟨t−1⟩. Cho et al. (2014) instead reset the
state *before* the product, c̃ = tanh(Wcx x + Wca (Γr ⊙ a⟨t−1⟩) + bc); the
two are different functions (neither can express the other with the same
weights). PyTorch's version lets Wca a⟨t−1⟩ be computed for all gates in one
product before the reset gate is known.

Parameters: Wr, Wz, Wc (n_a, n_a + n_x); br, bz, bc, bca (n_a, 1);
Wy (n_y, n_a), by (n_y, 1) for the per-step prediction ŷ = softmax(Wy a + by).
Introduced in the chapter *The GRU*.
"""
from __future__ import annotations

import numpy as np

from .activations import sigmoid, softmax
from .validation import check_gated_parameters, check_positive_int, check_shape

GRU_GATE_NAMES = ("Wr", "br", "Wz", "bz", "Wc", "bc", "bca")


def check_gru_parameters(parameters, with_output=True):
    """Validate GRU parameters; return (n_x, n_a, n_y or None, dtype)."""
    return check_gated_parameters(parameters, ('Wr', 'Wz', 'Wc'), ('br', 'bz', 'bc', 'bca'), with_output)


def gru_cell_forward(xt, a_prev, parameters):
    """One GRU step. xt (n_x, m), a_prev (n_a, m) -> a_next (n_a, m), yt_pred (n_y, m), cache."""
    n_x, n_a, _, dtype = check_gru_parameters(parameters)
    check_shape("xt", xt, (n_x, None), ("n_x", "m"), dtype)
    check_shape("a_prev", a_prev, (n_a, xt.shape[1]), ("n_a", "m"), dtype)
    p = parameters
    concat = np.concatenate([a_prev, xt], axis=0)             # [a⟨t−1⟩; x⟨t⟩], (n_a + n_x, m)
    gamma_r = sigmoid(p["Wr"] @ concat + p["br"])
    gamma_z = sigmoid(p["Wz"] @ concat + p["bz"])
    v = p["Wc"][:, :n_a] @ a_prev + p["bca"]      # v = Wca a⟨t−1⟩ + bca, the part Γr gates
    c_tilde = np.tanh(p["Wc"][:, n_a:] @ xt + p["bc"] + gamma_r * v)
    a_next = (1 - gamma_z) * c_tilde + gamma_z * a_prev
    yt_pred = softmax(p["Wy"] @ a_next + p["by"])
    cache = (a_next, a_prev, xt, gamma_r, gamma_z, c_tilde, v, parameters)
    return a_next, yt_pred, cache


def gru_cell_backward(da_next, cache):
    """Backward of one GRU step. da_next (n_a, m) = ∂J/∂a⟨t⟩.

    Returns dxt, da_prev, dWr, dbr, dWz, dbz, dWc, dbc, dbca.
    """
    a_next, a_prev, xt, gamma_r, gamma_z, c_tilde, v, p = cache
    check_shape("da_next", da_next, a_next.shape, ("n_a", "m"), a_next.dtype)
    n_a = a_prev.shape[0]
    concat = np.concatenate([a_prev, xt], axis=0)

    # dpre_k = ∂J/∂z_k, the gradient on a pre-activation (z_r, z_z, z_c: the arguments
    # of σ, σ and tanh); dgamma_k, dc_tilde, dv are on the post-activations Γ_k, c̃ and v.
    dc_tilde = da_next * (1 - gamma_z)
    dgamma_z = da_next * (a_prev - c_tilde)
    dpre_c = dc_tilde * (1 - c_tilde ** 2)                  # through tanh
    dgamma_r = dpre_c * v
    dpre_r = dgamma_r * gamma_r * (1 - gamma_r)             # σ' = σ(1 − σ)
    dpre_z = dgamma_z * gamma_z * (1 - gamma_z)
    dv = dpre_c * gamma_r                                   # ∂J/∂v, v = Wca a⟨t−1⟩ + bca

    Wca, Wcx = p["Wc"][:, :n_a], p["Wc"][:, n_a:]
    dconcat = p["Wr"].T @ dpre_r + p["Wz"].T @ dpre_z
    return {
        "dxt": dconcat[n_a:] + Wcx.T @ dpre_c,
        # the share of ∂J/∂a⟨t−1⟩ through step t; BPTT adds the output's share at t−1
        "da_prev": dconcat[:n_a] + Wca.T @ dv + da_next * gamma_z,
        "dWr": dpre_r @ concat.T, "dbr": dpre_r.sum(axis=1, keepdims=True),
        "dWz": dpre_z @ concat.T, "dbz": dpre_z.sum(axis=1, keepdims=True),
        "dWc": np.concatenate([dv @ a_prev.T, dpre_c @ xt.T], axis=1),
        "dbc": dpre_c.sum(axis=1, keepdims=True),
        "dbca": dv.sum(axis=1, keepdims=True),
    }


def gru_forward(x, a0, parameters):
    """GRU over a sequence. x (n_x, m, T_x), a0 (n_a, m) or None (zeros)
    -> a (n_a, m, T_x), y_pred (n_y, m, T_x), caches = (list, x)."""
    n_x, n_a, n_y, dtype = check_gru_parameters(parameters)
    check_shape("x", x, (n_x, None, None), ("n_x", "m", "T_x"), dtype)
    _, m, T_x = x.shape
    check_positive_int("T_x", T_x)
    check_positive_int("m", m)
    a0 = np.zeros((n_a, m), dtype) if a0 is None else a0
    check_shape("a0", a0, (n_a, m), ("n_a", "m"), dtype)
    a = np.zeros((n_a, m, T_x), dtype)
    y_pred = np.zeros((n_y, m, T_x), dtype)
    caches, a_next = [], a0
    for t in range(T_x):
        a_next, y_pred[:, :, t], cache = gru_cell_forward(x[:, :, t], a_next, parameters)
        a[:, :, t] = a_next
        caches.append(cache)
    return a, y_pred, (caches, x)


def gru_backward(da, caches):
    """BPTT through the GRU. da (n_a, m, T_x) upstream on every state
    -> dx, da0, dWr, dbr, dWz, dbz, dWc, dbc, dbca."""
    cache_list, x = caches
    a1 = cache_list[0][0]
    check_shape("da", da, (a1.shape[0], a1.shape[1], len(cache_list)), ("n_a", "m", "T_x"),
                a1.dtype)
    p = cache_list[0][-1]
    grads = {"dx": np.zeros_like(x)}
    for key in GRU_GATE_NAMES:
        grads["d" + key] = np.zeros_like(p[key])
    da_prevt = np.zeros_like(a1)
    for t in reversed(range(len(cache_list))):
        step = gru_cell_backward(da[:, :, t] + da_prevt, cache_list[t])
        grads["dx"][:, :, t] = step["dxt"]
        for key in GRU_GATE_NAMES:
            grads["d" + key] += step["d" + key]
        da_prevt = step["da_prev"]
    grads["da0"] = da_prevt
    return grads
