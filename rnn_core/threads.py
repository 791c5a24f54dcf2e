"""How many BLAS threads the fast layers use, and how many CPUs this process
may really use.

A recurrent layer issues two kinds of matrix products:
- *per-step* products W (G n_a, n_a) @ a⟨t−1⟩ (n_a, m), one per time step and
  each waiting for the last: small and many. Run on several BLAS threads, the
  threads spin waiting for each other between steps, and when a core is busy
  with anything else (another program, a second notebook kernel, a container
  throttled to one CPU, as on Binder) one product waits for a thread that is
  not running: on 2 Intel Xeon cores at load average 12.9–17.0, numpy's BLAS on two
  threads everywhere made layers at T = 100, m = 64, n_a = 128 5.0–17.7× slower
  than this policy (README, "Speed"). On the same idle cores a second thread
  helps them: running them on one thread cost 14–18% of a layer.
  So they use as many threads as CPUs are **free** right now (below), checked
  when a layer's loop starts: one as soon as anything else is running.
- *whole-sequence* products (the input projection of all steps, the weight
  gradients, ∂J/∂x, a dense layer over all steps) are larger: they may use
  several threads, one per ``WORK_PER_THREAD`` multiply-adds.

Neither kind uses more than :func:`available_cpus` — the CPUs of this
process's affinity mask and its cgroup CPU quota (what Binder and Kubernetes
set; ``os.cpu_count()`` reports the host's cores there) — and, unless set by
hand, no more than are free right now: each runnable task of another process
(/proc/loadavg's count less this process's running threads) takes one.

The policy uses threadpoolctl (as scikit-learn does) on numpy's BLAS, and is
entered once around each loop, not once per step (switching costs a few µs).
Without threadpoolctl installed it does nothing.

Override it with one call, for the rest of the session or, as a context
manager, for a block::

    rnn_core.set_threads(4)              # up to 4 threads, whatever else runs
    with rnn_core.set_threads(1): ...    # everything on one thread, then restore
    rnn_core.set_threads(None, step=1)   # per-step products on one thread only
    rnn_core.set_threads(None)           # back to automatic
    rnn_core.set_threads(enabled=False)  # leave numpy's BLAS untouched

Introduced in the chapter *The LSTM*, section "The same layer, fast".
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

try:
    from threadpoolctl import ThreadpoolController
except ImportError:                                      # pragma: no cover
    ThreadpoolController = None

__all__ = ["available_cpus", "cgroup_cpu_limit", "set_threads", "thread_settings"]

_V1_CPU_DIRS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


def _ancestors(root, path):
    """root/path, then each parent directory up to root itself."""
    parts = [p for p in path.strip("/").split("/") if p]
    return [root.joinpath(*parts[:k]) for k in range(len(parts), -1, -1)]


def _read_text(path):
    """The text of a file under /proc or /sys, "" when it cannot be read."""
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return ""


def cgroup_cpu_limit(cgroup_root="/sys/fs/cgroup", proc_cgroup="/proc/self/cgroup"):
    """The CPU quota of this process's cgroup in CPUs (e.g. 1.5), or None when
    there is none. Reads cgroup v2 ``cpu.max`` ("quota period" or "max period")
    and cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (−1: no quota) in
    the process's cgroup and every ancestor up to the root (inside a container
    the listed path may not exist; its root is then the container's cgroup).
    The tightest limit found wins."""
    root = Path(cgroup_root)
    v2_paths, v1_paths = [], []
    lines = _read_text(proc_cgroup).splitlines()
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            v2_paths.append(path)
        elif "cpu" in controllers.split(","):
            v1_paths.append(path)
    if not lines:                                         # no /proc: look at the root only
        v2_paths, v1_paths = ["/"], ["/"]
    limits = []
    for path in v2_paths:
        for d in _ancestors(root, path):
            words = _read_text(d / "cpu.max").split()
            if words and len(words) == 2 and words[0] != "max":
                limits.append(int(words[0]) / int(words[1]))
    for path in v1_paths:
        for name in _V1_CPU_DIRS:
            for d in _ancestors(root / name, path):
                quota = _read_text(d / "cpu.cfs_quota_us").split()
                period = _read_text(d / "cpu.cfs_period_us").split()
                if quota and period and int(quota[0]) > 0 and int(period[0]) > 0:
                    limits.append(int(quota[0]) / int(period[0]))
    return min(limits) if limits else None


def available_cpus(affinity=None, cgroup_root="/sys/fs/cgroup", proc_cgroup="/proc/self/cgroup"):
    """How many CPUs this process may use: the CPUs of its affinity mask
    (``os.sched_getaffinity``; ``affinity`` replaces it, for tests), capped by
    the cgroup quota rounded up (1.5 CPUs → 2), and at least 1."""
    if affinity is None:
        try:
            affinity = os.sched_getaffinity(0)
        except AttributeError:                            # not Linux
            affinity = range(os.cpu_count() or 1)
    n = max(1, len(affinity))
    quota = cgroup_cpu_limit(cgroup_root, proc_cgroup)
    if quota is not None:
        n = min(n, max(1, math.ceil(quota)))
    return n


def _own_running_threads(task_dir="/proc/self/task"):
    """How many of this process's threads are running or runnable (state R),
    spinning BLAS and OpenMP workers included; at least 1 (the caller)."""
    n = 0
    try:
        tids = os.listdir(task_dir)
    except OSError:
        return 1
    for tid in tids:
        try:
            with open(os.path.join(task_dir, tid, "stat"), "rb") as f:
                data = f.read()
        except OSError:
            continue
        end = data.rfind(b")")
        n += data[end + 2:end + 3] == b"R"
    return max(1, n)


def _free_cpus(usable, loadavg="/proc/loadavg", own=None):
    """``usable`` minus the runnable tasks of other processes: the fourth field of
    /proc/loadavg ("running/total") less this process's own running threads."""
    try:
        running = int(Path(loadavg).read_text().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return usable
    own = _own_running_threads() if own is None else own
    return max(1, usable - max(0, running - own))


class _Policy:
    def __init__(self):
        self.enabled = True
        self.sequence = None          # None: automatic
        self.step = None              # None: as sequence when set, else automatic
        self._libs = None
        self._auto = None

    def libs(self):
        """numpy's BLAS libraries (threadpoolctl controllers), found once."""
        if self._libs is None:
            if ThreadpoolController is None:
                self._libs = []
            else:
                blas = list(ThreadpoolController().select(user_api="blas").lib_controllers)
                # numpy's own BLAS (a wheel bundles it in numpy.libs); scipy's or
                # another package's copy is not what np.matmul calls
                self._libs = [lib for lib in blas if "numpy" in lib.filepath] or blas
            # automatic whole-sequence count: BLAS's own default, capped by the CPUs we may use
            default = max([lib.num_threads for lib in self._libs] or [1])
            self._auto = max(1, min(default, available_cpus()))
        return self._libs

    def threads(self, kind):
        """The BLAS thread count for 'step' or 'sequence' products, or None (leave as is)."""
        if not self.enabled or not self.libs():
            return None
        if kind == "step" and self.step is not None:
            return self.step
        if self.sequence is not None:
            return self.sequence
        return max(1, min(self._auto, self.free_cpus()))

    _checked, _free = -1.0, None

    def free_cpus(self):
        """CPUs not busy with other work right now: the usable CPUs minus the
        runnable tasks of other processes (read at most every 0.2 s)."""
        now = time.monotonic()
        if now - self._checked > 0.2:
            self._checked, self._free = now, _free_cpus(self._auto)
        return self._free


_POLICY = _Policy()


class _Limit:
    """Run a block with numpy's BLAS on the policy's thread count for ``kind``,
    touching the libraries only when their count differs (a few µs)."""

    __slots__ = ("kind", "work", "_restore")

    def __init__(self, kind, work=None):
        self.kind, self.work, self._restore = kind, work, None

    def __enter__(self):
        n = _POLICY.threads(self.kind)
        if n is not None and self.work is not None and _POLICY.sequence is None:
            n = max(1, min(n, int(self.work) // WORK_PER_THREAD))    # small: fewer threads
        if n is not None:
            changed = []
            for lib in _POLICY.libs():
                old = lib.get_num_threads()
                if old != n:
                    lib.set_num_threads(n)
                    changed.append((lib, old))
            self._restore = changed or None
        return self

    def __exit__(self, *exc):
        if self._restore is not None:
            for lib, old in self._restore:
                lib.set_num_threads(old)
            self._restore = None
        return False


def per_step():
    """Context for the per-step (sequential) products: the free CPUs, one as
    soon as another process is running."""
    return _Limit("step")


# Multiply-adds per BLAS thread below which a product runs on fewer threads
# (about OpenBLAS's own threshold): below it a second thread saves nothing.
# Larger values cost idle layers: the input projection is T products of
# G n_a (n_x + 1) m each, 0.5M (RNN) to 2.1M (LSTM) at T = 100, m = 64, n_x = 64,
# n_a = 128; with 4M here they ran on one thread (4-8% of the layer's time on
# two idle Intel Xeon cores, measured when this was changed; not recorded).
WORK_PER_THREAD = 2 ** 18


def whole_sequence(work=None):
    """Context for products over all steps: up to the free CPUs (as
    :func:`per_step`, unless set by hand), and one thread per
    ``WORK_PER_THREAD`` multiply-adds of ``work`` (the m·n·k of one BLAS call;
    None: no size limit)."""
    return _Limit("sequence", work)


class _Settings:
    """What :func:`set_threads` returns: a context manager that restores the
    settings in force before the call."""

    def __init__(self, previous):
        self.previous = previous

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        p = self.previous
        _POLICY.enabled, _POLICY.sequence, _POLICY.step = p["enabled"], p["sequence"], p["step"]
        return False

    def __repr__(self):
        return f"thread settings {thread_settings()} (previous: {self.previous})"


def thread_settings():
    """The policy in force: {'enabled', 'sequence', 'step', 'available_cpus'};
    'sequence' and 'step' are the thread counts the two kinds of product would
    use now (automatic or set)."""
    _POLICY.libs()
    return {"enabled": _POLICY.enabled,
            "sequence": _POLICY.threads("sequence"),        # None when the policy is off
            "step": _POLICY.threads("step"),
            "available_cpus": available_cpus()}


def set_threads(n=None, *, step=None, enabled=True):
    """Set the fast layers' BLAS threads: ``n`` for every product (None:
    automatic, the BLAS default capped by :func:`available_cpus` and by the CPUs
    free right now), ``step`` for the per-step recurrent products alone (None:
    as ``n``), ``enabled=False`` to leave numpy's BLAS as it is. Use it as a
    plain call or as a context manager (``with set_threads(1): ...``) to
    restore the previous settings afterwards."""
    for name, value in (("n", n), ("step", step)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive integer (threads) or None, got {value!r}")
    previous = {"enabled": _POLICY.enabled, "sequence": _POLICY.sequence, "step": _POLICY.step}
    _POLICY.enabled, _POLICY.sequence, _POLICY.step = bool(enabled), n, step
    return _Settings(previous)
