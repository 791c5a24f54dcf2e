"""Every bad input gets a ValueError that names the argument, the expected shape
and the shape given; nothing silently broadcasts."""
import numpy as np
import pytest

from rnn_core import (StatefulRNN, gradient_check, initialize_rnn_parameters, rnn_backward,
                      rnn_cell_backward, rnn_cell_forward, rnn_forward, rnn_many_to_many_loss,
                      rnn_many_to_one_loss, train, SGD)
from tests.helpers import random_rnn


@pytest.fixture
def setup():
    rng = np.random.default_rng(0)
    params = random_rnn(rng, 3, 5, 4)
    return rng, params


def test_wrong_input_size(setup):
    rng, params = setup
    with pytest.raises(ValueError, match=r"xt must have shape \(n_x=3, m\), got \(2, 7\)"):
        rnn_cell_forward(np.zeros((2, 7)), np.zeros((5, 7)), params)
    with pytest.raises(ValueError, match=r"x must have shape \(n_x=3, m, T_x\), got \(4, 2, 6\)"):
        rnn_forward(np.zeros((4, 2, 6)), np.zeros((5, 2)), params)


def test_batch_mismatch_is_not_broadcast(setup):
    rng, params = setup
    # a_prev with m = 1 would broadcast against xt with m = 7: it must be refused
    with pytest.raises(ValueError, match=r"a_prev must have shape \(n_a=5, m=7\), got \(5, 1\)"):
        rnn_cell_forward(np.zeros((3, 7)), np.zeros((5, 1)), params)
    with pytest.raises(ValueError, match=r"a0 must have shape \(n_a=5, m=2\), got \(5, 3\)"):
        rnn_forward(np.zeros((3, 2, 6)), np.zeros((5, 3)), params)


def test_wrong_rank(setup):
    _, params = setup
    with pytest.raises(ValueError, match=r"x must have shape \(n_x=3, m, T_x\), got \(3, 6\)"):
        rnn_forward(np.zeros((3, 6)), np.zeros((5, 1)), params)


def test_inconsistent_parameters(setup):
    _, params = setup
    bad = dict(params, Waa=np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"Waa must have shape \(n_a=5, n_a=5\), got \(5, 4\)"):
        rnn_forward(np.zeros((3, 2, 6)), np.zeros((5, 2)), bad)
    bad = dict(params, ba=np.zeros(5))
    with pytest.raises(ValueError, match=r"ba must have shape \(n_a=5, 1=1\), got \(5,\)"):
        rnn_cell_forward(np.zeros((3, 2)), np.zeros((5, 2)), bad)
    bad = {k: v for k, v in params.items() if k != "by"}
    with pytest.raises(ValueError, match="parameters is missing by"):
        rnn_cell_forward(np.zeros((3, 2)), np.zeros((5, 2)), bad)


def test_nan_and_inf_are_refused(setup):
    _, params = setup
    x = np.zeros((3, 2, 4))
    x[0, 1, 2] = np.nan
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        rnn_forward(x, np.zeros((5, 2)), params)
    bad = dict(params, Wax=params["Wax"].copy())
    bad["Wax"][0, 0] = np.inf
    with pytest.raises(ValueError, match="Wax contains NaN or inf"):
        rnn_forward(np.zeros((3, 2, 4)), np.zeros((5, 2)), bad)


def test_dtype_mismatch_and_non_float(setup):
    _, params = setup
    with pytest.raises(ValueError, match="xt has dtype float32 but the parameters are float64"):
        rnn_cell_forward(np.zeros((3, 2), dtype=np.float32), np.zeros((5, 2)), params)
    with pytest.raises(ValueError, match="xt must have dtype float32 or float64, got int64"):
        rnn_cell_forward(np.zeros((3, 2), dtype=np.int64), np.zeros((5, 2)), params)
    with pytest.raises(ValueError, match="xt must be a numpy array, got list"):
        rnn_cell_forward([[0.0]] * 3, np.zeros((5, 1)), params)


def test_unknown_activation(setup):
    _, params = setup
    with pytest.raises(ValueError, match="activation must be one of 'tanh', 'relu', 'identity', got 'sigmoid'"):
        rnn_forward(np.zeros((3, 2, 4)), np.zeros((5, 2)), params, activation="sigmoid")


def test_non_positive_sizes():
    with pytest.raises(ValueError, match="n_a must be a positive integer, got 0"):
        initialize_rnn_parameters(3, 0, 2)
    with pytest.raises(ValueError, match="n_x must be a positive integer, got -1"):
        initialize_rnn_parameters(-1, 4, 2)
    with pytest.raises(ValueError, match="n_y must be a positive integer, got 2.5"):
        initialize_rnn_parameters(3, 4, 2.5)
    with pytest.raises(ValueError, match="m must be a positive integer, got 0"):
        StatefulRNN(3, 4, 2, m=0)
    with pytest.raises(ValueError, match="T_x must be a positive integer, got 0"):
        rnn_forward(np.zeros((3, 2, 0)), np.zeros((4, 2)), initialize_rnn_parameters(3, 4, 2))


def test_backward_shapes_checked(setup):
    rng, params = setup
    _, _, cache = rnn_cell_forward(np.zeros((3, 2)), np.zeros((5, 2)), params)
    with pytest.raises(ValueError, match=r"da_next must have shape \(n_a=5, m=2\), got \(5, 1\)"):
        rnn_cell_backward(np.zeros((5, 1)), cache)
    _, _, caches = rnn_forward(np.zeros((3, 2, 4)), np.zeros((5, 2)), params)
    with pytest.raises(ValueError, match=r"da must have shape \(n_a=5, m=2, T_x=4\), got \(5, 2, 3\)"):
        rnn_backward(np.zeros((5, 2, 3)), caches)
    with pytest.raises(ValueError, match="truncate must be a positive integer, got 0"):
        rnn_backward(np.zeros((5, 2, 4)), caches, truncate=0)


def test_labels_checked(setup):
    _, params = setup
    x, a0 = np.zeros((3, 2, 4)), np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"y must have shape \(m=2, T_x=4\), got \(4, 2\)"):
        rnn_many_to_many_loss(x, np.zeros((4, 2), dtype=int), a0, params)
    with pytest.raises(ValueError, match=r"y must hold class indices in \[0, 4\), got values in \[0, 4\]"):
        rnn_many_to_one_loss(x, np.array([0, 4]), a0, params)
    with pytest.raises(ValueError, match="y must be an integer numpy array of class indices, got float64"):
        rnn_many_to_one_loss(x, np.array([0.0, 1.0]), a0, params)


def test_training_loop_stops_on_divergence(setup):
    _, params = setup
    calls = iter([1.0, np.inf])
    with pytest.raises(FloatingPointError, match="loss became inf at step 1"):
        train(lambda p, b: (next(calls), {}), params, SGD(0.1), range(3), progress=False)
    with pytest.raises(ValueError, match="optimizer must be an rnn_core.optim.Optimizer"):
        train(lambda p, b: (1.0, {}), params, "adam", range(3), progress=False)


def test_gradient_check_arguments(setup):
    _, params = setup
    with pytest.raises(ValueError, match="eps must be a positive finite number, got 0"):
        gradient_check(lambda p: (0.0, {}), params, eps=0)
