"""Copy parameters and gradients between ``rnn_core`` dicts and PyTorch's
recurrent modules, and convert sequence layouts.

rnn_core stores a sequence as (n_x, m, T_x) with column-vector batches;
PyTorch (batch_first=False) as (T_x, m, n_x). PyTorch keeps two bias vectors
(b_ih and b_hh) where the book has one (ba = b_ih + b_hh); copying into torch
puts the whole bias in b_ih and zero in b_hh, and the gradient of ba equals
the gradient of either.

Importing this module needs torch; ``import rnn_core`` does not.
Introduced in the chapter *The RNN cell and the forward pass*.
"""
from __future__ import annotations

import numpy as np
import torch


def to_torch_sequence(x: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    """(n_x, m, T_x) numpy -> (T_x, m, n_x) torch tensor (a copy)."""
    t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 1, 0)))
    return t.requires_grad_(requires_grad)


def from_torch_sequence(t: torch.Tensor) -> np.ndarray:
    """(T_x, m, n) torch tensor -> (n, m, T_x) numpy array."""
    return t.detach().cpu().numpy().transpose(2, 1, 0).copy()


def to_torch_state(a: np.ndarray) -> torch.Tensor:
    """Hidden state (n_a, m) -> PyTorch's (1, m, n_a) for one layer and direction."""
    return torch.from_numpy(np.ascontiguousarray(a.T))[None]


def from_torch_state(h: torch.Tensor) -> np.ndarray:
    """PyTorch state (m, n_a) (one layer, one direction) -> (n_a, m)."""
    return h.detach().cpu().numpy().T.copy()


def _suffix(layer: int, direction: int) -> str:
    return f"_l{layer}" + ("_reverse" if direction else "")


def rnn_parameters_to_torch(parameters: dict, module: torch.nn.RNN, layer: int = 0,
                            direction: int = 0) -> None:
    """Copy Wax, Waa, ba into ``module``'s weights of one layer and direction."""
    s = _suffix(layer, direction)
    with torch.no_grad():
        getattr(module, "weight_ih" + s).copy_(torch.from_numpy(parameters["Wax"]))
        getattr(module, "weight_hh" + s).copy_(torch.from_numpy(parameters["Waa"]))
        getattr(module, "bias_ih" + s).copy_(torch.from_numpy(parameters["ba"][:, 0]))
        getattr(module, "bias_hh" + s).zero_()


def rnn_parameters_from_torch(module: torch.nn.RNN, layer: int = 0, direction: int = 0) -> dict:
    """Wax, Waa, ba (= b_ih + b_hh) of one layer and direction of a ``torch.nn.RNN``."""
    s = _suffix(layer, direction)
    get = lambda name: getattr(module, name + s).detach().cpu().numpy().copy()
    return {"Wax": get("weight_ih"), "Waa": get("weight_hh"),
            "ba": (get("bias_ih") + get("bias_hh"))[:, None]}


def rnn_gradients_from_torch(module: torch.nn.RNN, layer: int = 0, direction: int = 0) -> dict:
    """dWax, dWaa, dba from ``module``'s .grad after ``backward()``."""
    s = _suffix(layer, direction)
    grad = lambda name: getattr(module, name + s).grad.detach().cpu().numpy().copy()
    return {"dWax": grad("weight_ih"), "dWaa": grad("weight_hh"), "dba": grad("bias_ih")[:, None]}
