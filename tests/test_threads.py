"""The thread policy: how many CPUs this process may use (affinity and cgroup
quota, read from fake cgroup trees), and the BLAS thread counts the fast layers
really run with, read with threadpoolctl inside their products."""
import numpy as np
import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

import rnn_core  # noqa: E402
from rnn_core import fast, threads  # noqa: E402
from rnn_core.threads import available_cpus, cgroup_cpu_limit, set_threads  # noqa: E402
from tests.helpers import random_cell_parameters  # noqa: E402

EIGHT = set(range(8))


def fake_cgroup(tmp_path, proc_lines, files):
    """A cgroup tree under tmp_path/cg with ``files`` {relative path: text} and a
    fake /proc/self/cgroup holding ``proc_lines``."""
    root = tmp_path / "cg"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    root.mkdir(exist_ok=True)
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text("\n".join(proc_lines) + "\n")
    return dict(cgroup_root=str(root), proc_cgroup=str(proc))


def test_cgroup_v2_quota_caps_the_affinity(tmp_path):
    # Binder: the container reports 8 cores but may use 1 CPU (cpu.max "100000 100000")
    kw = fake_cgroup(tmp_path, ["0::/user.slice/binder"],
                     {"user.slice/binder/cpu.max": "100000 100000\n"})
    assert cgroup_cpu_limit(**kw) == 1.0
    assert available_cpus(EIGHT, **kw) == 1


def test_cgroup_v2_fractional_quota_rounds_up_and_ancestors_count(tmp_path):
    kw = fake_cgroup(tmp_path, ["0::/a/b"],
                     {"a/b/cpu.max": "max 100000\n", "a/cpu.max": "150000 100000\n"})
    assert cgroup_cpu_limit(**kw) == 1.5
    assert available_cpus(EIGHT, **kw) == 2
    assert available_cpus({0}, **kw) == 1                 # the affinity is tighter


def test_no_quota_leaves_the_affinity(tmp_path):
    kw = fake_cgroup(tmp_path, ["0::/"], {"cpu.max": "max 100000\n"})
    assert cgroup_cpu_limit(**kw) is None
    assert available_cpus(EIGHT, **kw) == 8
    kw = fake_cgroup(tmp_path, ["0::/"], {})                      # no cpu controller files
    assert available_cpus({0, 1, 2}, **kw) == 3


def test_cgroup_v1_cfs_quota(tmp_path):
    # a Docker container on cgroup v1: the listed path does not exist inside it,
    # its own cgroup is mounted at the root of the cpu hierarchy
    kw = fake_cgroup(tmp_path, ["4:memory:/docker/abc", "2:cpu,cpuacct:/docker/abc"],
                     {"cpu,cpuacct/cpu.cfs_quota_us": "250000\n",
                      "cpu,cpuacct/cpu.cfs_period_us": "100000\n"})
    assert cgroup_cpu_limit(**kw) == 2.5
    assert available_cpus(EIGHT, **kw) == 3
    unlimited = fake_cgroup(tmp_path / "u", ["1:cpu:/"], {"cpu/cpu.cfs_quota_us": "-1\n",
                                                          "cpu/cpu.cfs_period_us": "100000\n"})
    assert cgroup_cpu_limit(**unlimited) is None
    assert available_cpus(EIGHT, **unlimited) == 8


def test_this_process_may_use_at_least_one_cpu():
    assert 1 <= available_cpus() <= len(__import__("os").sched_getaffinity(0))


def blas_threads():
    """The thread count of numpy's BLAS (scipy, imported by other tests, loads a copy of its own)."""
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    return max(i["num_threads"] for i in [i for i in blas if "numpy" in i["filepath"]] or blas)


