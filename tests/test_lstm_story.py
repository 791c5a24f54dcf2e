"""The LSTM chapter's gradient split: lstm_backward(..., totals=True) gives the
whole ∂J/∂a⟨t⟩ and ∂J/∂c⟨t⟩ at every step, checked by central differences on a
perturbation of one state (the rest of the sequence recomputed from it)."""
import numpy as np
import pytest

from rnn_core.lstm import lstm_backward, lstm_cell_forward, lstm_forward
from tests.helpers import random_gated


def _setup(n_x=3, n_a=4, m=2, T_x=6, seed=0):
    rng = np.random.default_rng(seed)
    p = random_gated(rng, "lstm", n_x, n_a, 2)
    x = rng.standard_normal((n_x, m, T_x))
    a0, c0 = rng.standard_normal((n_a, m)), rng.standard_normal((n_a, m))
    Delta, Delta_c = rng.standard_normal((n_a, m, T_x)), rng.standard_normal((n_a, m))
    return p, x, a0, c0, Delta, Delta_c


def _loss_with_state_perturbed(p, x, a0, c0, Delta, Delta_c, t, which, eps_array):
    """J = Σ Δ ⊙ a + Σ Δ_c ⊙ c⟨T⟩ with eps added to a⟨t⟩ or c⟨t⟩ (then a⟨t⟩ = Γo ⊙ tanh c⟨t⟩)."""
    a_prev, c_prev, loss = a0, c0, 0.0
    for s in range(x.shape[2]):
        a_next, c_next, _, cache = lstm_cell_forward(x[:, :, s], a_prev, c_prev, p)
        if s == t and which == "c":
            c_next = c_next + eps_array
            a_next = cache[7] * np.tanh(c_next)
        elif s == t and which == "a":
            a_next = a_next + eps_array
        loss += np.sum(Delta[:, :, s] * a_next)
        a_prev, c_prev = a_next, c_next
    return loss + np.sum(Delta_c * c_prev)


@pytest.mark.parametrize("which", ["a", "c"])
@pytest.mark.parametrize("t", [0, 2, 5])
def test_totals_are_the_whole_gradient_on_each_state(which, t):
    p, x, a0, c0, Delta, Delta_c = _setup()
    _, _, _, caches = lstm_forward(x, a0, p, c0=c0)
    grads = lstm_backward(Delta, caches, dc_last=Delta_c, totals=True)
    analytic = grads[f"d{which}_total"][:, :, t]
    numeric, h = np.zeros_like(analytic), 1e-5
    for idx in np.ndindex(analytic.shape):
        e = np.zeros_like(analytic)
        e[idx] = h
        numeric[idx] = (_loss_with_state_perturbed(p, x, a0, c0, Delta, Delta_c, t, which, e)
                        - _loss_with_state_perturbed(p, x, a0, c0, Delta, Delta_c, t, which, -e)) / (2 * h)
    # central differences, h = 1e-5: truncation O(h²) ≈ 1e-10, rounding ≈ 1e-11 relative
    rel = np.abs(analytic - numeric).max() / np.abs(numeric).max()
    assert rel < 1e-7, rel


def test_totals_change_nothing_else_and_end_on_the_last_step():
    p, x, a0, c0, Delta, Delta_c = _setup(seed=1)
    _, _, _, caches = lstm_forward(x, a0, p, c0=c0)
    plain = lstm_backward(Delta, caches, dc_last=Delta_c)
    full = lstm_backward(Delta, caches, dc_last=Delta_c, totals=True)
    assert set(full) - set(plain) == {"da_total", "dc_total"}
    assert all(np.array_equal(plain[k], full[k]) for k in plain)
    # at the last step the whole ∂J/∂a⟨T⟩ is the upstream gradient itself
    assert np.array_equal(full["da_total"][:, :, -1], Delta[:, :, -1])
    # the share to c⟨0⟩ is ∂J/∂c⟨1⟩ ⊙ Γf⟨1⟩
    assert np.allclose(plain["dc0"], full["dc_total"][:, :, 0] * caches[0][0][4], rtol=1e-14)
