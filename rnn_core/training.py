"""A small training loop the chapters share: loss and gradients from any
function, optional clipping, any optimiser, and a tqdm progress bar.

Introduced in the chapter *Backpropagation through time*.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from tqdm import tqdm   # text bars: live in Jupyter and Colab, plain on the website

from .clipping import clip_by_global_norm, clip_by_value, global_norm
from .optim import Optimizer


def train(loss_and_gradients: Callable, parameters: dict, optimizer: Optimizer,
          batches: Iterable, *, clip_norm: float | None = None, clip_value: float | None = None,
          progress: bool = True, desc: str = "training") -> dict[str, list[float]]:
    """Run one optimiser step per batch.

    ``loss_and_gradients(parameters, batch) -> (loss, gradients, ...)``.
    Returns the history {"loss": [...], "grad_norm": [...]} (norm before clipping).
    Raises ``FloatingPointError`` as soon as the loss stops being finite.
    """
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be an rnn_core.optim.Optimizer, "
                         f"got {type(optimizer).__name__}")
    history = {"loss": [], "grad_norm": []}
    bar = tqdm(batches, desc=desc, disable=not progress, leave=False)
    for step, batch in enumerate(bar):
        loss, gradients = loss_and_gradients(parameters, batch)[:2]
        if not np.isfinite(loss):
            raise FloatingPointError(f"loss became {loss} at step {step}; "
                                     "lower the learning rate or clip the gradients")
        if clip_value is not None:
            gradients = clip_by_value(gradients, clip_value)
        if clip_norm is not None:
            gradients, norm = clip_by_global_norm(gradients, clip_norm)
        else:
            norm = global_norm(gradients)
        optimizer.step(parameters, gradients)
        history["loss"].append(float(loss))
        history["grad_norm"].append(norm)
        if step % 10 == 0:
            bar.set_postfix(loss=f"{loss:.4f}")
    return history
