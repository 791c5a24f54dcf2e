"""Gradient checking by central differences, for any scalar function of a dict
of arrays. The tests and the chapters use the same checker.

Introduced in the chapter *Backpropagation through time*.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .validation import check_float_array, check_positive_float


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """‖g − g̃‖ / max(‖g‖ + ‖g̃‖, tiny): 0 when both agree, 1 when unrelated.

    Two all-zero gradients agree exactly and give 0.
    """
    diff = np.linalg.norm(analytic - numeric)
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(diff / max(scale, np.finfo(np.float64).tiny))


# Central-difference stencils: offsets (in units of ε) and weights, divided by ε.
STENCILS = {
    2: ((1, -1), (1 / 2, -1 / 2)),                          # error O(ε²)
    4: ((2, 1, -1, -2), (-1 / 12, 8 / 12, -8 / 12, 1 / 12)),  # error O(ε⁴)
}


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-3,
                       indices=None, order: int = 4) -> np.ndarray:
    """Central differences for every entry of ``array``.

    order=2: (f(θ+ε) − f(θ−ε)) / 2ε; order=4: the five-point stencil
    (−f(θ+2ε) + 8f(θ+ε) − 8f(θ−ε) + f(θ−2ε)) / 12ε. ``array`` is perturbed in
    place and restored; f takes no arguments and reads it. ``indices`` (flat
    positions) limits the check to some entries; the others are left zero.
    """
    if order not in STENCILS:
        raise ValueError(f"order must be 2 or 4, got {order!r}")
    offsets, weights = STENCILS[order]
    grad = np.zeros_like(array, dtype=np.float64)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size) if indices is None else indices:
        old = flat[i]
        total = 0.0
        for k, w in zip(offsets, weights):
            flat[i] = old + k * eps
            total += w * f()
        flat[i] = old
        gflat[i] = total / eps
    return grad


def gradient_check(f: Callable[[Mapping], tuple], parameters: Mapping, eps: float = 1e-3,
                   max_entries: int | None = None, seed: int = 0,
                   order: int = 4) -> dict[str, float]:
    """Compare analytic and numerical gradients of a scalar loss.

    ``f(parameters) -> (loss, gradients)`` where gradients["d" + name] is
    ∂loss/∂parameters[name]. Every parameter that has a gradient is checked;
    ``max_entries`` samples that many entries per array (all by default).
    Returns {name: relative error}. Use float64. The default five-point
    stencil with ε = 1e-3 has truncation error O(ε⁴) ≈ 1e-12 and rounding
    error O(1e-16/ε) ≈ 1e-13 (absolute), so even a gradient that has vanished
    to 1e-5 is checked to better than 1e-7. For a function with kinks (ReLU)
    pass a small ε (1e-6) so a step rarely crosses one.
    """
    check_positive_float("eps", eps)
    _, gradients = f(parameters)[:2]
    rng = np.random.default_rng(seed)
    errors = {}
    for name, array in parameters.items():
        if "d" + name not in gradients:
            continue
        check_float_array(name, array)
        indices = None
        if max_entries is not None and array.size > max_entries:
            indices = rng.choice(array.size, size=max_entries, replace=False)
        numeric = numerical_gradient(lambda: float(f(parameters)[0]), array, eps, indices, order)
        analytic = np.asarray(gradients["d" + name], dtype=np.float64)
        if indices is not None:
            mask = np.zeros(array.size, dtype=bool)
            mask[indices] = True
            analytic = np.where(mask.reshape(array.shape), analytic, 0.0)
        errors[name] = relative_error(analytic, numeric)
    return errors
