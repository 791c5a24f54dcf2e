"""Recorded artifacts carry their provenance, and the configuration they were
made with is the one in the code that the chapters run."""
import json

import pytest

from rnn_core.artifacts import PROVENANCE_FIELDS, load_artifact, save_artifact
from rnn_core.showdown import CELLS, CONFIG, main


def test_showdown_artifact_matches_the_code():
    data = load_artifact("showdown.json")
    prov = data["provenance"]
    assert all(prov.get(field) not in (None, "") for field in PROVENANCE_FIELDS), prov
    assert prov["quick"] is False
    assert data["config"] == json.loads(json.dumps(CONFIG))
    runs = {(r["task"], r["T"], r["cell"], r["seed"]) for r in data["results"]}
    expected = {(task, T, cell, seed) for task in ("adding", "copy", "reber")
                for T in CONFIG[task]["lengths"] for cell in CELLS for seed in CONFIG["seeds"]}
    assert runs == expected


def test_showdown_script_runs_and_records(tmp_path):
    path = main(["--quick", "--dir", str(tmp_path), "--output", "quick.json"])
    data = json.loads(path.read_text())
    assert data["provenance"]["quick"] is True
    assert len(data["results"]) == 3 * 3            # three tasks, three cells, one length and seed
    assert {r["cell"] for r in data["results"]} == set(CELLS)


def test_artifacts_without_provenance_are_refused(tmp_path):
    with pytest.raises(ValueError, match="lacks provenance fields: created"):
        save_artifact("x.json", {"provenance": {}}, directory=tmp_path)
    with pytest.raises(FileNotFoundError, match="no recorded artifact nothing.json"):
        load_artifact("nothing.json")
