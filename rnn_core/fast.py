"""Fast sequence layers: the vanilla RNN, GRU and LSTM over a whole sequence,
forward and backward, with the *same parameter dicts* as the cell-by-cell
functions (rnn.py, gru.py, lstm.py) and a test that proves both compute the
same numbers.

What makes them fast, while the equations stay those of the cells:
- the input projection of all T steps is one matrix product, with the bias as
  one more column of the input weights (and a row of ones under x), and the
  weight and bias gradients at the end of backward are one product each
  (only the recurrent product a⟨t−1⟩ → gates is inherently sequential);
- work is time-major in the book's column layout, (T, features, m), so every
  per-step block is contiguous and each step's product is W (G n_a, n_a) @
  a⟨t−1⟩ (n_a, m), the orientation in which OpenBLAS is fastest for these
  small matrices; every step writes in place (``out=``);
- memory is reused: with a :class:`Workspace`, every large array lives in
  memory kept from the previous call. A fresh array of a few MB costs one page
  fault per 4 KiB the first time it is written, and on a virtual machine that
  alone can double the time of a layer;
- threads: the per-step products run on the CPUs that are free when the loop
  starts (one as soon as another process is running) and the whole-sequence
  products on at most the CPUs this process may use (the policy of
  :mod:`rnn_core.threads`; ``rnn_core.set_threads`` overrides it);
- σ(z) = ½ + ½ tanh(z/2): the rows of the sigmoid gates are scaled by ½ once
  per call, so one tanh over all gates of a step computes every gate; and the
  derivative factors that do not depend on the incoming gradient (σ′, 1 − tanh²
  and their products) are computed for all steps at once before the backward
  loop, which then does a few multiplications and one product per step.

Masks: ``mask`` (m, T_x) marks real steps with 1 and padding with 0. At a
padded step the state is carried unchanged, the output is 0, and the step
contributes nothing to any gradient — the semantics of PyTorch's packed
sequences. With padding at the end, the final state is the state after each
sequence's last real step; ``reverse=True`` runs from the end and starts at
each sequence's last real step.

Introduced in the chapter *The LSTM*, section "The same layer, fast" (and used by
every later chapter).
"""
from __future__ import annotations

import math

import numpy as np

from .activations import get_activation
from .gru import check_gru_parameters
from .lstm import check_lstm_parameters
from .rnn import check_rnn_parameters
from .threads import per_step, whole_sequence
from .validation import check_positive_int, check_shape

CELLS = ("rnn", "gru", "lstm")
GATE_ORDER = {"gru": ("Wr", "Wz", "Wc"), "lstm": ("Wo", "Wf", "Wi", "Wc")}


class Workspace:
    """Memory that :func:`layer_forward` and :func:`layer_backward` reuse from
    one call to the next, one per layer (and direction).

    With a workspace, the outputs ``a``, the cache and the returned ``dx`` live
    in its memory: they stay valid until the next ``layer_forward`` with the
    same workspace (``dx``: the next ``layer_backward``). Backward on an older
    cache raises instead of reading overwritten numbers.
    """

    def __init__(self):
        self._memory = {}
        self.generation = 0

    def array(self, name, shape, dtype):
        """An uninitialised array of ``shape`` (memory named ``name``, grown when needed)."""
        dtype = np.dtype(dtype)
        size = math.prod(shape)
        flat = self._memory.get((name, dtype))
        if flat is None or flat.size < size:
            flat = self._memory[(name, dtype)] = np.empty(size, dtype)
        return flat[:size].reshape(shape)


def _allocator(workspace):
    if workspace is None:
        return lambda name, shape, dtype: np.empty(shape, dtype)
    return workspace.array


