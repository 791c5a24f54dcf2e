"""The stateful layer, truncated training, and the training loop actually learning."""
import numpy as np
import pytest

from rnn_core import (Adam, StatefulRNN, initialize_rnn_parameters, rnn_forward,
                      rnn_many_to_many_loss, train)


def one_hot(indices, n):
    """(m, T) integer indices -> (n, m, T) one-hot float64."""
    return np.eye(n)[indices].transpose(2, 0, 1)


def test_state_carries_across_calls_and_resets():
    layer = StatefulRNN(3, 6, 2, m=2, seed=1)
    x = np.random.default_rng(0).standard_normal((3, 2, 8))
    whole = layer.forward(x)
    layer.reset_state()
    np.testing.assert_array_equal(layer.a, 0.0)
    halves = np.concatenate([layer.forward(x[:, :, :3]), layer.forward(x[:, :, 3:])], axis=2)
    np.testing.assert_allclose(halves, whole, rtol=1e-13)
    layer.reset_state()
    again = layer.forward(x[:, :, 3:])
    assert not np.allclose(again, whole[:, :, 3:])      # without the carried state it differs


def test_loss_update_is_one_sgd_step_of_the_same_gradient():
    rng = np.random.default_rng(2)
    layer = StatefulRNN(4, 5, 4, m=3, truncate=2, seed=3)
    x, y = one_hot(rng.integers(0, 4, (3, 6)), 4), rng.integers(0, 4, (3, 6))
    before = {k: v.copy() for k, v in layer.parameters.items()}
    a_before = layer.a.copy()
    loss = layer.loss(x, y)
    expected_loss, grads, a_last = rnn_many_to_many_loss(x, y, a_before, before, truncate=2)
    assert loss == pytest.approx(expected_loss, rel=1e-14)
    np.testing.assert_array_equal(layer.a, a_last)
    layer.update(0.5)
    for key in before:
        np.testing.assert_allclose(layer.parameters[key], before[key] - 0.5 * grads["d" + key],
                                   rtol=1e-14, atol=1e-15)
    with pytest.raises(RuntimeError, match=r"call loss\(x, y\) before update\(\)"):
        StatefulRNN(2, 2, 2).update(0.1)


def test_training_learns_to_echo_the_previous_symbol():
    """y⟨t⟩ = x⟨t−1⟩ (and y⟨0⟩ = 0) needs one step of memory; chance is log 4 ≈ 1.39 nats/step."""
    rng = np.random.default_rng(4)
    n, T, m = 4, 10, 16
    params = initialize_rnn_parameters(n, 16, n, seed=5)
    a0 = np.zeros((16, m))

    def batches(count):
        for _ in range(count):
            s = rng.integers(0, n, (m, T + 1))
            s[:, 0] = 0
            yield one_hot(s[:, 1:], n), s[:, :-1]

    def step(p, batch):
        x, y = batch
        return rnn_many_to_many_loss(x, y, a0, p)[:2]

    history = train(step, params, Adam(0.02), batches(300), clip_norm=5.0, progress=False)
    first, last = history["loss"][0] / T, np.mean(history["loss"][-20:]) / T
    assert first > 1.2                  # starts near chance
    assert last < 0.05, f"mean per-step loss after training {last:.3f}"
    # and it generalises: fresh sequences are echoed correctly
    s = rng.integers(0, n, (m, T + 1))
    s[:, 0] = 0
    _, y_pred, _ = rnn_forward(one_hot(s[:, 1:], n), a0, params)
    accuracy = (y_pred.argmax(axis=0) == s[:, :-1]).mean()
    assert accuracy > 0.99
