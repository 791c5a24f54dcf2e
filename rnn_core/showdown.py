"""The showdown: vanilla RNN vs GRU vs LSTM on the adding problem, the copy-memory
task and the embedded Reber grammar, for growing sequence lengths, with a fixed
training budget per run. ``main`` writes rnn_core/artifacts/showdown.json with
provenance; ``scripts/showdown.py`` runs it:

    python scripts/showdown.py              # the full run (about 25 minutes on 2 CPU cores)
    python scripts/showdown.py --quick      # a tiny run, to check the script

Introduced in the chapter *The showdown*, which also runs a small version live.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from .artifacts import ARTIFACTS, current_commit, provenance, save_artifact
from .layers import OneHot, Recurrent, SequenceModel
from .losses import softmax_cross_entropy
from .optim import Adam
from .training import train
from .tasks import (ADDING_BASELINE_MSE, adding_problem, copy_memory, copy_memory_baseline,
                            embedded_reber, reber_penultimate_positions)

CELLS = ("rnn", "gru", "lstm")
CONFIG = {
    "adding": {"lengths": [10, 25, 50, 100, 200], "n_a": 32, "batch": 64, "steps": 1500,
               "learning_rate": 0.01, "clip_norm": 1.0},
    "copy": {"lengths": [10, 20, 40, 80], "n_a": 64, "batch": 64, "steps": 2000,
             "learning_rate": 0.005, "clip_norm": 1.0},
    "reber": {"lengths": [None], "n_a": 32, "batch": 64, "steps": 1500,
              "learning_rate": 0.01, "clip_norm": 1.0},
    "seeds": [0, 1],
}
QUICK = {
    "adding": dict(CONFIG["adding"], lengths=[10], steps=20),
    "copy": dict(CONFIG["copy"], lengths=[5], steps=20),
    "reber": dict(CONFIG["reber"], steps=20),
    "seeds": [0],
}


def run_adding(cell, T, seed, c):
    rng = np.random.default_rng(seed)
    model = SequenceModel(None, Recurrent(cell, 2, c["n_a"], np.random.default_rng(seed + 100)), 1,
                          head="last", loss="mse", seed=seed)
    train(model, model.parameters, Adam(c["learning_rate"]),
          (adding_problem(T, c["batch"], rng) for _ in range(c["steps"])),
          clip_norm=c["clip_norm"], progress=False)
    x, y = adding_problem(T, 2000, np.random.default_rng(10_000 + seed))
    return {"test_mse": float(((model.forward(x) - y) ** 2).mean()),
            "baseline_mse": ADDING_BASELINE_MSE}


def run_copy(cell, T, seed, c):
    rng = np.random.default_rng(seed)
    model = SequenceModel(OneHot(10), Recurrent(cell, 10, c["n_a"], np.random.default_rng(seed + 100)),
                          10, head="all", loss="softmax", seed=seed)
    train(model, model.parameters, Adam(c["learning_rate"]),
          (copy_memory(T, c["batch"], rng) for _ in range(c["steps"])),
          clip_norm=c["clip_norm"], progress=False)
    ids, targets = copy_memory(T, 1000, np.random.default_rng(10_000 + seed))
    logits = model.forward(ids)
    loss, _ = softmax_cross_entropy(logits.reshape(10, -1), targets.reshape(-1))
    recalled = (logits.argmax(axis=0)[:, -10:] == targets[:, -10:]).mean()
    return {"test_cross_entropy": loss, "baseline_cross_entropy": float(copy_memory_baseline(T)),
            "recall_accuracy": float(recalled), "baseline_recall_accuracy": 1 / 8}


def run_reber(cell, _T, seed, c):
    rng = np.random.default_rng(seed)
    model = SequenceModel(OneHot(7), Recurrent(cell, 7, c["n_a"], np.random.default_rng(seed + 100)),
                          7, head="all", loss="softmax", seed=seed)

    def batches():
        for _ in range(c["steps"]):
            ids, mask = embedded_reber(c["batch"], rng)
            nxt = np.concatenate([ids[:, 1:], ids[:, -1:]], axis=1)
            step_mask = mask.copy()
            step_mask[np.arange(len(ids)), mask.sum(axis=1).astype(int) - 1] = 0   # no target after E
            yield ids, nxt, step_mask

    train(model, model.parameters, Adam(c["learning_rate"]), batches(),
          clip_norm=c["clip_norm"], progress=False)
    ids, mask = embedded_reber(1000, np.random.default_rng(10_000 + seed))
    logits = model.forward(ids, mask)
    k = reber_penultimate_positions(mask)
    rows = np.arange(len(ids))
    correct = logits.argmax(axis=0)[rows, k] == ids[rows, k + 1]
    return {"long_range_accuracy": float(correct.mean()), "baseline_long_range_accuracy": 0.5,
            "mean_length": float(mask.sum(axis=1).mean())}


RUNNERS = {"adding": run_adding, "copy": run_copy, "reber": run_reber}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tiny configuration")
    parser.add_argument("--output", default="showdown.json", help="artifact file name")
    parser.add_argument("--dir", default=str(ARTIFACTS), help="where to write it")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else CONFIG
    start = time.perf_counter()
    commit = current_commit()                 # the code this run starts from
    results = []
    for task in ("adding", "copy", "reber"):
        c = config[task]
        for T in c["lengths"]:
            for cell in CELLS:
                for seed in config["seeds"]:
                    t0 = time.perf_counter()
                    metrics = RUNNERS[task](cell, T, seed, c)
                    results.append({"task": task, "T": T, "cell": cell, "seed": seed,
                                    "seconds": round(time.perf_counter() - t0, 1), **metrics})
                    print(results[-1], flush=True)
    data = {"provenance": provenance(["python", "scripts/showdown.py"] + list(argv or sys.argv[1:]),
                                     time.perf_counter() - start, commit=commit, quick=args.quick),
            "config": config, "results": results}
    path = save_artifact(args.output, data, directory=args.dir)
    print("wrote", path)
    return path
