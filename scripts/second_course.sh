#!/usr/bin/env bash
# The second course's initialization notebook: the circles trained with zeros, "large random"
# and He initialization (configs/course2_init_*.yaml), printed as the notebook prints them.
#
#   scripts/second_course.sh
#
# Builds the course's circles first when data/ does not have them (scripts/second_course_data.py,
# needs scikit-learn). stdout: one line per initialization; stderr: progress.
# Environment: NNCTL_RUNS_DIR (where runs go), NNCTL (the nnctl command), PYTHON (python3).
# Exit status: 0 all trained; 1 some training failed; 2 the data could not be built.
set -euo pipefail

nnctl=${NNCTL:-nnctl}
python=${PYTHON:-python3}
here=$(cd "$(dirname "$0")" && pwd)
data=${NNCTL_DATA_DIR:-$here/../data}
if [[ ! -f $data/course2_circles_train.npz || ! -f $data/course2_circles_test.npz ]]; then
  "$python" "$here/second_course_data.py" "$data" >&2 || exit 2
fi
export NNCTL_DATA_DIR=$data

status=0
for init in zeros large he; do
  echo "training with init: $init (15000 iterations)" >&2
  if out=$($nnctl train "$here/../configs/course2_init_$init.yaml" --json --quiet); then
    "$python" - "$init" "$out" <<'PY'
import json
import sys

names = {"zeros": "Zeros", "large": "Large random", "he": "He"}
r = json.loads(sys.argv[2])
print(
    f"{names[sys.argv[1]]} initialization: cost {r['final_cost']:.6f}, "
    f"train accuracy {r['train_accuracy']:.5g}, test accuracy {r['test_accuracy']:.5g}"
)
PY
  else
    status=1
  fi
done
exit $status
