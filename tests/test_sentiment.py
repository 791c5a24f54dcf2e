"""The PyTorch sentiment model and its recipe: it trains on a small synthetic
archive, its trained weights give the same logits in rnn_core (every pooling,
every cell, with and without recurrence), the forget-gate bias and weight decay
are where the recipe says, and both commands — one run, and the GPU sweep run
here on the CPU with a tiny grid — record complete artifacts."""
import dataclasses
import hashlib
import json
import math
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rnn_core.artifacts import ARTIFACTS, PROVENANCE_FIELDS, load_artifact
from rnn_core.imdb import load_imdb, pad
from rnn_core.sentiment import (GRIDS, PRESETS, Config, SentimentNet, _optimizer, config_from, cut,
                                evaluate, fit, load_weights, lr_factor, main, numpy_logits,
                                parse_command, parse_sweep, prepare, round_to_float16,
                                save_weights, to_rnn_core)
from tests.test_imdb_data import make_archive

ROOT = Path(__file__).resolve().parents[1]
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
            embed_dropout=0.0, word_dropout=0.0, min_freq=1, max_len=40, warmup=0.0)


@pytest.mark.parametrize("cell,pooling", [("gru", "mean"), ("none", "max")])
def test_a_small_model_learns_on_the_cpu(archive, cell, pooling):
    c = Config(cell=cell, bidirectional=False, pooling=pooling,
               **dict(TINY, epochs=15, patience=15, schedule="constant"))
    prepared = prepare(load_imdb(archive), c)
    net, history = fit(prepared, c, device="cpu", progress=False)
    acc, loss, logits = evaluate(net, *prepared["test"], torch.device("cpu"))
    assert acc > 0.9, history
    assert logits.shape == (160, 2) and loss < math.log(2)
    assert history["best_epoch"] == 1 + int(np.argmin(history["val_loss"]))


MODELS = [("lstm", True, "mean", 1), ("lstm", True, "last", 2), ("lstm", True, "maxmean", 1),
          ("lstm", False, "max", 2), ("gru", False, "mean", 1), ("gru", True, "maxmean", 1),
          ("rnn", False, "last", 1), ("none", False, "maxmean", 1), ("none", False, "mean", 1)]


@pytest.mark.parametrize("cell,bidirectional,pooling,layers", MODELS)
def test_trained_weights_give_the_same_logits_in_rnn_core(cell, bidirectional, pooling, layers):
    torch.manual_seed(0)
    c = Config(cell=cell, bidirectional=bidirectional, pooling=pooling, num_layers=layers,
               embed_dim=6, hidden=5, dropout=0.2)
    net = SentimentNet(30, c)
    with torch.no_grad():                      # as after training: no parameter left at its init
        for p in net.parameters():
            p.add_(0.3 * torch.randn_like(p))
    net.eval()
    rng = np.random.default_rng(1)
    seqs = [rng.integers(1, 30, n) for n in (7, 3, 11, 1, 5)]
    ids, lengths, mask = pad(seqs)
    tids, tlens = torch.from_numpy(ids.T.copy()), torch.from_numpy(lengths)
    with torch.no_grad():
        ref32 = net(tids, tlens).numpy()
        ref64 = SentimentNet(30, c).double().eval()
        ref64.load_state_dict(net.state_dict())
        ref64 = ref64(tids, tlens).numpy()
    ours = to_rnn_core(net).forward(ids, mask).T
    np.testing.assert_allclose(ours, ref64, rtol=0, atol=1e-10)      # exact in float64
    ours32 = to_rnn_core(net, np.float32).forward(ids, mask.astype(np.float32)).T
    assert ours32.dtype == np.float32
    np.testing.assert_allclose(ours32, ref32, rtol=0, atol=1e-5)     # float32 rounding only
    np.testing.assert_allclose(numpy_logits(to_rnn_core(net), seqs, batch_size=2), ref64,
                               rtol=0, atol=1e-10)                   # batching by length


