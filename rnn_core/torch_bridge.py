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


def _cell_of(module) -> str:
    for cell, cls in (("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU), ("rnn", torch.nn.RNN)):
        if isinstance(module, cls):
            if getattr(module, "proj_size", 0):
                raise ValueError("LSTMs with proj_size have no counterpart in rnn_core")
            return cell
    raise ValueError(f"module must be a torch.nn.RNN, GRU or LSTM, got {type(module).__name__}")


# PyTorch's gate order within weight_ih / weight_hh, and our name for each gate
TORCH_GATES = {"gru": ("r", "z", "c"), "lstm": ("i", "f", "c", "o")}


def _blocks(t, n_a):
    return [t[k * n_a:(k + 1) * n_a] for k in range(t.shape[0] // n_a)]


def parameters_to_torch(parameters: dict, module, layer: int = 0, direction: int = 0) -> None:
    """Copy one layer and direction of rnn_core parameters into a torch.nn.RNN,
    GRU or LSTM (any output weights Wya / Wy are not copied).

    Each book bias goes into b_ih and b_hh gets zero, except the GRU's bca,
    which is PyTorch's b_hn (it sits inside the reset gate)."""
    cell, s = _cell_of(module), _suffix(layer, direction)
    p = {k: torch.from_numpy(np.asarray(v)) for k, v in parameters.items()}
    if cell == "rnn":
        W_ih, W_hh, b_ih, b_hh = p["Wax"], p["Waa"], p["ba"][:, 0], torch.zeros_like(p["ba"][:, 0])
    else:
        n_a = p["b" + TORCH_GATES[cell][0]].shape[0]
        W = [p["W" + g] for g in TORCH_GATES[cell]]
        W_ih = torch.cat([w[:, n_a:] for w in W])
        W_hh = torch.cat([w[:, :n_a] for w in W])
        b_ih = torch.cat([p["b" + g][:, 0] for g in TORCH_GATES[cell]])
        b_hh = torch.zeros_like(b_ih)
        if cell == "gru":
            b_hh[2 * n_a:] = p["bca"][:, 0]
    with torch.no_grad():
        for name, value in (("weight_ih", W_ih), ("weight_hh", W_hh),
                            ("bias_ih", b_ih), ("bias_hh", b_hh)):
            getattr(module, name + s).copy_(value)


def _from_torch(module, layer, direction, get):
    cell, s = _cell_of(module), _suffix(layer, direction)
    W_ih, W_hh = get("weight_ih" + s), get("weight_hh" + s)
    b_ih, b_hh = get("bias_ih" + s), get("bias_hh" + s)
    if cell == "rnn":
        return {"Wax": W_ih, "Waa": W_hh, "ba": b_ih[:, None], "ba_hh": b_hh[:, None]}
    n_a = W_hh.shape[1]
    out = {}
    for g, wi, wh, bi, bh in zip(TORCH_GATES[cell], _blocks(W_ih, n_a), _blocks(W_hh, n_a),
                                 _blocks(b_ih, n_a), _blocks(b_hh, n_a)):
        out["W" + g] = np.concatenate([wh, wi], axis=1)
        out["b" + g] = bi[:, None]
        out["b" + g + "_hh"] = bh[:, None]
    return out


def parameters_from_torch(module, layer: int = 0, direction: int = 0) -> dict:
    """One layer and direction of a torch.nn.RNN / GRU / LSTM as rnn_core parameters
    (without output weights): the two biases of a gate are added, except the GRU
    candidate's b_hn, which becomes bca."""
    get = lambda name: getattr(module, name).detach().cpu().numpy().astype(
        np.float64 if getattr(module, name).dtype == torch.float64 else np.float32)
    p = _from_torch(module, layer, direction, get)
    for key in [k for k in p if k.endswith("_hh")]:
        b_hh = p.pop(key)
        if key == "bc_hh" and _cell_of(module) == "gru":
            p["bca"] = b_hh
        else:
            p[key[:-3]] = p[key[:-3]] + b_hh
    return p


def gradients_from_torch(module, layer: int = 0, direction: int = 0) -> dict:
    """The gradients of one layer and direction after ``backward()``, under
    rnn_core's names (dWax, dWaa, dba; dWr, …, dbca; dWf, …). The gradient of a
    summed bias equals the gradient of either of its two parts."""
    get = lambda name: getattr(module, name).grad.detach().cpu().numpy().copy()
    g = _from_torch(module, layer, direction, get)
    out = {"d" + k: v for k, v in g.items() if not k.endswith("_hh")}
    if _cell_of(module) == "gru":
        out["dbca"] = g["bc_hh"]
    return out
