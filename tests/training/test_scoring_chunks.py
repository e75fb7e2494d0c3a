"""Scoring a large in-memory X in chunks of columns (``scoring.forward_chunked``): the same AL
and ZL as the whole forward pass, bit for bit on the network the benchmark publishes numbers
for (W2), and the same scores."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.core import Architecture, Params, forward
from nnctl.training import SCORE_CHUNK, forward_chunked


def _net(dims: list[int], dtype: str, rng: np.random.Generator) -> Params:
    Ws = [
        (rng.standard_normal((n, k)) * np.sqrt(2 / k)).astype(dtype)
        for k, n in zip(dims[:-1], dims[1:])
    ]
    bs = [(rng.standard_normal((n, 1)) * 0.1).astype(dtype) for n in dims[1:]]
    return Params(Ws, bs)


def _X(n_x: int, m: int, dtype: str, rng: np.random.Generator) -> np.ndarray:
    # column-major, as the loaders lay X out (``batches``)
    return np.asfortranarray(rng.standard_normal((n_x, m)).astype(dtype))


W2 = ([784, 256, 128, 10], ["relu", "relu", "softmax"], "categorical_cross_entropy")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m", [2 * SCORE_CHUNK, 3 * SCORE_CHUNK + 5, 20000])
def test_w2_chunked_forward_is_bit_identical(dtype: str, m: int) -> None:
    """On this machine's OpenBLAS, for W2's network. (On another BLAS, the last bits could
    differ; then chunking must start above the sizes whose numbers are published.)"""
    rng = np.random.default_rng(0)
    dims, acts, loss = W2
    params, arch = _net(dims, dtype, rng), Architecture.build(acts, loss)
    X = _X(dims[0], m, dtype, rng)
    AL, ZL = forward(params, X, arch)[:2]
    al, zl = forward_chunked(params, X, arch)
    assert al.dtype == AL.dtype and zl.dtype == ZL.dtype and al.shape == AL.shape
    assert al.tobytes() == AL.tobytes() and zl.tobytes() == ZL.tobytes()


@pytest.mark.parametrize(
    "dims,acts,loss",
    [
        ([2, 16, 8, 1], ["tanh", "leaky_relu", "sigmoid"], "binary_cross_entropy"),
        ([3, 5, 2], ["sigmoid", "linear"], "mean_squared_error"),
        ([30, 7, 5, 1], ["relu", "relu", "sigmoid"], "binary_cross_entropy"),
    ],
)
def test_other_networks_chunked_agree_to_rounding(
    dims: list[int], acts: list[str], loss: str
) -> None:
    rng = np.random.default_rng(1)
    params, arch = _net(dims, "float64", rng), Architecture.build(acts, loss)
    X = _X(dims[0], 2 * SCORE_CHUNK + 77, "float64", rng)
    AL, ZL = forward(params, X, arch)[:2]
    al, zl = forward_chunked(params, X, arch)
    np.testing.assert_allclose(al, AL, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(zl, ZL, rtol=1e-13, atol=1e-15)


def test_below_two_chunks_it_is_the_whole_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    """The course's 209 and 50 examples (and anything under 2 × 4096) take ``model.forward``
    itself, so every published number of a small dataset is computed exactly as before."""
    import nnctl.training.scoring as scoring

    calls = []
    real = scoring.forward
    monkeypatch.setattr(
        scoring, "forward", lambda *a, **k: calls.append(a[1].shape) or real(*a, **k)
    )
    rng = np.random.default_rng(2)
    params, arch = (
        _net([12, 4, 1], "float64", rng),
        Architecture.build(["relu", "sigmoid"], "binary_cross_entropy"),
    )
    X = _X(12, 2 * SCORE_CHUNK - 1, "float64", rng)
    forward_chunked(params, X, arch)
    assert calls == [X.shape]
    calls.clear()
    forward_chunked(params, _X(12, 2 * SCORE_CHUNK, "float64", rng), arch)
    assert calls == []


def test_the_chunk_width_must_be_a_multiple_of_64() -> None:
    rng = np.random.default_rng(3)
    params, arch = (
        _net([4, 3, 1], "float64", rng),
        Architecture.build(["relu", "sigmoid"], "binary_cross_entropy"),
    )
    with pytest.raises(ValueError, match="multiple of 64"):
        forward_chunked(params, _X(4, 10, "float64", rng), arch, chunk=100)


def test_w2_scores_equal_the_whole_forward_scores(tmp_path) -> None:
    """``score`` (the run summary, validation, evaluate) over 10,000 examples, a chunk at a
    time (each chunk's targets made alone): the whole forward pass's outputs to the bit, its
    accuracy exactly, and its loss up to the order of summation (float32 sums of 10,000 terms
    round in the 7th digit; anything else wrong would be off in the first)."""
    from nnctl.config import resolve
    from nnctl.core import accuracy
    from nnctl.training import score

    rng = np.random.default_rng(4)
    dims, acts, loss = W2
    cfg = resolve(
        {
            "dataset": {"synthetic": "spiral"},
            "layer_dims": dims,
            "activations": acts,
            "loss": loss,
            "learning_rate": 0.1,
            "epochs": 1,
            "batch_size": 128,
            "dtype": "float32",
        },
        "t.yaml",
    )
    params = _net(dims, "float32", rng)
    X = _X(784, 10000, "float32", rng)
    Y = rng.integers(0, 10, (1, 10000))
    s = score(params, cfg, X, Y)
    AL, ZL = forward(params, X, cfg.arch)[:2]
    want = cfg.arch.loss.cost(ZL, AL, cfg.arch.loss.targets(Y, 10, cfg.float_type))
    assert s.AL.tobytes() == AL.tobytes() and s.ZL.tobytes() == ZL.tobytes()
    assert s.loss == pytest.approx(want, rel=1e-6) and s.loss != 0
    assert s.accuracy == accuracy(np.argmax(AL, axis=0).reshape(1, -1), Y)
