"""Benchmark: rnn_core's fast sequence layers against torch.nn.RNN/GRU/LSTM on
the CPU, forward + backward, same dtype, same thread count.

    python benchmarks/bench_layers.py               # the full table (a few minutes)
    python benchmarks/bench_layers.py --quick       # fewer repetitions
    python benchmarks/bench_layers.py --contention  # the same table beside a busy
                                                    # process pinned to one core
    python benchmarks/bench_layers.py --save        # also record the table, with its
                                                    # provenance, for the LSTM chapter

Prints, for every cell, size and dtype: the median time of numpy and of torch,
their ratio (below 1: numpy is faster), the fraction of this machine's
measured matrix-multiply peak that the numpy layer reaches, and two lower
bounds as fractions of torch's time: *products*, the measured time of the
layer's matrix products alone (same shapes, same calls, nothing else), and
*floor*, the time its FLOPs would take at numpy's peak rate. A products value
above 1 means this layer cannot match torch there even with free element-wise
work; a floor above 1 means no numpy layer can. The numpy layer reuses a
Workspace from call to call, as ``rnn_core.Recurrent`` does in training, and
runs under rnn_core's thread policy (rnn_core/threads.py); *policy* is its time
divided by the same layer's with the policy switched off (numpy's BLAS on its
default thread count everywhere), the policy's cost or gain. *BLAS* is the
numpy layer's products divided by the same products issued with torch.mm on
torch's threads (torch's MKL/oneDNN against numpy's OpenBLAS), and *rest* the
numpy layer's time outside its products divided by torch's outside the same
products (element-wise work, autograd and Python overhead; torch's share is
estimated as its layer's time less those products issued alone, though its
layers may issue them differently): which side of a gap is the BLAS. *torch
1 thread* is torch's layer with ``torch.set_num_threads(1)``, its counterpart
of the thread policy on a shared machine. All six are timed in alternating
blocks, in a fixed order, each block after a pause (SETTLE_S), so that a noisy
machine slows them alike; ``--quick`` takes five timings of each (one per
block). Apart from that one column torch keeps its thread count. Set the
thread count with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (default: the CPUs
this process may use).

``--contention`` starts one busy process (a Python loop) pinned to the last
CPU of this process's affinity mask and times everything twice, in
alternating blocks: with the busy process running and with it stopped
(SIGSTOP), so that both tables meet the same background load; ``--save`` then
records ``benchmark_layers_contention.json``.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np
import torch

from rnn_core.artifacts import (cpu_name, current_commit, load_average, provenance,
                                save_artifact)
from rnn_core.fast import Workspace, layer_backward, layer_forward
from rnn_core.threads import (available_cpus, per_step, set_threads, thread_settings,
                              whole_sequence)

ARTIFACT = "benchmark_layers.json"
CONTENTION_ARTIFACT = "benchmark_layers_contention.json"

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


SETTLE_S = 0.3     # pause before each timed block (tests set 0)


def alternating_medians(fns, repeats, blocks=5, before=None, settle=None):
    """Median time of each function in ``fns``, measured in alternating blocks.
    Each block starts with ``before[i]()`` (if given), a pause of ``settle``
    seconds (default ``SETTLE_S``) and an untimed call: the BLAS and OpenMP
    worker threads of one library spin for a while after it returns (torch's
    for up to 0.2 s), which would slow the next function's calls, not only its
    first."""
    times = [[] for _ in fns]
    per_block = max(1, repeats // blocks)
    settle = SETTLE_S if settle is None else settle
    for _ in range(blocks):
        for i, (fn, ts) in enumerate(zip(fns, times)):
            if before is not None:
                before[i]()
            time.sleep(settle)
            fn()
            for _ in range(per_block):
                t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return [float(np.median(ts)) for ts in times]


def products_only(cell, T, m, n_x, n_a, dtype, rng):
    """A function that does only the matrix products of the numpy layer's forward
    + backward, with the same shapes and ``out=`` buffers: T steps of
    Wh @ a⟨t−1⟩ and of Whᵀ @ ∂gates, the input projection and the three
    gradient products over all steps, on the thread counts of the layer's policy."""
    G = GATES[cell] * n_a
    Wx, Wh = rng.standard_normal((G, n_x + 1)).astype(dtype), rng.standard_normal((G, n_a)).astype(dtype)
    WhT, WxT = np.ascontiguousarray(Wh.T), np.ascontiguousarray(Wx[:, :n_x].T)
    X1 = rng.standard_normal((T, n_x + 1, m)).astype(dtype)
    h, hw = np.ones((n_a, m), dtype), np.empty((G, m), dtype)
    P, dG = np.empty((T, G, m), dtype), rng.standard_normal((T, G, m)).astype(dtype)
    dGf, Hf = rng.standard_normal((G, T * m)).astype(dtype), rng.standard_normal((n_a, T * m)).astype(dtype)
    Xf, dX = rng.standard_normal((n_x + 1, T * m)).astype(dtype), np.empty((n_x, T * m), dtype)

    def run():                        # with the layer's thread policy, as the layer does
        with whole_sequence():
            np.matmul(Wx, X1, out=P)
        with per_step():
            for t in range(T):
                np.matmul(Wh, h, out=hw)
        with per_step():
            for t in range(T):
                np.matmul(WhT, dG[t], out=h)
        with whole_sequence():
            dGf @ Hf.T
            dGf @ Xf.T
            np.matmul(WxT, dGf, out=dX)
    return run


