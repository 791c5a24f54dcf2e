"""What the gates of a trained GRU or LSTM do on the adding problem: train a
one-layer network on it (``train_adding``) and read out, unit by unit, its
keeping gate, where the marked values are held and which path the gradient
takes (``gate_statistics``). Cell-agnostic: ``cell`` is "gru" or "lstm".

The *keeping gate* multiplies the old state: Γz in the GRU
(a⟨t⟩ = (1 − Γz) ⊙ c̃ + Γz ⊙ a⟨t−1⟩), Γf in the LSTM (c⟨t⟩ = Γf ⊙ c⟨t−1⟩ + Γi ⊙ c̃).
The *kept state* is what it multiplies: a for the GRU, c for the LSTM.

Introduced in the chapter *The GRU* (section "What the gates do in a trained
network"); the LSTM chapter uses it too.
"""
from __future__ import annotations

import numpy as np

from .gru import gru_backward, gru_forward
from .layers import Recurrent, SequenceModel
from .lstm import lstm_backward, lstm_forward
from .optim import Adam
from .tasks import adding_problem
from .training import train
from .validation import check_positive_int

CELLS = ("gru", "lstm")
KEEP_GATE = {"gru": "update", "lstm": "forget"}
KEPT_STATE = {"gru": "a", "lstm": "c"}
BATCH, CLIP_NORM = 64, 1.0            # training settings every record uses (and records)
TEST = {"m": 1000, "seed": 7}         # gate_statistics' test sequences


def _check_cell(cell):
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(map(repr, CELLS))}, got {cell!r}")
    return cell


def train_adding(cell, T, n_a, seed, steps, *, batch=BATCH, learning_rate=0.01,
                 clip_norm=CLIP_NORM, forget_bias=1.0, keep_bias=None, progress=False):
    """Train ``cell`` (n_a units, a linear read-out of the final state, MSE) on
    the adding problem of length T with Adam, ``steps`` batches of ``batch``.
    Data: default_rng(seed); weights: default_rng(seed + 1) (read-out: seed).
    ``keep_bias``: if given, the initial bias of the keeping gate (bz of the GRU,
    bf of the LSTM, replacing ``forget_bias``) in every unit.
    Returns (model, history)."""
    _check_cell(cell)
    T, n_a = check_positive_int("T", T), check_positive_int("n_a", n_a)
    steps, batch = check_positive_int("steps", steps), check_positive_int("batch", batch)
    rng = np.random.default_rng(seed)
    model = SequenceModel(None, Recurrent(cell, 2, n_a, np.random.default_rng(seed + 1),
                                          forget_bias=forget_bias),
                          1, head="last", loss="mse", seed=seed)
    if keep_bias is not None:
        model.parameters["rnn.l0." + ("bz" if cell == "gru" else "bf")][:] = float(keep_bias)
    history = train(model, model.parameters, Adam(learning_rate),
                    (adding_problem(T, batch, rng) for _ in range(steps)), clip_norm=clip_norm,
                    progress=progress, desc=f"{cell.upper()} on the adding problem, seed {seed}")
    return model, history


def cell_parameters(model):
    """The trained layer's parameter dict for gru_forward / lstm_forward (zero Wy, by)."""
    p = {k.split(".", 2)[2]: v for k, v in model.parameters.items() if k.startswith("rnn.l0.")}
    n_a = model.recurrent.n_a
    p.update(Wy=np.zeros((1, n_a)), by=np.zeros((1, 1)))
    return p


def run_gates(cell, parameters, x, a0=None, c0=None):
    """Run the readable cell code on x (2, m, T): states {"a": (n_a, m, T)[, "c"]},
    gates {"update", "reset"} (GRU) or {"forget", "input", "output"} (LSTM),
    each (n_a, m, T), and the caches for the backward pass."""
    if _check_cell(cell) == "gru":
        a, _, caches = gru_forward(x, a0, parameters)
        steps = caches[0]
        gates = {"update": np.stack([c[4] for c in steps], axis=2),
                 "reset": np.stack([c[3] for c in steps], axis=2)}
        return {"a": a}, gates, caches
    a, _, c, caches = lstm_forward(x, a0, parameters, c0)
    steps = caches[0]
    gates = {"forget": np.stack([s[4] for s in steps], axis=2),
             "input": np.stack([s[5] for s in steps], axis=2),
             "output": np.stack([s[7] for s in steps], axis=2)}
    return {"a": a, "c": c}, gates, caches


