"""Optimisers against torch.optim, clipping, initialisers and stable activations."""
import numpy as np
import pytest
import torch

from rnn_core import (SGD, Adagrad, Adam, Momentum, clip_by_global_norm, clip_by_value,
                      global_norm, identity, log_softmax, orthogonal, sigmoid, small_random,
                      softmax, xavier_normal, xavier_uniform)
from tests.helpers import assert_close

OPTIMISERS = [
    (lambda: SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    (lambda: Momentum(0.05, beta=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    (lambda: Adagrad(0.1, eps=1e-10), lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-10)),
    (lambda: Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
]


@pytest.mark.parametrize("ours,theirs", OPTIMISERS)
def test_optimiser_matches_torch_over_steps(ours, theirs):
    rng = np.random.default_rng(0)
    params = {"W": rng.standard_normal((3, 4)), "b": rng.standard_normal((3, 1))}
    tparams = [torch.tensor(params["W"], requires_grad=True),
               torch.tensor(params["b"], requires_grad=True)]
    opt, topt = ours(), theirs(tparams)
    for _ in range(5):
        grads = {"dW": rng.standard_normal((3, 4)), "db": rng.standard_normal((3, 1)),
                 "da0": rng.standard_normal((3, 2))}       # ignored: no parameter a0
        opt.step(params, grads)
        tparams[0].grad, tparams[1].grad = torch.tensor(grads["dW"]), torch.tensor(grads["db"])
        topt.step()
    assert_close(params["W"], tparams[0].detach().numpy(), tol=1e-12, name="W")
    assert_close(params["b"], tparams[1].detach().numpy(), tol=1e-12, name="b")


def test_optimiser_rejects_bad_learning_rate_and_shape():
    with pytest.raises(ValueError, match="learning_rate must be a positive finite number, got -0.1"):
        SGD(-0.1)
    with pytest.raises(ValueError, match=r"dW must have shape \(2, 2\) like W, got \(2, 3\)"):
        SGD(0.1).step({"W": np.zeros((2, 2))}, {"dW": np.zeros((2, 3))})


def test_clip_by_global_norm_keeps_direction():
    rng = np.random.default_rng(1)
    grads = {"dA": rng.standard_normal((4, 5)) * 10, "db": rng.standard_normal((4, 1)) * 10}
    clipped, norm = clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(np.sqrt(sum((g ** 2).sum() for g in grads.values())))
    assert global_norm(clipped) == pytest.approx(1.0)
    np.testing.assert_allclose(clipped["dA"] * norm, grads["dA"], rtol=1e-12)
    unchanged, _ = clip_by_global_norm(grads, 1e6)
    np.testing.assert_array_equal(unchanged["dA"], grads["dA"])
    # torch's clip_grad_norm_ gives the same scale factor (up to its 1e-6 in the denominator)
    tensors = [torch.tensor(g, requires_grad=True) for g in grads.values()]
    for t, g in zip(tensors, grads.values()):
        t.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_norm_(tensors, 1.0)
    np.testing.assert_allclose(tensors[0].grad.numpy(), clipped["dA"], rtol=1e-5)


def test_clip_by_value():
    clipped = clip_by_value({"dW": np.array([[-3.0, 0.5, 7.0]])}, 1.0)
    np.testing.assert_array_equal(clipped["dW"], [[-1.0, 0.5, 1.0]])
    with pytest.raises(ValueError, match="max_value must be a positive finite number"):
        clip_by_value({}, 0)


def test_softmax_log_softmax_sigmoid_are_stable_and_correct():
    z = np.array([[1000.0, -1000.0, 0.5], [999.0, -1001.0, -0.5], [0.0, 0.0, 0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        p, logp = softmax(z), log_softmax(z)
        s = sigmoid(np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0]))
    tz = torch.tensor(z)
    np.testing.assert_allclose(p, torch.softmax(tz, dim=0).numpy(), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(logp, torch.log_softmax(tz, dim=0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(s, torch.sigmoid(torch.tensor([-1000.0, -1.0, 0, 1, 1000], dtype=torch.float64)).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(p.sum(axis=0), 1.0)


def test_initialisers():
    rng = np.random.default_rng(2)
    for shape in ((6, 6), (8, 3), (3, 8)):
        Q = orthogonal(shape, rng, gain=2.0)
        np.testing.assert_allclose(np.linalg.svd(Q, compute_uv=False), 2.0, rtol=1e-12)
    np.testing.assert_array_equal(identity((3, 3), gain=0.5), 0.5 * np.eye(3))
    W = xavier_uniform((200, 300), rng)
    assert np.abs(W).max() <= np.sqrt(6 / 500)
    assert xavier_normal((200, 300), rng).std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    assert small_random((200, 300), rng).std() == pytest.approx(0.01, rel=0.02)
    with pytest.raises(ValueError, match=r"identity initialisation needs a square shape, got \(2, 3\)"):
        identity((2, 3))
    with pytest.raises(ValueError, match="rows must be a positive integer, got 0"):
        orthogonal((0, 3), rng)
