"""The compiled optimizer updates (nnctl/core/_fused.c through nnctl/core/fused.py, built by
the default install) against numpy's passes: the same bits for Adam, RMSprop and momentum in
float32 and float64, used by default, and numpy's passes when the extension is missing."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

from nnctl.core import Adam, Momentum, RMSprop, fused, initialize_parameters
from nnctl.system import ConfigError

HP = {
    Adam: {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    Momentum: {"beta": 0.9},
    RMSprop: {"beta2": 0.9, "epsilon": 1e-8},
}

# The README's install builds the extension (a C compiler is on every machine CI runs on); a
# checkout without one skips these, except in CI, where a missing build is a failure.
needs_kernel = pytest.mark.skipif(
    fused.kernel("adam") is None and not os.environ.get("CI"),
    reason=f"the compiled updates are not built here: {fused.unavailable_reason()}",
)


@needs_kernel
def test_the_install_built_the_compiled_updates() -> None:
    assert fused.unavailable_reason() is None
    assert all(callable(fused.kernel(r)) for r in fused.RULES)


def run(cls: type, dtype: type, compiled: bool, steps: int = 7) -> tuple[list[np.ndarray], dict]:
    """``steps`` updates of a [30, 17, 5, 1] network's parameters with seeded gradients whose
    scale changes from step to step (the bias corrections and the square roots then matter)."""
    params = initialize_parameters([30, 17, 5, 1], "he", 3, dtype)
    opt = cls(params, SimpleNamespace(hyperparameters=HP[cls]))
    opt.prepare()
    opt._kernel = fused.kernel(cls.RULE) if compiled else None
    assert opt.compiled == compiled
    rng = np.random.default_rng(0)
    for t in range(steps):
        scale = 10.0 ** rng.uniform(-6, 1)
        dWs = [(rng.standard_normal(W.shape) * scale).astype(dtype) for W in params.Ws]
        dbs = [(rng.standard_normal(b.shape) * scale).astype(dtype) for b in params.bs]
        opt.step(params, dWs, dbs, 0.01 * (1 + t % 3))
    return [*params.Ws, *params.bs], opt.state()


@needs_kernel
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


@needs_kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_adam_matches_numpy_on_awkward_values(dtype: type) -> None:
    """An odd length (the vector loops' remainders), zeros of both signs, subnormal, huge,
    infinite and NaN gradients: the compiled pass and numpy's give the same bits."""
    info = np.finfo(dtype)
    rng = np.random.default_rng(5)
    n = 1037
    g = rng.standard_normal(n).astype(dtype)
    g[:8] = [0.0, -0.0, info.smallest_subnormal, -info.tiny, info.max, np.inf, -np.inf, np.nan]
    params = initialize_parameters([n - 1, 1], "he", 1, dtype)  # n - 1 weights and 1 bias
    out = {}
    for compiled in (False, True):
        p = initialize_parameters([n - 1, 1], "he", 1, dtype)
        opt = Adam(p, SimpleNamespace(hyperparameters=HP[Adam]))
        opt._kernel = fused.kernel("adam") if compiled else None
        for t in range(3):
            with np.errstate(all="ignore"):  # the infinities and NaN are the point
                opt.step(
                    p, [g[: n - 1].reshape(1, n - 1) * (t + 1)], [g[n - 1 :].reshape(1, 1)], 0.01
                )
        out[compiled] = (p.Ws[0].copy(), opt.state())
    assert params.Ws[0].shape == out[True][0].shape == (1, n - 1)
    assert np.isnan(out[False][0]).any()  # the awkward values did reach the parameters
    assert np.array_equal(out[False][0].view(np.uint8), out[True][0].view(np.uint8))
    for k in ("v0", "s0"):
        assert np.array_equal(out[False][1][k].view(np.uint8), out[True][1][k].view(np.uint8))


@needs_kernel
def test_the_extension_refuses_mismatched_buffers() -> None:
    adam = fused.kernel("adam")
    a32, a64 = np.zeros(5, np.float32), np.zeros(5, np.float64)
    c = fused.as_dtype((0.9, 0.1, 0.999, 0.001, 0.1, 0.001, 0.01, 1e-8), np.dtype(np.float32))
    with pytest.raises(TypeError, match="float32 or float64 buffers of one length"):
        adam(a32, a64, a32, a32, *c)
    with pytest.raises(TypeError, match="float32 or float64 buffers of one length"):
        adam(a32, a32, a32, np.zeros(4, np.float32), *c)
    with pytest.raises(TypeError, match="float32 or float64"):
        adam(*(np.zeros(5, np.int32) for _ in range(4)), *c)
    with pytest.raises(TypeError, match="4 buffers and 8 constants"):
        adam(a32, a32, a32, a32)
    with pytest.raises((TypeError, ValueError, BufferError)):
        adam(a32, a32, a32, np.zeros(10, np.float32)[::2], *c)  # not contiguous
    ro = np.zeros(5, np.float32)
    ro.flags.writeable = False
    with pytest.raises((TypeError, ValueError, BufferError)):
        adam(ro, a32, a32, a32, *c)
    assert not a32.any()  # nothing was updated by a refused call


def test_auto_and_always_use_the_compiled_updates_and_never_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    params = initialize_parameters([30, 30, 1], "he", 1, np.float64)
    opt = Adam(params, SimpleNamespace(hyperparameters=HP[Adam]))
    built = fused.kernel("adam") is not None
    for setting, expected in (("never", False), ("auto", built), ("", built)):
        monkeypatch.setenv(fused.ENV, setting)
        opt.prepare()
        assert opt.compiled == expected, setting
    if built:
        monkeypatch.setenv(fused.ENV, "always")
        opt.prepare()
        assert opt.compiled
    monkeypatch.setenv(fused.ENV, "sometimes")
    with pytest.raises(
        ConfigError, match="NNCTL_COMPILED=sometimes: expected one of auto, always, never"
    ):
        fused.setting()


def test_without_the_extension_the_numpy_passes_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_extension(name, globals=None, locals=None, fromlist=(), level=0):
        if fromlist and "_fused" in fromlist:
            raise ImportError("cannot import name '_fused' from 'nnctl.core'")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(fused, "_kernels", None)
    monkeypatch.setattr(fused, "_failed", None)
    monkeypatch.setattr(builtins, "__import__", no_extension)
    params = initialize_parameters([4, 3, 1], "he", 1, np.float64)
    opt = Adam(params, SimpleNamespace(hyperparameters=HP[Adam]))
    monkeypatch.setenv(fused.ENV, "auto")
    opt.prepare()
    assert not opt.compiled
    assert (
        fused.unavailable_reason() == "ImportError: cannot import name '_fused' from 'nnctl.core'"
    )
    monkeypatch.setenv(fused.ENV, "always")
    with pytest.raises(ConfigError) as err:
        fused.setting()
    assert str(err.value) == (
        "NNCTL_COMPILED=always: the compiled updates are not built in this install "
        "(ImportError: cannot import name '_fused' from 'nnctl.core'); reinstall nnctl where "
        "a C compiler is found, or use auto or never"
    )
    before = params.Ws[0].copy()
    opt.step(
        params, [np.ones_like(W) for W in params.Ws], [np.ones_like(b) for b in params.bs], 0.1
    )
    assert not np.array_equal(before, params.Ws[0])


@needs_kernel
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
