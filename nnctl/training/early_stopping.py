"""Early stopping on the validation loss."""

from __future__ import annotations

import math
from dataclasses import dataclass

from nnctl.core import Params


@dataclass
class EarlyStopping:
    """Stops when the validation loss has not improved by more than ``min_delta`` on the best
    so far for ``patience`` epochs in a row; remembers the parameters of the best epoch."""

    patience: int
    min_delta: float = 0.0
    best_loss: float = math.inf
    best_epoch: int = -1  # epochs are counted from 0; -1: no epoch evaluated yet
    best_params: Params | None = None
    wait: int = 0

    def update(self, epoch: int, loss: float, params: Params) -> bool:
        """Records epoch ``epoch``'s validation loss; True when training should stop."""
        if loss < self.best_loss - self.min_delta:  # NaN compares False: never an improvement
            self.best_loss, self.best_epoch, self.wait = loss, epoch, 0
            self.best_params = params.copy()
            return False
        self.wait += 1
        return self.wait >= self.patience
