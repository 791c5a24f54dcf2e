"""Layers that compose into models: inputs (one-hot, embedding), stacked and
bidirectional recurrent layers (RNN, GRU, LSTM) on the fast path, a dense
layer, and heads for many-to-one (last state or mean over time) and
many-to-many (every step) prediction.

A :class:`SequenceModel` keeps all parameters in one flat dict
(``"embedding.E"``, ``"rnn.l0.Wf"``, ``"rnn.l0_reverse.Wf"``, ``"dense.W"``, …) and
its ``loss_and_gradients`` returns the loss and every gradient (``"d" + name``),
so any optimiser of ``rnn_core.optim`` and ``gradient_check`` apply unchanged.

Introduced in the chapter *The GRU*; the IMDB chapter loads a trained PyTorch
model into one.
"""
from __future__ import annotations

import numpy as np

from .losses import softmax_cross_entropy
from .fast import CELLS, Workspace, layer_backward, layer_forward
from .init import orthogonal, xavier_uniform
from .threads import whole_sequence
from .validation import check_positive_int, check_shape

HEADS = ("last", "mean", "all")
LOSSES = ("softmax", "mse")


def _check_ids(name, ids, vocab):
    if not isinstance(ids, np.ndarray) or not np.issubdtype(ids.dtype, np.integer) or ids.ndim != 2:
        got = f"{ids.dtype} array of shape {ids.shape}" if isinstance(ids, np.ndarray) \
            else type(ids).__name__
        raise ValueError(f"{name} must be an integer array of token ids (m, T_x), got {got}")
    if ids.size and (ids.min() < 0 or ids.max() >= vocab):
        raise ValueError(f"{name} must hold ids in [0, {vocab}), got [{ids.min()}, {ids.max()}]")
    return ids


class OneHot:
    """Token ids (m, T_x) -> one-hot vectors (n, m, T_x). No parameters."""

    def __init__(self, n, dtype=np.float64):
        self.n, self.dtype, self.parameters = check_positive_int("n", n), dtype, {}

    def forward(self, ids):
        _check_ids("ids", ids, self.n)
        return np.eye(self.n, dtype=self.dtype)[ids].transpose(2, 0, 1)

    def backward(self, dout):
        return {}


class Embedding:
    """Token ids (m, T_x) -> columns of E (n_e, vocab): (n_e, m, T_x)."""

    def __init__(self, vocab, n_e, rng, dtype=np.float64):
        check_positive_int("vocab", vocab)
        check_positive_int("n_e", n_e)
        self.parameters = {"E": (0.1 * rng.standard_normal((n_e, vocab))).astype(dtype)}

    def forward(self, ids):
        self.ids = _check_ids("ids", ids, self.parameters["E"].shape[1])
        return self.parameters["E"][:, ids]

    def backward(self, dout):
        dE = np.zeros_like(self.parameters["E"])
        n_e = dE.shape[0]
        np.add.at(dE.T, self.ids.reshape(-1), dout.reshape(n_e, -1).T)
        return {"dE": dE}


