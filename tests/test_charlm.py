"""rnn_core.charlm.perplexity scores every target of the stream, and exactly the
targets (with the same zero-state row starts) that the Kneser–Ney baseline scores.

Tolerances: the chunked reading carries the exact state, so it differs from one
uninterrupted reading only by float64 rounding in a different summation order
(relative 1e-12 is ~10^4 ulps of slack over a few hundred terms).
"""
import numpy as np
import pytest

from rnn_core.activations import log_softmax
from rnn_core.charlm import chunk_batches, perplexity
from rnn_core.layers import Embedding, Recurrent, SequenceModel
from rnn_core.ngram import KneserNey, chunk_coverage

V = 5


def _stream(length, seed=0):
    return np.random.default_rng(seed).integers(0, V, size=length)


def _model(cell, seed=0):
    rng = np.random.default_rng(seed)
    return SequenceModel(Embedding(V, 3, rng), Recurrent(cell, 3, 4, rng), V, head="all",
                         seed=seed)


def _nll(model, x, y):
    logp = log_softmax(model.forward(x[None]))
    return -np.take_along_axis(logp, y[None, None], axis=0).sum()


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("L, m, k", [(203, 4, 7), (200, 4, 7), (97, 3, 64), (65, 64, 64)])
def test_perplexity_reads_every_target_with_the_state_carried(cell, L, m, k):
    """Chunked, with a tail row, equals reading rows 0..m-2 whole and the last row
    followed by the tail as one sequence: len(stream) - 1 targets."""
    stream, model = _stream(L), _model(cell)
    per_row = (L - 1) // m
    total = sum(_nll(model, stream[r * per_row:(r + 1) * per_row],
                     stream[r * per_row + 1:(r + 1) * per_row + 1]) for r in range(m - 1))
    total += _nll(model, stream[(m - 1) * per_row:L - 1], stream[(m - 1) * per_row + 1:])
    expected = np.exp(total / (L - 1))
    assert perplexity(model, stream, m, k) == pytest.approx(expected, rel=1e-12, abs=0)


class _TrigramAsNetwork:
    """A KneserNey trigram dressed as a SequenceModel: its 'state' is the previous
    input id (-1 from a zero state), so its perplexity under charlm.perplexity is
    the trigram's own perplexity on exactly the targets and history starts that
    charlm.perplexity reads."""

    def __init__(self, lm):
        self.lm, self.recurrent = lm, self

    def forward(self, x, initial=None):
        m, T = x.shape
        prev = np.full(m, -1) if initial is None else initial[0][0][0].astype(int)
        logits = np.empty((V, m, T))
        for t in range(T):
            for i in range(m):
                context = [x[i, t]] if prev[i] < 0 else [prev[i], x[i, t]]
                logits[:, i, t] = np.log(self.lm.distribution(context))
            prev = x[:, t]
        self.final_states = [(prev[None].astype(float), None)]
        return logits


@pytest.mark.parametrize("L, m, k", [(203, 4, 7), (200, 4, 7), (97, 3, 64)])
def test_networks_and_ngrams_score_the_same_targets(L, m, k):
    train, val = _stream(400, seed=1), _stream(L, seed=2)
    lm = KneserNey(train, 3, V)
    row_starts = chunk_coverage(L, m, 1)[1]
    expected = lm.perplexity(val, history_starts=row_starts)
    assert perplexity(_TrigramAsNetwork(lm), val, m, k) == pytest.approx(expected, rel=1e-12)
    # the old coverage (whole chunks only) scored fewer targets: the test can fail
    old = chunk_coverage(L, m, k)[0] if (L - 1) // m >= k else None
    if old is not None:
        assert len(old) < L - 1
        assert lm.perplexity(val, old, row_starts) != pytest.approx(expected, rel=1e-12)


def test_ngram_row_starts_default_to_perplexitys_rows():
    """The chapter gives the n-gram models chunk_coverage(len(val_stream))[1] as row
    starts while train_language_model scores with perplexity's default m: the
    defaults must agree, or the two would no longer see the same history."""
    import inspect
    assert inspect.signature(chunk_coverage).parameters["m"].default == \
        inspect.signature(perplexity).parameters["m"].default


