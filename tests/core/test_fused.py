"""The compiled optimizer updates (nnctl/core/fused.py, numba from the ``fast`` extra) against
numpy's passes: the same bits for Adam, RMSprop and momentum in float32 and float64, chosen only
when they pay, and numpy's when numba is missing."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from nnctl.core import Adam, Momentum, RMSprop, fused, initialize_parameters

HP = {
    Adam: {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    Momentum: {"beta": 0.9},
    RMSprop: {"beta2": 0.9, "epsilon": 1e-8},
}

needs_numba = pytest.mark.skipif(
    fused.kernel("adam") is None,
    reason=f"numba is not installed (pip install -e '.[fast]'): {fused.unavailable_reason()}",
)


def run(cls: type, dtype: type, compiled: bool, steps: int = 7) -> tuple[list[np.ndarray], dict]:
    """``steps`` updates of a [30, 17, 5, 1] network's parameters with seeded gradients whose
    scale changes from step to step (the bias corrections and the square roots then matter)."""
    params = initialize_parameters([30, 17, 5, 1], "he", 3, dtype)
    opt = cls(params, SimpleNamespace(hyperparameters=HP[cls]))
    opt.prepare(steps)
    opt._kernel = fused.kernel(cls.RULE) if compiled else None
    assert opt.compiled == compiled
    rng = np.random.default_rng(0)
    for t in range(steps):
        scale = 10.0 ** rng.uniform(-6, 1)
        dWs = [(rng.standard_normal(W.shape) * scale).astype(dtype) for W in params.Ws]
        dbs = [(rng.standard_normal(b.shape) * scale).astype(dtype) for b in params.bs]
        opt.step(params, dWs, dbs, 0.01 * (1 + t % 3))
    return [*params.Ws, *params.bs], opt.state()


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", [Adam, Momentum, RMSprop])
def test_compiled_updates_are_numpys_bit_for_bit(cls: type, dtype: type) -> None:
    p_np, s_np = run(cls, dtype, compiled=False)
    p_c, s_c = run(cls, dtype, compiled=True)
    for a, b in zip(p_np, p_c):
        assert a.dtype == b.dtype == dtype
        assert np.array_equal(a.view(np.uint8), b.view(np.uint8))
    assert s_np.keys() == s_c.keys()
    for k in s_np:
        assert np.array_equal(
            np.atleast_1d(s_np[k]).view(np.uint8), np.atleast_1d(s_c[k]).view(np.uint8)
        ), k


def test_auto_compiles_only_when_the_updates_would_take_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # W2's Adam (235,146 float32 values): one epoch (469 steps) saves ~0.1 s, less than numba's
    # import costs; ten epochs save ~1 s
    assert not fused.worth_it("adam", 235_146, 4, 469)
    assert fused.worth_it("adam", 235_146, 4, 4690 * 2)
    assert fused.worth_it("adam", 235_146, 8, 4690)
    assert not fused.worth_it("gd", 10**9, 8, 10**9)  # no compiled gradient descent
    assert fused.worth_it("rmsprop", 235_146, 8, 4690) and not fused.worth_it(
        "rmsprop", 235_146, 4, 469
    )
    monkeypatch.setenv(fused.ENV, "never")
    params = initialize_parameters([300, 300, 1], "he", 1, np.float64)
    opt = Adam(params, SimpleNamespace(hyperparameters=HP[Adam]))
    opt.prepare(10**9)
    assert not opt.compiled
    monkeypatch.setenv(fused.ENV, "auto")
    opt.prepare(10)
    assert not opt.compiled
    monkeypatch.setenv(fused.ENV, "always")
    opt.prepare(1)
    assert opt.compiled == (fused.kernel("adam") is not None)


def test_without_numba_the_numpy_passes_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_numba() -> dict:
        raise ModuleNotFoundError("No module named 'numba'")

    monkeypatch.setattr(fused, "_kernels", None)
    monkeypatch.setattr(fused, "_failed", None)
    monkeypatch.setattr(fused, "_compile", no_numba)
    monkeypatch.setenv(fused.ENV, "always")
    params = initialize_parameters([4, 3, 1], "he", 1, np.float64)
    opt = Adam(params, SimpleNamespace(hyperparameters=HP[Adam]))
    opt.prepare(10)
    assert not opt.compiled
    assert fused.unavailable_reason() == "ModuleNotFoundError: No module named 'numba'"
    before = params.Ws[0].copy()
    opt.step(
        params, [np.ones_like(W) for W in params.Ws], [np.ones_like(b) for b in params.bs], 0.1
    )
    assert not np.array_equal(before, params.Ws[0])


@needs_numba
@pytest.mark.parametrize(
    "extra",
    ["", "batch_norm: true\n", "batch_norm: [false, true]\n"],
    ids=["plain", "batch_norm", "batch_norm layer 2"],
)
@pytest.mark.parametrize("optimizer", ["adam", "momentum", "rmsprop"])
def test_a_long_training_run_is_the_same_compiled_or_not(
    tmp_path, monkeypatch: pytest.MonkeyPatch, extra: str, optimizer: str
) -> None:
    """With batch normalization the compiled updates move gamma and beta too (they are in the
    flat buffers): the same bits as numpy's passes."""
    from helpers import write_config
    from nnctl.commands import fit
    from nnctl.config import load_config
    from nnctl.training import bind

    write_config(
        tmp_path / "c.yaml",
        "dataset: {synthetic: moons, m: 300, seed: 2}\nlayer_dims: [2, 16, 8, 1]\n"
        f"activations: {{hidden: relu, output: sigmoid}}\noptimizer: {optimizer}\n"
        "learning_rate: 0.01\nbatch_size: 32\nepochs: 20\ndtype: float32\n" + extra,
    )
    bound = bind(load_config(tmp_path / "c.yaml"))
    results = {}
    for setting in ("never", "always"):
        monkeypatch.setenv(fused.ENV, setting)
        r = fit(bound.cfg, bound.dataset.X_train, bound.dataset.Y_train)
        assert r.state.optimizer.compiled == (setting == "always")
        results[setting] = (r.costs, r.params.to_dict())
    assert ("gamma2" in results["never"][1]) == bool(extra)
    assert results["never"][0] == results["always"][0]
    assert all(
        np.array_equal(results["never"][1][k], results["always"][1][k]) for k in results["never"][1]
    )


def test_a_bad_nnctl_compiled_is_one_line_before_anything_is_written(
    cli, runs_dir, tmp_path, monkeypatch
) -> None:
    from helpers import write_config

    cfg = write_config(
        tmp_path / "c.yaml",
        "dataset: {synthetic: moons, m: 100}\nlayer_dims: [2, 4, 1]\n"
        "activations: {hidden: relu, output: sigmoid}\nlearning_rate: 0.1\niterations: 2\n",
    )
    monkeypatch.setenv(fused.ENV, "fast")
    r = cli("train", cfg)
    assert r.exit_code == 2
    assert r.stderr.strip() == "error: NNCTL_COMPILED=fast: expected one of auto, always, never"
    assert not runs_dir.exists() or not any(runs_dir.iterdir())
