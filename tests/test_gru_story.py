"""rnn_core.gate_story: the adding-problem marks, the gate-only path of the
gradient, the statistics, and the recorded T = 100 run (one entry re-run)."""
import json

import numpy as np
import pytest

from rnn_core import gate_story as gs
from rnn_core.artifacts import ARTIFACTS
from rnn_core.layers import Recurrent
from rnn_core.tasks import adding_problem


def _random_parameters(cell, n_a, rng, recurrent=True):
    p = {k.split(".", 1)[1]: v * 2.0 for k, v in
         Recurrent(cell, 2, n_a, rng).parameters.items()}
    for k in p:
        if k.startswith("b"):
            p[k] = p[k] + rng.normal(0, 0.5, p[k].shape)
        elif not recurrent:
            p[k][:, :n_a] = 0.0          # the gates and candidate ignore a⟨t−1⟩
    p.update(Wy=np.zeros((1, n_a)), by=np.zeros((1, 1)))
    return p


def test_bad_cell_is_refused():
    with pytest.raises(ValueError, match="cell must be one of"):
        gs.train_adding("rnn", 10, 4, 0, 1)
    with pytest.raises(ValueError, match="T must be"):
        gs.train_adding("gru", 0, 4, 0, 1)


def test_marks_give_the_target():
    x, y = adding_problem(12, 50, np.random.default_rng(3))
    t1, t2, v1, v2 = gs.marks(x)
    assert np.all(t1 < 6) and np.all(t2 >= 6)
    assert np.all(x[1, np.arange(50), t1] == 1) and np.all(x[1, np.arange(50), t2] == 1)
    np.testing.assert_allclose(v1 + v2, y[0], rtol=0, atol=1e-15)


@pytest.mark.parametrize("cell", gs.CELLS)
def test_path_split_total_matches_finite_differences(cell):
    """The total gradient on the kept state after the first mark, against central
    differences of ŷ = w · a⟨T⟩ (float64, step 1e-6: relative error < 1e-7)."""
    rng = np.random.default_rng(0)
    n_a, T = 3, 9
    p = _random_parameters(cell, n_a, rng)
    w = rng.normal(size=(1, n_a))
    x, _ = adding_problem(T, 4, np.random.default_rng(1))
    total, direct = gs.path_split(cell, p, w, x)
    t1 = gs.marks(x)[0]
    kept = gs.KEPT_STATE[cell]
    for i in range(x.shape[1]):
        states, _, _ = gs.run_gates(cell, p, x[:, i:i + 1, :])
        a0, c0 = states["a"][:, :, t1[i]], states.get("c", states["a"])[:, :, t1[i]]
        sub = x[:, i:i + 1, t1[i] + 1:]

        def yhat(s):
            a0_, c0_ = (s, c0) if kept == "a" else (a0, s)
            st, _, _ = gs.run_gates(cell, p, sub, a0_, c0_ if cell == "lstm" else None)
            return (w @ st["a"][:, :, -1]).item()
        base = (a0 if kept == "a" else c0).copy()
        fd = np.zeros(n_a)
        for j in range(n_a):
            e = np.zeros_like(base)
            e[j] = 1e-6
            fd[j] = (yhat(base + e) - yhat(base - e)) / 2e-6
        rel = np.abs(fd - total[:, i]).max() / np.abs(fd).max()
        assert rel < 1e-7, (cell, i, rel)
    assert np.all(np.abs(direct) <= np.abs(total).max() * 10)     # finite, same scale


@pytest.mark.parametrize("cell", gs.CELLS)
def test_gate_only_path_is_everything_without_recurrent_weights(cell):
    """With every weight on a⟨t−1⟩ zero, the kept state reaches the end only through
    the keeping gate: the gate-only part equals the total (to 1e-12); with them
    it does not."""
    rng = np.random.default_rng(2)
    x, _ = adding_problem(15, 20, np.random.default_rng(4))
    w = rng.normal(size=(1, 5))
    total, direct = gs.path_split(cell, _random_parameters(cell, 5, rng, recurrent=False), w, x)
    assert np.abs(total - direct).max() < 1e-12 * max(1.0, np.abs(total).max())
    total, direct = gs.path_split(cell, _random_parameters(cell, 5, rng), w, x)
    assert np.abs(total - direct).max() > 1e-3