def test_the_forget_gate_bias_is_exactly_b_f_in_both_libraries():
    c = Config(cell="lstm", bidirectional=True, num_layers=2, embed_dim=6, hidden=5, forget_bias=1.0)
    net = SentimentNet(30, c)
    for name, p in net.rnn.named_parameters():
        if name.startswith("bias"):
            f = p[5:10].detach()
            expected = 1.0 if name.startswith("bias_ih") else 0.0      # PyTorch sums the two
            assert torch.all(f == expected), name
            assert torch.all(p[:5] == 0) and torch.all(p[10:] == 0), name
    model = to_rnn_core(net)
    for key in ("rnn.l0.bf", "rnn.l0_reverse.bf", "rnn.l1.bf", "rnn.l1_reverse.bf"):
        np.testing.assert_array_equal(model.parameters[key], 1.0)
    np.testing.assert_array_equal(model.parameters["rnn.l0.bi"], 0.0)


def test_weight_decay_is_off_for_embeddings_and_biases():
    net = SentimentNet(30, Config(embed_dim=6, hidden=5, weight_decay=0.05))
    decay, no_decay = _optimizer(net, Config(weight_decay=0.05)).param_groups
    named = {id(p): n for n, p in net.named_parameters()}
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert sorted(named[id(p)] for p in decay["params"]) == \
        sorted(["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.weight_ih_l0_reverse",
                "rnn.weight_hh_l0_reverse", "out.weight"])
    assert "embedding.weight" in {named[id(p)] for p in no_decay["params"]}


def test_warm_up_then_cosine_decay():
    c = Config(warmup=0.1, schedule="cosine")
    f = [lr_factor(s, 100, c) for s in range(100)]
    np.testing.assert_allclose(f[:10], np.arange(1, 11) / 10)       # linear warm-up
    assert f[10] == 1.0 and all(a >= b for a, b in zip(f[10:], f[11:]))
    assert f[99] < 1e-3 and lr_factor(55, 100, c) == pytest.approx(0.5)
    assert lr_factor(50, 100, Config(warmup=0.0, schedule="constant")) == 1.0


def test_cut_keeps_the_beginning_or_both_ends():
    ids = np.arange(10)
    np.testing.assert_array_equal(cut(ids, 4, "head"), [0, 1, 2, 3])
    np.testing.assert_array_equal(cut(ids, 5, "head_tail"), [0, 1, 2, 8, 9])
    assert cut(ids, None) is ids and cut(ids, 20) is ids


def test_kept_weights_round_trip(tmp_path):
    c = Config(cell="lstm", embed_dim=6, hidden=5, pooling="maxmean")
    net = SentimentNet(30, c).eval()
    from rnn_core.imdb import Vocabulary
    vocab = Vocabulary([["a", "b", "c"]], min_freq=1)
    vocab.itos += [f"w{i}" for i in range(30 - len(vocab))]
    info = save_weights(net, vocab, c, tmp_path / "m.npz")
    assert info["files"] == ["m.npz"]
    assert info["sha256"] == hashlib.sha256((tmp_path / "m.npz").read_bytes()).hexdigest()
    parts = save_weights(net, vocab, c, tmp_path / "p.npz", part_bytes=1000)   # in parts
    assert len(parts["files"]) == math.ceil(parts["bytes"] / 1000) > 1
    assert parts["files"][:2] == ["p.part0.npz", "p.part1.npz"] and parts["sha256"] == info["sha256"]
    net16 = round_to_float16(net)
    for name in ("m.npz", "p.npz"):
        loaded, v2, c2 = load_weights(tmp_path / name, sha256=info["sha256"])
        assert c2 == c and v2.itos == vocab.itos
        for (k, a), b in zip(net16.state_dict().items(), loaded.state_dict().values()):
            assert torch.equal(a, b), k
    with pytest.raises(ValueError, match="does not match its recorded sha256"):
        load_weights(tmp_path / "m.npz", sha256="0" * 64)
    # saved again over an earlier save: nothing of the earlier one is read back
    save_weights(net, vocab, c, tmp_path / "m.npz", part_bytes=1000)      # parts over a file
    assert not (tmp_path / "m.npz").exists()
    assert load_weights(tmp_path / "m.npz", sha256=info["sha256"])[2] == c
    save_weights(net, vocab, c, tmp_path / "p.npz")                       # a file over parts
    assert sorted(p.name for p in tmp_path.glob("p*.npz")) == ["p.npz"]


