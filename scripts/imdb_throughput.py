"""Training throughput (tokens/s, forward + backward + AdamW step) of each
preset of rnn_core.sentiment on this machine, on a slice of the IMDB training
reviews (whole reviews, length-bucketed batches as in training). Reports the
rate per second of wall time and per second of this process's CPU time (on a
shared machine the second is the meaningful one: the rate one core gives).
Used for the time estimate of the GPU sweep (README, "The GPU run").

    python scripts/imdb_throughput.py --data PATH [--reviews 256] [--presets default oh2lstmp small]
"""
import argparse
import dataclasses
import time

import numpy as np
import torch

from rnn_core.imdb import load_imdb
from rnn_core.sentiment import (GRIDS, SentimentNet, _batches, _optimizer, config_from, prepare,
                                tokenize_all)


def throughput(data, tokens, c, reviews, device, repeats=1):
    c = dataclasses.replace(c, train_subset=reviews)
    prepared = prepare(data, c, tokens)
    torch.manual_seed(0)
    net = SentimentNet(len(prepared["vocab"]), c).to(device).train()
    opt = _optimizer(net, c)
    x, y = prepared["train"]
    rates, cpu_rates = [], []
    for r in range(repeats + 1):                  # the first pass warms up
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        for ids, lens, labels in _batches(x, y, c.batch_size, np.random.default_rng(r)):
            loss = torch.nn.functional.cross_entropy(net(ids.to(device), lens), labels.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            n += int(lens.sum())
        if device.type == "cuda":
            torch.cuda.synchronize()
        if r:
            rates.append(n / (time.perf_counter() - t0))
            cpu_rates.append(n / (time.process_time() - c0))
    return float(np.median(rates)), float(np.median(cpu_rates)), n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=None)
    p.add_argument("--reviews", type=int, default=256)
    p.add_argument("--presets", nargs="+", default=["default", "oh2lstmp", "no_recurrence", "small"])
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = load_imdb(args.data, splits=("train",))
    tokens = tokenize_all(data)
    grid = {name: config_from(preset, **over) for name, preset, over in GRIDS["gpu"]}
    for name in args.presets:
        c = grid.get(name) or config_from(name)
        rate, cpu_rate, n = throughput(data, tokens, c, args.reviews, device)
        print(f"{name}: {rate:,.0f} tokens/s of wall time, {cpu_rate:,.0f} tokens per CPU second "
              f"({n:,} tokens per pass, {device.type}, {torch.get_num_threads()} threads)", flush=True)


if __name__ == "__main__":
    main()