@pytest.mark.parametrize("cell", gs.CELLS)
def test_gate_statistics_of_a_short_training(cell):
    model, history = gs.train_adding(cell, 10, 4, 0, 5)
    assert len(history["loss"]) == 5
    s = gs.gate_statistics(cell, model, 10, m=200)
    assert s["n_a"] == 4 and s["m"] == 200 and s["T"] == 10
    for key in ("keep_at_marks", "keep_between", "keep_product"):
        assert len(s[key]) == 4 and all(0 <= v <= 1 for v in s[key])
    assert all(-1 <= v <= 1 for v in s["corr_first_end"])
    assert 0 <= s["r2_sum_end"] <= 1 and 0 <= s["direct_share"]
    # keep_product is the median over sequences of the gate's product after the first mark
    x, _ = adding_problem(10, 200, np.random.default_rng(7))
    _, gates, _ = gs.run_gates(cell, gs.cell_parameters(model), x)
    t1 = gs.marks(x)[0]
    g = gates[gs.KEEP_GATE[cell]][0]
    expected = np.median([g[i, t1[i] + 1:].prod() for i in range(200)])
    assert abs(s["keep_product"][0] - expected) < 1e-12
    if cell == "lstm":
        assert "a_corr_first_end" in s and "a_r2_sum_end" in s


@pytest.mark.parametrize("cell", gs.CELLS)
def test_keep_bias_sets_the_keeping_gates_initial_bias(cell):
    model, _ = gs.train_adding(cell, 10, 4, 0, 1, learning_rate=1e-12, keep_bias=3.0)
    name = "rnn.l0." + ("bz" if cell == "gru" else "bf")
    np.testing.assert_allclose(model.parameters[name], 3.0, rtol=0, atol=1e-9)
    model, _ = gs.train_adding(cell, 10, 4, 0, 1, learning_rate=1e-12)
    np.testing.assert_allclose(model.parameters[name], 0.0 if cell == "gru" else 1.0,
                               rtol=0, atol=1e-9)


# the first record re-runs in every test session, the others with the slow tests
RECORDS = [pytest.param(r, id=r.name, marks=() if i == 0 else pytest.mark.slow)
           for i, r in enumerate(sorted(ARTIFACTS.glob("gate_story_gru_*.json")))]


@pytest.mark.parametrize("record", RECORDS)
def test_recorded_gru_gate_story_reruns(record):
    """Re-run the record's first entry: the same statistics (to 1e-6 relative:
    the same float64 computation, only BLAS summation order may differ)."""
    data = json.loads(record.read_text())
    assert "with uncommitted changes" not in data["provenance"]["commit"]
    c, run = data["config"], data["runs"][0]
    command = data["provenance"]["command"].split()
    assert command[:3] == ["python", "-m", "rnn_core.gate_story"]
    args = gs.parser().parse_args(command[3:])
    assert (args.cell, args.T, args.n_a, args.steps, args.learning_rate, args.seeds) == \
        (c["cell"], c["T"], c["n_a"], c["steps"], c["learning_rate"], c["seeds"])
    assert args.keep_bias == c.get("keep_bias")
    assert [r["seed"] for r in data["runs"]] == c["seeds"]
    model, _ = gs.train_adding(c["cell"], c["T"], c["n_a"], run["seed"], c["steps"],
                               batch=c["batch"], learning_rate=c["learning_rate"],
                               clip_norm=c["clip_norm"], keep_bias=c.get("keep_bias"))
    again = gs.gate_statistics(c["cell"], model, c["T"], m=c["test"]["m"], seed=c["test"]["seed"])
    for key, value in again.items():
        if isinstance(value, float):
            assert value == pytest.approx(run[key], rel=1e-6, abs=1e-9), key
        elif isinstance(value, list):
            np.testing.assert_allclose(value, run[key], rtol=1e-6, atol=1e-9, err_msg=key)


@pytest.mark.parametrize("cell", gs.CELLS)
def test_one_step_at_a_tiny_learning_rate_keeps_the_initial_weights(cell):
    """The GRU chapter reads networks out 'before training' as train_adding(..., steps=1,
    learning_rate=1e-12): Adam's first step moves each weight by about the learning rate
    at most, so every weight is its initial value to 1e-11 (with 1e-3 it is not)."""
    from rnn_core.layers import SequenceModel

    init = SequenceModel(None, Recurrent(cell, 2, 4, np.random.default_rng(1), forget_bias=1.0),
                         1, head="last", loss="mse", seed=0)
    init.parameters["rnn.l0." + ("bz" if cell == "gru" else "bf")][:] = 6.0
    for lr, close in ((1e-12, True), (1e-3, False)):
        model, _ = gs.train_adding(cell, 10, 4, 0, 1, learning_rate=lr, keep_bias=6.0)
        assert model.parameters.keys() == init.parameters.keys()
        gap = max(np.abs(model.parameters[k] - v).max() for k, v in init.parameters.items())
        assert (gap < 1e-11) == close, (lr, gap)