@contextmanager
def torch_threads(n):
    """Run a block with torch on ``n`` threads, then restore its count."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def torch_products_only(cell, T, m, n_x, n_a, tdtype):
    """The same matrix products as :func:`products_only`, same shapes and
    ``out=`` buffers, issued with torch.mm on torch's threads: how much of a
    gap between the layers is the BLAS (torch's MKL or oneDNN against numpy's
    OpenBLAS) rather than everything else."""
    G = GATES[cell] * n_a
    g = torch.Generator().manual_seed(0)
    r = lambda *shape: torch.randn(*shape, generator=g, dtype=tdtype)
    Wx, Wh = r(G, n_x + 1), r(G, n_a)
    WhT, WxT = Wh.t().contiguous(), Wx[:, :n_x].t().contiguous()
    X1, h, hw = r(T, n_x + 1, m), torch.ones(n_a, m, dtype=tdtype), torch.empty(G, m, dtype=tdtype)
    P, dG = torch.empty(T, G, m, dtype=tdtype), r(T, G, m)
    dGf, Hf, Xf = r(G, T * m), r(n_a, T * m), r(n_x + 1, T * m)
    dX = torch.empty(n_x, T * m, dtype=tdtype)

    def run():
        with torch.no_grad():
            torch.matmul(Wx, X1, out=P)
            for t in range(T):
                torch.mm(Wh, h, out=hw)
            for t in range(T):
                torch.mm(WhT, dG[t], out=h)
            dGf @ Hf.t()
            dGf @ Xf.t()
            torch.mm(WxT, dGf, out=dX)
    return run


def matmul_peak(dtype, n=1024, repeats=7):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    a @ a
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); a @ a; times.append(time.perf_counter() - t)
    return 2 * n ** 3 / min(times)


@contextmanager
def busy_process(cpu=None):
    """One competing process spinning in a Python loop, pinned to ``cpu`` (default:
    the last CPU this process may use); stopped on exit. Yields the process
    (a Popen, with its CPU as ``.cpu``)."""
    cpu = max(os.sched_getaffinity(0)) if cpu is None else cpu

    def pin_and_follow_parent():
        os.sched_setaffinity(0, {cpu})
        try:                                   # Linux: end with the benchmark, however it ends
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)          # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"],
                            preexec_fn=pin_and_follow_parent)
    proc.cpu = cpu
    try:
        time.sleep(0.5)
        yield proc
    finally:
        proc.send_signal(signal.SIGCONT)       # a stopped process would not end
        proc.terminate()
        proc.wait()


DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}


def run(quick=False, sizes=SIZES, dtypes=tuple(DTYPES), busy=None):
    """Time every cell at every size in float32 and float64; print the table and
    return its rows (times in seconds) and the measured matrix-multiply peaks.
    ``busy``: a busy process (see busy_process); then every function is timed
    with it running and with it stopped (SIGSTOP), in alternating blocks, and
    each size gives two rows, ``contention`` True and False."""
    threads = int(os.environ.get("OMP_NUM_THREADS", available_cpus()))
    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    print(f"# rnn_core fast layers vs torch {torch.__version__} (CPU), forward + backward")
    print(f"# {cpu_name()}, {os.cpu_count()} cores ({available_cpus()} usable), "
          f"torch threads {torch.get_num_threads()}, numpy {np.__version__}, "
          f"thread policy {thread_settings()}, load average {load_average()}")
    rows, peaks = [], {}
    for dtype, tdtype in (DTYPES[d] for d in dtypes):
        peak = peaks[np.dtype(dtype).name] = matmul_peak(dtype)
        print(f"# {np.dtype(dtype).name}: measured matrix-multiply peak {peak / 1e9:.0f} GFLOP/s")
        for name, T, m, n_x, n_a in sizes:
            for cell in ("rnn", "gru", "lstm"):
                p = random_parameters(cell, n_x, n_a, dtype, rng)
                x = rng.standard_normal((n_x, m, T)).astype(dtype)
                da = rng.standard_normal((n_a, m, T)).astype(dtype)

                workspace = Workspace()

                def ours():
                    _, _, cache = layer_forward(cell, x, p, workspace=workspace)
                    layer_backward(da, cache)

                def ours_without_policy():
                    with set_threads(enabled=False):
                        ours()

                module = TORCH_MODULES[cell](n_x, n_a, dtype=tdtype)
                xt = torch.from_numpy(x.transpose(2, 1, 0).copy()).requires_grad_(True)
                dat = torch.from_numpy(da.transpose(2, 1, 0).copy())

                def theirs():
                    module.zero_grad()
                    xt.grad = None
                    out, _ = module(xt)
                    out.backward(dat)

                repeats = 5 if quick else (20 if T * m > 100 else 200)
                def theirs_one_thread():
                    with torch_threads(1):
                        theirs()

                products = products_only(cell, T, m, n_x, n_a, dtype, rng)
                torch_products = torch_products_only(cell, T, m, n_x, n_a, tdtype)
                fns = (ours, theirs, products, ours_without_policy, torch_products, theirs_one_thread)
                states = (False,) if busy is None else (True, False)
                before = None if busy is None else [
                    (lambda on=on: busy.send_signal(signal.SIGCONT if on else signal.SIGSTOP))
                    for on in states for _ in fns]
                medians = alternating_medians(fns * len(states), repeats, before=before)
                if busy is not None:
                    busy.send_signal(signal.SIGCONT)
                t_floor = flops(cell, T, m, n_x, n_a) / peak
                for k, contention in enumerate(states):
                    t_np, t_torch, t_products, t_off, t_tp, t_t1 = medians[len(fns) * k:len(fns) * (k + 1)]
                    rest = (t_np - t_products) / max(t_torch - t_tp, 1e-9)   # outside the products
                    rows.append(dict(dtype=np.dtype(dtype).name, size=name, T=T, m=m, n_x=n_x,
                                     n_a=n_a, cell=cell, numpy_s=t_np, torch_s=t_torch,
                                     products_s=t_products, floor_s=t_floor,
                                     numpy_without_policy_s=t_off, torch_products_s=t_tp,
                                     torch_one_thread_s=t_t1,
                                     contention=contention))
                    print(f"{np.dtype(dtype).name:8s} {name:42s} {cell:5s}"
                          f"{' busy' if contention else ''} numpy {t_np * 1e3:8.3f} ms"
                          f"  torch {t_torch * 1e3:8.3f} ms  ratio {t_np / t_torch:5.2f}"
                          f"  peak {100 * t_floor / t_np:5.1f}%  products {t_products / t_torch:5.2f}"
                          f"  floor {t_floor / t_torch:5.2f}  policy {t_np / t_off:5.2f}"
                          f"  BLAS {t_products / t_tp:5.2f}  rest {rest:5.2f}"
                          f"  torch 1 thread {t_t1 * 1e3:8.3f} ms",
                          flush=True)
    return rows, peaks


def main(argv=None, directory=None, sizes=SIZES):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--dtype", choices=tuple(DTYPES), action="append",
                        help="only this dtype (repeatable; default: both)")
    parser.add_argument("--size", type=int, action="append", choices=range(len(sizes)),
                        help="only the size with this index in SIZES (repeatable; default: all)")
    parser.add_argument("--contention", action="store_true",
                        help="run beside a busy process pinned to one CPU")
    parser.add_argument("--save", action="store_true",
                        help=f"record the table as rnn_core/artifacts/{ARTIFACT} "
                             f"({CONTENTION_ARTIFACT} with --contention)")
    args = parser.parse_args(argv)
    commit, start = current_commit(), time.time()
    load_before = load_average()
    dtypes = tuple(args.dtype) if args.dtype else tuple(DTYPES)
    if args.size:
        sizes = [sizes[i] for i in sorted(set(args.size))]
    busy_cpu = None
    if args.contention:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))   # stop the busy process on kill
        with busy_process() as busy:
            busy_cpu = busy.cpu
            print(f"# contention: a busy process pinned to CPU {busy_cpu}, running in the "
                  f"'busy' rows and stopped (SIGSTOP) in the others, alternating")
            rows, peaks = run(args.quick, sizes, dtypes, busy)
    else:
        rows, peaks = run(args.quick, sizes, dtypes)
    if not args.save:
        return None
    record = {
        "provenance": provenance(
            ["python", "benchmarks/bench_layers.py"] + list(sys.argv[1:] if argv is None else argv),
            time.time() - start, commit, torch=torch.__version__, cpu=cpu_name(),
            threads=torch.get_num_threads(), usable_cpus=available_cpus(), dtypes=list(dtypes),
            thread_policy=thread_settings(), quick=args.quick,
            contention=None if busy_cpu is None else
            f"one busy process pinned to CPU {busy_cpu}: running in the rows with contention "
            "true, stopped in the others, timed in alternating blocks",
            load_average_before=load_before, load_average_after=load_average()),
        "matmul_peak_flops": peaks,
        "rows": rows,
    }
    kwargs = {} if directory is None else {"directory": directory}
    return save_artifact(CONTENTION_ARTIFACT if args.contention else ARTIFACT, record, **kwargs)


if __name__ == "__main__":
    main()
