#!/usr/bin/env bash
# The second course's numbers, printed as its notebooks print them: the initialization
# notebook's circles trained with zeros, "large random" and He initialization
# (configs/course2_init_*.yaml), and the optimization notebook's moons trained with mini-batch
# gradient descent, momentum and Adam (configs/course2_opt_*.yaml), and with its learning-rate
# decay (configs/course2_decay_*.yaml: the epoch costs it prints every 1000 epochs).
#
#   scripts/second_course.sh [init|opt|decay]...     default: all three
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
if [[ ! -f $data/course2_circles_train.npz || ! -f $data/course2_circles_test.npz ||
      ! -f $data/course2_moons_train.npz ]]; then
  "$python" "$here/second_course_data.py" "$data" >&2 || exit 2
fi
export NNCTL_DATA_DIR=$data

parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(init opt decay)
runs=()
for part in "${parts[@]}"; do
  case $part in
    init) runs+=(init_zeros init_large init_he) ;;
    opt) runs+=(opt_gd opt_momentum opt_adam) ;;
    decay) runs+=(decay_gd decay_momentum decay_adam) ;;
    *) echo "error: $part: expected init, opt or decay" >&2; exit 2 ;;
  esac
done

status=0
for run in "${runs[@]}"; do
  echo "training configs/course2_$run.yaml" >&2
  if out=$($nnctl train "$here/../configs/course2_$run.yaml" --json --quiet); then
    "$python" - "$run" "$out" <<'PY'
import json
import sys

names = {
    "init_zeros": "Zeros initialization",
    "init_large": "Large random initialization",
    "init_he": "He initialization",
    "opt_gd": "Gradient descent optimization",
    "opt_momentum": "Momentum optimization",
    "opt_adam": "Adam optimization",
}
run, r = sys.argv[1], json.loads(sys.argv[2])
if run.startswith("decay_"):
    # the notebook's epoch cost: each mini-batch's mean cost times its size, summed, over m
    import csv
    from pathlib import Path

    with open(Path(r["run_dir"]) / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    m, bs = 300, 64
    sizes = [bs] * (m // bs) + ([m % bs] if m % bs else [])
    n = len(sizes)
    print(f"{run[6:]} with learning rate decay:")
    for e in range(0, len(rows) // n, 1000):
        epoch = rows[e * n : (e + 1) * n]
        cost = sum(float(row["cost"]) * size for row, size in zip(epoch, sizes)) / m
        print(f"Cost after epoch {e}: {cost:f}")
    print(f"Accuracy: {r['train_accuracy']}")
    sys.exit(0)
line = f"{names[run]}: cost {r['final_cost']:.6f}, train accuracy {r['train_accuracy']:.5g}"
if r.get("test_accuracy") is not None:
    line += f", test accuracy {r['test_accuracy']:.5g}"
print(line)
PY
  else
    status=1
  fi
done
exit $status
