"""The mini-batch hot loop: gathers into reused buffers give exactly X[:, idx], the loaders keep
X column-major (examples contiguous), and a float32 run stays float32 in every array."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import nnctl.commands.train as train_mod
import nnctl.core.network as model_mod
import nnctl.training.loop as loop_mod
from nnctl.config import resolve
from nnctl.data import hold_out, load_dataset
from nnctl.system import STREAM_HOLD_OUT, rng_for
from nnctl.training import BatchGatherer


@pytest.mark.parametrize("order", ["F", "C"])
def test_gather_gives_the_indexed_columns_also_for_a_short_last_batch(order: str) -> None:
    rng = np.random.default_rng(3)
    X = np.asarray(rng.standard_normal((7, 23)), order=order)
    T = rng.standard_normal((3, 23))
    g = BatchGatherer(X, T, batch_size=5)
    assert g.by_example == (order == "F")
    perm = rng.permutation(23)
    for k in range(0, 23, 5):  # 5, 5, 5, 5, 3 columns
        idx = perm[k : k + 5]
        Xb, Tb = g.gather(idx)
        assert Xb.shape == (7, idx.size) and Tb.shape == (3, idx.size)
        np.testing.assert_array_equal(Xb, X[:, idx])
        np.testing.assert_array_equal(Tb, T[:, idx])
    # the buffers are reused, not reallocated per batch
    Xb1, _ = g.gather(perm[:5])
    Xb2, _ = g.gather(perm[5:10])
    assert np.shares_memory(Xb1, Xb2)


def test_feature_files_load_column_major(tmp_path: Path) -> None:
    x = np.random.default_rng(0).standard_normal((40, 6)).astype(np.float32)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f["train_x"] = x
        f["train_y"] = np.arange(40) % 2
    ds = load_dataset({"train": str(tmp_path / "f.h5")}, "float32")
    np.testing.assert_array_equal(ds.X_train, x.T)
    assert ds.X_train.flags.f_contiguous and ds.X_train.dtype == np.float32
    held = hold_out(ds, 0.25, rng_for(1, STREAM_HOLD_OUT))
    assert held.X_train.flags.f_contiguous and held.X_val.flags.f_contiguous
    ds64 = load_dataset({"train": str(tmp_path / "f.h5")}, "float64")
    assert ds64.X_train.flags.f_contiguous and ds64.X_train.dtype == np.float64


@pytest.mark.parametrize(
    "optimizer,extra",
    [
        ("adam", {}),
        ("rmsprop", {}),
        ("momentum", {"l2": 0.1}),
        ("gd", {"dropout": [0.8, 1.0]}),
    ],
)
def test_a_float32_mini_batch_run_computes_in_float32_throughout(
    monkeypatch, optimizer, extra
) -> None:
    """Every array the loop touches (batch, activations, logits, gradients, parameters,
    optimizer state) stays float32: one float64 array would silently upcast the rest."""
    cfg = resolve(
        {
            "dataset": {"synthetic": "spiral", "m": 60, "test_fraction": 0.0, "seed": 1},
            "layer_dims": [2, 6, 5, 3],
            "activations": ["relu", "tanh", "softmax"],
            "optimizer": optimizer,
            "learning_rate": 0.01,
            "batch_size": 16,
            "epochs": 2,
            "dtype": "float32",
            **extra,
        },
        "t.yaml",
    )
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.standard_normal((2, 60)).astype(np.float32))
    Y = (np.arange(60) % 3).reshape(1, 60)
    seen: dict[str, set] = {}

    def note(name: str, arrays) -> None:
        seen.setdefault(name, set()).update(a.dtype for a in arrays if a is not None)

    real_forward, real_backward, real_cg = (
        model_mod.forward,
        model_mod.backward,
        loop_mod.cost_and_gradients,
    )

    def forward(params, Xb, arch, masks=None):
        AL, ZL, cache = real_forward(params, Xb, arch, masks)
        note("forward", [AL, ZL, *cache, *(masks or [])])
        return AL, ZL, cache

    def backward(params, cache, dZL, arch, masks=None, out=None):
        note("dZL", [dZL])
        return real_backward(params, cache, dZL, arch, masks, out)

    def cost_and_gradients(params, Xb, Tb, arch, **kw):
        note("batch", [Xb, Tb, *params.Ws, *params.bs])
        cost, dWs, dbs = real_cg(params, Xb, Tb, arch, **kw)
        note("gradients", [*dWs, *dbs])
        return cost, dWs, dbs

    monkeypatch.setattr(model_mod, "forward", forward)
    monkeypatch.setattr(model_mod, "backward", backward)
    monkeypatch.setattr(loop_mod, "cost_and_gradients", cost_and_gradients)
    states = []
    real_start = train_mod.TrainState.start
    monkeypatch.setattr(
        train_mod.TrainState,
        "start",
        classmethod(lambda cls, c: states.append(real_start(c)) or states[-1]),
    )
    result = train_mod.fit(cfg, X, Y)
    assert result.status == "complete" and len(result.costs) == 8  # 4 batches x 2 epochs
    assert set(seen) == {"forward", "dZL", "batch", "gradients"}
    assert {k: v for k, v in seen.items() if v != {np.dtype(np.float32)}} == {}
    assert {a.dtype for a in [*result.params.Ws, *result.params.bs]} == {np.dtype(np.float32)}
    opt_state = states[0].optimizer.state()
    assert {a.dtype for k, a in opt_state.items() if k != "t"} <= {np.dtype(np.float32)}
