"""Benchmark: rnn_core's fast sequence layers against torch.nn.RNN/GRU/LSTM on
the CPU, forward + backward, same dtype, same thread count.

    python benchmarks/bench_layers.py            # the full table (a few minutes)
    python benchmarks/bench_layers.py --quick    # fewer repetitions

Prints, for every cell, size and dtype: the median time of numpy and of torch,
their ratio (below 1: numpy is faster), and the fraction of this machine's
measured matrix-multiply peak that the numpy layer reaches. The two are timed
in alternating blocks so that a noisy machine slows both alike. Set the thread
count with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (default: all cores).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from rnn_core.fast import layer_backward, layer_forward

SIZES = [  # (name, T, m, n_x, n_a)
    ("T=100 m=64 n_x=64 n_a=128", 100, 64, 64, 128),
    ("T=200 m=32 n_x=128 n_a=256", 200, 32, 128, 256),
    ("char model, batch 1: T=25 n_x=65 n_a=100", 25, 1, 65, 100),
]
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
TORCH_MODULES = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}


def random_parameters(cell, n_x, n_a, dtype, rng):
    W = lambda *shape: (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(dtype)
    if cell == "rnn":
        return {"Wax": W(n_a, n_x), "Waa": W(n_a, n_a), "ba": W(n_a, 1),
                "Wya": W(1, n_a), "by": W(1, 1)}
    names = ("Wr", "Wz", "Wc") if cell == "gru" else ("Wf", "Wi", "Wc", "Wo")
    p = {k: W(n_a, n_a + n_x) for k in names}
    p.update({"b" + k[1:]: W(n_a, 1) for k in names})
    if cell == "gru":
        p["bca"] = W(n_a, 1)
    return p


def flops(cell, T, m, n_x, n_a):
    """Matrix-product FLOPs of forward + backward: 6 T m G n_a (n_x + n_a)."""
    return 6 * T * m * GATES[cell] * n_a * (n_x + n_a)


def alternating_medians(f, g, repeats, blocks=5):
    """Median times of f and g, measured in alternating blocks. Each block starts
    with an untimed call: the BLAS and OpenMP worker threads of one library
    spin for a while after it returns, which would slow the other's first call."""
    tf, tg = [], []
    per_block = max(1, repeats // blocks)
    for _ in range(blocks):
        for fn, times in ((f, tf), (g, tg)):
            fn()
            for _ in range(per_block):
                t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return float(np.median(tf)), float(np.median(tg))


def matmul_peak(dtype, n=1024, repeats=7):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    a @ a
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); a @ a; times.append(time.perf_counter() - t)
    return 2 * n ** 3 / min(times)


def run(quick=False):
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    print(f"# rnn_core fast layers vs torch {torch.__version__} (CPU), forward + backward")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch threads {torch.get_num_threads()}, numpy {np.__version__}")
    rows = []
    for dtype, tdtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
        peak = matmul_peak(dtype)
        print(f"# {np.dtype(dtype).name}: measured matrix-multiply peak {peak / 1e9:.0f} GFLOP/s")
        for name, T, m, n_x, n_a in SIZES:
            for cell in ("rnn", "gru", "lstm"):
                p = random_parameters(cell, n_x, n_a, dtype, rng)
                x = rng.standard_normal((n_x, m, T)).astype(dtype)
                da = rng.standard_normal((n_a, m, T)).astype(dtype)

                def ours():
                    _, _, cache = layer_forward(cell, x, p)
                    layer_backward(da, cache)

                module = TORCH_MODULES[cell](n_x, n_a, dtype=tdtype)
                xt = torch.from_numpy(x.transpose(2, 1, 0).copy()).requires_grad_(True)
                dat = torch.from_numpy(da.transpose(2, 1, 0).copy())

                def theirs():
                    module.zero_grad()
                    xt.grad = None
                    out, _ = module(xt)
                    out.backward(dat)

                repeats = 5 if quick else (20 if T * m > 100 else 200)
                t_np, t_torch = alternating_medians(ours, theirs, repeats)
                frac = flops(cell, T, m, n_x, n_a) / t_np / peak
                rows.append((np.dtype(dtype).name, name, cell, t_np, t_torch))
                print(f"{np.dtype(dtype).name:8s} {name:42s} {cell:5s} numpy {t_np * 1e3:8.3f} ms"
                      f"  torch {t_torch * 1e3:8.3f} ms  ratio {t_np / t_torch:5.2f}"
                      f"  peak {100 * frac:5.1f}%", flush=True)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    run(parser.parse_args().quick)
