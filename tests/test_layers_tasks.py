"""Composed models (gradient checks, parity with a packed bidirectional PyTorch
LSTM), the long-range tasks, and learning on the adding problem."""
import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from rnn_core import Adam, gradient_check, train
from rnn_core.layers import Embedding, OneHot, Recurrent, SequenceModel
from rnn_core.tasks import (ADDING_BASELINE_MSE, REBER_SYMBOLS, adding_problem, copy_memory,
                            copy_memory_baseline, embedded_reber, reber_penultimate_positions)
from rnn_core.torch_bridge import parameters_to_torch
from tests.helpers import assert_close, assert_gradcheck

CONFIGS = [  # (input, cell, layers, bidirectional, head, loss, masked)
    ("onehot", "rnn", 1, False, "last", "softmax", False),
    ("embedding", "gru", 2, True, "mean", "softmax", True),
    ("features", "lstm", 1, True, "all", "mse", True),
    ("embedding", "lstm", 2, False, "all", "softmax", True),
    ("embedding", "lstm", 2, True, "last", "softmax", True),
]


def build(input_kind, cell, layers, bidirectional, head, loss, vocab=7, n_x=3, n_a=4, n_out=3,
          seed=0):
    rng = np.random.default_rng(seed)
    layer = {"onehot": OneHot(vocab), "embedding": Embedding(vocab, n_x, rng),
             "features": None}[input_kind]
    n_in = vocab if input_kind == "onehot" else n_x
    rec = Recurrent(cell, n_in, n_a, rng, num_layers=layers, bidirectional=bidirectional)
    for value in rec.parameters.values():          # non-zero biases so that they are tested
        value += 0.1 * rng.standard_normal(value.shape)
    return SequenceModel(layer, rec, n_out, head=head, loss=loss, seed=seed)


def batch(input_kind, head, loss, masked, m=4, T=6, vocab=7, n_x=3, n_out=3, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, vocab, (m, T)) if input_kind != "features" else rng.standard_normal((n_x, m, T))
    mask = (np.arange(T)[None] < np.array([6, 2, 5, 3])[:, None]).astype(float) if masked else None
    shape = (m,) if head != "all" else (m, T)
    y = rng.integers(0, n_out, shape) if loss == "softmax" else rng.standard_normal((n_out,) + shape)
    return x, y, mask


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c)))
def test_model_gradient_check(config):
    input_kind, cell, layers, bidirectional, head, loss, masked = config
    model = build(input_kind, cell, layers, bidirectional, head, loss)
    x, y, mask = batch(input_kind, head, loss, masked)
    errors = gradient_check(lambda p: model.loss_and_gradients(x, y, mask), model.parameters)
    assert set(errors) == set(model.parameters)
    assert_gradcheck(errors)


def test_padded_steps_do_not_change_the_loss_or_gradients():
    model = build("embedding", "lstm", 2, True, "last", "softmax")
    x, y, mask = batch("embedding", "last", "softmax", True)
    loss, grads = model.loss_and_gradients(x, y, mask)
    x2 = np.where(mask > 0, x, (x + 3) % 7)              # different tokens in the padding
    loss2, grads2 = model.loss_and_gradients(x2, y, mask)
    assert loss == loss2
    for key in grads:
        np.testing.assert_array_equal(grads[key], grads2[key])


def test_model_matches_packed_bidirectional_torch_lstm():
    """Embedding -> 2-layer bidirectional LSTM over packed variable-length
    sequences -> Linear on [h_forward; h_backward]: logits and every gradient."""
    vocab, n_e, n_a, n_out, m, T = 11, 5, 6, 2, 4, 7
    model = build("embedding", "lstm", 2, True, "last", "softmax", vocab=vocab, n_x=n_e, n_a=n_a,
                  n_out=n_out)
    rng = np.random.default_rng(2)
    lengths = np.array([7, 3, 5, 1])
    ids = rng.integers(0, vocab, (m, T))
    mask = (np.arange(T)[None] < lengths[:, None]).astype(float)
    y = rng.integers(0, n_out, m)
    loss, grads = model.loss_and_gradients(ids, y, mask)
    logits = model.forward(ids, mask)

    emb = torch.nn.Embedding(vocab, n_e, dtype=torch.float64)
    lstm = torch.nn.LSTM(n_e, n_a, num_layers=2, bidirectional=True, dtype=torch.float64)
    lin = torch.nn.Linear(2 * n_a, n_out, dtype=torch.float64)
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(model.parameters["input.E"].T))
        lin.weight.copy_(torch.from_numpy(model.parameters["dense.W"]))
        lin.bias.copy_(torch.from_numpy(model.parameters["dense.b"][:, 0]))
    for k in range(2):
        for d, suffix in enumerate(("", "_reverse")):
            prefix = f"rnn.l{k}{suffix}."
            p = {key[len(prefix):]: v for key, v in model.parameters.items() if key.startswith(prefix)}
            parameters_to_torch(p, lstm, k, d)
    packed = pack_padded_sequence(emb(torch.from_numpy(ids.T.copy())), torch.from_numpy(lengths),
                                  enforce_sorted=False)
    _, (h_n, _) = lstm(packed)
    tlogits = lin(torch.cat([h_n[-2], h_n[-1]], dim=1))
    tloss = torch.nn.functional.cross_entropy(tlogits, torch.from_numpy(y))
    tloss.backward()

    assert_close(logits, tlogits.detach().numpy().T, name="logits")
    assert abs(loss - tloss.item()) < 1e-10
    assert_close(grads["dinput.E"], emb.weight.grad.numpy().T, name="dE")
    assert_close(grads["ddense.W"], lin.weight.grad.numpy(), name="dW")
    from rnn_core.torch_bridge import gradients_from_torch
    for k in range(2):
        for d, suffix in enumerate(("", "_reverse")):
            for key, value in gradients_from_torch(lstm, k, d).items():
                assert_close(grads[f"drnn.l{k}{suffix}.{key[1:]}"], value, name=f"l{k}{suffix} {key}")