def test_training_batches_are_unchanged():
    stream = _stream(203)
    batches = list(chunk_batches(stream, 4, 7))
    assert len(batches) == 50 // 7 and all(x.shape == (4, 7) for x, _ in batches)


def test_perplexity_refuses_a_stream_too_short():
    with pytest.raises(ValueError, match="too short"):
        perplexity(_model("rnn"), _stream(10), m=64)
    with pytest.raises(ValueError):
        perplexity(_model("rnn"), _stream(100), m=0)


def test_recorded_long_run_is_complete_and_from_a_clean_commit():
    from rnn_core.artifacts import load_artifact
    from rnn_core.charlm import LONG_RUN
    record = load_artifact("charlm_long.json")
    prov = record["provenance"]
    assert "uncommitted" not in prov["commit"] and len(prov["commit"]) == 40
    assert prov["cpu"] and prov["wall_time_s"] > 0
    assert record["config"] == {**LONG_RUN, "epochs": record["config"]["epochs"]}
    per_epoch = len(list(chunk_batches(_chapter_streams()[1], LONG_RUN["m"], LONG_RUN["k"])))
    for cell in ("rnn", "gru", "lstm"):
        curve = record["curves"][cell]
        assert curve["step"][-1] == record["config"]["epochs"] * per_epoch
        assert len(curve["step"]) == len(curve["train"]) == len(curve["val"])


def _chapter_streams():
    from rnn_core.charlm import corpus_streams
    return corpus_streams()


def _rerun_first_evaluation(config, cell, seed):
    """The first curve point (after eval_every steps) of ``cell`` trained with a
    record's config and ``seed``, by today's code."""
    from rnn_core.charlm import train_language_model
    vocab, train_stream, val_stream = _chapter_streams()
    _, curve = train_language_model(cell, train_stream, val_stream, vocab.size, progress=False,
                                    max_steps=config["eval_every"], **dict(config, seed=seed))
    return curve


def test_recorded_long_run_first_entry_reruns():
    """Today's code reproduces the record's first evaluation (vanilla RNN after
    eval_every steps). Same code and data; only the BLAS summation order may
    differ with the thread count, which 200 Adam steps amplify to far below the
    rel 1e-6 allowed (the recorded value is quoted at 2 decimals)."""
    from rnn_core.artifacts import load_artifact
    record = load_artifact("charlm_long.json")
    curve = _rerun_first_evaluation(record["config"], "rnn", record["config"]["seed"])
    assert curve["step"] == record["curves"]["rnn"]["step"][:1]
    assert curve["val"][0] == pytest.approx(record["curves"]["rnn"]["val"][0], rel=1e-6)
    assert curve["train"][0] == pytest.approx(record["curves"]["rnn"]["train"][0], rel=1e-6)


def test_recorded_seeds_are_complete_and_their_first_entry_reruns():
    """charlm_seeds.json: seeds 1 and 2 of the chapter's one-pass run, from a clean
    commit; its first evaluation (vanilla RNN, seed 1) re-run with today's code
    (tolerance as above)."""
    from rnn_core.artifacts import load_artifact
    from rnn_core.charlm import LONG_RUN
    record = load_artifact("charlm_seeds.json")
    assert "uncommitted" not in record["provenance"]["commit"]
    config = record["config"]
    assert config == {**LONG_RUN, "epochs": 1, "seed": [1, 2]}
    per_epoch = len(list(chunk_batches(_chapter_streams()[1], config["m"], config["k"])))
    for cell in ("rnn", "gru", "lstm"):
        assert sorted(record["curves"][cell]) == ["1", "2"]
        assert all(c["step"][-1] == per_epoch for c in record["curves"][cell].values())
    first = record["curves"]["rnn"]["1"]
    curve = _rerun_first_evaluation(config, "rnn", 1)
    assert curve["step"] == first["step"][:1]
    assert curve["val"][0] == pytest.approx(first["val"][0], rel=1e-6)