def marks(x):
    """Positions and values of the two marked numbers: t1, t2, v1, v2, each (m,)."""
    m = x.shape[1]
    t1 = x[1].argmax(axis=1)                       # the first 1 in each row
    t2 = x.shape[2] - 1 - x[1, :, ::-1].argmax(axis=1)
    rows = np.arange(m)
    return t1, t2, x[0, rows, t1], x[0, rows, t2]


def _corr(states, v):
    """Correlation of every unit's value (n_a, m) with v (m,) over the m sequences."""
    s = states - states.mean(axis=1, keepdims=True)
    w = v - v.mean()
    return (s @ w) / np.sqrt((s ** 2).sum(axis=1) * (w ** 2).sum() + 1e-300)


def _r2(states, v):
    """R² of the least-squares linear read-out of v (m,) from all units (n_a, m)."""
    X = np.concatenate([states.T, np.ones((states.shape[1], 1))], axis=1)
    coef = np.linalg.lstsq(X, v, rcond=None)[0]
    return float(1 - ((X @ coef - v) ** 2).mean() / v.var())


def path_split(cell, parameters, readout, x, *, forward=None):
    """The gradient g = ∂ŷ/∂(kept state just after the first mark), ŷ = readout · a⟨T⟩,
    for every sequence of x: its total (the backward pass of the readable code, from
    that step to the end) and the part carried by the gate-only path, on which every
    step multiplies by the keeping gate alone (δ ⊙ Γz in the GRU, δc ⊙ Γf in the LSTM):
    per unit, the gradient entering the kept state at the last step times the product
    of the keeping gate over the steps after the mark. Returns (total, direct), (n_a, m).
    ``forward``: run_gates(cell, parameters, x) when the caller has it already."""
    _check_cell(cell)
    readout = np.asarray(readout, dtype=float).reshape(-1, 1)          # (n_a, 1)
    states, gates, _ = run_gates(cell, parameters, x) if forward is None else forward
    t1, _, _, _ = marks(x)
    n_a, m, T = states["a"].shape
    total, direct = np.zeros((n_a, m)), np.zeros((n_a, m))
    for t in np.unique(t1):
        rows = np.flatnonzero(t1 == t)
        if t == T - 1:                                  # no step after the mark
            continue
        sub = np.ascontiguousarray(x[:, rows, t + 1:])
        a0 = np.ascontiguousarray(states["a"][:, rows, t])
        da = np.zeros((n_a, len(rows), T - t - 1))
        da[:, :, -1] = readout
        if cell == "gru":
            _, _, caches = gru_forward(sub, a0, parameters)
            total[:, rows] = gru_backward(da, caches)["da0"]
            entering = np.repeat(readout, len(rows), axis=1)
        else:
            c0 = np.ascontiguousarray(states["c"][:, rows, t])
            _, _, c, caches = lstm_forward(sub, a0, parameters, c0)
            total[:, rows] = lstm_backward(da, caches)["dc0"]
            o_last = caches[0][-1][7]
            entering = readout * o_last * (1 - np.tanh(c[:, :, -1]) ** 2)
        keep = gates[KEEP_GATE[cell]][:, rows, t + 1:]
        direct[:, rows] = entering * keep.prod(axis=2)
    return total, direct


