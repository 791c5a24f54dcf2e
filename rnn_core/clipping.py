"""Gradient clipping by value and by global norm (Pascanu, Mikolov & Bengio 2013).

Introduced in the chapter *Vanishing and exploding gradients*.
"""
from __future__ import annotations

import numpy as np

from .validation import check_positive_float


def clip_by_value(gradients: dict, max_value: float) -> dict:
    """Clip every entry of every gradient to [−max_value, max_value] (a new dict)."""
    check_positive_float("max_value", max_value)
    return {key: np.clip(g, -max_value, max_value) for key, g in gradients.items()}


def global_norm(gradients: dict) -> float:
    """√(Σ over all gradients of Σ entries²)."""
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in gradients.values())))


def clip_by_global_norm(gradients: dict, max_norm: float) -> tuple[dict, float]:
    """Rescale all gradients together so their global norm is at most max_norm.

    Returns (clipped gradients, the norm before clipping). The direction of
    the full gradient is kept, unlike clipping by value.
    """
    check_positive_float("max_norm", max_norm)
    norm = global_norm(gradients)
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {key: g * scale for key, g in gradients.items()}, norm
