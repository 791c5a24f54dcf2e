"""Optimisers that update a parameter dict in place from a gradient dict whose
keys are "d" + parameter name (dWax for Wax, …). Gradients with no matching
parameter (da0, dx) are ignored.

Introduced in the chapter *Backpropagation through time*.
"""
from __future__ import annotations

import numpy as np

from .validation import check_positive_float


class Optimizer:
    """Base class: ``step(parameters, gradients)`` updates parameters in place."""

    def __init__(self, learning_rate: float):
        self.learning_rate = check_positive_float("learning_rate", learning_rate)
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def step(self, parameters: dict, gradients: dict) -> None:
        """Apply one update to every parameter that has a gradient."""
        for name, theta in parameters.items():
            grad = gradients.get("d" + name)
            if grad is None:
                continue
            if grad.shape != theta.shape:
                raise ValueError(f"d{name} must have shape {theta.shape} like {name}, "
                                 f"got {grad.shape}")
            theta -= self.direction(name, grad)

    def buffer(self, name: str, key: str, like: np.ndarray) -> np.ndarray:
        """A per-parameter state array, created as zeros on first use."""
        slot = self.state.setdefault(name, {})
        if key not in slot:
            slot[key] = np.zeros_like(like)
        return slot[key]

    def direction(self, name: str, grad: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class SGD(Optimizer):
    """θ ← θ − η g."""

    def direction(self, name, grad):
        return self.learning_rate * grad


class Momentum(Optimizer):
    """Heavy ball: v ← β v + g, θ ← θ − η v."""

    def __init__(self, learning_rate: float, beta: float = 0.9):
        super().__init__(learning_rate)
        self.beta = beta

    def direction(self, name, grad):
        v = self.buffer(name, "v", grad)
        v *= self.beta
        v += grad
        return self.learning_rate * v


class Adagrad(Optimizer):
    """Duchi et al. (2011): G ← G + g², θ ← θ − η g / (√G + ε). min-char-rnn's choice."""

    def __init__(self, learning_rate: float, eps: float = 1e-8):
        super().__init__(learning_rate)
        self.eps = eps

    def direction(self, name, grad):
        G = self.buffer(name, "G", grad)
        G += grad * grad
        return self.learning_rate * grad / (np.sqrt(G) + self.eps)


class Adam(Optimizer):
    """Kingma & Ba (2015), with bias correction of both moments."""

    def __init__(self, learning_rate: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8):
        super().__init__(learning_rate)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t: dict[str, int] = {}

    def direction(self, name, grad):
        m, v = self.buffer(name, "m", grad), self.buffer(name, "v", grad)
        self.t[name] = t = self.t.get(name, 0) + 1
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * grad * grad
        m_hat = m / (1 - self.beta1 ** t)
        v_hat = v / (1 - self.beta2 ** t)
        return self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)
