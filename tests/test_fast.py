"""The fast sequence layers compute exactly what the cell-by-cell functions do,
run backwards in time on request, and ignore padded steps entirely."""
import numpy as np
import pytest

from rnn_core import gradient_check, rnn_backward, rnn_forward
from rnn_core import Recurrent
from rnn_core.fast import Workspace, layer_backward, layer_forward
from rnn_core.gru import gru_backward, gru_forward
from rnn_core.lstm import lstm_backward, lstm_forward
from tests.helpers import assert_close, assert_gradcheck, random_cell_parameters

CELLS = ["rnn", "gru", "lstm"]
SIZES = [(3, 5, 4, 6), (4, 3, 1, 5), (2, 4, 3, 1), (1, 1, 1, 1), (6, 9, 7, 12)]


def cell_path(cell, x, a0, p, c0=None):
    """Forward and a backward closure through the readable cell-by-cell functions."""
    if cell == "rnn":
        a, _, caches = rnn_forward(x, a0, p)
        return a, lambda da: rnn_backward(da, caches)
    if cell == "gru":
        a, _, caches = gru_forward(x, a0, dict(p, Wy=np.zeros((1, a0.shape[0])), by=np.zeros((1, 1))))
        return a, lambda da: gru_backward(da, caches)
    a, _, _, caches = lstm_forward(x, a0, dict(p, Wy=np.zeros((1, a0.shape[0])), by=np.zeros((1, 1))), c0=c0)
    return a, lambda da: lstm_backward(da, caches)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("n_x,n_a,m,T", SIZES)
def test_fast_path_equals_cell_path(cell, n_x, n_a, m, T):
    rng = np.random.default_rng(0)
    p = random_cell_parameters(rng, cell, n_x, n_a)
    x, da = rng.standard_normal((n_x, m, T)), rng.standard_normal((n_a, m, T))
    a0 = rng.standard_normal((n_a, m))
    c0 = rng.standard_normal((n_a, m)) if cell == "lstm" else None
    a_ref, backward = cell_path(cell, x, a0, p, c0)
    ref = backward(da)
    a, (a_last, _), cache = layer_forward(cell, x, p, a0, c0)
    grads = layer_backward(da, cache)
    assert_close(a, a_ref, tol=1e-12, name="a")
    assert_close(a_last, a_ref[:, :, -1], tol=1e-12, name="a_last")
    assert set(ref) <= set(grads)
    for key in ref:
        assert_close(grads[key], ref[key], tol=1e-12, name=key)


@pytest.mark.parametrize("cell", CELLS)
def test_reverse_is_the_forward_pass_on_reversed_time(cell):
    rng = np.random.default_rng(1)
    p = random_cell_parameters(rng, cell, 3, 4)
    x, da = rng.standard_normal((3, 2, 7)), rng.standard_normal((4, 2, 7))
    a_rev, last_rev, cache = layer_forward(cell, x, p, reverse=True)
    a_fwd, last_fwd, cache_fwd = layer_forward(cell, x[:, :, ::-1].copy(), p)
    assert_close(a_rev, a_fwd[:, :, ::-1], tol=1e-13)
    assert_close(last_rev[0], last_fwd[0], tol=1e-13)
    g_rev = layer_backward(da, cache)
    g_fwd = layer_backward(da[:, :, ::-1].copy(), cache_fwd)
    assert_close(g_rev["dx"], g_fwd["dx"][:, :, ::-1], tol=1e-12)
    for key in g_fwd:
        if key != "dx":
            assert_close(g_rev[key], g_fwd[key], tol=1e-12, name=key)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
def test_padded_steps_change_nothing(cell, reverse):
    """A padded batch gives, sequence by sequence, exactly what each sequence gives
    alone and unpadded: outputs, final states and (summed) gradients."""
    rng = np.random.default_rng(2)
    n_x, n_a, T = 3, 4, 6
    lengths = np.array([6, 3, 1, 4])
    m = len(lengths)
    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(float)
    p = random_cell_parameters(rng, cell, n_x, n_a)
    x, da = rng.standard_normal((n_x, m, T)), rng.standard_normal((n_a, m, T))
    da_last = rng.standard_normal((n_a, m))
    a, (a_last, _), cache = layer_forward(cell, x, p, mask=mask, reverse=reverse)
    grads = layer_backward(da, cache, da_last=da_last)
    assert np.all(a[:, mask == 0] == 0), "padded outputs must be zero"

    summed = {k: np.zeros_like(v) for k, v in grads.items() if k not in ("dx", "da0", "dc0")}
    for i, L in enumerate(lengths):
        xi = x[:, i:i + 1, :L]
        ai, (ai_last, _), ci = layer_forward(cell, xi, p, reverse=reverse)
        gi = layer_backward(da[:, i:i + 1, :L], ci, da_last=da_last[:, i:i + 1])
        assert_close(a[:, i:i + 1, :L], ai, tol=1e-13, name=f"a[{i}]")
        assert_close(a_last[:, i:i + 1], ai_last, tol=1e-13, name=f"a_last[{i}]")
        assert_close(grads["dx"][:, i:i + 1, :L], gi["dx"], tol=1e-12, name=f"dx[{i}]")
        assert np.all(grads["dx"][:, i, L:] == 0)
        assert_close(grads["da0"][:, i:i + 1], gi["da0"], tol=1e-12, name=f"da0[{i}]")
        for key in summed:
            summed[key] += gi[key]
    for key, value in summed.items():
        assert_close(grads[key], value, tol=1e-12, name=key)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
