"""The fast paths of round 2 give the same numbers as the plain ones: flat optimizer buffers
against the per-array updates they replaced (bit for bit), in-place hidden activations, the
BLAS thread choice recorded and reused on resume, the data file's hash cache and the finiteness
check. No test here measures time (bench/run.py does)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import h5py
import numpy as np
import pytest

import nnctl.commands.train as train_mod
from helpers import write_config
from nnctl.commands import train_run
from nnctl.config import load_config
from nnctl.core import (
    ACTIVATIONS,
    Adam,
    GradientDescent,
    Momentum,
    cost_and_gradients,
    initialize_parameters,
)
from nnctl.data import all_finite, load_dataset
from nnctl.system import DataError, filehash, threads
from nnctl.training import TrainState

# ------------------------------------------------------------------------- the previous optimizers
# The per-array updates as they were before the flat buffers, verbatim in their arithmetic.


def old_gd(params, dWs, dbs, lr, state):
    for W, b, dW, db in zip(params.Ws, params.bs, dWs, dbs):
        W -= lr * dW
        b -= lr * db


def old_momentum(params, dWs, dbs, lr, state, beta=0.9):
    v_all = state.setdefault("v", [np.zeros_like(a) for a in (*params.Ws, *params.bs)])
    for p, g, v in zip((*params.Ws, *params.bs), (*dWs, *dbs), v_all):
        v *= beta
        v += (1 - beta) * g
        p -= lr * v


def old_adam(params, dWs, dbs, lr, state, b1=0.9, b2=0.999, eps=1e-8):
    arrays = (*params.Ws, *params.bs)
    for key in ("v", "s", "num", "den"):
        state.setdefault(key, [np.zeros_like(a) for a in arrays])
    state["t"] = state.get("t", 0) + 1
    c1, c2 = 1 - b1 ** state["t"], 1 - b2 ** state["t"]
    for p, g, v, s, num, den in zip(
        arrays, (*dWs, *dbs), state["v"], state["s"], state["num"], state["den"]
    ):
        v *= b1
        np.multiply(g, 1 - b1, out=num)
        v += num
        s *= b2
        np.multiply(g, g, out=den)
        den *= 1 - b2
        s += den
        np.divide(v, c1, out=num)
        num *= lr
        np.divide(s, c2, out=den)
        np.sqrt(den, out=den)
        den += eps
        num /= den
        p -= num


HP = {"gd": {}, "momentum": {"beta": 0.9}, "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}}
NEW = {"gd": GradientDescent, "momentum": Momentum, "adam": Adam}
OLD = {"gd": old_gd, "momentum": old_momentum, "adam": old_adam}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["gd", "momentum", "adam"])
@pytest.mark.parametrize("into_buffer", [False, True])
def test_flat_optimizers_equal_the_per_array_updates_bit_for_bit(name, dtype, into_buffer) -> None:
    dims = [7, 5, 4, 3]
    new_p = initialize_parameters(dims, "he", 3, dtype)
    old_p = new_p.copy()
    opt = NEW[name](new_p, SimpleNamespace(hyperparameters=HP[name]))
    state: dict = {}
    rng = np.random.default_rng(1)
    for step in range(6):
        grads = [rng.standard_normal(a.shape).astype(dtype) * 0.1 for a in (*old_p.Ws, *old_p.bs)]
        L = old_p.L
        OLD[name](old_p, grads[:L], grads[L:], 0.01 * (step + 1), state)
        if into_buffer:  # as the loop does: the backward pass writes into the optimizer's views
            for view, g in zip((*opt.grads.Ws, *opt.grads.bs), grads):
                view[...] = g
            opt.step(new_p, opt.grads.Ws, opt.grads.bs, 0.01 * (step + 1))
        else:
            opt.step(new_p, grads[:L], grads[L:], 0.01 * (step + 1))
    for a, b in zip((*old_p.Ws, *old_p.bs), (*new_p.Ws, *new_p.bs)):
        assert a.dtype == b.dtype == dtype and np.array_equal(a, b)
    if name != "gd":
        saved = opt.state()
        for i, v in enumerate(state["v"]):
            assert np.array_equal(saved[f"v{i}"], v)


def test_parameters_and_gradients_live_in_one_buffer_each(tiny_cfg) -> None:
    s = TrainState.start(tiny_cfg)
    opt = s.optimizer
    arrays = [*s.params.Ws, *s.params.bs]
    base = arrays[0].base
    assert base is not None and base.ndim == 1 and all(a.base is base for a in arrays)
    assert base.size == sum(a.size for a in arrays) and all(a.flags.c_contiguous for a in arrays)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 9))
    Y = (np.arange(9) % 2).reshape(1, 9).astype(float)
    cost, dWs, dbs = cost_and_gradients(s.params, X, Y, tiny_cfg.arch, out=opt.grads)
    assert all(g is v for g, v in zip([*dWs, *dbs], [*opt.grads.Ws, *opt.grads.bs]))
    fresh = cost_and_gradients(s.params, X, Y, tiny_cfg.arch)  # the same numbers into new arrays
    assert fresh[0] == cost and all(
        np.array_equal(a, b) for a, b in zip([*fresh[1], *fresh[2]], [*dWs, *dbs])
    )


@pytest.fixture
def tiny_cfg(tmp_path: Path):
    from nnctl.config import resolve

    return resolve(
        {
            "dataset": {"synthetic": "moons", "m": 9, "test_fraction": 0.0, "seed": 1},
            "layer_dims": [2, 4, 3, 1],
            "activations": ["relu", "tanh", "sigmoid"],
            "optimizer": "adam",
            "learning_rate": 0.01,
            "iterations": 2,
        },
        "t.yaml",
    )


# ----------------------------------------------------------------------------- in-place activations


@pytest.mark.parametrize(
    "name", [n for n, a in ACTIVATIONS.items() if a.forward_inplace is not None]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_hidden_activations_equal_forward(name, dtype) -> None:
    act = ACTIVATIONS[name]
    Z = (np.random.default_rng(2).standard_normal((6, 50)) * 30).astype(dtype)
    Z[0, :3] = [np.nan, np.inf, -np.inf]
    Z[1, :2] = [0.0, -0.0]
    want = act.forward(Z.copy())
    buf = Z.copy()
    got = act.hidden_forward(buf)
    assert got.dtype == dtype and np.array_equal(got, want, equal_nan=True)
    assert np.shares_memory(got, buf) or name == "linear"


# ----------------------------------------------------------------------------- threads


def test_thread_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in threads.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(threads, "cores", lambda: 2)
    monkeypatch.setattr(threads, "others_running", lambda: 0.0)
    small = threads.choose([2, 32, 32, 3], 64, None)  # the spiral config: tiny products
    assert (small.setting, small.blas) == ("auto", 1) and "< 1e+07" in small.reason
    w2 = threads.choose([784, 256, 128, 10], 128, None)  # 784 x 256 x 128 = 25.7 M multiply-adds
    assert (w2.setting, w2.blas) == ("auto", 2)
    monkeypatch.setattr(threads, "others_running", lambda: 1.4)  # another process holds a core
    busy = threads.choose([784, 256, 128, 10], 128, None)
    assert busy.blas == 1 and "1.4 other threads running" in busy.reason
    monkeypatch.setattr(threads, "cores", lambda: 8)  # a larger machine: the cores left free
    monkeypatch.setattr(threads, "others_running", lambda: 3.2)
    assert threads.choose([784, 256, 128, 10], 128, None).blas == 5
    assert threads.choose([784, 256, 128, 10], 128, 3).to_json() == {
        "setting": "option",
        "blas_threads": 3,
        "reason": "--threads 3",
    }
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    env = threads.choose([784, 256, 128, 10], 128, None)
    assert (env.setting, env.blas, env.reason) == ("environment", None, "OPENBLAS_NUM_THREADS=2")
    assert threads.largest_product([12288, 20, 7, 5, 1], 209) == 12288 * 20 * 209
    recorded = {"setting": "option", "blas_threads": 1, "reason": "--threads 1"}
    assert threads.for_run([784, 256, 128, 10], 128, None, recorded).blas == 1
    assert threads.for_run([784, 256, 128, 10], 128, None, recorded).setting == "recorded"
    assert threads.for_run([784, 256, 128, 10], 128, 2, recorded).setting == "option"


RESUMABLE = """\
dataset: {synthetic: spiral, m: 150, test_fraction: 0.2, seed: 1}
layer_dims: [auto, 12, 8, 3]
activations: {hidden: relu, output: softmax}
optimizer: adam
learning_rate: 0.02
batch_size: 16
epochs: 4
checkpoint_every: 5
"""


def test_the_thread_setting_is_recorded_and_resume_keeps_it(
    cli, runs_dir, tmp_path, monkeypatch
) -> None:
    from threadpoolctl import threadpool_info

    for var in threads.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    path = write_config(tmp_path / "r.yaml", RESUMABLE)
    r = cli("train", path, "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    auto = json.loads((Path(json.loads(r.stdout)["run_dir"]) / "summary.json").read_text())[
        "threads"
    ]
    assert auto["setting"] == "auto" and auto["blas_threads"] == 1  # small products: one thread

    def stop_at(i: int, cost: float) -> None:
        if i == 12:
            raise KeyboardInterrupt

    broken = train_run(load_config(path), runs_dir, on_iteration=stop_at, threads=1)
    assert broken.status == "interrupted"
    assert broken.summary.threads == {
        "setting": "option",
        "blas_threads": 1,
        "reason": "--threads 1",
    }
    seen = []
    real_fit = train_mod.fit

    def spy(*args, **kwargs):
        seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(train_mod, "fit", spy)
    monkeypatch.setattr(threads, "choose", lambda *a: pytest.fail("resume chose threads afresh"))
    r = cli("train", "--resume", broken.run_id, "--quiet", "--json")
    assert r.exit_code == 0, r.stderr
    s = json.loads((broken.run_dir / "summary.json").read_text())
    assert s["threads"]["setting"] == "option"  # the run's own record is kept
    assert (
        s["resumed"][0]["threads"]["setting"] == "recorded"
        and s["resumed"][0]["threads"]["blas_threads"] == 1
    )
    assert seen == [{1}] or seen == [set()]  # set(): no BLAS visible to threadpoolctl here


# ----------------------------------------------------------------------------- start-up


def _h5(path: Path, x: np.ndarray) -> Path:
    with h5py.File(path, "w") as f:
        f["train_x"] = x
        f["train_y"] = np.arange(x.shape[0]) % 2
    return path


def test_the_data_hash_is_cached_per_file_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(filehash.CACHE_ENV, str(tmp_path / "cache"))
    f = _h5(tmp_path / "d.h5", np.zeros((4, 3)))
    hashed = []
    real = filehash.sha256_uncached
    monkeypatch.setattr(filehash, "sha256_uncached", lambda p: hashed.append(p) or real(p))
    first = filehash.sha256_of(f)
    assert first == real(f) and len(hashed) == 1
    assert filehash.sha256_of(f) == first and len(hashed) == 1  # unchanged: from the cache
    entry = json.loads((tmp_path / "cache" / filehash.CACHE_FILE).read_text())[str(f.resolve())]
    assert entry["sha256"] == first
    st = os.stat(f)
    _h5(f, np.ones((4, 3)))  # new contents, then the old modification time put back
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    second = filehash.sha256_of(f)
    assert second != first and second == real(f) and len(hashed) == 2
    ds = load_dataset({"train": str(f)}, "float64")
    assert ds.sources[0]["sha256"] == second and len(hashed) == 2


def test_an_unwritable_hash_cache_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv(filehash.CACHE_ENV, str(blocker / "cache"))
    f = _h5(tmp_path / "d.h5", np.zeros((4, 3)))
    assert filehash.sha256_of(f) == filehash.sha256_uncached(f)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / filehash.CACHE_FILE).write_text("{not json")
    monkeypatch.setenv(filehash.CACHE_ENV, str(tmp_path / "c"))
    assert filehash.sha256_of(f) == filehash.sha256_uncached(f)  # a damaged cache is rewritten
    assert json.loads((tmp_path / "c" / filehash.CACHE_FILE).read_text())


def test_finiteness_check(tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((300, 70)).astype(np.float32)
    assert all_finite(x)
    huge = np.full((300, 70), 3e38, np.float32)  # finite values whose sum overflows
    assert all_finite(huge)
    for bad in (np.nan, np.inf, -np.inf):
        y = huge.copy()
        y[299, 69] = bad
        assert not all_finite(y)
    x[5, 6], x[100, 0] = np.nan, -np.inf
    with pytest.raises(DataError, match=r"train_x: 2 NaN or infinite value\(s\)"):
        load_dataset({"train": str(_h5(tmp_path / "bad.h5", x))}, "float32")


def test_optimizer_state_of_another_shape_is_refused() -> None:
    p = initialize_parameters([3, 2, 1], "he", 1)
    opt = Adam(p, SimpleNamespace(hyperparameters=HP["adam"]))
    state = opt.state()
    state["v0"] = state["v0"][:1]  # (1, 3) where W1 is (2, 3): would broadcast if not checked
    with pytest.raises(ValueError, match=r"shape \(2, 3\), got \(1, 3\)"):
        opt.load_state(state)
