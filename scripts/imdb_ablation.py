"""One factor at a time, on the chapter's small CPU setup (preset 'small':
2,000 training reviews cut to their first 200 tokens, 32 units, 3 epochs):
the cell (RNN or LSTM), the pooling (last state, mean or max over time), the
direction (one way or both), and no recurrence at all, each with three seeds,
evaluated on a fixed sample of test reviews. Records
rnn_core/artifacts/imdb_ablation_cpu.json (and the bidirectional LSTM of seed 0
as imdb_ablation_cpu.npz, for the chapter's word-by-word figure).

    OMP_NUM_THREADS=1 python scripts/imdb_ablation.py --data PATH [--dir DIR]

tests/test_sentiment.py re-runs one entry and compares it with the record.
"""
import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

from rnn_core.artifacts import ARTIFACTS, current_commit, provenance, save_artifact
from rnn_core.imdb import load_imdb
from rnn_core.sentiment import (config_from, device_description, evaluate, fit, prepare,
                                save_weights, tokenize_all)

FACTORS = {                     # name: overrides of the 'small' preset
    "RNN, last state": dict(cell="rnn", bidirectional=False, pooling="last"),
    "RNN, mean": dict(cell="rnn", bidirectional=False, pooling="mean"),
    "LSTM, mean": dict(cell="lstm", bidirectional=False, pooling="mean"),
    "LSTM, last state": dict(cell="lstm", bidirectional=False, pooling="last"),
    "LSTM, max": dict(cell="lstm", bidirectional=False, pooling="max"),
    "BiLSTM, mean": dict(cell="lstm", bidirectional=True, pooling="mean"),
    "no recurrence, mean": dict(cell="none", bidirectional=False, pooling="mean"),
}
SEEDS = (0, 1, 2)
TEST_SAMPLE = 2000
KEEP = ("BiLSTM, mean", 0)


def test_sample(n_test, size=TEST_SAMPLE):
    return np.sort(np.random.default_rng(0).choice(n_test, size, replace=False))


def run_entry(data, tokens, name, seed, sample):
    c = config_from("small", seed=seed, **FACTORS[name])
    prepared = prepare(data, c, tokens)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    net, history = fit(prepared, c, "cpu", progress=False)
    seconds = time.perf_counter() - t0
    x, y = prepared["test"]
    acc, loss, _ = evaluate(net, [x[i] for i in sample], y[sample], torch.device("cpu"))
    entry = {"name": name, "seed": seed, "config": dataclasses.asdict(c), "history": history,
             "val_accuracy": history["val_accuracy"][history["best_epoch"] - 1],
             "val_loss": min(history["val_loss"]), "test_accuracy": acc, "test_loss": loss,
             "train_seconds": seconds}
    return entry, net, prepared


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=None)
    p.add_argument("--dir", default=str(ARTIFACTS))
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    start, commit = time.perf_counter(), current_commit()
    data = load_imdb(args.data)
    tokens = tokenize_all(data)
    sample = test_sample(len(data["test"]))
    entries = []
    for name in FACTORS:
        for seed in SEEDS:
            entry, net, prepared = run_entry(data, tokens, name, seed, sample)
            entries.append(entry)
            print(f"{name}, seed {seed}: validation {entry['val_accuracy']:.4f}, test "
                  f"{entry['test_accuracy']:.4f}, {entry['train_seconds']:.0f} s", flush=True)
            if (name, seed) == KEEP:
                weights = save_weights(net, prepared["vocab"], config_from(
                    "small", seed=seed, **FACTORS[name]), Path(args.dir) / "imdb_ablation_cpu.npz")
    result = {"kind": "ablation", "preset": "small", "factors": FACTORS, "seeds": list(SEEDS),
              "test_sample": TEST_SAMPLE, "entries": entries, "kept": {"name": KEEP[0], "seed": KEEP[1],
                                                                       "weights": weights},
              "threads": torch.get_num_threads()}
    desc = device_description("cpu")
    out = {"provenance": provenance(["python", "scripts/imdb_ablation.py"] + list(argv or sys.argv[1:]),
                                    time.perf_counter() - start, commit=commit, device=desc["device"],
                                    torch=desc["torch"], cuda=None, dtype="float32"), **result}
    print("wrote", save_artifact("imdb_ablation_cpu.json", out, directory=args.dir))


if __name__ == "__main__":
    main()