def test_a_diverged_training_says_so(archive, monkeypatch):
    """Every validation loss NaN: a clear error, not a failure to load no weights."""
    import rnn_core.sentiment as sentiment
    monkeypatch.setattr(sentiment, "evaluate", lambda *a, **k: (0.5, float("nan"), None))
    c = Config(cell="gru", bidirectional=False, pooling="mean", **dict(TINY, epochs=2))
    with pytest.raises(FloatingPointError, match="no finite validation loss in 2 epochs"):
        fit(prepare(load_imdb(archive), c), c, device="cpu", progress=False)


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="cell must be one of 'rnn', 'gru', 'lstm', 'none', got 'tcn'"):
        SentimentNet(10, Config(cell="tcn"))
    with pytest.raises(ValueError, match="pooling must be one of 'last', 'mean', 'max', 'maxmean', "
                                         "got 'sum'"):
        SentimentNet(10, Config(pooling="sum"))
    with pytest.raises(ValueError, match="no last state"):
        SentimentNet(10, Config(cell="none", pooling="last"))
    with pytest.raises(ValueError, match="word_dropout must be in"):
        SentimentNet(10, Config(word_dropout=1.0))
    with pytest.raises(ValueError, match="preset must be one of"):
        config_from("huge")


def test_presets_and_command_line():
    _, c = parse_command(["--preset", "oh2lstmp", "--lr", "1e-3", "--max-len", "none"])
    assert c == config_from("oh2lstmp", lr=1e-3) and c.hidden == 500 and c.pooling == "max"
    assert parse_command([])[1] == Config()
    assert parse_command(["--max-len", "900", "--no-tf32"])[1] == Config(max_len=900, tf32=False)
    for grid in GRIDS.values():
        for name, preset, over in grid:
            assert set(over) <= set(Config.__dataclass_fields__) and preset in PRESETS


def test_training_command_records_a_run(archive, tmp_path):
    path = main(["--data", str(archive), "--dir", str(tmp_path), "--name", "tiny", "--cell", "lstm",
                 "--no-bidirectional", "--epochs", "1", "--embed-dim", "8", "--hidden", "8",
                 "--min-freq", "1", "--save-weights"])
    data = json.loads(path.read_text())
    assert all(f in data["provenance"] for f in PROVENANCE_FIELDS + ("device", "torch", "seed", "dtype"))
    assert data["config"]["bidirectional"] is False and data["config"]["hidden"] == 8
    assert set(data["config"]) == set(Config.__dataclass_fields__)
    assert 0 <= data["test_accuracy"] <= 1 and data["baselines"]["majority"] == 0.5
    assert 0.5 <= data["baselines"]["tfidf_logistic_regression"] <= 1
    assert data["baselines"]["train_reviews"] == data["train_reviews"] == 144
    assert data["dtype"] == "float32"
    assert all((tmp_path / f).exists() for f in data["weights"]["files"])


SWEEP_RESULT_FIELDS = {"kind", "grid", "sweep", "chosen", "selection", "seeds", "test_accuracy_mean",
                       "test_accuracy_std", "test_accuracy_min", "test_accuracy_max", "reported",
                       "parity", "weights", "baselines", "parallel", "budget_s"}
RUN_FIELDS = {"name", "seed", "config", "history", "val_loss", "val_accuracy", "vocab_size", "dtype",
              "train_reviews", "peak_memory_gib", "wall_time_s"}
HISTORY_FIELDS = {"epoch", "train_loss", "val_loss", "val_accuracy", "lr", "seconds",
                  "tokens_per_second"}


