"""The showdown: vanilla RNN vs GRU vs LSTM on the adding problem, the
copy-memory task and the embedded Reber grammar, for growing sequence lengths.

The race is fair by construction: every cell gets about the same number of
trainable parameters (``n_a`` chosen per cell by :func:`matched_n_a`), the same
number of training steps and batch size, and the same learning-rate search —
for each task, length and cell, one run per rate in ``learning_rates`` (seed
``tuning_seed``), scored on validation sequences from their own generator; the
rate with the lowest validation loss is then run with the other seeds, and
every run is scored on test sequences from a third generator. ``main`` writes
rnn_core/artifacts/showdown.json with provenance; ``scripts/showdown.py``
runs it:

    python scripts/showdown.py                  # the full race (one process, one BLAS thread)
    python scripts/showdown.py --tasks adding   # a part of it, to run parts side by side
    python scripts/showdown.py --merge a.json b.json   # join the parts into showdown.json
    python scripts/showdown.py --quick          # a tiny run, to check the script

Introduced in the chapter *The showdown*, which also runs a small version live.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .artifacts import ARTIFACTS, cpu_name, current_commit, load_average, provenance, save_artifact
from .layers import OneHot, Recurrent, SequenceModel
from .losses import softmax_cross_entropy
from .optim import Adam
from .threads import set_threads
from .training import train
from .tasks import (REBER_SYMBOLS, adding_problem, copy_memory, embedded_reber,
                    reber_penultimate_positions)

CELLS = ("rnn", "gru", "lstm")
TASKS = ("adding", "copy", "reber")
BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}          # weight blocks W[a; x] + b per cell
SIZES = {"adding": (2, 1), "copy": (10, 10), "reber": (len(REBER_SYMBOLS), len(REBER_SYMBOLS))}
CONFIG = {
    "adding": {"lengths": [10, 25, 50, 100, 200], "parameters": 4500, "batch": 64,
               "steps": 500},
    "copy": {"lengths": [5, 10, 20, 40], "copy_length": 5, "parameters": 5800, "batch": 64,
             "steps": 1000},
    "reber": {"lengths": [None], "parameters": 4000, "batch": 64, "steps": 400},
    "learning_rates": [0.001, 0.003, 0.01, 0.03, 0.1],
    "clip_norm": 1.0,
    "seeds": [0, 1, 2],
    "tuning_seed": 0,
    "validation_seed": 20_000,
    "test_seed": 10_000,
    "validation_size": 1000,
    "test_size": 2000,
}
QUICK = dict(CONFIG,
             adding=dict(CONFIG["adding"], lengths=[10], steps=10),
             copy=dict(CONFIG["copy"], lengths=[5], steps=10),
             reber=dict(CONFIG["reber"], steps=10),
             learning_rates=[0.003, 0.03], seeds=[0, 1], validation_size=200, test_size=200)


def parameter_count(cell, n_x, n_a, n_y):
    """Trainable parameters of SequenceModel(Recurrent(cell, n_x, n_a), n_y):
    the cell's blocks of n_a·(n_a + n_x + 1), the GRU's extra bias bca, the dense layer."""
    if cell not in BLOCKS:
        raise ValueError(f"cell must be one of {', '.join(map(repr, CELLS))}, got {cell!r}")
    return BLOCKS[cell] * n_a * (n_a + n_x + 1) + (n_a if cell == "gru" else 0) + n_y * (n_a + 1)


def matched_n_a(cell, task, parameters):
    """The state size n_a whose parameter count for ``task`` is closest to ``parameters``."""
    n_x, n_y = SIZES[task]
    return min(range(1, 1025), key=lambda n: abs(parameter_count(cell, n_x, n, n_y) - parameters))


def build(cell, task, seed, c):
    """The task's SequenceModel for ``cell`` at the matched size (weights from ``seed``)."""
    n_x, n_y = SIZES[task]
    rec = Recurrent(cell, n_x, matched_n_a(cell, task, c["parameters"]),
                    np.random.default_rng(seed + 100))
    if task == "adding":
        return SequenceModel(None, rec, n_y, head="last", loss="mse", seed=seed)
    return SequenceModel(OneHot(n_x), rec, n_y, head="all", loss="softmax", seed=seed)