def test_fast_layer_gradient_check_with_mask_and_final_state(cell, reverse):
    rng = np.random.default_rng(3)
    n_x, n_a, m, T = 3, 4, 3, 5
    mask = (np.arange(T)[None, :] < np.array([5, 2, 4])[:, None]).astype(float)
    da, da_last = rng.standard_normal((n_a, m, T)), rng.standard_normal((n_a, m))
    dc_last = rng.standard_normal((n_a, m)) if cell == "lstm" else None
    v = dict(random_cell_parameters(rng, cell, n_x, n_a), x=rng.standard_normal((n_x, m, T)),
             a0=rng.standard_normal((n_a, m)))
    if cell == "lstm":
        v["c0"] = rng.standard_normal((n_a, m))

    def f(v):
        a, (a_last, c_last), cache = layer_forward(cell, v["x"], v, v["a0"], v.get("c0"),
                                                   mask=mask, reverse=reverse)
        loss = np.sum(da * a) + np.sum(da_last * a_last)
        if cell == "lstm":
            loss += np.sum(dc_last * c_last)
        return loss, layer_backward(da, cache, da_last=da_last, dc_last=dc_last)

    errors = gradient_check(f, {k: val for k, val in v.items() if k not in ("Wya", "by")})
    assert "x" in errors and "a0" in errors
    assert_gradcheck(errors)


def test_a_workspace_changes_no_number():
    """One workspace reused by calls of every cell, size, dtype, direction and
    mask (so its memory is grown, shrunk and reinterpreted) gives bit for bit
    what fresh memory gives."""
    rng = np.random.default_rng(6)
    workspace = Workspace()
    cases = [("lstm", 3, 4, 2, 5, np.float64, False, False),
             ("gru", 6, 9, 7, 12, np.float64, True, True),
             ("rnn", 2, 3, 1, 1, np.float32, False, True),
             ("lstm", 6, 9, 7, 12, np.float32, True, False),
             ("gru", 1, 2, 3, 4, np.float64, False, False),
             ("lstm", 5, 7, 3, 8, np.float64, True, True)]
    for cell, n_x, n_a, m, T, dtype, reverse, masked in cases:
        p = random_cell_parameters(rng, cell, n_x, n_a, dtype=dtype)
        x = rng.standard_normal((n_x, m, T)).astype(dtype)
        da = rng.standard_normal((n_a, m, T)).astype(dtype)
        mask = (rng.random((m, T)) < 0.7).astype(dtype) if masked else None
        results = []
        for ws in (None, workspace):
            a, (a_last, c_last), cache = layer_forward(cell, x, p, mask=mask, reverse=reverse,
                                                       workspace=ws)
            grads = layer_backward(da, cache)
            results.append({"a": a.copy(), "a_last": a_last, **{k: v.copy() for k, v in grads.items()}})
        fresh, reused = results
        assert fresh.keys() == reused.keys()
        for key in fresh:
            np.testing.assert_array_equal(reused[key], fresh[key], err_msg=f"{cell} {key}")


def test_backward_on_a_cache_whose_workspace_was_reused_raises():
    rng = np.random.default_rng(7)
    p = random_cell_parameters(rng, "lstm", 3, 4)
    x = rng.standard_normal((3, 2, 5))
    workspace = Workspace()
    _, _, old = layer_forward("lstm", x, p, workspace=workspace)
    _, _, new = layer_forward("lstm", 2 * x, p, workspace=workspace)
    layer_backward(np.ones((4, 2, 5)), new)
    with pytest.raises(ValueError, match="memory was reused by a later layer_forward"):
        layer_backward(np.ones((4, 2, 5)), old)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_recurrent_outputs_survive_the_next_call(bidirectional):
    """Recurrent reuses memory between calls, but what it returns is the caller's."""
    rng = np.random.default_rng(8)
    layer = Recurrent("lstm", 3, 4, rng, num_layers=2, bidirectional=bidirectional)
    x1, x2 = rng.standard_normal((3, 2, 5)), rng.standard_normal((3, 2, 5))
    out1, final1 = layer.forward(x1)
    kept = out1.copy(), final1.copy()
    out2, _ = layer.forward(x2)
    assert not np.allclose(out1, out2)
    np.testing.assert_array_equal(out1, kept[0])
    np.testing.assert_array_equal(final1, kept[1])


def test_float32_stays_float32():
    rng = np.random.default_rng(4)
    p = random_cell_parameters(rng, "lstm", 3, 4, dtype=np.float32)
    x = rng.standard_normal((3, 2, 5)).astype(np.float32)
    a, _, cache = layer_forward("lstm", x, p)
    grads = layer_backward(np.ones_like(a), cache)
    assert a.dtype == np.float32 and all(g.dtype == np.float32 for g in grads.values())


def test_fast_layer_input_errors():
    rng = np.random.default_rng(5)
    p = random_cell_parameters(rng, "gru", 3, 4)
    x = rng.standard_normal((3, 2, 5))
    with pytest.raises(ValueError, match="cell must be one of 'rnn', 'gru', 'lstm', got 'elman'"):
        layer_forward("elman", x, p)
    with pytest.raises(ValueError, match=r"mask must have shape \(m=2, T_x=5\), got \(5, 2\)"):
        layer_forward("gru", x, p, mask=np.ones((5, 2)))
    with pytest.raises(ValueError, match="mask must hold only 0"):
        layer_forward("gru", x, p, mask=np.full((2, 5), 0.5))
    with pytest.raises(ValueError, match="c0 is only for the LSTM"):
        layer_forward("gru", x, p, c0=np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"x must have shape \(n_x=3, m, T_x\), got \(2, 2, 5\)"):
        layer_forward("gru", x[:2], p)
    _, _, cache = layer_forward("gru", x, p)
    with pytest.raises(ValueError, match=r"da must have shape \(n_a=4, m=2, T_x=5\), got \(4, 2, 4\)"):
        layer_backward(np.zeros((4, 2, 4)), cache)
