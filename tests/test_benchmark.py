"""The layer benchmark records its table with provenance, and the recorded
table that the LSTM chapter shows covers every cell, size and dtype of the code."""
import json
import os

import pytest

pytest.importorskip("torch")
from benchmarks import bench_layers  # noqa: E402
from rnn_core.artifacts import PROVENANCE_FIELDS, load_artifact  # noqa: E402

ROW_KEYS = {"dtype", "size", "T", "m", "n_x", "n_a", "cell", "numpy_s", "torch_s",
            "products_s", "floor_s", "numpy_without_policy_s", "torch_products_s",
            "torch_one_thread_s", "contention"}


def test_benchmark_records_its_table(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_layers, "SETTLE_S", 0.0)
    threads = bench_layers.torch.get_num_threads()
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
        assert row["torch_s"] > 0 and 0 < row["torch_products_s"] < row["torch_s"]
        assert row["torch_one_thread_s"] > 0
    assert set(data["matmul_peak_flops"]) == {"float32", "float64"}
    assert bench_layers.torch.get_num_threads() == threads     # the one-thread column restores it


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


def test_contention_mode_runs_beside_a_busy_process_and_stops_it(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_layers, "SETTLE_S", 0.0)
    with bench_layers.busy_process() as busy:
        assert busy.poll() is None                              # running,
        assert os.sched_getaffinity(busy.pid) == {busy.cpu}     # pinned to one CPU
    assert busy.poll() is not None                              # and stopped
    path = bench_layers.main(["--quick", "--contention", "--save"], directory=tmp_path,
                             sizes=[("tiny", 3, 2, 3, 4)])
    data = json.loads(path.read_text())
    assert path.name == bench_layers.CONTENTION_ARTIFACT
    assert "busy process pinned to CPU" in data["provenance"]["contention"]
    assert [(r["cell"], r["contention"]) for r in data["rows"]] == [
        (c, busy) for d in ("float32", "float64") for c in ("rnn", "gru", "lstm") for busy in (True, False)]
    assert data["provenance"]["cpu"] and data["provenance"]["usable_cpus"] >= 1


def test_chapter_timing_records_seconds_and_slowest_cells(tmp_path, monkeypatch):
    import nbformat
    from benchmarks import bench_chapters
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time; time.sleep(0.3)"),
                                         nbformat.v4.new_code_cell("x = 1")])
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    nbformat.write(nb, good)
    nb.cells.append(nbformat.v4.new_code_cell("raise ValueError('broken chapter')"))
    nbformat.write(nb, bad)
    monkeypatch.setattr(bench_chapters, "chapter_paths", lambda: [good, bad])
    path = bench_chapters.main(["--save", "--keep", str(tmp_path / "out")], directory=tmp_path)
    data = json.loads(path.read_text())
    assert all(data["provenance"].get(f) not in (None, "") for f in PROVENANCE_FIELDS)
    rows = {r["chapter"]: r for r in data["chapters"]}
    assert rows["good"]["error"] is None and "broken chapter" in rows["bad"]["error"]
    slowest = rows["good"]["slowest_cells"][0]
    assert slowest["cell"] == 0 and 0.3 <= slowest["seconds"] <= rows["good"]["seconds"]
    assert (tmp_path / "out" / "good.ipynb").exists()


def test_recorded_contention_benchmark_has_both_tables_and_its_processor():
    data = load_artifact(bench_layers.CONTENTION_ARTIFACT)
    prov = data["provenance"]
    assert all(prov.get(f) not in (None, "") for f in PROVENANCE_FIELDS), prov
    assert "(with uncommitted changes)" not in prov["commit"]
    assert prov["cpu"] and "busy process" in prov["contention"] and prov["load_average_before"]
    pairs = {}
    for r in data["rows"]:
        assert set(r) == ROW_KEYS
        pairs.setdefault((r["dtype"], r["size"], r["cell"]), set()).add(r["contention"])
    assert pairs and all(v == {True, False} for v in pairs.values())
