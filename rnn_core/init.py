"""Weight initialisers and a ready-made vanilla-RNN parameter dict.

Introduced in the chapter *The RNN cell and the forward pass*; orthogonal and
identity initialisation are discussed in *Vanishing and exploding gradients*.
"""
from __future__ import annotations

import numpy as np

from .validation import check_positive_float, check_positive_int


def _shape(shape) -> tuple[int, int]:
    if not isinstance(shape, tuple) or len(shape) != 2:
        raise ValueError(f"shape must be a (rows, cols) tuple, got {shape!r}")
    return check_positive_int("rows", shape[0]), check_positive_int("cols", shape[1])


def small_random(shape, rng, scale=0.01, dtype=np.float64):
    """N(0, scale²) entries: the min-char-rnn / deeplearning.ai default."""
    check_positive_float("scale", scale)
    return (scale * rng.standard_normal(_shape(shape))).astype(dtype)


def xavier_uniform(shape, rng, gain=1.0, dtype=np.float64):
    """Glorot & Bengio (2010): U(−b, b) with b = gain·√(6 / (fan_in + fan_out))."""
    rows, cols = _shape(shape)
    bound = gain * np.sqrt(6.0 / (rows + cols))
    return rng.uniform(-bound, bound, size=(rows, cols)).astype(dtype)


def xavier_normal(shape, rng, gain=1.0, dtype=np.float64):
    """Glorot & Bengio (2010): N(0, σ²) with σ = gain·√(2 / (fan_in + fan_out))."""
    rows, cols = _shape(shape)
    return (gain * np.sqrt(2.0 / (rows + cols)) * rng.standard_normal((rows, cols))).astype(dtype)


def orthogonal(shape, rng, gain=1.0, dtype=np.float64):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014); all singular values = gain."""
    rows, cols = _shape(shape)
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q *= np.sign(np.diag(r))          # makes the distribution uniform (Haar)
    q = q if rows >= cols else q.T
    return (gain * q).astype(dtype)


def identity(shape, rng=None, gain=1.0, dtype=np.float64):
    """gain·I, the IRNN recurrent initialisation (Le, Jaitly & Hinton 2015)."""
    rows, cols = _shape(shape)
    if rows != cols:
        raise ValueError(f"identity initialisation needs a square shape, got {shape}")
    return (gain * np.eye(rows)).astype(dtype)


INITIALISERS = {"small_random": small_random, "xavier_uniform": xavier_uniform,
                "xavier_normal": xavier_normal, "orthogonal": orthogonal, "identity": identity}


def get_initialiser(name):
    """Look up an initialiser by name (see ``INITIALISERS``)."""
    if name not in INITIALISERS:
        raise ValueError(f"initialiser must be one of {', '.join(map(repr, INITIALISERS))}, "
                         f"got {name!r}")
    return INITIALISERS[name]


def initialize_rnn_parameters(n_x, n_a, n_y, seed=0, input_init="xavier_uniform",
                              recurrent_init="orthogonal", output_init="xavier_uniform",
                              dtype=np.float64):
    """Vanilla-RNN parameters Wax (n_a, n_x), Waa (n_a, n_a), Wya (n_y, n_a), ba, by = 0."""
    for name, size in (("n_x", n_x), ("n_a", n_a), ("n_y", n_y)):
        check_positive_int(name, size)
    rng = np.random.default_rng(seed)
    return {
        "Wax": get_initialiser(input_init)((n_a, n_x), rng, dtype=dtype),
        "Waa": get_initialiser(recurrent_init)((n_a, n_a), rng, dtype=dtype),
        "Wya": get_initialiser(output_init)((n_y, n_a), rng, dtype=dtype),
        "ba": np.zeros((n_a, 1), dtype=dtype),
        "by": np.zeros((n_y, 1), dtype=dtype),
    }
