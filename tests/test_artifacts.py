"""Recorded artifacts carry their provenance, and the configuration they were
made with is the one in the code that the chapters run."""
import json

import numpy as np
import pytest

from rnn_core.artifacts import PROVENANCE_FIELDS, load_artifact, save_artifact
from rnn_core.showdown import CELLS, CONFIG, TASKS, datasets, final_runs, main, run
from rnn_core.threads import set_threads


def test_showdown_artifact_matches_the_code():
    data = load_artifact("showdown.json")
    prov = data["provenance"]
    assert all(prov.get(field) not in (None, "") for field in PROVENANCE_FIELDS), prov
    assert prov["quick"] is False
    assert "uncommitted" not in prov["commit"], prov["commit"]     # reproducible from its commit
    assert data["config"] == json.loads(json.dumps(CONFIG))
    runs = [(r["task"], r["T"], r["cell"], r["seed"], r["learning_rate"]) for r in data["results"]]
    assert len(runs) == len(set(runs))
    chosen = {(s["task"], s["T"], s["cell"]): s["learning_rate"] for s in data["selections"]}
    expected = set()
    for task in TASKS:
        for T in CONFIG[task]["lengths"]:
            for cell in CELLS:
                lr = chosen[(task, T, cell)]
                expected |= {(task, T, cell, CONFIG["tuning_seed"], rate)
                             for rate in CONFIG["learning_rates"]}
                expected |= {(task, T, cell, seed, lr) for seed in CONFIG["seeds"]}
    assert set(runs) == expected
    for s in data["selections"]:                  # the rate chosen has the lowest validation loss
        losses = [np.inf if v is None else v for v in s["validation_losses"]]
        assert s["learning_rate"] == CONFIG["learning_rates"][int(np.argmin(losses))]
        assert len(final_runs(data, s["task"], s["T"], s["cell"])) == len(CONFIG["seeds"])


def test_showdown_record_is_reproduced_by_todays_code():
    """Re-run one recorded entry per cell (adding problem, shortest length,
    seed 1 at the chosen rate: a few seconds each). Same code, data and seeds
    give the same numbers up to floating-point rounding, which a different
    BLAS or CPU may change in the last digits and 500 Adam steps may amplify;
    rtol 1e-6 allows that, while any change to the data, the initialisation,
    the rate or the model moves the test MSE by far more (percent)."""
    data = load_artifact("showdown.json")
    task, T = "adding", CONFIG["adding"]["lengths"][0]
    validation, test = datasets(task, T, CONFIG)
    with set_threads(1):
        for cell in CELLS:
            recorded = next(r for r in final_runs(data, task, T, cell) if r["seed"] == 1)
            again = run(task, T, cell, 1, recorded["learning_rate"], CONFIG[task], validation, test)
            for key in ("validation_loss", "test_metric", "final_train_loss"):
                assert again[key] == pytest.approx(recorded[key], rel=1e-6), (cell, key)


def test_showdown_script_runs_and_records_in_parts(tmp_path):
    parts = [main(["--quick", "--dir", str(tmp_path), "--output", "a.json", "--tasks", "adding"]),
             main(["--quick", "--dir", str(tmp_path), "--output", "b.json",
                   "--tasks", "copy", "reber"])]
    path = main(["--merge", "a.json", "b.json", "--dir", str(tmp_path), "--output", "quick.json"])
    data = json.loads(path.read_text())
    prov = data["provenance"]
    assert prov["quick"] is True and prov["tasks"] == list(TASKS) and len(prov["parts"]) == 2
    assert prov["wall_time_s"] == max(p["provenance"]["wall_time_s"]
                                      for p in map(lambda q: json.loads(q.read_text()), parts))
    quick = data["config"]
    per_cell = len(quick["learning_rates"]) + len(quick["seeds"]) - 1     # the tuning seed's run is reused
    assert len(data["results"]) == 3 * 3 * per_cell      # three tasks, three cells, one length each
    assert len(data["selections"]) == 3 * 3
    assert {r["cell"] for r in data["results"]} == set(CELLS)
    with pytest.raises(ValueError, match="more than one part"):
        main(["--merge", "a.json", "a.json", "--dir", str(tmp_path), "--output", "bad.json"])


def test_artifacts_without_provenance_are_refused(tmp_path):
    with pytest.raises(ValueError, match="lacks provenance fields: created"):
        save_artifact("x.json", {"provenance": {}}, directory=tmp_path)
    with pytest.raises(FileNotFoundError, match="no recorded artifact nothing.json"):
        load_artifact("nothing.json")
