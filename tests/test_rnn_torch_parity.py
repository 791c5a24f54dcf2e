"""Parity of the vanilla RNN, its losses and truncated BPTT with PyTorch (float64)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnn_core import rnn_backward, rnn_forward, rnn_many_to_many_loss, rnn_many_to_one_loss
from rnn_core.torch_bridge import (from_torch_sequence, from_torch_state,
                                   gradients_from_torch, parameters_from_torch,
                                   parameters_to_torch, to_torch_sequence, to_torch_state)
from tests.helpers import assert_close, random_rnn

SIZES = [(3, 5, 4, 2, 6), (4, 3, 2, 1, 5), (2, 4, 3, 3, 1), (8, 16, 5, 7, 30)]


def torch_rnn(params, activation):
    n_a, n_x = params["Wax"].shape
    module = torch.nn.RNN(n_x, n_a, nonlinearity=activation, dtype=torch.float64)
    parameters_to_torch(params, module)
    return module


@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", SIZES)
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rnn_forward_backward_match_torch(n_x, n_a, n_y, m, T_x, activation):
    rng = np.random.default_rng(10)
    params = random_rnn(rng, n_x, n_a, n_y)
    x, a0 = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m))
    da = rng.standard_normal((n_a, m, T_x))

    a, _, caches = rnn_forward(x, a0, params, activation)
    grads = rnn_backward(da, caches)

    module = torch_rnn(params, activation)
    xt = to_torch_sequence(x, requires_grad=True)
    h0 = to_torch_state(a0).requires_grad_(True)
    out, h_n = module(xt, h0)
    (out * to_torch_sequence(da)).sum().backward()

    assert_close(a, from_torch_sequence(out), name="a")
    assert_close(a[:, :, -1], from_torch_state(h_n[0]), name="a_last")
    tgrads = gradients_from_torch(module)
    for key in ("dWax", "dWaa", "dba"):
        assert_close(grads[key], tgrads[key], name=key)
    assert_close(grads["dx"], from_torch_sequence(xt.grad), name="dx")
    assert_close(grads["da0"], from_torch_state(h0.grad[0]), name="da0")


def test_bridge_round_trip_sums_torch_biases():
    module = torch.nn.RNN(3, 4, dtype=torch.float64)
    params = parameters_from_torch(module)
    expected = (module.bias_ih_l0 + module.bias_hh_l0).detach().numpy()[:, None]
    np.testing.assert_array_equal(params["ba"], expected)
    other = torch.nn.RNN(3, 4, dtype=torch.float64)
    parameters_to_torch(params, other)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(other(x)[0], module(x)[0], rtol=0, atol=1e-12)


def _torch_heads(params, x, y_seq, a0, activation):
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt = to_torch_sequence(x, requires_grad=True)
    h0 = to_torch_state(a0).requires_grad_(True)
    module = torch.nn.RNN(x.shape[0], a0.shape[0], nonlinearity=activation, dtype=torch.float64)
    with torch.no_grad():
        module.weight_ih_l0.copy_(tp["Wax"]), module.weight_hh_l0.copy_(tp["Waa"])
        module.bias_ih_l0.copy_(tp["ba"][:, 0]), module.bias_hh_l0.zero_()
    out, _ = module(xt, h0)
    logits = out @ tp["Wya"].T + tp["by"][:, 0]        # (T_x, m, n_y)
    return tp, module, xt, h0, logits


@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", SIZES)
def test_many_to_many_loss_matches_torch(n_x, n_a, n_y, m, T_x):
    rng = np.random.default_rng(11)
    params = random_rnn(rng, n_x, n_a, n_y)
    x, a0 = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m))
    y = rng.integers(0, n_y, (m, T_x))
    loss, grads, a_last = rnn_many_to_many_loss(x, y, a0, params)

    tp, module, xt, h0, logits = _torch_heads(params, x, y, a0, "tanh")
    target = torch.from_numpy(y.T.copy())                # (T_x, m)
    tloss = F.cross_entropy(logits.reshape(-1, n_y), target.reshape(-1), reduction="sum") / m
    tloss.backward()
    assert abs(loss - tloss.item()) <= 1e-10 * max(1, abs(loss))
    tgrads = gradients_from_torch(module)
    tgrads.update(dWya=tp["Wya"].grad.numpy(), dby=tp["by"].grad.numpy(),
                  dx=from_torch_sequence(xt.grad), da0=from_torch_state(h0.grad[0]))
    for key, expected in tgrads.items():
        assert_close(grads[key], expected, name=key)


@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", SIZES)
def test_many_to_one_loss_matches_torch(n_x, n_a, n_y, m, T_x):
    rng = np.random.default_rng(12)
    params = random_rnn(rng, n_x, n_a, n_y)
    x, a0 = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m))
    y = rng.integers(0, n_y, (m,))
    loss, grads = rnn_many_to_one_loss(x, y, a0, params)

    tp, module, xt, h0, logits = _torch_heads(params, x, None, a0, "tanh")
    tloss = F.cross_entropy(logits[-1], torch.from_numpy(y))
    tloss.backward()
    assert abs(loss - tloss.item()) <= 1e-10 * max(1, abs(loss))
    tgrads = gradients_from_torch(module)
    tgrads.update(dWya=tp["Wya"].grad.numpy(), dby=tp["by"].grad.numpy(),
                  dx=from_torch_sequence(xt.grad), da0=from_torch_state(h0.grad[0]))
    for key, expected in tgrads.items():
        assert_close(grads[key], expected, name=key)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_truncated_bptt_matches_torch_with_detach(k):
    """BPTT(k) is the exact gradient of Σ_t Σ da⟨t⟩·a⟨t⟩ where a⟨t⟩ is recomputed
    from a detached a⟨t−k⟩ (a0 itself stays differentiable)."""
    rng = np.random.default_rng(13)
    n_x, n_a, m, T_x = 3, 4, 2, 7
    params = random_rnn(rng, n_x, n_a, 2)
    x, a0 = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m))
    da = rng.standard_normal((n_a, m, T_x))
    a, _, caches = rnn_forward(x, a0, params)
    grads = rnn_backward(da, caches, truncate=k)

    W = {key: torch.tensor(params[key], requires_grad=True) for key in ("Wax", "Waa", "ba")}
    X = torch.tensor(x, requires_grad=True)
    A0 = torch.tensor(a0, requires_grad=True)
    states = [A0] + [torch.tensor(a[:, :, t]) for t in range(T_x)]   # states[t+1] = a⟨t⟩
    total = 0
    for t in range(T_x):
        start = t - k + 1                        # first cell the gradient reaches
        h = A0 if start <= 0 else states[start].detach()
        for s in range(max(start, 0), t + 1):
            h = torch.tanh(W["Waa"] @ h + W["Wax"] @ X[:, :, s] + W["ba"])
        total = total + (h * torch.from_numpy(da[:, :, t])).sum()
    total.backward()
    for key in ("Wax", "Waa", "ba"):
        assert_close(grads["d" + key], W[key].grad.numpy(), name=key)
    assert_close(grads["dx"], X.grad.numpy(), name="dx")
    assert_close(grads["da0"], A0.grad.numpy(), name="da0")