class Recurrent:
    """A stack of ``num_layers`` RNN / GRU / LSTM layers, each optionally
    bidirectional (the two directions' outputs are concatenated, forward first).

    Parameters are named ``l{k}.{name}`` and ``l{k}_reverse.{name}`` with the
    cell functions' names (Wax…, Wr…, Wf…). ``forget_bias`` initialises the
    LSTM's bf (1.0 is the usual choice, Gers et al. 2000). Each layer and
    direction keeps a :class:`~rnn_core.fast.Workspace`, so training reuses its
    memory from step to step; the outputs returned are the caller's own.
    """

    def __init__(self, cell, n_x, n_a, rng, num_layers=1, bidirectional=False,
                 activation="tanh", forget_bias=1.0, dtype=np.float64):
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {', '.join(map(repr, CELLS))}, got {cell!r}")
        self.cell, self.activation = cell, activation
        self.n_a = check_positive_int("n_a", n_a)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.directions = 2 if bidirectional else 1
        self.parameters = {}
        self.workspaces = [Workspace() for _ in range(num_layers * self.directions)]
        n_in = check_positive_int("n_x", n_x)
        for k in range(num_layers):
            for d in range(self.directions):
                for name, value in self._init_layer(cell, n_in, n_a, rng, forget_bias, dtype).items():
                    self.parameters[f"{self._prefix(k, d)}.{name}"] = value
            n_in = n_a * self.directions

    @staticmethod
    def _prefix(layer, direction):
        return f"l{layer}" + ("_reverse" if direction else "")

    @staticmethod
    def _init_layer(cell, n_x, n_a, rng, forget_bias, dtype):
        def W():      # Xavier on the input columns, orthogonal on the recurrent ones
            return np.concatenate([orthogonal((n_a, n_a), rng), xavier_uniform((n_a, n_x), rng)],
                                  axis=1)
        zeros = lambda: np.zeros((n_a, 1))
        if cell == "rnn":
            p = {"Wax": xavier_uniform((n_a, n_x), rng), "Waa": orthogonal((n_a, n_a), rng),
                 "ba": zeros()}
        elif cell == "gru":
            p = {"Wr": W(), "br": zeros(), "Wz": W(), "bz": zeros(), "Wc": W(), "bc": zeros(),
                 "bca": zeros()}
        else:
            p = {"Wf": W(), "bf": zeros() + forget_bias, "Wi": W(), "bi": zeros(),
                 "Wc": W(), "bc": zeros(), "Wo": W(), "bo": zeros()}
        return {k: v.astype(dtype) for k, v in p.items()}

    def _layer_parameters(self, k, d):
        prefix = self._prefix(k, d) + "."
        return {key[len(prefix):]: v for key, v in self.parameters.items() if key.startswith(prefix)}

    def forward(self, x, mask=None, initial=None):
        """x (n_x, m, T_x) -> outputs (directions·n_a, m, T_x), final (directions·n_a, m):
        the last layer's final state of each direction (the reverse direction's
        final state is its state after reading the first step).

        ``initial``: None (zeros) or the ``final_states`` of an earlier call, a
        list of (a, c) per layer and direction, to carry the state across chunks
        of a long sequence (truncated BPTT: no gradient flows into it)."""
        self.caches, self.final_states = [], []
        if initial is not None and len(initial) != self.num_layers * self.directions:
            raise ValueError(f"initial must hold {self.num_layers * self.directions} (a, c) "
                             f"states, one per layer and direction, got {len(initial)}")
        h = x
        for k in range(self.num_layers):
            outs, finals, caches = [], [], []
            for d in range(self.directions):
                a0, c0 = (None, None) if initial is None else initial[k * self.directions + d]
                a, (a_last, c_last), cache = layer_forward(
                    self.cell, h, self._layer_parameters(k, d), a0=a0, c0=c0, mask=mask,
                    reverse=bool(d), activation=self.activation,
                    workspace=self.workspaces[k * self.directions + d])
                outs.append(a)
                finals.append(a_last)
                caches.append(cache)
                self.final_states.append((a_last, c_last))
            self.caches.append(caches)
            h = outs[0] if self.directions == 1 else np.concatenate(outs, axis=0)
        if self.directions == 1:
            h = h.copy()                          # not a view of the workspace's memory
        return h, np.concatenate(finals, axis=0)

    def backward(self, dout, dfinal=None):
        """Gradients of every parameter and dx, from dout (like the outputs) and
        dfinal (like the final state)."""
        grads = {}
        n_a = self.n_a
        for k in reversed(range(self.num_layers)):
            dx = 0
            for d in range(self.directions):
                da = dout[d * n_a:(d + 1) * n_a]
                da_last = None
                if dfinal is not None and k == self.num_layers - 1:
                    da_last = np.ascontiguousarray(dfinal[d * n_a:(d + 1) * n_a])
                g = layer_backward(np.ascontiguousarray(da), self.caches[k][d], da_last=da_last)
                dx = dx + g.pop("dx")
                for key in ("da0", "dc0"):
                    g.pop(key, None)
                prefix = self._prefix(k, d)
                grads.update({f"d{prefix}.{key[1:]}": v for key, v in g.items()})
            dout = dx
        grads["dx"] = dout
        return grads


class Dense:
    """z = W h + b for h (n_in, m) or (n_in, m, T_x); its products follow the
    thread policy of rnn_core.threads, like the recurrent layers'."""

    def __init__(self, n_in, n_out, rng, dtype=np.float64):
        self.parameters = {"W": xavier_uniform((n_out, n_in), rng, dtype=dtype),
                           "b": np.zeros((n_out, 1), dtype)}

    def forward(self, h):
        W, b = self.parameters["W"], self.parameters["b"]
        self.shape = h.shape
        self.h2 = h if h.ndim == 2 else h.reshape(h.shape[0], -1)    # (n_in, m·T_x): one product
        with whole_sequence(W.size * self.h2.shape[1]):
            z = W @ self.h2 + b
        return z if h.ndim == 2 else z.reshape((W.shape[0],) + h.shape[1:])

    def backward(self, dz):
        dz2 = dz if dz.ndim == 2 else dz.reshape(dz.shape[0], -1)
        with whole_sequence(self.parameters["W"].size * dz2.shape[1]):
            dh = self.parameters["W"].T @ dz2
            dW = dz2 @ self.h2.T
        return {"dW": dW, "db": dz2.sum(axis=1, keepdims=True), "dh": dh.reshape(self.shape)}


