"""The run as an MLflow pyfunc model: ``NnctlModel`` loads the run's files (config.yaml,
summary.json, params.npz: its preprocessing is in the summary) and predicts through
``nnctl predict``'s own forward pass (``nnctl.commands.predict.predict_examples``), so
``mlflow.pyfunc.load_model(uri).predict(rows)`` gives what ``nnctl predict`` gives.

Imported only by the MLflow tracker and by MLflow itself when it loads a logged model (the
model is pickled by reference to this class: nnctl must be installed where it is loaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from nnctl import runs

RUN_ARTIFACT = "run"
"""The model's artifact holding the run's files, a folder named by the run id."""
RUN_FILES = (runs.CONFIG_FILE, runs.SUMMARY_FILE, runs.PARAMS_FILE)
"""What the model holds of the run: what ``load_run`` reads."""


class NnctlModel(mlflow.pyfunc.PythonModel):
    """An nnctl run as a pyfunc. Input: a DataFrame or 2-D array of feature rows (m,
    n_features), raw as ``nnctl predict`` reads them from a .csv or .npy; for an image run,
    8-bit images (m, h, w, c) (or their pixels flattened, one row each). Output: a DataFrame,
    one row per example: label, class, probability and probabilities (classification) or value
    (regression), and error (the message of an example that overflowed inside the network,
    else null). ``params={"threshold": t}``: predict's --threshold."""

    def load_context(self, context: Any) -> None:
        from nnctl.commands.predict import check_predictable
        from nnctl.runs import load_run

        self._run = load_run(Path(context.artifacts[RUN_ARTIFACT]))
        check_predictable(self._run)

    # a DataFrame hint: MLflow infers no input schema from it (rows of any width, images)
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        from nnctl.commands.predict import predict_examples
        from nnctl.system import DataError

        pre = self._run.preprocessing
        raw = np.asarray(model_input)
        shape = tuple(pre.input_shape)
        if raw.ndim == 1:
            raw = raw.reshape(1, -1)
        if pre.kind == "image":
            raw = raw.reshape((raw.shape[0], *shape)) if raw.ndim == 2 else raw
            if raw.shape[1:] != shape or raw.dtype != np.uint8:
                raise DataError(
                    f"expected uint8 images of shape {list(shape)} (or rows of their "
                    f"{int(np.prod(shape))} pixels), got {raw.dtype} {list(raw.shape)}"
                )
        else:
            n = int(np.prod(shape))
            if raw.ndim != 2 or raw.shape[1] != n or raw.dtype.kind not in "uifb":
                raise DataError(
                    f"expected numeric rows of {n} features (examples, features), got "
                    f"{raw.dtype} {list(raw.shape)}"
                )
            raw = raw.astype(np.float64)
            if not np.all(np.isfinite(raw)):
                raise DataError("the rows contain NaN or infinite values")
        names = [f"row {j}" for j in range(raw.shape[0])]
        threshold = (params or {}).get("threshold")
        answers = predict_examples(self._run, names, raw, threshold)
        rows = []
        for a in answers:
            if isinstance(a, str):
                rows.append({"error": a})
            else:
                rows.append({**{k: v for k, v in a.items() if k != "input"}, "error": None})
        return pd.DataFrame(rows)
