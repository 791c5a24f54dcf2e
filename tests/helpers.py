"""Helpers shared by the tests: random parameters and stated tolerances."""
import numpy as np

# Finite differences in float64 with eps = 1e-6: truncation error O(eps^2) ~ 1e-12
# and rounding error O(1e-16 / eps) ~ 1e-10 relative, so a correct gradient is far
# below 1e-7 and a wrong one (a missing term, a transposed factor) is far above.
GRADCHECK_TOL = 1e-7
# Two float64 implementations of the same arithmetic differ by a few ulps per
# operation; over ~100 steps that stays many orders of magnitude below 1e-10.
PARITY_TOL = 1e-10


def random_rnn(rng, n_x, n_a, n_y, scale=0.5, dtype=np.float64):
    """Vanilla-RNN parameters with N(0, scale^2/n) weights and non-zero biases."""
    return {
        "Wax": rng.normal(0, scale / np.sqrt(n_x), (n_a, n_x)).astype(dtype),
        "Waa": rng.normal(0, scale / np.sqrt(n_a), (n_a, n_a)).astype(dtype),
        "Wya": rng.normal(0, scale / np.sqrt(n_a), (n_y, n_a)).astype(dtype),
        "ba": rng.normal(0, 0.1, (n_a, 1)).astype(dtype),
        "by": rng.normal(0, 0.1, (n_y, 1)).astype(dtype),
    }


def assert_close(actual, expected, tol=PARITY_TOL, name=""):
    """max |actual - expected| <= tol * max(1, max |expected|)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    err = np.max(np.abs(actual - expected)) if actual.size else 0.0
    bound = tol * max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
    assert err <= bound, f"{name}: max abs difference {err:.3e} exceeds {bound:.3e}"


def assert_gradcheck(errors, tol=GRADCHECK_TOL):
    """Every relative error from rnn_core.gradient_check is below tol."""
    assert errors, "gradient_check checked nothing"
    bad = {k: v for k, v in errors.items() if not v < tol}
    assert not bad, f"relative errors above {tol}: {bad}"


def random_gated(rng, cell, n_x, n_a, n_y=None, scale=0.5, dtype=np.float64):
    """GRU or LSTM parameters (with Wy, by when n_y is given), non-zero biases."""
    names = ("Wr", "Wz", "Wc") if cell == "gru" else ("Wf", "Wi", "Wc", "Wo")
    p = {k: rng.normal(0, scale / np.sqrt(n_a + n_x), (n_a, n_a + n_x)).astype(dtype)
         for k in names}
    p.update({"b" + k[1:]: rng.normal(0, 0.1, (n_a, 1)).astype(dtype) for k in names})
    if cell == "gru":
        p["bca"] = rng.normal(0, 0.1, (n_a, 1)).astype(dtype)
    if n_y is not None:
        p["Wy"] = rng.normal(0, scale / np.sqrt(n_a), (n_y, n_a)).astype(dtype)
        p["by"] = rng.normal(0, 0.1, (n_y, 1)).astype(dtype)
    return p


def random_cell_parameters(rng, cell, n_x, n_a, dtype=np.float64):
    """Parameters of any of the three cells, as layer_forward takes them."""
    if cell == "rnn":
        return random_rnn(rng, n_x, n_a, 2, dtype=dtype)
    return random_gated(rng, cell, n_x, n_a, dtype=dtype)
