#!/usr/bin/env bash
# The course's week 3 experiment "Tuning hidden layer size": the planar flower trained for 5000
# iterations with 1, 2, 3, 4, 5, 20 and 50 tanh units, scored on all 400 points.
#
#   scripts/planar_hidden_sizes.sh [CONFIG [UNITS...]]    default: configs/planar.yaml 1 2 3 4 5 20 50
#
# Written on nnctl's public contract only (--set, --json, runs list). stdout: one line per size,
# as the course prints them ("Accuracy for 4 hidden units: 90.5 %"); stderr: progress.
# Environment: NNCTL_RUNS_DIR (where runs go), NNCTL (the nnctl command), ITERATIONS (5000).
# Exit status: 0 every size trained; 1 some training failed; 2 bad usage or config.
set -euo pipefail

nnctl=${NNCTL:-nnctl}
here=$(cd "$(dirname "$0")" && pwd)
config=${1:-$here/../configs/planar.yaml}
[[ $# -gt 0 ]] && shift
sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1 2 3 4 5 20 50)
iterations=${ITERATIONS:-5000}

for n in "${sizes[@]}"; do
  if ! $nnctl config check "$config" --set "layer_dims=[auto, $n, 1]" --set "iterations=$iterations" >/dev/null; then
    exit 2
  fi
done

sweep="planar-hidden-$(date +%Y%m%d-%H%M%S)-$$"
status=0
for n in "${sizes[@]}"; do
  echo "training $n hidden unit(s), $iterations iterations" >&2
  $nnctl train "$config" --set "layer_dims=[auto, $n, 1]" --set "iterations=$iterations" \
    --set "name=$sweep-$n" --threads 1 --quiet >/dev/null || status=1
done

listing=$($nnctl runs list --json --filter "name=$sweep-*")
python3 - "$listing" "$sweep" "${sizes[@]}" <<'PY' || exit 1
import json
import sys

runs = {r["name"]: r for r in json.loads(sys.argv[1])}
sweep, sizes = sys.argv[2], sys.argv[3:]
for n in sizes:
    r = runs.get(f"{sweep}-{n}")
    if r is None or r["train_accuracy"] is None:
        print(f"{n} hidden units: no result ({'missing' if r is None else r['status']})", file=sys.stderr)
        continue
    # the course's formatting: a float percentage, as str() prints it
    print(f"Accuracy for {n} hidden units: {float(r['train_accuracy']) * 100:.10g} %")
PY
exit $status