def test_recorded_long_seeds_are_complete_and_from_a_clean_commit():
    """charlm_long_seeds.json: seeds 1 and 2 of the long run (LONG_RUN's passes),
    every curve complete and evaluated at the same steps as seed 0's record; its
    first pass is charlm_seeds.json's one-pass run (same code, same seeds: equal
    up to BLAS summation order, rel 1e-6 as above)."""
    from rnn_core.artifacts import load_artifact
    from rnn_core.charlm import LONG_RUN
    record, one_pass = load_artifact("charlm_long_seeds.json"), load_artifact("charlm_seeds.json")
    prov = record["provenance"]
    assert "uncommitted" not in prov["commit"] and len(prov["commit"]) == 40
    assert prov["cpu"] and prov["wall_time_s"] > 0
    assert prov["command"] == ("python -m rnn_core.charlm --seeds 1 2 "
                               "--name charlm_long_seeds.json")
    assert record["config"] == {**LONG_RUN, "seed": [1, 2]}
    seed0 = load_artifact("charlm_long.json")["curves"]
    per_epoch = len(list(chunk_batches(_chapter_streams()[1], LONG_RUN["m"], LONG_RUN["k"])))
    for cell in ("rnn", "gru", "lstm"):
        assert sorted(record["curves"][cell]) == ["1", "2"]
        for seed, curve in record["curves"][cell].items():
            assert curve["step"] == seed0[cell]["step"]
            assert curve["step"][-1] == LONG_RUN["epochs"] * per_epoch
            assert len(curve["train"]) == len(curve["val"]) == len(curve["step"])
            first_pass = one_pass["curves"][cell][seed]
            n = len(first_pass["val"])
            assert curve["step"][:n] == first_pass["step"]
            np.testing.assert_allclose(curve["val"][:n], first_pass["val"], rtol=1e-6)


def test_recorded_long_seeds_first_entry_reruns():
    """Today's code reproduces the first evaluation of the LSTM, seed 2, in
    charlm_long_seeds.json (the other records re-run the vanilla RNN; tolerance
    as above)."""
    from rnn_core.artifacts import load_artifact
    record = load_artifact("charlm_long_seeds.json")
    first = record["curves"]["lstm"]["2"]
    curve = _rerun_first_evaluation(record["config"], "lstm", 2)
    assert curve["step"] == first["step"][:1]
    assert curve["val"][0] == pytest.approx(first["val"][0], rel=1e-6)
    assert curve["train"][0] == pytest.approx(first["train"][0], rel=1e-6)


def test_recorded_gru_at_twice_the_learning_rate_is_complete_and_reruns():
    """charlm_gru_lr.json: the GRU alone at twice LONG_RUN's learning rate, seeds 0, 1
    and 2, LONG_RUN's passes, from a clean commit, evaluated at the same steps as the
    other long records; its first evaluation (seed 0) re-run with today's code
    (tolerance as above)."""
    from rnn_core.artifacts import load_artifact
    from rnn_core.charlm import LONG_RUN
    record = load_artifact("charlm_gru_lr.json")
    prov = record["provenance"]
    assert "uncommitted" not in prov["commit"] and len(prov["commit"]) == 40
    assert prov["cpu"] and prov["wall_time_s"] > 0
    assert prov["command"] == ("python -m rnn_core.charlm --cells gru --lr 0.01 "
                               "--seeds 0 1 2 --name charlm_gru_lr.json")
    config = record["config"]
    assert config == {**LONG_RUN, "lr": 2 * LONG_RUN["lr"], "seed": [0, 1, 2]}
    seed0 = load_artifact("charlm_long.json")["curves"]["gru"]
    assert sorted(record["curves"]) == ["gru"]
    assert sorted(record["curves"]["gru"]) == ["0", "1", "2"]
    for curve in record["curves"]["gru"].values():
        assert curve["step"] == seed0["step"]
        assert len(curve["train"]) == len(curve["val"]) == len(curve["step"])
    first = record["curves"]["gru"]["0"]
    curve = _rerun_first_evaluation(config, "gru", 0)
    assert curve["step"] == first["step"][:1]
    assert curve["val"][0] == pytest.approx(first["val"][0], rel=1e-6)
    assert curve["train"][0] == pytest.approx(first["train"][0], rel=1e-6)
