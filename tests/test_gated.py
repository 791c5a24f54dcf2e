"""GRU and LSTM: finite-difference checks of every backward function and
parity with torch.nn.GRU / torch.nn.LSTM (float64)."""
import numpy as np
import pytest
import torch

from rnn_core import gradient_check
from rnn_core.gru import gru_backward, gru_cell_backward, gru_cell_forward, gru_forward
from rnn_core.lstm import lstm_backward, lstm_cell_backward, lstm_cell_forward, lstm_forward
from rnn_core.torch_bridge import (from_torch_sequence, from_torch_state, gradients_from_torch,
                                   parameters_from_torch, parameters_to_torch,
                                   to_torch_sequence, to_torch_state)
from tests.helpers import assert_close, assert_gradcheck, random_gated

SIZES = [(3, 5, 4, 2, 6), (4, 3, 2, 1, 5), (2, 4, 3, 3, 1), (1, 1, 1, 1, 1), (5, 7, 6, 4, 8)]
GRU_KEYS = {"Wr", "br", "Wz", "bz", "Wc", "bc", "bca"}
LSTM_KEYS = {"Wf", "bf", "Wi", "bi", "Wc", "bc", "Wo", "bo"}


@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", SIZES)
def test_gru_cell_backward(n_x, n_a, n_y, m, T_x):
    rng = np.random.default_rng(0)
    da_next = rng.standard_normal((n_a, m))
    v = dict(random_gated(rng, "gru", n_x, n_a, n_y), xt=rng.standard_normal((n_x, m)),
             a_prev=rng.standard_normal((n_a, m)))

    def f(v):
        a_next, _, cache = gru_cell_forward(v["xt"], v["a_prev"], v)
        return np.sum(da_next * a_next), gru_cell_backward(da_next, cache)

    errors = gradient_check(f, v)
    assert set(errors) == GRU_KEYS | {"xt", "a_prev"}
    assert_gradcheck(errors)


@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", SIZES)
def test_gru_backward(n_x, n_a, n_y, m, T_x):
    rng = np.random.default_rng(1)
    da = rng.standard_normal((n_a, m, T_x))
    v = dict(random_gated(rng, "gru", n_x, n_a, n_y), x=rng.standard_normal((n_x, m, T_x)),
             a0=rng.standard_normal((n_a, m)))

    def f(v):
        a, _, caches = gru_forward(v["x"], v["a0"], v)
        return np.sum(da * a), gru_backward(da, caches)

    errors = gradient_check(f, v)
    assert set(errors) == GRU_KEYS | {"x", "a0"}
    assert_gradcheck(errors)


@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", SIZES)
def test_lstm_cell_backward(n_x, n_a, n_y, m, T_x):
    rng = np.random.default_rng(2)
    da_next, dc_next = rng.standard_normal((n_a, m)), rng.standard_normal((n_a, m))
    v = dict(random_gated(rng, "lstm", n_x, n_a, n_y), xt=rng.standard_normal((n_x, m)),
             a_prev=rng.standard_normal((n_a, m)), c_prev=rng.standard_normal((n_a, m)))

    def f(v):
        a_next, c_next, _, cache = lstm_cell_forward(v["xt"], v["a_prev"], v["c_prev"], v)
        loss = np.sum(da_next * a_next) + np.sum(dc_next * c_next)
        return loss, lstm_cell_backward(da_next, dc_next, cache)

    errors = gradient_check(f, v)
    assert set(errors) == LSTM_KEYS | {"xt", "a_prev", "c_prev"}
    assert_gradcheck(errors)


@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", SIZES)
def test_lstm_backward(n_x, n_a, n_y, m, T_x):
    rng = np.random.default_rng(3)
    da, dc_last = rng.standard_normal((n_a, m, T_x)), rng.standard_normal((n_a, m))
    v = dict(random_gated(rng, "lstm", n_x, n_a, n_y), x=rng.standard_normal((n_x, m, T_x)),
             a0=rng.standard_normal((n_a, m)), c0=rng.standard_normal((n_a, m)))

    def f(v):
        a, _, c, caches = lstm_forward(v["x"], v["a0"], v, c0=v["c0"])
        loss = np.sum(da * a) + np.sum(dc_last * c[:, :, -1])
        return loss, lstm_backward(da, caches, dc_last=dc_last)

    errors = gradient_check(f, v)
    assert set(errors) == LSTM_KEYS | {"x", "a0", "c0"}
    assert_gradcheck(errors)