def check_sweep_artifact(data, directory=None, grid=None):
    """Every field of a sweep artifact (the tiny one here, a recorded one in the next test)."""
    prov = data["provenance"]
    for f in PROVENANCE_FIELDS + ("device", "torch", "cuda", "cudnn", "dtype", "seed",
                                  "gpu_memory_gib"):
        assert f in prov, f
    assert all(prov[f] not in (None, "") for f in PROVENANCE_FIELDS + ("device", "torch", "dtype"))
    assert prov["dtype"].startswith("float32") and prov["wall_time_s"] > 0
    assert prov["device"] == "cpu" or prov["cuda"]
    words = shlex.split(prov["command"])
    assert words[:4] == ["python", "-m", "rnn_core.sentiment", "sweep"]
    args = parse_sweep(words[4:])
    assert set(data) == SWEEP_RESULT_FIELDS | {"provenance"}
    assert data["kind"] == "sweep" and data["grid"] == args.grid == (grid or args.grid)
    expected = {name: dataclasses.asdict(config_from(preset, **over))
                for name, preset, over in GRIDS[args.grid]}
    assert [r["name"] for r in data["sweep"]] == list(expected)
    for r in data["sweep"] + data["seeds"]:
        assert "error" not in r, r.get("error")
        assert RUN_FIELDS <= set(r)
        h = r["history"]
        assert HISTORY_FIELDS <= set(h) and 1 <= len(h["epoch"]) <= r["config"]["epochs"]
        assert all(len(h[k]) == len(h["epoch"]) for k in HISTORY_FIELDS)
        assert r["val_loss"] == min(h["val_loss"]) == h["val_loss"][h["best_epoch"] - 1]
        assert r["train_reviews"] == round(25_000 * 0.9) or prov["device"] == "cpu"
    for r in data["sweep"]:                       # the recorded config is the grid's
        assert r["config"] == expected[r["name"]]
    chosen = [r for r in data["sweep"] if r["name"] == data["chosen"]][0]
    selectable = [r for r in data["sweep"] if r["name"] not in ("no_recurrence",)]
    assert chosen["val_loss"] == min(r["val_loss"] for r in selectable)
    assert len(data["seeds"]) == args.seeds == len(prov["seed"]) == len(set(prov["seed"]))
    for r in data["seeds"]:
        same = dict(r["config"], seed=0, epochs=0)
        assert same == dict(chosen["config"], seed=0, epochs=0)
        assert r["config"]["epochs"] == chosen["history"]["epochs_planned"] or r is data["seeds"][0]
        assert 0 <= r["test_accuracy"] <= 1
    test = np.array([r["test_accuracy"] for r in data["seeds"]])
    assert data["test_accuracy_mean"] == pytest.approx(test.mean())
    assert data["test_accuracy_std"] == pytest.approx(test.std(ddof=1))
    assert data["test_accuracy_min"] == test.min() and data["test_accuracy_max"] == test.max()
    reported = min(data["seeds"], key=lambda r: r["val_loss"])
    assert data["reported"]["seed"] == reported["seed"]
    assert data["reported"]["test_accuracy"] == reported["test_accuracy"]
    p = data["parity"]
    assert p["reviews"] == 25_000 or prov["device"] == "cpu"
    assert p["numpy_dtype"] == "float32" and p["max_abs_logit_difference"] <= 1e-3
    assert p["class_agreement"] >= 0.999 and p["torch_dtype"] == "float32 (TF32 off)"
    assert abs(p["test_accuracy_numpy"] - p["test_accuracy_float16_weights"]) <= 1 - p["class_agreement"]
    b = data["baselines"]
    assert 0 <= b["majority"] <= 1 and 0.5 <= b["tfidf_logistic_regression"] <= 1
    assert b["train_reviews"] == reported["train_reviews"]
    w = data["weights"]
    if w is not None and directory is not None:
        blob = b"".join((Path(directory) / f).read_bytes() for f in w["files"])
        assert len(blob) == w["bytes"] <= 25_000_000 and w["dtype"] == "float16"
        assert all((Path(directory) / f).stat().st_size <= 15 * 2 ** 20 for f in w["files"])
        assert hashlib.sha256(blob).hexdigest() == w["sha256"]
        base = w["files"][0] if len(w["files"]) == 1 else w["files"][0].replace(".part0", "")
        net, vocab, config = load_weights(Path(directory) / base, w["sha256"])
        assert dataclasses.asdict(config) == reported["config"]
        assert len(vocab) == reported["vocab_size"]


