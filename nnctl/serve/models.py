"""The runs served, each an ``nnctl.api.Run`` checked once at start-up, and a request's inputs
as the raw examples ``predict`` reads from files: feature rows (m, n_features) float64 from a
JSON body, or 8-bit images (m, h, w, c) decoded in memory by predict's image pipeline
(``nnctl.data.load_image``: its decompression-bomb and mode checks)."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.serve.bodies import RequestError


@dataclass
class ServedModel:
    """One run served: ``run`` (``nnctl.api.Run``) and the checked run predict uses."""

    run: Any
    loaded: Any

    @property
    def id(self) -> str:
        return str(self.loaded.run_id)

    @property
    def name(self) -> str | None:
        return self.loaded.summary.name

    def describe(self) -> dict[str, Any]:
        """This model in ``GET /v1/models``: id, name, task, inputs, classes, preprocessing."""
        pre = self.loaded.preprocessing
        described: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "task": self.loaded.summary.task,
            "input": pre.kind,
            "classes": list(pre.classes),
            "preprocessing": self.loaded.summary.preprocessing,
        }
        if pre.kind == "image":
            described["input_shape"] = list(pre.input_shape)
            described["color_mode"] = pre.color_mode
        else:
            described["features"] = math.prod(pre.input_shape)
        return described

    def rows(self, body: bytes) -> tuple[list[str], np.ndarray]:
        """``{"inputs": [[x1, x2, ...], ...]}`` -> names (m,), rows X: (m, n_features) float64.
        Raises RequestError 400 naming the problem (bad JSON, shape, a value, NaN)."""
        pre = self.loaded.preprocessing
        if pre.kind == "image":
            raise RequestError(
                415,
                f"model {self.id} takes images: send one as the body (Content-Type image/*) "
                "or several as multipart/form-data",
            )
        n = math.prod(pre.input_shape)
        try:
            doc = json.loads(body, parse_constant=_refuse_constant)
        except RequestError:
            raise
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequestError(400, f"the body is not valid JSON: {exc}") from None
        except RecursionError:
            raise RequestError(400, "the body nests JSON too deeply to be rows") from None
        inputs = doc.get("inputs") if isinstance(doc, dict) else None
        if not isinstance(inputs, list) or not inputs:
            raise RequestError(
                400, f'expected {{"inputs": [[{n} numbers], ...]}}, one row per example'
            )
        for k, row in enumerate(inputs):
            if not isinstance(row, list):
                raise RequestError(400, f"inputs[{k}]: a row is a list of {n} numbers")
            if len(row) != n:
                raise RequestError(
                    400, f"inputs[{k}]: has {len(row)} value(s), but the run expects {n} features"
                )
            for j, v in enumerate(row):
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise RequestError(400, f"inputs[{k}][{j}]: {json.dumps(v)} is not a number")
        try:
            X = np.array(inputs, dtype=np.float64)
        except OverflowError:
            raise RequestError(400, "inputs: a number is too large for a float64") from None
        if not np.all(np.isfinite(X)):
            raise RequestError(400, "inputs: contains infinite values (numbers too large)")
        return [f"inputs[{k}]" for k in range(len(inputs))], X

    def images(self, files: list[tuple[str, bytes]]) -> tuple[list[str], np.ndarray]:
        """(name, bytes) per image -> names (m,), raw images (m, h, w, c) uint8, as predict
        reads image files. Raises RequestError 415 for a feature run, 422 for an image that
        cannot be used (its message names it)."""
        from nnctl.data import ImageError, load_image

        pre = self.loaded.preprocessing
        if pre.kind != "image":
            raise RequestError(
                415,
                f'model {self.id} takes feature rows: send JSON {{"inputs": [[...], ...]}} '
                "(Content-Type application/json)",
            )
        images = []
        for name, data in files:
            try:
                images.append(load_image(_Named(data, name), pre.input_shape, pre.color_mode))
            except ImageError as exc:
                raise RequestError(422, str(exc)) from None
        return [name for name, _ in files], np.stack(images)


def _refuse_constant(word: str) -> float:
    raise RequestError(400, f"inputs: {word} is not allowed; every value must be a finite number")


class _Named(io.BytesIO):
    """An image in memory; messages name it as the request did."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self._name = name

    def __str__(self) -> str:
        return self._name


def load_models(targets: list[str], runs_dir: Path | None) -> dict[str, ServedModel]:
    """The runs named (directories, ids, prefixes, ``latest``), each loaded and checked as
    predict checks it, keyed by run id and, when no other run uses it, by the run's name.
    Raises RunError (no such run, not complete, ...) or UsageError (a run named twice)."""
    from nnctl.api import load_run
    from nnctl.commands import check_predictable
    from nnctl.system import UsageError

    models: dict[str, ServedModel] = {}
    for target in targets:
        run = load_run(target, runs_dir=runs_dir)
        loaded = run.loaded()
        check_predictable(loaded)  # before any request
        model = ServedModel(run, loaded)
        if model.id in models:
            raise UsageError(f"{target}: run {model.id} is named twice")
        models[model.id] = model
    names = [m.name for m in models.values() if m.name]
    for model in list(models.values()):
        if model.name and names.count(model.name) == 1 and model.name not in models:
            models[model.name] = model
    return models
