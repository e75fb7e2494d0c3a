"""Ctrl-C (SIGINT) and SIGTERM stop ``nnctl.train`` as they stop ``nnctl train``: at a step
boundary, the run marked interrupted with a checkpoint, ``TrainingInterrupted`` (a
KeyboardInterrupt) raised with the run; ``run.resume()`` then finishes it bit for bit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import nnctl
from nnctl.runs import CHECKPOINT_FILE, PARAMS_FILE

CONFIG = {
    "dataset": {"synthetic": "moons", "m": 200, "test_fraction": 0.25, "seed": 1},
    "layer_dims": ["auto", 8, 1],
    "activations": ["relu", "sigmoid"],
    "init": "he",
    "learning_rate": 0.1,
    "batch_size": 50,
    "epochs": 300,
}

# The child trains, says when it is under way and then slows down (so the signal lands during
# training); it reports what nnctl.train raised.
CHILD = """\
import json, sys, time
import nnctl

def slow(p):
    if p.iteration == 100:
        print("ready", flush=True)
    if p.iteration > 100:
        time.sleep(0.005)

try:
    nnctl.train(json.loads(sys.argv[1]), runs_dir=sys.argv[2], callback=slow)
    print(json.dumps({"raised": None}))
except nnctl.TrainingInterrupted as exc:
    print(json.dumps({
        "raised": type(exc).__name__, "keyboard": isinstance(exc, KeyboardInterrupt),
        "message": str(exc), "id": exc.run.id, "status": exc.run.status,
    }))
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_interrupts_and_resume_finishes_bit_for_bit(tmp_path: Path, signum) -> None:
    runs_dir = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(Path(nnctl.__file__).parent.parent)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(CONFIG), str(runs_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and err == "", err
    told = json.loads(out)
    assert told["raised"] == "TrainingInterrupted" and told["keyboard"]
    assert told["status"] == "interrupted"
    assert told["message"].endswith(
        f"; run marked interrupted; continue it with nnctl.load_run({told['id']!r}).resume()"
    )
    run = nnctl.load_run(told["id"], runs_dir=runs_dir)
    assert run.status == "interrupted" and (run.dir / CHECKPOINT_FILE).is_file()
    assert 101 <= run.summary.iterations_done < 900
    assert not (run.dir / PARAMS_FILE).exists()
    with pytest.raises(nnctl.RunError, match="run is interrupted"):
        run.predict([[0.0, 0.0]])

    assert run.resume() is run and run.status == "complete"
    whole = nnctl.train(CONFIG, runs_dir=runs_dir)
    assert run.params.keys() == whole.params.keys()
    assert all(run.params[k].tobytes() == whole.params[k].tobytes() for k in whole.params)
    assert run.history.costs.tobytes() == whole.history.costs.tobytes()
