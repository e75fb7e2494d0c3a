"""``Config``: a resolved, validated config, what a run is trained from and what its
``config.yaml`` holds."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nnctl.config.keys import CONFIG_KEYS, config_keys
from nnctl.system import ConfigError, Invalid

if TYPE_CHECKING:
    from nnctl.core import Architecture


@dataclass(frozen=True)
class Config:
    """A fully resolved, validated config. ``to_dict()`` is what ``config.yaml`` holds."""

    name: str
    dataset: dict[str, Any]
    layer_dims: list
    activations: list[str]
    loss: str
    learning_rate: float
    iterations: int
    init: str
    seed: int
    print_every: int
    dtype: str
    epochs: int | None = None
    batch_size: int | None = None
    shuffle: dict | None = None  # {course: S}: the course's per-epoch order; None: nnctl's
    optimizer: str = "gd"
    # the chosen optimizer's hyperparameters (all of them, defaults filled in): {'beta1': 0.9, ...}
    hyperparameters: dict[str, float] = field(default_factory=dict)
    # {name, settings...} of nnctl.core.LR_SCHEDULES; lr_decay (kept as given) is inverse_time
    lr_schedule: dict | None = None
    lr_decay: dict | None = None
    l2: float = 0.0
    dropout: list[float] | None = None  # one keep probability per hidden layer
    # {layers: [one flag per hidden layer], momentum, epsilon}; None: no batch normalization
    batch_norm: dict | None = None
    validation_fraction: float = 0.0
    class_weight: str | dict | None = None  # balanced or {class name: weight}; bound in bind
    early_stopping: dict | None = None
    checkpoint_every: int | None = None
    normalize: str = "auto"  # standard | minmax | none; auto until bound to its data
    diagnose: dict | None = None  # {baseline: e}, read by `nnctl diagnose` only
    tracking: dict | None = (
        None  # {mlflow, tensorboard, experiment, histograms_every}: nnctl.tracking
    )
    source: str = field(default="<config>", compare=False)
    # The config file's own path: relative dataset paths are also looked up beside it.
    path: str | None = field(default=None, compare=False)

    # Built once per config (a run has one): every loop, scoring and check uses these.
    @functools.cached_property
    def arch(self) -> Architecture:
        """The activations and loss looked up in their tables, and the batch normalization."""
        from nnctl.core import Architecture, BatchNorm

        return Architecture.build(
            self.activations, self.loss, BatchNorm.from_config(self.batch_norm)
        )

    @functools.cached_property
    def float_type(self) -> type:
        """The numpy scalar type of ``dtype`` (np.float64 or np.float32)."""
        import numpy as np

        return np.dtype(self.dtype).type

    def to_dict(self) -> dict[str, Any]:
        """Every key of ``config_keys()``, in its order; other optimizers' hyperparameters null."""
        d = dataclasses.asdict(self)
        return {k: d[k] if k in CONFIG_KEYS else self.hyperparameters.get(k) for k in config_keys()}

    def warnings(self) -> list[str]:
        """Settings that are allowed but almost certainly not what a user wants, one line each."""
        out = []
        if self.init == "zeros" and len(self.layer_dims) > 2:
            out.append(
                f"{self.source}: init: zeros with {len(self.layer_dims) - 2} hidden layer(s): "
                "every unit of a layer gets the same gradient and stays identical to the others "
                "(no symmetry breaking); use scaled, small, he or xavier unless that is the point"
            )
        return out

    @property
    def schedule(self) -> dict | None:
        """The learning-rate schedule the run follows: ``lr_schedule``, or ``lr_decay`` as the
        inverse_time schedule it is, or None (a constant rate)."""
        if self.lr_decay is not None:
            d = self.lr_decay
            rate, interval = d["rate"], d["interval"]
            return {
                "name": "inverse_time",
                "decay_rate": rate,
                "time_interval": interval,
                "delay": 0,
            }
        return self.lr_schedule

    def with_run_length(self, m: int) -> Config:
        """The config with cosine's ``decay_epochs`` pinned to the run's epochs on m training
        examples, when only the data tells them (iterations with mini-batches). Raises
        ConfigError."""
        from nnctl.config.values import pin_schedule

        if self.lr_schedule is None or self.lr_schedule.get("decay_epochs", 0) is not None:
            return self
        bs = m if self.batch_size is None else min(self.batch_size, m)
        run_epochs = -(-self.iterations // -(-m // bs))
        try:
            pinned = pin_schedule(self.lr_schedule, run_epochs, self.learning_rate)
        except Invalid as exc:
            raise ConfigError(f"{self.source}: lr_schedule: {exc}") from None
        return dataclasses.replace(self, lr_schedule=pinned)

    def with_input_dim(self, n_x: int) -> Config:
        """Binds ``layer_dims[0]`` to the data's feature count, or refuses a mismatch."""
        first = self.layer_dims[0]
        if first != "auto" and first != n_x:
            raise ConfigError(
                f"{self.source}: layer_dims[0] is {first} but the dataset has {n_x} features "
                f"per example; use {n_x} or auto"
            )
        return dataclasses.replace(self, layer_dims=[n_x, *self.layer_dims[1:]])