def _stacked_weights(cell, p, n_a):
    """[Wx | b] (G n_a, n_x + 1), Wh (G n_a, n_a) and the GRU's hidden-side
    candidate bias bca. Gates are stacked as rnn: [a]; gru: [r, z, c̃];
    lstm: [o, f, i, c̃]. Rows of sigmoid gates are scaled by ½ (see above)."""
    if cell == "rnn":
        return np.concatenate([p["Wax"], p["ba"]], axis=1), p["Waa"], None
    names = GATE_ORDER[cell]
    W = np.concatenate([p[k] for k in names], axis=0)          # (G n_a, n_a + n_x)
    b = np.concatenate([p["b" + k[1:]] for k in names], axis=0)
    n_sigmoid = (len(names) - 1) * n_a                          # all gates but c̃
    W[:n_sigmoid] *= 0.5
    b[:n_sigmoid] *= 0.5
    bca = p["bca"] if cell == "gru" else None
    return np.concatenate([W[:, n_a:], b], axis=1), np.ascontiguousarray(W[:, :n_a]), bca


def _check(cell, x, parameters, a0, c0, mask, activation):
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(map(repr, CELLS))}, got {cell!r}")
    if cell == "rnn":
        n_x, n_a, _, dtype = check_rnn_parameters(parameters, with_output=False)
        get_activation(activation)
    elif cell == "gru":
        n_x, n_a, _, dtype = check_gru_parameters(parameters, with_output=False)
    else:
        n_x, n_a, _, dtype = check_lstm_parameters(parameters, with_output=False)
    check_shape("x", x, (n_x, None, None), ("n_x", "m", "T_x"), dtype)
    _, m, T = x.shape
    check_positive_int("m", m)
    check_positive_int("T_x", T)
    if a0 is not None:
        check_shape("a0", a0, (n_a, m), ("n_a", "m"), dtype)
    if c0 is not None:
        if cell != "lstm":
            raise ValueError(f"c0 is only for the LSTM, got it for cell={cell!r}")
        check_shape("c0", c0, (n_a, m), ("n_a", "m"), dtype)
    if mask is not None:
        if not isinstance(mask, np.ndarray) or mask.shape != (m, T):
            got = mask.shape if isinstance(mask, np.ndarray) else type(mask).__name__
            raise ValueError(f"mask must have shape (m={m}, T_x={T}), got {got}")
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("mask must hold only 0 (padding) and 1 (real step)")
    return n_x, n_a, m, T, dtype