def gate_statistics(cell, model, T, *, m=TEST["m"], seed=TEST["seed"]):
    """Per-unit statistics of a model from train_adding over m fresh test sequences
    (adding_problem(T, m, default_rng(seed))), as plain lists and floats:

    test_mse; keep_at_marks / keep_between: mean keeping gate at the two marked steps /
    strictly between them; keep_product: median over sequences of the product of the
    keeping gate over every step after the first mark; corr_first_mark, corr_first_before_second,
    corr_first_end, corr_second_end, corr_sum_end: correlation of each unit's kept state with
    the first value just after its mark, just before the second mark and at the end, with the
    second value and with the sum at the end (the LSTM's hidden state a as a_corr_*);
    r2_first_before_second, r2_first_end, r2_second_end, r2_sum_end: the same for the best
    linear read-out from all units; direct_share: median over sequences of
    ‖gate-only part‖ / ‖total‖ of ∂ŷ/∂(kept state after the first mark) (``path_split``),
    and total_norm, the median ‖total‖."""
    _check_cell(cell)
    x, y = adding_problem(T, check_positive_int("m", m), np.random.default_rng(seed))
    p = cell_parameters(model)
    forward = run_gates(cell, p, x)
    states, gates, _ = forward
    t1, t2, v1, v2 = marks(x)
    rows = np.arange(x.shape[1])
    keep = gates[KEEP_GATE[cell]]                      # (n_a, m, T)
    steps = np.arange(T)[None, :]
    after = steps > t1[:, None]                        # (m, T): steps after the first mark
    between = after & (steps < t2[:, None])
    at_marks = (steps == t1[:, None]) | (steps == t2[:, None])
    log_keep = np.log(np.maximum(keep, 1e-300))
    out = {"cell": cell, "T": T, "n_a": int(keep.shape[0]), "m": int(x.shape[1]),
           "test_mse": float(((model.forward(x) - y) ** 2).mean()),
           "keep_at_marks": keep[:, at_marks].mean(axis=1).tolist(),
           "keep_between": keep[:, between].mean(axis=1).tolist(),
           "keep_product": np.median(np.exp((log_keep * after[None]).sum(axis=2)), axis=1).tolist()}

    def readouts(prefix, s):
        first_mark, before_second, end = s[:, rows, t1], s[:, rows, t2 - 1], s[:, :, -1]
        for name, states_at, v in (("first_mark", first_mark, v1),
                                   ("first_before_second", before_second, v1),
                                   ("first_end", end, v1), ("second_end", end, v2),
                                   ("sum_end", end, v1 + v2)):
            out[f"{prefix}corr_{name}"] = _corr(states_at, v).tolist()
            if name != "first_mark":
                out[f"{prefix}r2_{name}"] = _r2(states_at, v)

    readouts("", states[KEPT_STATE[cell]])
    if cell == "lstm":
        readouts("a_", states["a"])
    total, direct = path_split(cell, p, model.parameters["dense.W"], x, forward=forward)
    norms = np.linalg.norm(total, axis=0)
    out["direct_share"] = float(np.median(np.linalg.norm(direct, axis=0) / norms))
    out["total_norm"] = float(np.median(norms))
    return out


def record(cell, T, n_a, steps, seeds, name, directory=None, learning_rate=0.01, argv=None,
           keep_bias=None):
    """Train one network per seed and save their gate_statistics with provenance
    as an artifact ``name`` (JSON). Returns the path."""
    import sys
    import time

    from .artifacts import ARTIFACTS, cpu_name, current_commit, provenance, save_artifact
    start, commit = time.perf_counter(), current_commit()
    runs = []
    for seed in seeds:
        t0 = time.perf_counter()
        model, history = train_adding(cell, T, n_a, seed, steps, batch=BATCH,
                                      learning_rate=learning_rate, clip_norm=CLIP_NORM,
                                      keep_bias=keep_bias)
        stats = gate_statistics(cell, model, T, **TEST)
        runs.append({"seed": seed, "seconds": round(time.perf_counter() - t0, 1),
                     "final_train_loss": float(np.mean(history["loss"][-50:])), **stats})
        print(f"seed {seed}: test MSE {stats['test_mse']:.5f}, "
              f"{runs[-1]['seconds']} s", flush=True)
    config = {"cell": cell, "T": T, "n_a": n_a, "steps": steps, "batch": BATCH,
              "learning_rate": learning_rate, "clip_norm": CLIP_NORM, "keep_bias": keep_bias,
              "seeds": list(seeds), "test": dict(TEST)}
    data = {"provenance": provenance(["python", "-m", "rnn_core.gate_story"]
                                     + list(sys.argv[1:] if argv is None else argv),
                                     time.perf_counter() - start, commit=commit, cpu=cpu_name()),
            "config": config, "runs": runs}
    return save_artifact(name, data, directory=ARTIFACTS if directory is None else directory)


def parser():
    """The command line of ``python -m rnn_core.gate_story``."""
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", choices=CELLS, default="gru")
    parser.add_argument("--T", type=int, default=100)
    parser.add_argument("--n-a", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--keep-bias", type=float, default=None,
                        help="initial bias of the keeping gate (bz / bf) in every unit")
    parser.add_argument("--name", default=None, help="artifact file (default gate_story_CELL_TT.json)")
    parser.add_argument("--dir", default=None, help="where to write it (default rnn_core/artifacts)")
    return parser


def main(argv=None):
    args = parser().parse_args(argv)
    name = args.name or f"gate_story_{args.cell}_T{args.T}.json"
    path = record(args.cell, args.T, args.n_a, args.steps, args.seeds, name, args.dir,
                  args.learning_rate, argv, args.keep_bias)
    print("wrote", path)
    return path


if __name__ == "__main__":
    main()
