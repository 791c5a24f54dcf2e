"""The layer benchmark records its table with provenance, and the recorded
table that the LSTM chapter shows covers every cell, size and dtype of the code."""
import json
import os

import pytest

pytest.importorskip("torch")
from benchmarks import bench_layers  # noqa: E402
from rnn_core.artifacts import PROVENANCE_FIELDS, load_artifact  # noqa: E402

ROW_KEYS = {"dtype", "size", "T", "m", "n_x", "n_a", "cell", "numpy_s", "torch_s",
            "products_s", "floor_s", "numpy_without_policy_s"}


def test_benchmark_records_its_table(tmp_path):
    path = bench_layers.main(["--quick", "--save"], directory=tmp_path,
                             sizes=[("tiny", 3, 2, 3, 4)])
    data = json.loads(path.read_text())
    assert path.name == bench_layers.ARTIFACT
    assert all(data["provenance"].get(f) not in (None, "") for f in PROVENANCE_FIELDS)
    assert data["provenance"]["quick"] is True and data["provenance"]["torch"]
    assert [(r["dtype"], r["cell"]) for r in data["rows"]] == [
        (d, c) for d in ("float32", "float64") for c in ("rnn", "gru", "lstm")]
    for row in data["rows"]:
        assert set(row) == ROW_KEYS
        assert 0 < row["floor_s"] < row["products_s"] < row["numpy_s"]
        assert row["torch_s"] > 0
    assert set(data["matmul_peak_flops"]) == {"float32", "float64"}


def test_recorded_benchmark_matches_the_code():
    data = load_artifact(bench_layers.ARTIFACT)
    prov = data["provenance"]
    assert all(prov.get(f) not in (None, "") for f in PROVENANCE_FIELDS), prov
    assert prov["quick"] is False
    recorded = {(r["dtype"], r["size"], r["cell"]): (r["T"], r["m"], r["n_x"], r["n_a"])
                for r in data["rows"]}
    expected = {(d, name, c): (T, m, n_x, n_a) for d in ("float32", "float64")
                for name, T, m, n_x, n_a in bench_layers.SIZES for c in ("rnn", "gru", "lstm")}
    assert recorded == expected


def test_contention_mode_runs_beside_a_busy_process_and_stops_it(tmp_path):
    with bench_layers.busy_process() as busy:
        assert busy.poll() is None                              # running,
        assert os.sched_getaffinity(busy.pid) == {busy.cpu}     # pinned to one CPU
    assert busy.poll() is not None                              # and stopped
    path = bench_layers.main(["--quick", "--contention", "--save"], directory=tmp_path,
                             sizes=[("tiny", 3, 2, 3, 4)])
    data = json.loads(path.read_text())
    assert path.name == bench_layers.CONTENTION_ARTIFACT
    assert "busy process pinned to CPU" in data["provenance"]["contention"]
    assert data["provenance"]["cpu"] and data["provenance"]["usable_cpus"] >= 1