class RecordingNumpy:
    """Stands in for numpy inside rnn_core.fast: records, for every np.matmul, the
    shape of its right operand and the BLAS thread count in force at that moment."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        return getattr(np, name)

    def matmul(self, a, b, *args, **kwargs):
        self.calls.append((b.shape, blas_threads()))
        return np.matmul(a, b, *args, **kwargs)


def _spy_layer(cell, monkeypatch, free=None, usable=2):
    """Run one layer forward and backward with BLAS on 2 threads; return the
    thread counts of its per-step and of its whole-sequence products."""
    n_x, n_a, m, T = 3, 5, 7, 6          # m differs from every other dimension
    rng = np.random.default_rng(0)
    p = random_cell_parameters(rng, cell, n_x, n_a)
    x, da = rng.standard_normal((n_x, m, T)), rng.standard_normal((n_a, m, T))
    spy = RecordingNumpy()
    monkeypatch.setattr(fast, "np", spy)
    monkeypatch.setattr(threads, "available_cpus", lambda *a, **k: usable)
    monkeypatch.setattr(threads, "_POLICY", threads._Policy())     # found afresh, in this test
    if free is not None:
        monkeypatch.setattr(threads, "_free_cpus", lambda n: min(n, free))
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert blas_threads() == 2
        _, _, cache = fast.layer_forward(cell, x, p)
        fast.layer_backward(da, cache)
        assert blas_threads() == 2                       # restored after the call
    per_step = lambda shape: len(shape) == 2 and shape[1] == m       # Wh @ a⟨t−1⟩, Whᵀ @ ∂gates
    step = [t for shape, t in spy.calls if per_step(shape)]
    whole = [t for shape, t in spy.calls if not per_step(shape)]
    assert len(step) == 2 * T and len(whole) == 4        # input projection, dWh, dWx, dx
    return step, whole


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_per_step_products_use_the_free_cpus_and_one_beside_a_busy_process(cell, monkeypatch):
    step, whole = _spy_layer(cell, monkeypatch, free=2)             # idle: both CPUs
    assert set(step) == {2}
    assert set(whole) == {1}            # these tiny products are below WORK_PER_THREAD
    step, whole = _spy_layer(cell, monkeypatch, free=1)             # one CPU busy elsewhere
    assert set(step) == {1} and set(whole) == {1}
    step, _ = _spy_layer(cell, monkeypatch, free=2, usable=1)       # a 1-CPU quota (Binder)
    assert set(step) == {1}


def test_set_threads_overrides_and_restores(monkeypatch):
    rng = np.random.default_rng(0)
    p = random_cell_parameters(rng, "lstm", 3, 5)
    x, da = rng.standard_normal((3, 7, 6)), rng.standard_normal((5, 7, 6))
    spy = RecordingNumpy()
    monkeypatch.setattr(fast, "np", spy)
    monkeypatch.setattr(threads, "_POLICY", threads._Policy())     # found afresh, in this test
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        with set_threads(2):                             # every product on 2 threads
            fast.layer_backward(da, fast.layer_forward("lstm", x, p)[2])
        assert {t for _, t in spy.calls} == {2}
        spy.calls.clear()
        with set_threads(1, step=2):                     # both kinds overridden
            assert rnn_core.thread_settings()["sequence"] == 1
            fast.layer_backward(da, fast.layer_forward("lstm", x, p)[2])
        per_step = lambda shape: len(shape) == 2 and shape[1] == 7
        assert {t for shape, t in spy.calls if per_step(shape)} == {2}
        assert {t for shape, t in spy.calls if not per_step(shape)} == {1}
        spy.calls.clear()
        with set_threads(enabled=False):                 # the policy off: BLAS's own setting
            fast.layer_backward(da, fast.layer_forward("lstm", x, p)[2])
        assert {t for _, t in spy.calls} == {2}
    # the defaults are back
    assert threads._POLICY.sequence is None and threads._POLICY.step is None
    assert threads._POLICY.enabled


def test_automatic_whole_sequence_threads_never_exceed_the_usable_cpus(monkeypatch):
    monkeypatch.setattr(threads, "available_cpus", lambda *a, **k: 1)
    monkeypatch.setattr(threads, "_POLICY", threads._Policy())
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert threads.thread_settings()["sequence"] == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="positive integer"):
        set_threads(bad)
    with pytest.raises(ValueError, match="positive integer"):
        set_threads(step=bad)


def test_small_whole_sequence_products_run_on_fewer_threads(monkeypatch):
    monkeypatch.setattr(threads, "_POLICY", threads._Policy())
    monkeypatch.setattr(threads, "_free_cpus", lambda usable: usable)      # an idle machine
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        auto = threads.thread_settings()["sequence"]
        assert auto == min(2, available_cpus())
        with threads.whole_sequence(threads.WORK_PER_THREAD - 1):
            assert blas_threads() == 1
        with threads.whole_sequence(2 * threads.WORK_PER_THREAD):
            assert blas_threads() == auto
        with set_threads(2), threads.whole_sequence(1):  # a count set by hand is used as set
            assert blas_threads() == 2
        assert blas_threads() == 2


def test_the_dense_layer_follows_the_policy(monkeypatch):
    from rnn_core import layers
    seen = []

    def recording(work=None):
        seen.append(work)
        return threads.whole_sequence(work)

    monkeypatch.setattr(layers, "whole_sequence", recording)
    dense = layers.Dense(5, 3, np.random.default_rng(0))
    dense.backward(dense.forward(np.ones((5, 4, 6))))
    assert seen == [3 * 5 * 24, 3 * 5 * 24]


def test_free_cpus_count_the_other_runnable_tasks(tmp_path):
    loadavg = tmp_path / "loadavg"
    # (runnable tasks in the system, of them this process's, usable CPUs, free CPUs)
    for running, own, usable, free in [(1, 1, 2, 2), (2, 1, 2, 1), (3, 1, 2, 1), (3, 1, 8, 6),
                                       (2, 2, 2, 2), (3, 2, 2, 1), (1, 1, 1, 1)]:
        loadavg.write_text(f"0.50 0.40 0.30 {running}/345 6789\n")
        assert threads._free_cpus(usable, str(loadavg), own) == free
    assert threads._free_cpus(4, str(tmp_path / "missing")) == 4


def test_own_running_threads_are_read_from_proc(tmp_path):
    for tid, state in [(10, "R"), (11, "S"), (12, "R")]:
        (tmp_path / str(tid)).mkdir()
        (tmp_path / str(tid) / "stat").write_text(f"{tid} (python (x)) {state} 1 2 3\n")
    assert threads._own_running_threads(str(tmp_path)) == 2
    assert threads._own_running_threads() >= 1              # this very thread is running


def test_a_busy_machine_gets_one_thread_for_whole_sequence_products(monkeypatch):
    monkeypatch.setattr(threads, "_POLICY", threads._Policy())
    monkeypatch.setattr(threads, "available_cpus", lambda *a, **k: 2)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        monkeypatch.setattr(threads, "_free_cpus", lambda usable: usable)
        assert threads.thread_settings()["sequence"] == 2
        monkeypatch.setattr(threads, "_free_cpus", lambda usable: 1)       # one other busy task
        threads._POLICY._checked = -1.0
        with threads.whole_sequence(10 * threads.WORK_PER_THREAD):
            assert blas_threads() == 1