def test_model_argument_errors():
    rec = Recurrent("gru", 3, 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="head must be one of 'last', 'mean', 'all', got 'first'"):
        SequenceModel(None, rec, 2, head="first")
    with pytest.raises(ValueError, match="loss must be one of 'softmax', 'mse', got 'hinge'"):
        SequenceModel(None, rec, 2, loss="hinge")
    with pytest.raises(ValueError, match="cell must be one of 'rnn', 'gru', 'lstm', got 'tcn'"):
        Recurrent("tcn", 3, 4, np.random.default_rng(0))
    model = SequenceModel(Embedding(5, 3, np.random.default_rng(0)), rec, 2)
    with pytest.raises(ValueError, match=r"ids must hold ids in \[0, 5\), got \[0, 9\]"):
        model.forward(np.array([[0, 9]]))


def test_adding_problem_layout_and_baseline():
    x, y = adding_problem(50, 20_000, np.random.default_rng(0))
    assert x.shape == (2, 20_000, 50) and y.shape == (1, 20_000)
    markers = x[1]
    assert np.all(markers.sum(axis=1) == 2)
    assert np.all(markers[:, :25].sum(axis=1) == 1)                      # one per half
    np.testing.assert_allclose(y[0], (x[0] * markers).sum(axis=1))
    assert abs(((y - 1) ** 2).mean() - ADDING_BASELINE_MSE) < 0.005      # ≈ 0.167
    x2, _ = adding_problem(50, 20_000, np.random.default_rng(0))
    np.testing.assert_array_equal(x, x2)                                  # seeded


def test_copy_memory_layout_and_baseline():
    T = 30
    ids, targets = copy_memory(T, 500, np.random.default_rng(1))
    assert ids.shape == targets.shape == (500, T + 20)
    np.testing.assert_array_equal(targets[:, -10:], ids[:, :10])
    assert np.all(ids[:, T + 9] == 9) and np.all(targets[:, :-10] == 0)
    # the baseline's cross-entropy, computed from its predictions, matches the formula
    p = np.zeros((500, T + 20, 10))
    p[:, :-10, 0] = 1
    p[:, -10:, 1:9] = 1 / 8
    ce = -np.log(np.take_along_axis(p, targets[..., None], axis=2)).mean()
    assert ce == pytest.approx(copy_memory_baseline(T))


def test_embedded_reber_strings_are_grammatical():
    ids, mask = embedded_reber(300, np.random.default_rng(2))
    graph = {0: {"T": 1, "P": 2}, 1: {"S": 1, "X": 3}, 2: {"T": 2, "V": 4}, 3: {"X": 2, "S": 5},
             4: {"P": 3, "V": 5}}
    pen = reber_penultimate_positions(mask)
    for row, L, k in zip(ids, mask.sum(axis=1).astype(int), pen):
        s = "".join(REBER_SYMBOLS[i] for i in row[:L])
        assert s[0] == "B" and s[-1] == "E" and s[1] == s[-2] and s[1] in "TP"
        inner, node = s[2:-2], 0
        assert inner[0] == "B" and inner[-1] == "E"
        for c in inner[1:-1]:
            node = graph[node][c]
        assert node == 5
        assert REBER_SYMBOLS[row[k + 1]] == s[1]                         # the long-range step


@pytest.mark.slow
def test_lstm_learns_the_adding_problem_and_the_vanilla_rnn_does_not():
    """T = 50, batch 64, Adam(0.01), clip 1.0, 800 steps, fixed seeds: the LSTM gets
    below 0.01 test MSE; the vanilla RNN stays near the 0.167 baseline."""
    results = {}
    for cell in ("lstm", "rnn"):
        rng = np.random.default_rng(0)
        model = SequenceModel(None, Recurrent(cell, 2, 32, np.random.default_rng(1)), 1,
                              head="last", loss="mse")
        train(model, model.parameters, Adam(0.01),
              (adding_problem(50, 64, rng) for _ in range(800)), clip_norm=1.0, progress=False)
        x, y = adding_problem(50, 2000, np.random.default_rng(99))
        results[cell] = float(((model.forward(x) - y) ** 2).mean())
    assert results["lstm"] < 0.01, results
    assert 0.12 < results["rnn"] < 0.2, results


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_carried_state_continues_the_sequence(cell):
    """Two chunks with the state carried give the outputs of one long sequence."""
    rng = np.random.default_rng(3)
    model = SequenceModel(OneHot(5), Recurrent(cell, 5, 6, rng, num_layers=2), 5, head="all")
    ids = rng.integers(0, 5, (3, 10))
    whole = model.forward(ids)
    first = model.forward(ids[:, :4])
    second = model.forward(ids[:, 4:], initial=model.recurrent.final_states)
    assert_close(np.concatenate([first, second], axis=2), whole, tol=1e-13)
    with pytest.raises(ValueError, match="initial must hold 2"):
        model.forward(ids, initial=model.recurrent.final_states[:1])
