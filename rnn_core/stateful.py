"""A stateful vanilla-RNN layer in the shape of classic teaching code: it keeps
its hidden state across calls (so a long text can be fed chunk by chunk),
trains with truncated BPTT and updates itself with plain SGD. It is built on
the same functions as everything else: :func:`rnn_many_to_many_loss` and
:func:`rnn_forward`.

Introduced in the chapter *Backpropagation through time*.
"""
from __future__ import annotations

import numpy as np

from .init import initialize_rnn_parameters
from .activations import get_activation
from .losses import rnn_many_to_many_loss
from .optim import SGD
from .rnn import rnn_forward
from .validation import check_positive_int


class StatefulRNN:
    """Vanilla RNN with a persistent hidden state for batches of m sequences.

    ``loss(x, y)`` runs from the stored state, stores the gradients and
    advances the state; ``update(learning_rate)`` applies SGD;
    ``reset_state()`` returns to zeros (e.g. at the start of a new text).
    """

    def __init__(self, n_x, n_a, n_y, m=1, activation="tanh", truncate=None, seed=0, **init):
        get_activation(activation)
        self.activation = activation
        self.truncate = None if truncate is None else check_positive_int("truncate", truncate)
        self.m = check_positive_int("m", m)
        self.parameters = initialize_rnn_parameters(n_x, n_a, n_y, seed=seed, **init)
        self.gradients: dict | None = None
        self.reset_state()

    def reset_state(self) -> None:
        """Set the carried hidden state a (n_a, m) to zeros."""
        n_a = self.parameters["Waa"].shape[0]
        self.a = np.zeros((n_a, self.m), dtype=self.parameters["Waa"].dtype)

    def forward(self, x):
        """x (n_x, m, T_x) -> y_pred (n_y, m, T_x), continuing from the stored state."""
        a, y_pred, _ = rnn_forward(x, self.a, self.parameters, self.activation)
        self.a = a[:, :, -1]
        return y_pred

    def loss(self, x, y) -> float:
        """Loss of targets y (m, T_x) on x (n_x, m, T_x); stores gradients, advances state."""
        loss, self.gradients, self.a = rnn_many_to_many_loss(
            x, y, self.a, self.parameters, self.activation, self.truncate)
        return loss

    def update(self, learning_rate: float) -> None:
        """One SGD step with the gradients of the last ``loss`` call."""
        if self.gradients is None:
            raise RuntimeError("call loss(x, y) before update(): there are no gradients yet")
        SGD(learning_rate).step(self.parameters, self.gradients)