def reber_batch(m, rng):
    """ids, next-symbol targets and mask (no target after the final E)."""
    ids, mask = embedded_reber(m, rng)
    nxt = np.concatenate([ids[:, 1:], ids[:, -1:]], axis=1)
    step_mask = mask.copy()
    step_mask[np.arange(len(ids)), mask.sum(axis=1).astype(int) - 1] = 0
    return ids, nxt, step_mask


def batch(task, T, m, rng, c):
    """One batch of ``task``, in the form SequenceModel.loss_and_gradients takes."""
    if task == "adding":
        return adding_problem(T, m, rng)
    if task == "copy":
        return copy_memory(T, m, rng, length=c["copy_length"])
    return reber_batch(m, rng)


def evaluate(model, task, data, c):
    """(loss, metric) on the steps the task is about: adding MSE (both); copy:
    cross-entropy and recall accuracy on the recalled symbols; Reber: on the
    long-range symbol."""
    if task == "adding":
        x, y = data
        mse = float(((model.forward(x) - y) ** 2).mean())
        return mse, mse
    if task == "copy":
        ids, targets = data
        L = c["copy_length"]
        logits = model.forward(ids)[:, :, -L:]                           # (10, m, L)
        loss, _ = softmax_cross_entropy(logits.reshape(10, -1), targets[:, -L:].reshape(-1))
        return float(loss), float((logits.argmax(axis=0) == targets[:, -L:]).mean())
    ids, nxt, mask = data
    k = reber_penultimate_positions(mask) + 1       # mask has E's step removed: one shorter
    rows = np.arange(len(ids))
    logits = model.forward(ids, mask)[:, rows, k]                         # (7, m)
    loss, _ = softmax_cross_entropy(logits, nxt[rows, k])
    return float(loss), float((logits.argmax(axis=0) == nxt[rows, k]).mean())


def run(task, T, cell, seed, learning_rate, c, validation, test, clip_norm=CONFIG["clip_norm"]):
    """Train one network and score it on the validation and test sets
    (``c``: the task's part of the configuration)."""
    rng = np.random.default_rng(seed)
    model = build(cell, task, seed, c)
    t0, c0 = time.perf_counter(), time.process_time()
    out = {"task": task, "T": T, "cell": cell, "seed": seed, "learning_rate": learning_rate,
           "n_a": model.recurrent.n_a,
           "parameters": int(sum(v.size for v in model.parameters.values()))}
    try:
        history = train(model, model.parameters, Adam(learning_rate),
                        (batch(task, T, c["batch"], rng, c) for _ in range(c["steps"])),
                        clip_norm=clip_norm, progress=False)
    except FloatingPointError:
        out.update(diverged=True, validation_loss=None, validation_metric=None,
                   test_loss=None, test_metric=None)
    else:
        (vl, vm), (tl, tm) = evaluate(model, task, validation, c), evaluate(model, task, test, c)
        out.update(diverged=False, validation_loss=vl, validation_metric=vm, test_loss=tl,
                   test_metric=tm, final_train_loss=float(np.mean(history["loss"][-20:])))
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["cpu_seconds"] = round(time.process_time() - c0, 2)      # not counting pauses
    return out


def datasets(task, T, config):
    """The validation and test sets of one task and length, each from its own generator."""
    c = config[task]
    return (batch(task, T, config["validation_size"], np.random.default_rng(config["validation_seed"]), c),
            batch(task, T, config["test_size"], np.random.default_rng(config["test_seed"]), c))


