"""The whole vanilla-RNN chain with a softmax output and cross-entropy loss:
one function returns the loss and the gradient of every parameter, so it is
trivial to check (the style of Karpathy's min-char-rnn).

Loss convention: J = Σ_t J⟨t⟩ with J⟨t⟩ = −(1/m) Σ_i log ŷ⟨t⟩[y_i⟨t⟩, i], i.e.
summed over time and averaged over the m sequences of the batch.

Introduced in the chapter *Backpropagation through time*.
"""
from __future__ import annotations

import numpy as np

from .activations import log_softmax
from .rnn import check_rnn_parameters, rnn_backward, rnn_forward
from .validation import check_labels


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of integer labels under softmax(logits).

    logits (n_y, m), y (m,) -> (loss, dlogits (n_y, m)), where
    dlogits = (ŷ − onehot(y)) / m, the gradient of the mean loss.
    """
    n_y, m = logits.shape
    check_labels("y", y, (m,), ("m",), n_y)
    logp = log_softmax(logits)
    columns = np.arange(m)
    loss = -logp[y, columns].mean()
    dlogits = np.exp(logp)
    dlogits[y, columns] -= 1.0
    return float(loss), dlogits / m


def _with_parameter_grads(grads, parameters):
    out = {key: grads[key] for key in ("dWax", "dWaa", "dba")}
    out["dWya"] = np.zeros_like(parameters["Wya"])
    out["dby"] = np.zeros_like(parameters["by"])
    return out


def rnn_many_to_many_loss(x, y, a0, parameters, activation="tanh", truncate=None):
    """Loss and gradients of a many-to-many RNN (a label at every step).

    x (n_x, m, T_x), y (m, T_x) integer class indices, a0 (n_a, m).
    Returns (loss, gradients, a_last): gradients has dWax, dWaa, dWya, dba,
    dby, da0 and dx; a_last (n_a, m) is the final hidden state, so a stateful
    caller can carry it into the next chunk. ``truncate`` as in
    :func:`rnn_backward`.
    """
    a, _, caches = rnn_forward(x, a0, parameters, activation)
    n_y = parameters["Wya"].shape[0]
    _, m, T_x = x.shape
    check_labels("y", y, (m, T_x), ("m", "T_x"), n_y)
    Wya, by = parameters["Wya"], parameters["by"]

    loss = 0.0
    da = np.zeros_like(a)
    dWya, dby = np.zeros_like(Wya), np.zeros_like(by)
    for t in range(T_x):
        loss_t, dlogits = softmax_cross_entropy(Wya @ a[:, :, t] + by, y[:, t])
        loss += loss_t
        dWya += dlogits @ a[:, :, t].T
        dby += dlogits.sum(axis=1, keepdims=True)
        da[:, :, t] = Wya.T @ dlogits          # the output's share of ∂J/∂a⟨t⟩
    grads = rnn_backward(da, caches, truncate)
    gradients = _with_parameter_grads(grads, parameters)
    gradients.update(dWya=dWya, dby=dby, da0=grads["da0"], dx=grads["dx"])
    return loss, gradients, a[:, :, -1]


def rnn_many_to_one_loss(x, y, a0, parameters, activation="tanh"):
    """Loss and gradients of a many-to-one RNN: classify from the last state.

    x (n_x, m, T_x), y (m,) integer class indices, a0 (n_a, m).
    Returns (loss, gradients) with dWax, dWaa, dWya, dba, dby, da0, dx.
    """
    n_x, n_a, n_y, _ = check_rnn_parameters(parameters)
    a, _, caches = rnn_forward(x, a0, parameters, activation)
    a_last = a[:, :, -1]
    loss, dlogits = softmax_cross_entropy(parameters["Wya"] @ a_last + parameters["by"], y)
    da = np.zeros_like(a)
    da[:, :, -1] = parameters["Wya"].T @ dlogits
    grads = rnn_backward(da, caches)
    gradients = _with_parameter_grads(grads, parameters)
    gradients.update(dWya=dlogits @ a_last.T, dby=dlogits.sum(axis=1, keepdims=True),
                     da0=grads["da0"], dx=grads["dx"])
    return loss, gradients