def test_lstm_is_two_state_and_gru_interpolates():
    """Sanity of the equations: Γz = 1 keeps the GRU state; Γf = 1, Γi = 0 keeps c."""
    rng = np.random.default_rng(4)
    p = random_gated(rng, "gru", 2, 3, 2)
    p["bz"][:] = 50.0                            # Γz ≈ 1
    a_prev = rng.standard_normal((3, 4))
    a_next, _, _ = gru_cell_forward(rng.standard_normal((2, 4)), a_prev, p)
    np.testing.assert_allclose(a_next, a_prev, atol=1e-12)
    q = random_gated(rng, "lstm", 2, 3, 2)
    q["bf"][:], q["bi"][:] = 50.0, -50.0
    c_prev = rng.standard_normal((3, 4))
    _, c_next, _, _ = lstm_cell_forward(rng.standard_normal((2, 4)), a_prev, c_prev, q)
    np.testing.assert_allclose(c_next, c_prev, atol=1e-12)


PARITY_SIZES = [(3, 5, 2, 6), (4, 3, 1, 5), (2, 4, 3, 1), (8, 16, 7, 30)]


@pytest.mark.parametrize("n_x,n_a,m,T_x", PARITY_SIZES)
@pytest.mark.parametrize("given_state", [True, False])
def test_gru_matches_torch(n_x, n_a, m, T_x, given_state):
    rng = np.random.default_rng(5)
    p = random_gated(rng, "gru", n_x, n_a, 2)
    x, da = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m, T_x))
    a0 = rng.standard_normal((n_a, m)) if given_state else None
    a, _, caches = gru_forward(x, a0, p)
    grads = gru_backward(da, caches)

    module = torch.nn.GRU(n_x, n_a, dtype=torch.float64)
    parameters_to_torch(p, module)
    xt = to_torch_sequence(x, requires_grad=True)
    h0 = to_torch_state(a0).requires_grad_(True) if given_state else None
    out, h_n = module(xt, h0)
    (out * to_torch_sequence(da)).sum().backward()
    assert_close(a, from_torch_sequence(out), name="a")
    assert_close(a[:, :, -1], from_torch_state(h_n[0]), name="a_last")
    for key, value in gradients_from_torch(module).items():
        assert_close(grads[key], value, name=key)
    assert_close(grads["dx"], from_torch_sequence(xt.grad), name="dx")
    if given_state:
        assert_close(grads["da0"], from_torch_state(h0.grad[0]), name="da0")


@pytest.mark.parametrize("n_x,n_a,m,T_x", PARITY_SIZES)
@pytest.mark.parametrize("given_state", [True, False])
def test_lstm_matches_torch(n_x, n_a, m, T_x, given_state):
    rng = np.random.default_rng(6)
    p = random_gated(rng, "lstm", n_x, n_a, 2)
    x, da = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m, T_x))
    a0 = rng.standard_normal((n_a, m)) if given_state else None
    c0 = rng.standard_normal((n_a, m)) if given_state else None
    a, _, c, caches = lstm_forward(x, a0, p, c0=c0)
    grads = lstm_backward(da, caches)

    module = torch.nn.LSTM(n_x, n_a, dtype=torch.float64)
    parameters_to_torch(p, module)
    xt = to_torch_sequence(x, requires_grad=True)
    state = None
    if given_state:
        state = (to_torch_state(a0).requires_grad_(True), to_torch_state(c0).requires_grad_(True))
    out, (h_n, c_n) = module(xt, state)
    (out * to_torch_sequence(da)).sum().backward()
    assert_close(a, from_torch_sequence(out), name="a")
    assert_close(c[:, :, -1], from_torch_state(c_n[0]), name="c_last")
    for key, value in gradients_from_torch(module).items():
        assert_close(grads[key], value, name=key)
    assert_close(grads["dx"], from_torch_sequence(xt.grad), name="dx")
    if given_state:
        assert_close(grads["da0"], from_torch_state(state[0].grad[0]), name="da0")
        assert_close(grads["dc0"], from_torch_state(state[1].grad[0]), name="dc0")


@pytest.mark.parametrize("cls,cell", [(torch.nn.RNN, "rnn"), (torch.nn.GRU, "gru"),
                                      (torch.nn.LSTM, "lstm")])
def test_bridge_round_trip_stacked_bidirectional(cls, cell):
    """torch -> rnn_core -> a fresh torch module gives the same outputs, for every
    layer and direction of a stacked bidirectional module."""
    torch.manual_seed(0)
    src = cls(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    dst = cls(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    for layer in range(2):
        for direction in range(2):
            p = parameters_from_torch(src, layer, direction)
            assert p[next(iter(p))].shape[0] == 4
            parameters_to_torch(p, dst, layer, direction)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(dst(x)[0], src(x)[0], rtol=0, atol=1e-12)


def test_bridge_refuses_other_modules():
    with pytest.raises(ValueError, match="module must be a torch.nn.RNN, GRU or LSTM, got Linear"):
        parameters_from_torch(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="proj_size"):
        parameters_from_torch(torch.nn.LSTM(2, 4, proj_size=2))
