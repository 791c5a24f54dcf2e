"""Input checks shared by every ``rnn_core`` function.

Every public function validates what it is given and raises ``ValueError`` with
a message that names the argument, the expected shape and the shape it got.
Nothing is silently broadcast.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_float_array(name: str, value, dtype=None) -> np.ndarray:
    """Check that ``value`` is a finite float32/float64 array (of ``dtype`` if given)."""
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(value).__name__}")
    if value.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{name} must have dtype float32 or float64, got {value.dtype}")
    if dtype is not None and value.dtype != dtype:
        raise ValueError(f"{name} has dtype {value.dtype} but the parameters are {dtype}; "
                         f"convert it with .astype(np.{dtype})")
    if not np.isfinite(value).all():
        raise ValueError(f"{name} contains NaN or inf")
    return value


def describe_shape(expected: Sequence[int | None], labels: Sequence[str]) -> str:
    """Format an expected shape as ``(n_x=3, m)`` for error messages."""
    parts = [lab if size is None else f"{lab}={size}" for size, lab in zip(expected, labels)]
    return "(" + ", ".join(parts) + ")"


def check_shape(name: str, value, expected: Sequence[int | None], labels: Sequence[str],
                dtype=None) -> np.ndarray:
    """Check a finite float array against ``expected`` (``None`` = any size).

    ``labels`` names each axis as the book does, e.g. ``("n_x", "m")``.
    """
    check_float_array(name, value, dtype)
    if value.ndim != len(expected) or any(
            size is not None and size != got for size, got in zip(expected, value.shape)):
        raise ValueError(f"{name} must have shape {describe_shape(expected, labels)}, "
                         f"got {value.shape}")
    return value


def check_positive_int(name: str, value) -> int:
    """Check that a size or count is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_positive_float(name: str, value) -> float:
    """Check a strictly positive, finite number (learning rates, clipping thresholds)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_labels(name: str, value, expected: Sequence[int | None], labels: Sequence[str],
                 n_classes: int) -> np.ndarray:
    """Check an integer array of class indices in ``[0, n_classes)``."""
    if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.integer):
        got = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
        raise ValueError(f"{name} must be an integer numpy array of class indices, got {got}")
    if value.ndim != len(expected) or any(
            size is not None and size != got for size, got in zip(expected, value.shape)):
        raise ValueError(f"{name} must have shape {describe_shape(expected, labels)}, "
                         f"got {value.shape}")
    if value.size and (value.min() < 0 or value.max() >= n_classes):
        raise ValueError(f"{name} must hold class indices in [0, {n_classes}), "
                         f"got values in [{value.min()}, {value.max()}]")
    return value


def check_keys(name: str, mapping, keys: Sequence[str]) -> None:
    """Check that ``mapping`` is a dict holding every key in ``keys``."""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{name} must be a dict, got {type(mapping).__name__}")
    missing = [key for key in keys if key not in mapping]
    if missing:
        raise ValueError(f"{name} is missing {', '.join(missing)} "
                         f"(expected keys: {', '.join(keys)})")


def check_parameters(parameters: Mapping, spec: Mapping[str, tuple]) -> np.dtype:
    """Check a parameter dict against ``spec``: name -> (shape, labels).

    Returns the common dtype. Every parameter must be present, finite, of the
    stated shape, and all must share one float dtype.
    """
    check_keys("parameters", parameters, spec)
    dtype = None
    for key, (shape, labels) in spec.items():
        check_shape(key, parameters[key], shape, labels, dtype)
        dtype = parameters[key].dtype
    return dtype


def check_gated_parameters(parameters, weights, biases, with_output=True):
    """Validate a GRU or LSTM parameter dict: every W in ``weights`` is
    (n_a, n_a + n_x), every b in ``biases`` is (n_a, 1), and, with the output
    layer, Wy is (n_y, n_a) and by (n_y, 1). Returns (n_x, n_a, n_y or None, dtype)."""
    names = list(weights) + list(biases) + (["Wy", "by"] if with_output else [])
    check_keys("parameters", parameters, names)
    b0, W0 = biases[0], weights[0]
    check_shape(b0, parameters[b0], (None, 1), ("n_a", "1"))
    n_a = parameters[b0].shape[0]
    check_shape(W0, parameters[W0], (n_a, None), ("n_a", "n_a+n_x"))
    n_x = parameters[W0].shape[1] - n_a
    check_positive_int(f"n_x (columns of {W0} minus n_a)", n_x)
    spec = {W: ((n_a, n_a + n_x), ("n_a", "n_a+n_x")) for W in weights}
    spec.update({b: ((n_a, 1), ("n_a", "1")) for b in biases})
    n_y = None
    if with_output:
        check_shape("Wy", parameters["Wy"], (None, n_a), ("n_y", "n_a"))
        n_y = parameters["Wy"].shape[0]
        spec.update(Wy=((n_y, n_a), ("n_y", "n_a")), by=((n_y, 1), ("n_y", "1")))
    return n_x, n_a, n_y, check_parameters(parameters, spec)