def race(task, T, cell, config, log=print):
    """The learning-rate search and the final runs of one task, length and cell:
    (selection record, list of runs)."""
    c = config[task]
    validation, test = datasets(task, T, config)
    tuning = [run(task, T, cell, config["tuning_seed"], lr, c, validation, test,
                  config["clip_norm"])
              for lr in config["learning_rates"]]
    for r in tuning:
        log(r)
    losses = [np.inf if r["diverged"] else r["validation_loss"] for r in tuning]
    best = int(np.argmin(losses))
    chosen = config["learning_rates"][best]
    runs = list(tuning)
    for seed in config["seeds"]:
        if seed != config["tuning_seed"]:
            runs.append(run(task, T, cell, seed, chosen, c, validation, test,
                            config["clip_norm"]))
            log(runs[-1])
    selection = {"task": task, "T": T, "cell": cell, "learning_rate": chosen,
                 "validation_losses": [None if np.isinf(v) else v for v in losses]}
    return selection, runs


def final_runs(record, task, T, cell):
    """The record's final runs (chosen learning rate, every seed) of one task, length and cell."""
    lr = next(s["learning_rate"] for s in record["selections"]
              if (s["task"], s["T"], s["cell"]) == (task, T, cell))
    return [r for r in record["results"] if (r["task"], r["T"], r["cell"]) == (task, T, cell)
            and r["learning_rate"] == lr and r["seed"] in record["config"]["seeds"]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tiny configuration")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--merge", nargs="+", metavar="PART", help="join recorded parts")
    parser.add_argument("--output", default="showdown.json", help="artifact file name")
    parser.add_argument("--dir", default=str(ARTIFACTS), help="where to write it")
    args = parser.parse_args(argv)
    command = ["python", "scripts/showdown.py"] + list(sys.argv[1:] if argv is None else argv)
    if args.merge:
        return merge([Path(args.dir) / p for p in args.merge], args.output, args.dir, command)
    config = QUICK if args.quick else CONFIG
    set_threads(1)                            # one thread per process
    start, cpu_start = time.perf_counter(), time.process_time()
    commit = current_commit()                 # the code this run starts from
    selections, results = [], []
    for task in args.tasks:
        for T in config[task]["lengths"]:
            for cell in CELLS:
                s, runs = race(task, T, cell, config, log=lambda r: print(r, flush=True))
                selections.append(s)
                results.extend(runs)
    data = {"provenance": provenance(command, time.perf_counter() - start, commit=commit,
                                     quick=args.quick, tasks=list(args.tasks), cpu=cpu_name(),
                                     cpu_time_s=round(time.process_time() - cpu_start, 1),
                                     threads=1, load_average_at_end=load_average()),
            "config": config, "selections": selections, "results": results}
    path = save_artifact(args.output, data, directory=args.dir)
    print("wrote", path)
    return path


def merge(paths, output, directory, command):
    """One record from parts run side by side (same config, commit and quick flag)."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    first = parts[0]
    for key in ("commit", "quick"):
        if len({json.dumps(p["provenance"][key]) for p in parts}) != 1:
            raise ValueError(f"the parts differ in {key}; they are not one run")
    if any(p["config"] != first["config"] for p in parts):
        raise ValueError("the parts were made with different configurations")
    tasks = [t for p in parts for t in p["provenance"]["tasks"]]
    if len(tasks) != len(set(tasks)):
        raise ValueError(f"a task appears in more than one part: {tasks}")
    prov = dict(first["provenance"], command=" ; ".join(p["provenance"]["command"] for p in parts)
                + " ; " + " ".join(command), tasks=tasks,
                wall_time_s=max(p["provenance"]["wall_time_s"] for p in parts),
                cpu_time_s=round(sum(p["provenance"]["cpu_time_s"] for p in parts), 1),
                parts=[p["provenance"] for p in parts])
    data = {"provenance": prov, "config": first["config"],
            "selections": [s for p in parts for s in p["selections"]],
            "results": [r for p in parts for r in p["results"]]}
    path = save_artifact(output, data, directory=directory)
    print("wrote", path)
    return path
