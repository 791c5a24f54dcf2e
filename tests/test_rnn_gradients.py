"""Finite-difference checks of every vanilla-RNN backward function."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rnn_core import (gradient_check, rnn_backward, rnn_cell_backward, rnn_cell_forward,
                      rnn_forward, rnn_many_to_many_loss, rnn_many_to_one_loss)
from tests.helpers import assert_gradcheck, random_rnn

SIZES = [  # (n_x, n_a, n_y, m, T_x): n_x != n_a != n_y, plus m = 1 and T_x = 1
    (3, 5, 4, 2, 6), (4, 3, 2, 1, 5), (2, 4, 3, 3, 1), (1, 1, 1, 1, 1), (5, 7, 6, 4, 8),
]
ACTIVATIONS = ["tanh", "relu", "identity"]
# ReLU has a kink at 0: a finite-difference step that crosses it measures the
# wrong slope. With ε = 1e-6 a step crosses one with probability ~1e-6 per
# pre-activation, so ReLU is checked with that ε (the rounding error is then
# ~1e-10 relative for the O(1) gradients these sizes give).
EPS = {"tanh": 1e-3, "relu": 1e-6, "identity": 1e-3}


@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", SIZES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_rnn_cell_backward(n_x, n_a, n_y, m, T_x, activation):
    rng = np.random.default_rng(0)
    params = random_rnn(rng, n_x, n_a, n_y)
    da_next = rng.standard_normal((n_a, m))
    variables = dict(params, xt=rng.standard_normal((n_x, m)), a_prev=rng.standard_normal((n_a, m)))

    def f(v):
        a_next, _, cache = rnn_cell_forward(v["xt"], v["a_prev"], v, activation)
        return np.sum(da_next * a_next), rnn_cell_backward(da_next, cache)

    errors = gradient_check(f, variables, eps=EPS[activation])
    assert set(errors) == {"Wax", "Waa", "ba", "xt", "a_prev"}
    assert_gradcheck(errors)


@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", SIZES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_rnn_backward(n_x, n_a, n_y, m, T_x, activation):
    rng = np.random.default_rng(1)
    params = random_rnn(rng, n_x, n_a, n_y)
    da = rng.standard_normal((n_a, m, T_x))
    variables = dict(params, x=rng.standard_normal((n_x, m, T_x)), a0=rng.standard_normal((n_a, m)))

    def f(v):
        a, _, caches = rnn_forward(v["x"], v["a0"], v, activation)
        return np.sum(da * a), rnn_backward(da, caches)

    errors = gradient_check(f, variables, eps=EPS[activation])
    assert set(errors) == {"Wax", "Waa", "ba", "x", "a0"}
    assert_gradcheck(errors)


@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", SIZES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_many_to_many_loss(n_x, n_a, n_y, m, T_x, activation):
    rng = np.random.default_rng(2)
    variables = dict(random_rnn(rng, n_x, n_a, n_y), x=rng.standard_normal((n_x, m, T_x)),
                     a0=rng.standard_normal((n_a, m)))
    y = rng.integers(0, n_y, (m, T_x))

    def f(v):
        return rnn_many_to_many_loss(v["x"], y, v["a0"], v, activation)[:2]

    errors = gradient_check(f, variables, eps=EPS[activation])
    assert set(errors) == {"Wax", "Waa", "Wya", "ba", "by", "x", "a0"}
    assert_gradcheck(errors)


@pytest.mark.parametrize("n_x,n_a,n_y,m,T_x", SIZES)
def test_many_to_one_loss(n_x, n_a, n_y, m, T_x):
    rng = np.random.default_rng(3)
    variables = dict(random_rnn(rng, n_x, n_a, n_y), x=rng.standard_normal((n_x, m, T_x)),
                     a0=rng.standard_normal((n_a, m)))
    y = rng.integers(0, n_y, (m,))

    def f(v):
        return rnn_many_to_one_loss(v["x"], y, v["a0"], v)

    errors = gradient_check(f, variables)
    assert set(errors) == {"Wax", "Waa", "Wya", "ba", "by", "x", "a0"}
    assert_gradcheck(errors)


def test_truncation_at_or_beyond_length_is_full_bptt():
    rng = np.random.default_rng(4)
    params = random_rnn(rng, 3, 4, 2)
    x, a0 = rng.standard_normal((3, 2, 5)), rng.standard_normal((4, 2))
    da = rng.standard_normal((4, 2, 5))
    _, _, caches = rnn_forward(x, a0, params)
    full = rnn_backward(da, caches)
    for k in (5, 9):
        truncated = rnn_backward(da, caches, truncate=k)
        for key in full:
            np.testing.assert_allclose(truncated[key], full[key], rtol=1e-12, atol=1e-14)


def test_truncation_to_one_step_drops_the_recurrent_path():
    """With k = 1 the gradient never crosses a step: each cell sees only da[..., t]."""
    rng = np.random.default_rng(5)
    params = random_rnn(rng, 3, 4, 2)
    x, a0 = rng.standard_normal((3, 2, 4)), rng.standard_normal((4, 2))
    da = rng.standard_normal((4, 2, 4))
    _, _, (cache_list, _) = rnn_forward(x, a0, params)
    grads = rnn_backward(da, (cache_list, x), truncate=1)
    expected = sum(rnn_cell_backward(da[:, :, t], cache_list[t])["dWaa"] for t in range(4))
    np.testing.assert_allclose(grads["dWaa"], expected, rtol=1e-12)
    np.testing.assert_allclose(grads["da0"], rnn_cell_backward(da[:, :, 0], cache_list[0])["da_prev"])
    assert not np.allclose(grads["dWaa"], rnn_backward(da, (cache_list, x))["dWaa"])


def test_gradient_check_detects_a_wrong_gradient():
    """The checker must be able to fail: a 1% error in one gradient is caught."""
    rng = np.random.default_rng(6)
    variables = dict(random_rnn(rng, 3, 4, 2), x=rng.standard_normal((3, 2, 3)),
                     a0=np.zeros((4, 2)))
    y = rng.integers(0, 2, (2, 3))

    def wrong(v):
        loss, grads, _ = rnn_many_to_many_loss(v["x"], y, v["a0"], v)
        grads["dWaa"] = grads["dWaa"] * 1.01
        return loss, grads

    errors = gradient_check(wrong, variables)
    assert errors["Waa"] > 1e-3
    assert all(err < 1e-7 for name, err in errors.items() if name != "Waa")


@settings(max_examples=30, deadline=None)
@given(n_x=st.integers(1, 5), n_a=st.integers(1, 6), n_y=st.integers(1, 5),
       m=st.integers(1, 4), T_x=st.integers(1, 6), seed=st.integers(0, 2**32 - 1),
       activation=st.sampled_from(["tanh", "identity"]))
def test_property_shapes_and_gradients(n_x, n_a, n_y, m, T_x, seed, activation):
    rng = np.random.default_rng(seed)
    params = random_rnn(rng, n_x, n_a, n_y)
    x, a0 = rng.standard_normal((n_x, m, T_x)), rng.standard_normal((n_a, m))
    a, y_pred, (caches, _) = rnn_forward(x, a0, params, activation)
    assert a.shape == (n_a, m, T_x) and y_pred.shape == (n_y, m, T_x) and len(caches) == T_x
    np.testing.assert_allclose(y_pred.sum(axis=0), 1.0, rtol=1e-12)
    y = rng.integers(0, n_y, (m, T_x))
    variables = dict(params, x=x, a0=a0)
    errors = gradient_check(
        lambda v: rnn_many_to_many_loss(v["x"], y, v["a0"], v, activation)[:2], variables)
    assert_gradcheck(errors)