def test_the_gpu_sweep_command_end_to_end_on_the_cpu(archive, tmp_path):
    """The prepared GPU command itself, as a process, with the tiny grid."""
    command = ["python", "-m", "rnn_core.sentiment", "sweep", "--data", str(archive), "--grid",
               "tiny", "--dir", str(tmp_path), "--name", "imdb_tiny", "--parallel", "2",
               "--budget-minutes", "3"]
    done = subprocess.run([sys.executable] + command[1:], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "numpy re-run on 160 test reviews" in done.stdout
    data = json.loads((tmp_path / "imdb_tiny.json").read_text())
    check_sweep_artifact(data, tmp_path, grid="tiny")
    assert data["provenance"]["command"] == " ".join(command)
    assert data["parallel"] == 2 and data["parity"]["reviews"] == 160
    assert not (tmp_path / ".imdb_tiny").exists()                     # checkpoints cleaned up
    assert data["weights"]["files"] == ["imdb_tiny.npz"]


@pytest.mark.parametrize("path", sorted(ARTIFACTS.glob("imdb_*.json")), ids=lambda p: p.stem)
def test_recorded_runs_match_the_code(path):
    """Every recorded run: complete provenance, and its command, parsed by
    today's code, gives the configuration it records. The first CPU run
    (imdb_bilstm_cpu) predates the recipe's options: its command's flags must
    still give its recorded values, and its config must still build."""
    data = load_artifact(path.name)
    prov = data["provenance"]
    assert all(prov.get(f) not in (None, "") for f in PROVENANCE_FIELDS + ("device", "torch"))
    if data.get("kind") == "sweep":
        check_sweep_artifact(data, ARTIFACTS)
        return
    if data.get("kind") == "ablation":
        assert shlex.split(prov["command"])[:2] == ["python", "scripts/imdb_ablation.py"]
        assert {(e["name"], e["seed"]) for e in data["entries"]} == \
            {(n, s) for n in data["factors"] for s in data["seeds"]} and len(data["seeds"]) >= 3
        for e in data["entries"]:
            assert e["config"] == dataclasses.asdict(config_from(data["preset"], seed=e["seed"],
                                                                 **data["factors"][e["name"]]))
            assert e["val_loss"] == min(e["history"]["val_loss"]) and 0 <= e["test_accuracy"] <= 1
        w = data["kept"]["weights"]
        net, vocab, config = load_weights(ARTIFACTS / w["files"][0], w["sha256"])
        assert config == config_from(data["preset"], seed=data["kept"]["seed"],
                                     **data["factors"][data["kept"]["name"]])
        return
    assert "cuda" in prov and prov["seed"] == data["config"]["seed"]
    words = shlex.split(prov["command"])
    assert words[:3] == ["python", "-m", "rnn_core.sentiment"]
    args, config = parse_command(words[3:])
    recorded = data["config"]
    if set(recorded) == set(Config.__dataclass_fields__):
        assert recorded == json.loads(json.dumps(config.__dict__))
    else:                                     # history: only the flags it was given
        flags = {w[2:].replace("-", "_") for w in words if w.startswith("--")}
        for key in flags & set(recorded):
            assert recorded[key] == getattr(config, key), key
        Config(**recorded)
    assert config.train_subset is None, "a full run trains on every training review"
    assert data["train_reviews"] == round(25_000 * (1 - config.val_fraction))
    history = data["history"]
    assert 1 <= len(history["epoch"]) <= recorded["epochs"]
    assert data["val_accuracy"] == max(history["val_accuracy"]) or "val_loss" in history
    assert 0.5 < data["test_accuracy"] <= 1 and data["device"] == prov["device"]


SHARED = ROOT.parent / "shared" / "data" / "imdb" / "aclImdb_labelled.tar.gz"


@pytest.mark.skipif(not SHARED.exists(), reason="the full IMDB archive is not beside the checkout")
@pytest.mark.skipif(not (ARTIFACTS / "imdb_ablation_cpu.json").exists(), reason="not recorded yet")
def test_one_entry_of_the_recorded_ablation_reproduces():
    """The cheapest entry of scripts/imdb_ablation.py, re-run: the same accuracy
    up to float rounding between CPUs (one point of the 2,000-review sample)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("imdb_ablation", ROOT / "scripts" / "imdb_ablation.py")
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    recorded = load_artifact("imdb_ablation_cpu.json")
    assert recorded["factors"] == ablation.FACTORS and recorded["seeds"] == list(ablation.SEEDS)
    entry = [e for e in recorded["entries"] if (e["name"], e["seed"]) == ("no recurrence, mean", 0)][0]
    data = load_imdb(SHARED)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        again, _, _ = ablation.run_entry(data, None, entry["name"], entry["seed"],
                                         ablation.test_sample(len(data["test"])))
    finally:
        torch.set_num_threads(threads)
    assert again["config"] == entry["config"]
    assert abs(again["test_accuracy"] - entry["test_accuracy"]) <= 0.01
    assert abs(again["val_accuracy"] - entry["val_accuracy"]) <= 0.01
