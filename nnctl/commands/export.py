"""``export``: a trained run taken out of nnctl, as an ONNX graph or as the course's dictionary
of arrays (``W1, b1, ..., WL, bL`` in an .npz) with a JSON sidecar describing the inputs.

Both carry the run's *preprocessing*: how a raw example (an 8-bit image as loaded from a file,
or a row of feature values) becomes the network's input column. It is recorded as an ordered
list of steps, applied element-wise to the flattened example (C order, as
``nnctl.data.dataset.prepare_x`` flattens it)::

    {"op": "divide", "by": 255.0}                      # today's only step, for 8-bit images
    {"op": "subtract", "value": [..n_x floats..]}       # e.g. a future ``normalize: standard``
    {"op": "divide", "by": [..n_x floats..]}            #   is subtract mean, divide by std

so normalization statistics slot in as further steps without a format change. The ONNX graph
applies the same steps as operators (Flatten -> Sub/Div -> Gemm + activations -> output head),
so a consumer feeds raw pixel or feature values and gets class probabilities (or values).

onnx is the optional extra ``export`` (``pip install 'nnctl[export]'``), imported only by
``build_onnx``; without it UsageError says how to install it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import runs
from nnctl.core import LOSSES
from nnctl.runs import LoadedRun
from nnctl.system import RunError, UsageError

FORMATS = ("onnx", "npz")
INSTALL_HINT = "pip install 'nnctl[export]'  (or: pip install onnx onnxruntime)"
OPSET = 17  # Softmax(axis=-1) on a 2-D input, Gemm, LeakyRelu: all stable long before 17
PREPROCESSING_FORMAT = 1  # bumped only if a reader of the steps below would misread them

# ONNX operator per activation name (nnctl.core.activations.ACTIVATIONS); "linear" is no operator.
_ONNX_ACTIVATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "relu": ("Relu", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": 0.01}),  # nnctl.core.activations.LEAKY_SLOPE
    "tanh": ("Tanh", {}),
    "sigmoid": ("Sigmoid", {}),
    "softmax": ("Softmax", {"axis": -1}),  # examples are rows in ONNX: classes on the last axis
}


def preprocessing_spec(run: LoadedRun) -> dict[str, Any]:
    """What a consumer needs to feed the exported model raw examples: kind (image/features),
    input_shape (one example, e.g. [64, 64, 3]), color_mode, task, classes (output order),
    layout, and ``steps`` applied in order to the flattened example (see the module doc)."""
    pre = run.preprocessing
    task = LOSSES[run.config.loss].task
    steps: list[dict[str, Any]] = []
    if pre.divide_by != 1:
        steps.append({"op": "divide", "by": pre.divide_by})
    # A later normalization records its statistics in the summary's preprocessing; when it
    # does, its steps are appended here (subtract mean / divide by std, or min / range).
    for extra in (run.summary.to_json().get("preprocessing") or {}).get("steps", []) or []:
        steps.append(dict(extra))
    return {
        "format": PREPROCESSING_FORMAT,
        "kind": pre.kind,
        "input_shape": list(pre.input_shape),
        "color_mode": pre.color_mode,
        "task": task,
        "classes": pre.classes if task == "classification" else [],
        "layout": "one example is input_shape, flattened in C (row-major) order to n_x values",
        "steps": steps,
    }


def _check_output(out: Path) -> None:
    if out.exists() and out.is_dir():
        raise UsageError(f"-o {out}: is a directory; give a file name")
    if not out.parent.is_dir():
        raise UsageError(f"-o {out}: directory {out.parent} does not exist")


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise UsageError(
            "nnctl export --format onnx needs onnx, which is not installed; "
            f"install it with: {INSTALL_HINT}"
        ) from None
    return onnx


def _step_tensor(value: Any, n_x: int) -> np.ndarray:
    """A step's operand as float32: a scalar (shape ()) or one value per input feature (n_x,)."""
    a = np.asarray(value, dtype=np.float32)
    if a.ndim == 0 or a.shape == (n_x,):
        return a
    raise RunError(f"preprocessing step operand has shape {a.shape}; expected a scalar or ({n_x},)")


