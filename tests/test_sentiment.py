"""The PyTorch sentiment model: it trains on a small synthetic archive, its
trained weights give the same logits in rnn_core, and the training command
records its run with provenance."""
import json
import shlex

import numpy as np
import pytest
import torch

from rnn_core.artifacts import ARTIFACTS, PROVENANCE_FIELDS, load_artifact
from rnn_core.imdb import load_imdb, pad
from rnn_core.sentiment import (Config, SentimentNet, evaluate, fit, main, parse_command, prepare,
                                to_rnn_core)
from tests.test_imdb_data import make_archive

WORDS = {1: ["great", "wonderful", "loved", "superb"], 0: ["awful", "boring", "hated", "dull"]}
FILLER = ["the", "film", "was", "and", "a", "plot", "actor", "scene", "it", "."]


def synthetic_reviews(n_per_class, rng):
    reviews = {}
    for split in ("train", "test"):
        for label, pol in ((1, "pos"), (0, "neg")):
            for i in range(n_per_class):
                words = list(rng.choice(FILLER, rng.integers(5, 25)))
                words.insert(int(rng.integers(len(words))), str(rng.choice(WORDS[label])))
                reviews[(split, pol, i, 8 if label else 2)] = " ".join(words) + "<br />"
    return reviews


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = tmp_path_factory.mktemp("imdb") / "small.tar.gz"
    return make_archive(path, synthetic_reviews(80, np.random.default_rng(0)), extra=False)


TINY = dict(embed_dim=16, hidden=16, epochs=6, patience=6, batch_size=16, lr=1e-2, dropout=0.0,
            min_freq=1, max_len=40)


def test_a_small_model_learns_on_the_cpu(archive):
    c = Config(cell="gru", bidirectional=False, pooling="mean", **dict(TINY, epochs=8, patience=8))
    prepared = prepare(load_imdb(archive), c)
    net, history = fit(prepared, c, device="cpu", progress=False)
    acc, logits = evaluate(net, *prepared["test"], torch.device("cpu"))
    assert acc > 0.9, history
    assert logits.shape == (160, 2) and len(history["val_accuracy"]) >= 1


@pytest.mark.parametrize("cell,bidirectional,pooling,layers",
                         [("lstm", True, "mean", 1), ("lstm", True, "last", 2),
                          ("gru", False, "mean", 1), ("rnn", False, "last", 1)])
def test_trained_weights_give_the_same_logits_in_rnn_core(cell, bidirectional, pooling, layers):
    torch.manual_seed(0)
    c = Config(cell=cell, bidirectional=bidirectional, pooling=pooling, num_layers=layers,
               embed_dim=6, hidden=5, dropout=0.2)
    net = SentimentNet(30, c).eval()
    rng = np.random.default_rng(1)
    seqs = [rng.integers(1, 30, n) for n in (7, 3, 11, 1, 5)]
    ids, lengths, mask = pad(seqs)
    with torch.no_grad():
        ref32 = net(torch.from_numpy(ids.T.copy()), torch.from_numpy(lengths)).numpy()
        ref64 = net.double()(torch.from_numpy(ids.T.copy()), torch.from_numpy(lengths)).numpy()
    ours = to_rnn_core(net).forward(ids, mask).T
    np.testing.assert_allclose(ours, ref64, rtol=0, atol=1e-10)      # exact in float64
    np.testing.assert_allclose(ours, ref32, rtol=1e-4, atol=1e-5)    # float32 rounding only


def test_training_command_records_a_run(archive, tmp_path):
    path = main(["--data", str(archive), "--dir", str(tmp_path), "--name", "tiny", "--cell", "lstm",
                 "--no-bidirectional", "--epochs", "1", "--embed-dim", "8", "--hidden", "8",
                 "--min-freq", "1", "--save-weights"])
    data = json.loads(path.read_text())
    assert all(f in data["provenance"] for f in PROVENANCE_FIELDS + ("device", "torch", "seed"))
    assert data["config"]["bidirectional"] is False and data["config"]["hidden"] == 8
    assert set(data["config"]) == set(Config.__dataclass_fields__)
    assert 0 <= data["test_accuracy"] <= 1 and data["baselines"]["majority"] == 0.5
    assert 0.5 <= data["baselines"]["tfidf_logistic_regression"] <= 1
    assert path.with_suffix(".pt").exists()


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="cell must be one of 'rnn', 'gru', 'lstm', got 'tcn'"):
        SentimentNet(10, Config(cell="tcn"))
    with pytest.raises(ValueError, match="pooling must be 'last' or 'mean', got 'max'"):
        SentimentNet(10, Config(pooling="max"))


@pytest.mark.parametrize("path", sorted(ARTIFACTS.glob("imdb_*.json")), ids=lambda p: p.stem)
def test_recorded_runs_match_the_code(path):
    """Every recorded full run: complete provenance, and the command it records,
    parsed by today's code, gives exactly the configuration it records."""
    data = load_artifact(path.name)
    prov = data["provenance"]
    assert all(prov.get(f) not in (None, "") for f in PROVENANCE_FIELDS + ("device", "torch"))
    assert "cuda" in prov and prov["seed"] == data["config"]["seed"]
    words = shlex.split(prov["command"])
    assert words[:3] == ["python", "-m", "rnn_core.sentiment"]
    _, config = parse_command(words[3:])
    assert data["config"] == json.loads(json.dumps(config.__dict__))
    assert config.train_subset is None, "a full run trains on every training review"
    assert data["train_reviews"] == round(25_000 * (1 - config.val_fraction))
    history = data["history"]
    assert 1 <= len(history["epoch"]) <= config.epochs
    assert all(len(v) == len(history["epoch"]) for v in history.values())
    assert data["val_accuracy"] == max(history["val_accuracy"])
    assert 0.5 < data["test_accuracy"] <= 1 and data["device"] == prov["device"]