def layer_forward(cell, x, parameters, a0=None, c0=None, mask=None, reverse=False,
                  activation="tanh", workspace=None):
    """Run an RNN ('rnn'), GRU or LSTM layer over a sequence.

    x (n_x, m, T_x) -> a (n_a, m, T_x), final (a_last, c_last or None), cache.
    ``parameters`` are those of rnn_forward / gru_forward / lstm_forward (any
    output weights Wya/Wy are ignored). a0, c0 default to zeros. ``workspace``:
    a :class:`Workspace` whose memory the call reuses.
    """
    n_x, n_a, m, T, dtype = _check(cell, x, parameters, a0, c0, mask, activation)
    if workspace is not None:
        workspace.generation += 1
    new = _allocator(workspace)
    Wx1, Wh, bca = _stacked_weights(cell, parameters, n_a)
    G = Wh.shape[0]
    X1 = new("X1", (T, n_x + 1, m), dtype)                     # x⟨t⟩ over a row of ones
    X1[:, :n_x] = x.transpose(2, 0, 1)
    X1[:, n_x] = 1
    P = new("P", (T, G, m), dtype)                             # Wx x⟨t⟩ + b, all steps;
    with whole_sequence(G * (n_x + 1) * m):                    # gated cells: becomes the gates
        np.matmul(Wx1, X1, out=P)                              # (T products of this size)
    H = new("H", (T + 1, n_a, m), dtype)                       # H[k]: state after k steps
    H[0] = 0 if a0 is None else a0
    C = TC = hidden = None
    if cell == "lstm":
        C = new("C", (T + 1, n_a, m), dtype)
        C[0] = 0 if c0 is None else c0
        TC = new("TC", (T, n_a, m), dtype)                     # tanh(c⟨t⟩)
    if cell == "gru":
        hidden = new("hidden", (T, n_a, m), dtype)             # Wca a⟨t−1⟩ + bca
    pad = None if mask is None else (mask.T == 0)[:, None, :]  # (T, 1, m)
    g = get_activation(activation) if cell == "rnn" else None
    hw = new("hw", (G, m), dtype)
    tmp = new("tmp", (n_a, m), dtype)
    steps = list(range(T - 1, -1, -1)) if reverse else list(range(T))
    with per_step():                                           # threads: the free CPUs
        for k, s in enumerate(steps):                          # step s is the (k+1)-th processed
            h_prev, h_new = H[k], H[k + 1]
            np.matmul(Wh, h_prev, out=hw)
            gs = P[s]
            if cell == "rnn":
                np.add(gs, hw, out=h_new)
                if activation == "tanh":
                    np.tanh(h_new, out=h_new)
                else:
                    h_new[:] = g.forward(h_new)
            elif cell == "lstm":
                gs += hw
                np.tanh(gs, out=gs)                            # c̃, and tanh(z/2) for o, f, i
                sig = gs[:3 * n_a]
                sig *= 0.5
                sig += 0.5
                o, f, i, cc = gs[:n_a], gs[n_a:2 * n_a], gs[2 * n_a:3 * n_a], gs[3 * n_a:]
                c_new = np.multiply(f, C[k], out=C[k + 1])
                np.multiply(i, cc, out=tmp)
                c_new += tmp
                np.tanh(c_new, out=TC[s])
                np.multiply(o, TC[s], out=h_new)
            else:
                rz = gs[:2 * n_a]
                rz += hw[:2 * n_a]
                np.tanh(rz, out=rz)
                rz *= 0.5
                rz += 0.5
                r, z, cc = gs[:n_a], gs[n_a:2 * n_a], gs[2 * n_a:]
                np.add(hw[2 * n_a:], bca, out=hidden[s])
                np.multiply(r, hidden[s], out=tmp)
                cc += tmp
                np.tanh(cc, out=cc)
                np.subtract(h_prev, cc, out=h_new)             # a = c̃ + Γz ⊙ (a⟨t−1⟩ − c̃)
                h_new *= z
                h_new += cc
            if pad is not None:                                # padded columns keep their state
                np.copyto(h_new, h_prev, where=pad[s])
                if cell == "lstm":
                    np.copyto(C[k + 1], C[k], where=pad[s])
    # state before / after each step s, in time order
    before = np.arange(T - 1, -1, -1) if reverse else np.arange(T)
    after = before + 1
    A = _in_time_order(H, after, reverse, new, "A")            # (T, n_a, m)
    if pad is not None:
        A = np.multiply(A, ~pad, out=new("A_masked", A.shape, dtype))
    a_last = H[T].copy()
    c_last = C[T].copy() if cell == "lstm" else None
    cache = dict(cell=cell, activation=activation, X1=X1, H=H, C=C, TC=TC,
                 gates=None if cell == "rnn" else P, hidden=hidden,
                 M=None if pad is None else (~pad).astype(dtype), before=before, after=after,
                 steps=steps, reverse=reverse, Wx1=Wx1, Wh=Wh, n_a=n_a, x_shape=x.shape,
                 workspace=workspace, generation=None if workspace is None else workspace.generation)
    return A.transpose(1, 2, 0), (a_last, c_last), cache


def _in_time_order(S, index, reverse, new, name):
    """S[index]: the states before or after each step, in time order (a view when
    the layer ran forwards, a copy into reused memory when it ran backwards)."""
    if not reverse:
        return S[index[0]:index[0] + len(index)]
    return np.take(S, index, axis=0, out=new(name, (len(index),) + S.shape[1:], S.dtype))