def build_onnx(run: LoadedRun) -> bytes:
    """The run's network as a checked ONNX model (float32), serialized.

    Graph: input (N, *input_shape) raw values -> Flatten -> preprocessing steps -> for each
    layer l: Gemm(A, W_l, b_l, transB=1) [+ activation] -> output (N, K). W_l: (n_l, n_{l-1})
    as trained, so Gemm computes A @ W_l.T + b_l on rows (the course's W A + b on columns). A
    batch-normalized layer is Gemm(A, W_l) without a bias, then BatchNormalization with gamma_l,
    beta_l and the running mean and variance (inference mode): the same formula as predict's,
    the parameters visible by name in the graph (docs/guides/second-course.md measures it). A
    sigmoid head becomes two columns [1 - p, p], so ``probabilities`` always has one column per
    class in ``classes`` order; a regression head's output is ``values`` (N, n_L).
    """
    onnx = _import_onnx()
    from onnx import TensorProto, helper, numpy_helper

    cfg = run.config
    spec = preprocessing_spec(run)
    n_x = math.prod(spec["input_shape"])
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    x = "input"
    nodes.append(helper.make_node("Flatten", [x], ["flat"], axis=1))
    a = "flat"
    for i, step in enumerate(spec["steps"]):
        op = {"divide": "Div", "subtract": "Sub"}.get(step.get("op"))
        if op is None:
            raise RunError(f"preprocessing step {step.get('op')!r} cannot be exported")
        operand = step["by"] if op == "Div" else step["value"]
        nodes.append(
            helper.make_node(op, [a, const(f"pre{i}", _step_tensor(operand, n_x))], [f"pre{i}_out"])
        )
        a = f"pre{i}_out"
    params = run.params
    for l, (W, b) in enumerate(zip(params.Ws, params.bs), start=1):
        z = f"Z{l}"
        if params.normalized(l - 1):
            nodes.append(
                helper.make_node(
                    "Gemm", [a, const(f"W{l}", W)], [f"WA{l}"], transB=1, name=f"layer{l}"
                )
            )
            stats = [
                const(f"{name}{l}", arr.reshape(-1))
                for name, arr in (
                    ("gamma", params.gammas[l - 1]),
                    ("beta", b),
                    ("running_mean", params.means[l - 1]),
                    ("running_var", params.variances[l - 1]),
                )
            ]
            nodes.append(
                helper.make_node(
                    "BatchNormalization",
                    [f"WA{l}", *stats],
                    [z],
                    epsilon=float(cfg.batch_norm["epsilon"]),
                    name=f"batch_norm{l}",
                )
            )
        else:
            nodes.append(
                helper.make_node(
                    "Gemm",
                    [a, const(f"W{l}", W), const(f"b{l}", b.reshape(-1))],
                    [z],
                    transB=1,
                    name=f"layer{l}",
                )
            )
        act = cfg.activations[l - 1]
        if act == "linear":
            a = z
            continue
        op, attrs = _ONNX_ACTIVATIONS[act]
        nodes.append(helper.make_node(op, [z], [f"A{l}"], **attrs))
        a = f"A{l}"
    n_out = cfg.layer_dims[-1]
    if spec["task"] == "regression":
        out_name, width = "values", n_out
        nodes.append(helper.make_node("Identity", [a], [out_name]))
    elif cfg.activations[-1] == "sigmoid" and n_out == 1:
        out_name, width = "probabilities", 2
        nodes.append(helper.make_node("Sub", [const("one", np.float32(1)), a], ["p_neg"]))
        nodes.append(helper.make_node("Concat", ["p_neg", a], [out_name], axis=1))
    else:
        out_name, width = "probabilities", n_out
        nodes.append(helper.make_node("Identity", [a], [out_name]))
    graph = helper.make_graph(
        nodes,
        f"nnctl_{run.run_dir.name}",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", *spec["input_shape"]])],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", width])],
        initializer=inits,
    )
    import nnctl

    model = helper.make_model(
        graph,
        producer_name="nnctl",
        producer_version=nnctl.__version__,
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string=f"nnctl run {run.run_dir.name}: raw examples in, {out_name} out "
        "(preprocessing applied in the graph; see metadata nnctl.preprocessing)",
    )
    # onnxruntime reads models up to the IR version it was built for: pin the one that opset
    # 17 came with rather than the newest this onnx package writes.
    model.ir_version = 8
    summary = run.summary.to_json()
    metadata = {
        "nnctl.preprocessing": json.dumps(spec),
        "nnctl.run_id": str(summary.get("run_id") or run.run_dir.name),
        "nnctl.name": str(summary.get("name")),
        "nnctl.layer_dims": json.dumps(list(cfg.layer_dims)),
        "nnctl.core.activations": json.dumps(list(cfg.activations)),
        "nnctl.loss": cfg.loss,
        "classes": json.dumps(spec["classes"]),
        "input_shape": json.dumps(spec["input_shape"]),
    }
    helper.set_model_props(model, metadata)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as exc:  # a bug here, not bad input: say so plainly
        raise RunError(f"the exported ONNX graph failed onnx.checker: {exc}") from None
    return model.SerializeToString()


def npz_sidecar(run: LoadedRun) -> dict[str, Any]:
    """The JSON written beside an exported .npz: the architecture and the preprocessing."""
    cfg = run.config
    summary = run.summary.to_json()
    return {
        "nnctl_npz": 1,
        "run_id": str(summary.get("run_id") or run.run_dir.name),
        "name": summary.get("name"),
        "layer_dims": list(cfg.layer_dims),
        "activations": list(cfg.activations),
        "loss": cfg.loss,
        "arrays": "W1, b1, ..., WL, bL; W_l: (n_l, n_{l-1}), b_l: (n_l, 1); "
        "X is (n_x, m), one column per example"
        + (
            "; a batch-normalized layer l has gamma_l, beta_l, running_mean_l, running_var_l: "
            "(n_l, 1) instead of b_l: Z = gamma (W A - running_mean) / sqrt(running_var + "
            "epsilon) + beta"
            if cfg.batch_norm is not None
            else ""
        ),
        **({"batch_norm": cfg.batch_norm} if cfg.batch_norm is not None else {}),
        "preprocessing": preprocessing_spec(run),
    }


def sidecar_path(out: Path) -> Path:
    """model.npz -> model.json."""
    return out.with_suffix(".json")


def export_run(run: LoadedRun, fmt: str, out: Path) -> list[Path]:
    """Writes the run as ``fmt`` to ``out`` (npz: also the sidecar). Every file is built in
    memory first and written atomically (npz: both files or neither), so a failure leaves
    nothing half-written. Returns the paths written."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: unknown; valid: {', '.join(FORMATS)}")
    _check_output(out)
    if fmt == "onnx":
        data = build_onnx(run)
        runs.atomic_write(out, data)
        return [out]
    side = sidecar_path(out)
    if side == out:
        raise UsageError(f"-o {out}: the sidecar would overwrite it; give a name ending in .npz")
    arrays = runs.params_bytes(run.params.to_dict())
    text = json.dumps(npz_sidecar(run), indent=2, allow_nan=False) + "\n"
    # Both files or neither: a sidecar without its arrays (a disk that filled up between the
    # two) would describe a model that is not there.
    runs.atomic_write_all([(out, arrays), (side, text.encode())])
    return [out, side]
