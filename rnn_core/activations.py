"""Numerically stable softmax, log-softmax and sigmoid, and the hidden-state
activations a vanilla RNN can use (tanh, ReLU, identity).

Introduced in the chapter *The RNN cell and the forward pass*.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


def softmax(z: np.ndarray, axis: int = 0) -> np.ndarray:
    """Softmax over ``axis`` (classes are rows: z is (n_y, m)), stable for large |z|."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = 0) -> np.ndarray:
    """log(softmax(z)) computed as z - max - log(sum(exp(z - max))), no overflow."""
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid 1 / (1 + exp(-z)), without overflow for either sign of z."""
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


@dataclass(frozen=True)
class Activation:
    """A hidden-state activation g and its derivative written in terms of its output a = g(z)."""
    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    derivative_from_output: Callable[[np.ndarray], np.ndarray]


ACTIVATIONS = {
    # tanh'(z) = 1 - tanh(z)^2 = 1 - a^2
    "tanh": Activation("tanh", np.tanh, lambda a: 1.0 - a * a),
    # relu'(z) = 1 where z > 0, and a > 0 exactly there
    "relu": Activation("relu", lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(a.dtype)),
    "identity": Activation("identity", lambda z: z.copy(), np.ones_like),
}


def get_activation(name: str) -> Activation:
    """Look up a hidden-state activation by name: 'tanh', 'relu' or 'identity'."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, "
                         f"got {name!r}")
    return ACTIVATIONS[name]