def _derivative_factors(cache, new):
    """Everything backward multiplies by that does not depend on the incoming
    gradient, for all steps at once (T, ·, m), in time order."""
    cell, n_a, reverse = cache["cell"], cache["n_a"], cache["reverse"]
    H, before, after = cache["H"], cache["before"], cache["after"]
    if cell == "rnn":
        A = _in_time_order(H, after, reverse, new, "A")
        return {"D": get_activation(cache["activation"]).derivative_from_output(A)}
    gates = cache["gates"]
    T, G, m = gates.shape
    n = n_a
    dtype = gates.dtype
    if cell == "lstm":
        o, f, i, cc = (gates[:, j * n:(j + 1) * n] for j in range(4))
        tc = cache["TC"]
        c_prev = _in_time_order(cache["C"], before, reverse, new, "C_prev")
        # derivative with respect to the halved pre-activation u = z/2 that the
        # scaled rows compute: dσ/du = 2σ(1 − σ)
        dsig = np.subtract(1, gates[:, :3 * n], out=new("dsig", (T, 3 * n, m), dtype))
        dsig *= gates[:, :3 * n]
        dsig *= 2
        K = new("K", (T, 3 * n, m), dtype)                     # dc-multiplied: f, i, c̃
        np.multiply(c_prev, dsig[:, n:2 * n], out=K[:, :n])
        np.multiply(cc, dsig[:, 2 * n:], out=K[:, n:2 * n])
        np.multiply(cc, cc, out=K[:, 2 * n:])
        np.subtract(1, K[:, 2 * n:], out=K[:, 2 * n:])
        K[:, 2 * n:] *= i
        OD = np.multiply(tc, tc, out=new("OD", (T, n, m), dtype))
        np.subtract(1, OD, out=OD)
        OD *= o
        KO = dsig[:, :n]
        KO *= tc
        return {"OD": OD, "KO": KO, "K": K, "F": f}
    r, z, cc = gates[:, :n], gates[:, n:2 * n], gates[:, 2 * n:]
    Q1 = np.multiply(cc, cc, out=new("Q1", (T, n, m), dtype))
    np.subtract(1, Q1, out=Q1)
    one_minus_z = np.subtract(1, z, out=new("one_minus_z", (T, n, m), dtype))
    Q1 *= one_minus_z
    Q2 = np.subtract(1, r, out=new("Q2", (T, n, m), dtype))
    Q2 *= r
    Q2 *= 2
    Q2 *= cache["hidden"]
    Q3 = np.subtract(_in_time_order(H, before, reverse, new, "H_prev"), cc,
                     out=new("Q3", (T, n, m), dtype))
    Q3 *= z
    Q3 *= one_minus_z
    Q3 *= 2
    return {"Q1": Q1, "Q2": Q2, "Q3": Q3, "R": r, "Z": z}


def _flat(a, new, name):
    """(T, rows, m) -> (rows, T·m), the layout of one big matrix product over all steps."""
    T, rows, m = a.shape
    out = new(name, (rows, T, m), a.dtype)
    np.copyto(out, a.transpose(1, 0, 2))
    return out.reshape(rows, T * m)


