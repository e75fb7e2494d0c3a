#!/usr/bin/env bash
# Learning-rate sweep: one `nnctl train` per rate, in parallel, then the best run by test accuracy.
#
#   scripts/sweep_lr.sh CONFIG RATE...      e.g. scripts/sweep_lr.sh configs/moons.yaml 0.03 0.1 0.3 1
#
# stdout: the best run's id (so `best=$(scripts/sweep_lr.sh ...)` works); stderr: the sweep's
# runs as a table, best first, and one line naming the winner.
# Environment: SWEEP_JOBS (parallel trainings, default: the number of cores), NNCTL_RUNS_DIR
# (where runs go, default ./runs), NNCTL (the nnctl command, default: nnctl on PATH).
# Exit status: 0 all runs trained; 1 some run failed or diverged (the best of the rest is still
# printed); 2 bad usage, bad config or bad rate (checked before anything is trained).
set -euo pipefail

nnctl=${NNCTL:-nnctl}
if [[ $# -lt 2 ]]; then
  echo "usage: $0 CONFIG RATE...   e.g. $0 configs/moons.yaml 0.03 0.1 0.3" >&2
  exit 2
fi
config=$1
shift

# Check the config and every rate first: a typo must not cost a half-finished sweep.
for rate in "$@"; do
  if ! $nnctl config check "$config" --set "learning_rate=$rate" >/dev/null; then
    exit 2
  fi
done

# Runs of this sweep share a name prefix, so the winner is picked among them only.
stem=$(basename "${config%.*}")
sweep="$stem-sweep-$(date +%Y%m%d-%H%M%S)-$$"
jobs=${SWEEP_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
echo "sweep $sweep: ${#} runs, $jobs at a time" >&2

# One BLAS thread per training: the parallelism is across runs, not inside them.
status=0
printf '%s\n' "$@" | xargs -P "$jobs" -I RATE \
  $nnctl train "$config" --set learning_rate=RATE --set "name=$sweep-lrRATE" --threads 1 --quiet \
  >/dev/null || status=1

listing=$($nnctl runs list --json --filter "name=$sweep-*" --sort -test_accuracy)
python3 - "$listing" <<'EOF' || exit 1
import json
import sys

runs = json.loads(sys.argv[1])
if not runs:
    sys.exit("no run of this sweep finished")
for r in runs:
    acc = "-" if r["test_accuracy"] is None else f"{r['test_accuracy']:.4f}"
    print(f"  {r['id']}  lr {r['learning_rate']:<8g} {r['status']:<9} test accuracy {acc}", file=sys.stderr)
best = runs[0]
if best["test_accuracy"] is None:
    sys.exit("no run of this sweep has a test accuracy (does the config hold out a test set?)")
print(f"best: {best['id']} (learning_rate {best['learning_rate']:g}, test accuracy "
      f"{best['test_accuracy']:.4f})", file=sys.stderr)
print(best["id"])
EOF
exit $status