class SequenceModel:
    """input layer -> Recurrent -> head -> Dense -> loss, with one function that
    returns the loss and every gradient.

    input_layer: OneHot or Embedding (x is token ids (m, T_x)), or None (x is
    already a float sequence (n_x, m, T_x)).
    head: 'last' (final states; many-to-one), 'mean' (mean of the outputs over
    real steps; many-to-one) or 'all' (every step; many-to-many).
    loss: 'softmax' (cross-entropy with integer labels) or 'mse' (mean squared
    error against real targets, one per output unit).
    """

    def __init__(self, input_layer, recurrent, n_out, head="last", loss="softmax", seed=0):
        if head not in HEADS:
            raise ValueError(f"head must be one of {', '.join(map(repr, HEADS))}, got {head!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))}, got {loss!r}")
        self.input, self.recurrent, self.head, self.loss_kind = input_layer, recurrent, head, loss
        n_feat = recurrent.n_a * recurrent.directions
        dtype = next(iter(recurrent.parameters.values())).dtype
        self.dense = Dense(n_feat, check_positive_int("n_out", n_out),
                           np.random.default_rng(seed), dtype)
        # One flat dict holding the layers' own arrays: optimisers and
        # gradient_check update them in place, and the layers see the change.
        self.layers = {"input": input_layer, "rnn": recurrent, "dense": self.dense}
        self.parameters = {f"{prefix}.{key}": value
                           for prefix, layer in self.layers.items() if layer is not None
                           for key, value in layer.parameters.items()}

    def _features(self, x, mask, initial=None):
        h = x if self.input is None else self.input.forward(x)
        outputs, final = self.recurrent.forward(h, mask, initial)
        T = outputs.shape[2]
        if self.head == "last":
            return final
        if self.head == "mean":
            m = outputs.shape[1]
            w = np.ones((m, T)) if mask is None else mask
            self._counts = w.sum(axis=1)
            return (outputs * w[None]).sum(axis=2) / self._counts
        return outputs

    def forward(self, x, mask=None, initial=None):
        """Outputs of the dense layer: logits or predictions, (n_out, m) or (n_out, m, T_x).
        ``initial`` carries a state from an earlier call (see Recurrent.forward);
        afterwards ``self.recurrent.final_states`` holds the new one."""
        return self.dense.forward(self._features(x, mask, initial))

    def loss_and_gradients(self, x, y, mask=None, initial=None):
        """x: token ids (m, T_x) or features (n_x, m, T_x); y: labels (m,) / (m, T_x)
        for 'softmax', targets (n_out, m) / (n_out, m, T_x) for 'mse'.
        Returns (loss, gradients) with "d" + every parameter name."""
        z = self.forward(x, mask, initial)
        if self.head == "all":
            w = np.ones(z.shape[1:]) if mask is None else mask.astype(z.dtype)
        else:
            w = np.ones(z.shape[1:])
        total = w.sum()
        if self.loss_kind == "softmax":
            n_out = z.shape[0]
            if not isinstance(y, np.ndarray) or y.shape != z.shape[1:] or y.dtype.kind not in "iu":
                raise ValueError(f"y must be integer labels of shape {z.shape[1:]}, got "
                                 f"{getattr(y, 'dtype', type(y).__name__)} {getattr(y, 'shape', '')}")
            # the mean cross-entropy over the real (unmasked) columns
            z2, keep = z.reshape(n_out, -1), w.reshape(-1) > 0
            loss, dkept = softmax_cross_entropy(z2[:, keep], y.reshape(-1)[keep])
            dz = np.zeros_like(z2)
            dz[:, keep] = dkept
            dz = dz.reshape(z.shape)
        else:
            check_shape("y", y, z.shape, ("n_out",) + ("m", "T_x")[:z.ndim - 1], None)
            diff = (z - y) * w
            loss = float((diff ** 2).sum() / (total * z.shape[0]))
            dz = 2 * diff / (total * z.shape[0])
        grads = {}
        dense = self.dense.backward(dz)
        grads["ddense.W"], grads["ddense.b"] = dense["dW"], dense["db"]
        dfeat = dense["dh"]
        rec = self.recurrent.caches[-1][0]
        n_feat, m, T = dfeat.shape[0], rec["x_shape"][1], rec["x_shape"][2]
        if self.head == "last":
            dout, dfinal = np.zeros((n_feat, m, T), dfeat.dtype), dfeat
        elif self.head == "mean":
            wm = np.ones((m, T)) if mask is None else mask
            dout, dfinal = dfeat[:, :, None] * (wm / self._counts[:, None])[None], None
        else:
            dout, dfinal = dfeat, None
        rgrads = self.recurrent.backward(dout, dfinal)
        dx = rgrads.pop("dx")
        grads.update({"drnn." + k[1:]: v for k, v in rgrads.items()})
        if self.input is not None:
            for key, value in self.input.backward(dx).items():
                grads["dinput." + key[1:]] = value
        return loss, grads

    def __call__(self, parameters, batch):
        """For rnn_core.train: batch = (x, y) or (x, y, mask)."""
        return self.loss_and_gradients(*batch)
