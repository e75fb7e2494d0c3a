"""What the report shows about one run, gathered before any HTML is written: its history,
its scores on its test (and validation) split, its misclassified test images, and for a fold run
of ``nnctl cv`` its cross-validation with the suspect labels (``cv``)."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnctl.runs import History, LoadedRun, read_history_table
from nnctl.system import NnctlError

MAX_ERROR_IMAGES = 24  # the course shows a handful; a grid of 24 still fits a phone screen


@dataclass
class SplitScores:
    """One split's evaluation (``nnctl.commands.evaluate``'s Evaluation or
    RegressionEvaluation) and the model's outputs on it: AL (n_L, m), Y (1, m) labels or
    (n_out, m) targets. Not ``nnctl.training.Scores`` (a network's raw scores on m examples):
    this is what the page shows of one split."""

    split: str
    ev: Any
    AL: np.ndarray
    Y: np.ndarray


@dataclass
class RunView:
    """Everything the page shows about one run, gathered before any HTML is written."""

    run: LoadedRun
    history: History
    scores: list[SplitScores] = field(default_factory=list)
    errors: list[tuple[str, str, str, float, int]] = field(
        default_factory=list
    )  # png uri, true, pred, p, index
    n_errors: int = 0
    notes: list[str] = field(default_factory=list)
    cv: Any = None  # report.cv.CvView: the cv a fold run belongs to (nnctl cv), else None


def _score_split(run: LoadedRun, split: str) -> tuple[SplitScores, Any]:
    """The split scored by ``evaluate_run`` (equal to the summary's numbers) and the model's
    outputs on it, with the evaluated data (for image runs: where each raw image is)."""
    from nnctl.commands.evaluate import evaluate_run, load_eval_data
    from nnctl.core import predict_proba

    ev = evaluate_run(run, None, split)
    d = load_eval_data(run, None, split)
    if hasattr(d.X, "blocks"):  # streamed from disk (nnctl.data.stream): scored block by block
        from nnctl.training import score

        AL = score(run.params, run.config, d.X, d.Y).AL
    else:
        AL = predict_proba(run.params, d.X, run.config.arch)
    return SplitScores(split, ev, AL, d.Y), d


def _png_uri(img: np.ndarray) -> str:
    """A uint8 image (h, w[, c]) as a PNG data URI."""
    from PIL import Image

    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def gather(run: LoadedRun, max_errors: int = MAX_ERROR_IMAGES) -> RunView:
    """Reads the run's history and scores it on its test (and validation) split. Data that can
    no longer be loaded becomes a note on the page rather than a failed report."""
    from nnctl.commands.evaluate import raw_images
    from nnctl.core import head_for

    view = RunView(run, read_history_table(run.run_dir))
    s = run.summary.to_json()
    ds = s.get("dataset") or {}
    splits = [sp for sp, key in (("test", "n_test"), ("val", "n_val")) if ds.get(key)]
    if not splits:
        splits = ["train"]
    for split in splits:
        try:
            scores, d = _score_split(run, split)
        except NnctlError as exc:
            view.notes.append(f"{split} scores unavailable: {exc}")
            continue
        view.notes += [n for n in scores.ev.notes if n not in view.notes]
        view.scores.append(scores)
        if (
            split == "test"
            and getattr(scores.ev, "task", "") == "classification"
            and d.raw_file is not None
        ):
            wrong = scores.ev.misclassified
            view.n_errors = int(wrong.size)
            if wrong.size:
                head = head_for(run.config.loss)
                P = head.probabilities(scores.AL)
                # only the images shown are read: the file may be larger than memory
                images = raw_images(d.raw_file, d.spec or {}, d.raw_index[wrong[:max_errors]])
                classes = scores.ev.classes
                for i, img in zip(wrong[:max_errors], images):
                    if img.dtype != np.uint8:
                        break
                    pred = int(scores.ev.labels[i])
                    view.errors.append(
                        (
                            _png_uri(img),
                            classes[int(scores.ev.Y[i])],
                            classes[pred],
                            float(P[pred, i]),
                            int(i),
                        )
                    )
    from nnctl.commands.report.cv import gather_cv

    view.cv = gather_cv(run, max_errors)
    return view
