"""The showdown's race (rnn_core.showdown): matched parameter counts, the
learning-rate search, the scored positions, and the copy task's length option."""
import numpy as np
import pytest

from rnn_core import showdown as sd
from rnn_core.tasks import (COPY_LENGTH, copy_memory, copy_memory_baseline,
                            reber_penultimate_positions)


@pytest.mark.parametrize("task", sd.TASKS)
def test_parameter_counts_are_matched_and_counted_right(task):
    counts = {}
    for cell in sd.CELLS:
        model = sd.build(cell, task, 0, sd.CONFIG[task])
        counts[cell] = sum(v.size for v in model.parameters.values())
        n_x, n_y = sd.SIZES[task]
        assert counts[cell] == sd.parameter_count(cell, n_x, model.recurrent.n_a, n_y)
    # within 5% of each other: the race compares cells of the same size
    assert max(counts.values()) / min(counts.values()) < 1.05, counts


def test_parameter_count_refuses_an_unknown_cell():
    with pytest.raises(ValueError, match="cell must be one of"):
        sd.parameter_count("elman", 2, 8, 1)


def test_reber_scores_the_repeated_symbol():
    ids, nxt, mask = sd.reber_batch(200, np.random.default_rng(3))
    rows = np.arange(len(ids))
    k = reber_penultimate_positions(mask) + 1
    assert np.all(nxt[rows, k] == ids[rows, 1])          # the second symbol, repeated
    assert np.all(mask[rows, k + 1] == 1) and np.all(mask[rows, k + 2] == 0)  # then E, the last


def test_copy_memory_length_option_and_its_default():
    a, ta = copy_memory(7, 30, np.random.default_rng(0))
    b, tb = copy_memory(7, 30, np.random.default_rng(0), length=COPY_LENGTH)
    np.testing.assert_array_equal(a, b)                     # the default is unchanged
    ids, targets = copy_memory(7, 30, np.random.default_rng(0), length=3)
    assert ids.shape == targets.shape == (30, 7 + 6)
    np.testing.assert_array_equal(targets[:, -3:], ids[:, :3])
    assert np.all(ids[:, 3 + 7 - 1] == 9) and np.all(targets[:, :-3] == 0)
    assert copy_memory_baseline(7, length=3) == pytest.approx(3 * np.log(8) / 13)
    assert copy_memory_baseline(7) == pytest.approx(10 * np.log(8) / 27)
    with pytest.raises(ValueError, match="length"):
        copy_memory(7, 3, np.random.default_rng(0), length=0)


def test_the_search_picks_the_lowest_validation_loss_and_reuses_its_run():
    config = dict(sd.QUICK, seeds=[0, 1, 2])
    selection, runs = sd.race("adding", 10, "rnn", config, log=lambda r: None)
    tuning = [r for r in runs if r["seed"] == config["tuning_seed"]]
    assert [r["learning_rate"] for r in tuning] == config["learning_rates"]
    losses = [r["validation_loss"] for r in tuning]
    assert selection["learning_rate"] == config["learning_rates"][int(np.argmin(losses))]
    finals = [r for r in runs if r["learning_rate"] == selection["learning_rate"]]
    assert sorted(r["seed"] for r in finals) == [0, 1, 2]


def test_a_diverging_rate_is_recorded_and_never_chosen():
    config = dict(sd.QUICK, learning_rates=[0.003, 1e6], seeds=[0])
    config["adding"] = dict(config["adding"], steps=30)
    selection, runs = sd.race("adding", 10, "rnn", config, log=lambda r: None)
    # an absurd rate either diverges (recorded, loss None) or loses the search
    assert selection["learning_rate"] == 0.003
    assert all(r["diverged"] == (r["validation_loss"] is None) for r in runs)


def test_the_race_clips_at_its_configurations_norm():
    config = dict(sd.QUICK, learning_rates=[0.03], seeds=[0])
    _, (default,) = sd.race("adding", 10, "rnn", config, log=lambda r: None)
    _, (tight,) = sd.race("adding", 10, "rnn", dict(config, clip_norm=1e-4), log=lambda r: None)
    # a global norm of 1e-4 makes ten Adam steps far smaller: a different network
    assert tight["validation_loss"] != pytest.approx(default["validation_loss"], rel=1e-3)
