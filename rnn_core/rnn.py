"""The vanilla RNN: one cell, the forward pass over a sequence, and
backpropagation through time (BPTT), in the book's notation.

    a⟨t⟩ = g(Waa a⟨t−1⟩ + Wax x⟨t⟩ + ba)        (g = tanh unless stated)
    ŷ⟨t⟩ = softmax(Wya a⟨t⟩ + by)

Shapes: x⟨t⟩ (n_x, m), a⟨t⟩ (n_a, m), ŷ⟨t⟩ (n_y, m); a sequence x is
(n_x, m, T_x). ``parameters`` holds Wax (n_a, n_x), Waa (n_a, n_a),
Wya (n_y, n_a), ba (n_a, 1), by (n_y, 1).

Forward functions are introduced in the chapter *The RNN cell and the forward
pass*; backward functions in *Backpropagation through time*.
"""
from __future__ import annotations

import numpy as np

from .activations import get_activation, softmax
from .validation import check_keys, check_parameters, check_positive_int, check_shape


RNN_PARAMETER_NAMES = ("Wax", "Waa", "Wya", "ba", "by")


def rnn_parameter_spec(n_x: int, n_a: int, n_y: int | None) -> dict:
    """Expected shape and axis names of each vanilla-RNN parameter (no Wya, by if n_y is None)."""
    spec = {
        "Wax": ((n_a, n_x), ("n_a", "n_x")),
        "Waa": ((n_a, n_a), ("n_a", "n_a")),
        "ba": ((n_a, 1), ("n_a", "1")),
    }
    if n_y is not None:
        spec.update(Wya=((n_y, n_a), ("n_y", "n_a")), by=((n_y, 1), ("n_y", "1")))
    return spec


def check_rnn_parameters(parameters, with_output=True) -> tuple[int, int, int | None, np.dtype]:
    """Validate a vanilla-RNN parameter dict; return (n_x, n_a, n_y, dtype).

    The sizes are read from Wax (n_a, n_x) and Wya (n_y, n_a); every other
    parameter must agree with them. Without the output layer, n_y is None.
    """
    check_keys("parameters", parameters,
               RNN_PARAMETER_NAMES if with_output else ("Wax", "Waa", "ba"))
    check_shape("Wax", parameters["Wax"], (None, None), ("n_a", "n_x"))
    n_a, n_x = parameters["Wax"].shape
    n_y = None
    if with_output:
        check_shape("Wya", parameters["Wya"], (None, None), ("n_y", "n_a"))
        n_y = parameters["Wya"].shape[0]
    dtype = check_parameters(parameters, rnn_parameter_spec(n_x, n_a, n_y))
    return n_x, n_a, n_y, dtype


def rnn_cell_forward(xt, a_prev, parameters, activation="tanh"):
    """One step of the vanilla RNN.

    xt (n_x, m), a_prev (n_a, m) -> a_next (n_a, m), yt_pred (n_y, m), cache.
    ``cache = (a_next, a_prev, xt, parameters, activation)`` is what
    :func:`rnn_cell_backward` needs.
    """
    n_x, n_a, _, dtype = check_rnn_parameters(parameters)
    g = get_activation(activation)
    check_shape("xt", xt, (n_x, None), ("n_x", "m"), dtype)
    check_shape("a_prev", a_prev, (n_a, xt.shape[1]), ("n_a", "m"), dtype)
    Wax, Waa, Wya = parameters["Wax"], parameters["Waa"], parameters["Wya"]
    ba, by = parameters["ba"], parameters["by"]

    a_next = g.forward(Waa @ a_prev + Wax @ xt + ba)
    yt_pred = softmax(Wya @ a_next + by)
    cache = (a_next, a_prev, xt, parameters, activation)
    return a_next, yt_pred, cache