def layer_backward(da, cache, da_last=None, dc_last=None):
    """Backward of :func:`layer_forward`. da (n_a, m, T_x) is the upstream
    gradient on the outputs; da_last, dc_last (n_a, m) optional gradients on
    the final states. Returns dx, da0 (and dc0 for the LSTM) and the gradient
    of every parameter under the names of the cell functions (dWax, dWaa, dba;
    dWr, dbr, …; dWf, dbf, …)."""
    workspace = cache["workspace"]
    if workspace is not None and workspace.generation != cache["generation"]:
        raise ValueError("this cache's memory was reused by a later layer_forward with the same "
                         "workspace: call layer_backward before the next forward, or give each "
                         "layer its own Workspace")
    new = _allocator(workspace)
    cell, n_a, reverse = cache["cell"], cache["n_a"], cache["reverse"]
    H, M, X1, Wx1, Wh = cache["H"], cache["M"], cache["X1"], cache["Wx1"], cache["Wh"]
    n_x, m, T = cache["x_shape"]
    dtype = H.dtype
    n = n_a
    check_shape("da", da, (n_a, m, T), ("n_a", "m", "T_x"), dtype)
    dA = new("dA", (T, n_a, m), dtype)
    np.copyto(dA, da.transpose(2, 0, 1))
    G = Wh.shape[0]
    dG = new("dG", (T, G, m), dtype)                           # ∂J/∂ pre-activations
    WhT = np.ascontiguousarray(Wh.T)
    dh = np.zeros((n_a, m), dtype) if da_last is None else \
        check_shape("da_last", da_last, (n_a, m), ("n_a", "m"), dtype).copy()
    dc = None
    if cell == "lstm":
        dc = np.zeros((n_a, m), dtype) if dc_last is None else \
            check_shape("dc_last", dc_last, (n_a, m), ("n_a", "m"), dtype).copy()
    d = _derivative_factors(cache, new)
    dh_new, t1 = new("dh_new", (n_a, m), dtype), new("t1", (n_a, m), dtype)
    dc_new = new("dc_new", (n_a, m), dtype) if cell == "lstm" else None
    dpre_c = new("dpre_c", (T, n_a, m), dtype) if cell == "gru" else None
    with per_step():
        for s in reversed(cache["steps"]):
            np.add(dh, dA[s], out=dh_new)
            if M is not None:                                  # padded columns: pass through
                dh_new *= M[s]
                dh_carry = (1 - M[s]) * dh
            dgs = dG[s]
            if cell == "rnn":
                np.multiply(dh_new, d["D"][s], out=dgs)
                np.matmul(WhT, dgs, out=dh)
            elif cell == "lstm":
                np.multiply(dh_new, d["OD"][s], out=dc_new)
                if M is None:
                    dc_new += dc
                else:
                    dc_new += M[s] * dc
                    dc_carry = (1 - M[s]) * dc
                np.multiply(dh_new, d["KO"][s], out=dgs[:n])
                np.multiply(dc_new, d["K"][s].reshape(3, n, m),
                            out=dgs[n:].reshape(3, n, m))
                np.matmul(WhT, dgs, out=dh)
                np.multiply(dc_new, d["F"][s], out=dc)
                if M is not None:
                    dc += dc_carry
            else:
                np.multiply(dh_new, d["Q1"][s], out=dpre_c[s])
                np.multiply(dpre_c[s], d["Q2"][s], out=dgs[:n])
                np.multiply(dh_new, d["Q3"][s], out=dgs[n:2 * n])
                np.multiply(dpre_c[s], d["R"][s], out=dgs[2 * n:])  # hidden side: Γr ⊙ ∂J/∂c̃-pre
                np.matmul(WhT, dgs, out=dh)
                np.multiply(dh_new, d["Z"][s], out=t1)
                dh += t1
            if M is not None:
                dh += dh_carry

    dGh = _flat(dG, new, "dG_flat")                            # (G, T·m), as seen by Wh
    Hprev = _flat(_in_time_order(H, cache["before"], reverse, new, "H_prev"), new, "H_flat")
    if cell == "gru":       # the input side of c̃ sees ∂J/∂c̃-pre itself, not Γr ⊙ it
        dGx = new("dGx_flat", dGh.shape, dtype)
        dGx[:2 * n] = dGh[:2 * n]
        np.copyto(dGx[2 * n:].reshape(n, T, m), dpre_c.transpose(1, 0, 2))
    else:
        dGx = dGh
    X1f = _flat(X1, new, "X1_flat")
    with whole_sequence(G * max(n_a, n_x + 1) * T * m):
        dWh = np.matmul(dGh, Hprev.T)                          # (G, n_a)
        dWx1 = np.matmul(dGx, X1f.T)                           # [dWx | db] (G, n_x + 1)
        dX = np.matmul(np.ascontiguousarray(Wx1[:, :n_x].T), dGx,
                       out=new("dX", (n_x, T * m), dtype))
    dWx, db = dWx1[:, :n_x], dWx1[:, n_x:]
    grads = {"dx": dX.reshape(n_x, T, m).transpose(0, 2, 1), "da0": dh}
    if cell == "lstm":
        grads["dc0"] = dc
    if cell == "rnn":
        grads.update(dWax=np.ascontiguousarray(dWx), dWaa=dWh, dba=np.ascontiguousarray(db))
        return grads
    names = GATE_ORDER[cell]
    for j, name in enumerate(names):
        rows = slice(j * n, (j + 1) * n)
        scale = 0.5 if j < len(names) - 1 else 1.0              # ∂z/∂W = ½ ∂u/∂W for scaled rows
        grads["d" + name] = np.concatenate([dWh[rows], dWx[rows]], axis=1) * scale
        grads["db" + name[1:]] = db[rows] * scale
    if cell == "gru":
        grads["dbca"] = dGh[2 * n:].sum(axis=1, keepdims=True)
    return grads
