"""A model summary: the layers of an L-layer network with their parameter counts, the memory
the parameters and one batch's activations take, and the arithmetic per example.

Counts follow the course's shapes: layer l has W{l}: (n_l, n_{l-1}) and b{l}: (n_l, 1). The
forward pass keeps, per layer, Z{l} and A{l}: (n_l, m) for the backward pass, plus the input
X: (n_x, m); that is the activation memory of a batch of m examples. FLOPs count a multiply
and an add as two: layer l's ``W A_prev + b`` is 2 n_l n_{l-1} + n_l per example, and a
training step (forward, then backward's dW = dZ A_prev^T and dA_prev = W^T dZ) about three
times the forward pass's. Element-wise activation costs are left out (they are O(n_l), not
O(n_l n_{l-1})). A batch-normalized layer has gamma{l} and beta{l}: (n_l, 1) in b{l}'s place
(one more trained value per unit) and its running mean and variance, which are saved but not
trained (not counted as parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nnctl.system import human_bytes

ITEMSIZE = {"float64": 8, "float32": 4}


@dataclass(frozen=True)
class Layer:
    index: int  # l, from 1
    units: int  # n_l
    inputs: int  # n_{l-1}
    activation: str
    normalized: bool = False  # batch normalization: gamma and beta instead of b

    @property
    def weights(self) -> int:
        return self.units * self.inputs

    @property
    def params(self) -> int:
        return self.units * self.inputs + self.units * (2 if self.normalized else 1)

    @property
    def flops(self) -> int:
        """Forward FLOPs of W A_prev + b for one example."""
        return 2 * self.units * self.inputs + self.units


@dataclass(frozen=True)
class ModelSummary:
    layers: list[Layer]
    n_x: int
    dtype: str
    batch: int | None  # examples per gradient step; None when unknown (no data loaded)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def param_bytes(self) -> int:
        return self.params * ITEMSIZE[self.dtype]

    @property
    def activation_bytes_per_example(self) -> int:
        """X plus Z{l} and A{l} of every layer, for one example."""
        return ITEMSIZE[self.dtype] * (self.n_x + 2 * sum(layer.units for layer in self.layers))

    @property
    def activation_bytes(self) -> int | None:
        return None if self.batch is None else self.batch * self.activation_bytes_per_example

    @property
    def forward_flops(self) -> int:
        return sum(layer.flops for layer in self.layers)

    @property
    def train_flops(self) -> int:
        """Forward plus backward (about twice the forward's products) per example."""
        return 3 * self.forward_flops

    def to_json(self) -> dict[str, Any]:
        return {
            "layers": [
                {
                    "layer": f"{layer.index}",
                    "W": [layer.units, layer.inputs],
                    **(
                        {"gamma": [layer.units, 1], "beta": [layer.units, 1]}
                        if layer.normalized
                        else {"b": [layer.units, 1]}
                    ),
                    "activation": layer.activation,
                    "params": layer.params,
                }
                for layer in self.layers
            ],
            "params": self.params,
            "dtype": self.dtype,
            "param_bytes": self.param_bytes,
            "batch": self.batch,
            "activation_bytes": self.activation_bytes,
            "activation_bytes_per_example": self.activation_bytes_per_example,
            "forward_flops_per_example": self.forward_flops,
            "train_flops_per_example": self.train_flops,
        }


def summarize(
    layer_dims: Sequence[Any],
    activations: Sequence[str],
    dtype: str = "float64",
    batch: int | None = None,
    batch_norm: Sequence[bool] | None = None,
) -> ModelSummary | None:
    """The summary of a network with ``layer_dims`` [n_x, n_1, ..., n_L] and one activation per
    layer; None while ``layer_dims[0]`` is still ``auto`` (the data decides it).
    ``batch_norm``: one flag per hidden layer (``batch_norm.layers``), or None."""
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in layer_dims):
        return None
    flags = list(batch_norm or [])
    layers = [
        Layer(
            l,
            layer_dims[l],
            layer_dims[l - 1],
            activations[l - 1],
            l - 1 < len(flags) and bool(flags[l - 1]),
        )
        for l in range(1, len(layer_dims))
    ]
    return ModelSummary(layers, layer_dims[0], dtype, batch)


def human_count(n: int) -> str:
    """1234567 -> '1.23 M' (FLOPs)."""
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return str(n)


def summary_lines(s: ModelSummary) -> list[str]:
    """The summary as plain text lines, e.g. for ``nnctl config show`` and ``runs show``."""
    rows = [("layer", "W", "b", "activation", "params")]
    for layer in s.layers:
        rows.append(
            (
                str(layer.index),
                f"({layer.units}, {layer.inputs})",
                f"gamma, beta ({layer.units}, 1)" if layer.normalized else f"({layer.units}, 1)",
                f"batch norm, {layer.activation}" if layer.normalized else layer.activation,
                f"{layer.params:,}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        "  ".join(
            c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))
        ).rstrip()
        for r in rows
    ]
    lines.append(f"total {s.params:,} parameters ({human_bytes(s.param_bytes)} as {s.dtype})")
    per = human_bytes(s.activation_bytes_per_example)
    if s.activation_bytes is not None:
        lines.append(
            f"activations: {human_bytes(s.activation_bytes)} for a batch of {s.batch:,} "
            f"examples ({per} per example)"
        )
    else:
        lines.append(f"activations: {per} per example")
    lines.append(
        f"FLOPs per example: {human_count(s.forward_flops)} forward, "
        f"~{human_count(s.train_flops)} per training step"
    )
    return lines