def rnn_cell_backward(da_next, cache):
    """Backward pass of one RNN step.

    da_next (n_a, m) is ∂J/∂a⟨t⟩. Returns a dict with dxt (n_x, m),
    da_prev (n_a, m), dWax (n_a, n_x), dWaa (n_a, n_a), dba (n_a, 1).
    """
    a_next, a_prev, xt, parameters, activation = cache
    check_shape("da_next", da_next, a_next.shape, ("n_a", "m"), a_next.dtype)
    g = get_activation(activation)
    Wax, Waa = parameters["Wax"], parameters["Waa"]

    dz = da_next * g.derivative_from_output(a_next)      # ∂J/∂z⟨t⟩, z = pre-activation
    return {
        "dxt": Wax.T @ dz,
        "da_prev": Waa.T @ dz,
        "dWax": dz @ xt.T,
        "dWaa": dz @ a_prev.T,
        "dba": dz.sum(axis=1, keepdims=True),
    }


def rnn_forward(x, a0, parameters, activation="tanh"):
    """Run the RNN over a whole sequence.

    x (n_x, m, T_x), a0 (n_a, m) -> a (n_a, m, T_x), y_pred (n_y, m, T_x),
    caches = (list of per-step caches, x).
    """
    n_x, n_a, n_y, dtype = check_rnn_parameters(parameters)
    check_shape("x", x, (n_x, None, None), ("n_x", "m", "T_x"), dtype)
    _, m, T_x = x.shape
    check_positive_int("T_x", T_x)
    check_positive_int("m", m)
    check_shape("a0", a0, (n_a, m), ("n_a", "m"), dtype)

    a = np.zeros((n_a, m, T_x), dtype=dtype)
    y_pred = np.zeros((n_y, m, T_x), dtype=dtype)
    caches = []
    a_next = a0
    for t in range(T_x):
        a_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], a_next, parameters, activation)
        a[:, :, t] = a_next
        y_pred[:, :, t] = yt_pred
        caches.append(cache)
    return a, y_pred, (caches, x)


def rnn_backward(da, caches, truncate=None):
    """Backpropagation through time.

    da (n_a, m, T_x) is the upstream gradient ∂J/∂a⟨t⟩ on every hidden state
    (from the outputs only; the recursion adds the future's share). Returns a
    dict with dx (n_x, m, T_x), da0 (n_a, m), dWax, dWaa, dba.

    ``truncate=k`` gives truncated BPTT(k): the gradient injected at step t
    flows back through at most k cells (t, t−1, …, t−k+1), as if a⟨t−k⟩ were
    a constant. ``None`` (or k ≥ T_x) is full BPTT.
    """
    cache_list, x = caches
    a1, _, _, parameters, _ = cache_list[0]
    check_shape("da", da, (a1.shape[0], a1.shape[1], len(cache_list)), ("n_a", "m", "T_x"),
                a1.dtype)
    n_a, m, T_x = da.shape
    grads = {"dx": np.zeros_like(x), "da0": np.zeros((n_a, m), dtype=da.dtype)}
    for key in ("Wax", "Waa", "ba"):
        grads["d" + key] = np.zeros_like(parameters[key])

    def accumulate(step_grads, t):
        grads["dx"][:, :, t] += step_grads["dxt"]
        for key in ("dWax", "dWaa", "dba"):
            grads[key] += step_grads[key]

    if truncate is None or check_positive_int("truncate", truncate) >= T_x:
        da_prevt = np.zeros((n_a, m), dtype=da.dtype)
        for t in reversed(range(T_x)):
            # ∂J/∂a⟨t⟩ = output's share (da[..., t]) + future's share (da_prevt)
            step = rnn_cell_backward(da[:, :, t] + da_prevt, cache_list[t])
            accumulate(step, t)
            da_prevt = step["da_prev"]
        grads["da0"] = da_prevt
        return grads

    for t in range(T_x):
        g = da[:, :, t]
        for s in range(t, max(t - truncate, -1), -1):
            step = rnn_cell_backward(g, cache_list[s])
            accumulate(step, s)
            g = step["da_prev"]
        if t < truncate:        # the path reached a0
            grads["da0"] += g
    return grads
