#!/usr/bin/env bash
# Learning-rate sweep: one `nnctl train` per rate, in parallel, then the best run by a validation
# metric (never the test set: choosing on it is what the course warns against; the winner's test
# score is printed for it alone).
#
#   scripts/sweep_lr.sh [--metric METRIC] [--set KEY=VALUE]... CONFIG RATE...
#   e.g. scripts/sweep_lr.sh --set validation_fraction=0.2 configs/moons.yaml 0.03 0.1 0.3 1
#
# METRIC: val_loss (default), val_mse (lowest wins) or val_accuracy, val_r2 (highest
# wins). The config (with the --set overrides, passed to every training) must hold out a
# validation set: validation_fraction or dataset.val.
# stdout: the best run's id (so `best=$(scripts/sweep_lr.sh ...)` works); stderr: the sweep's
# runs as a table, best first, and one line naming the winner.
# Environment: SWEEP_JOBS (parallel trainings, default: the number of cores), NNCTL_RUNS_DIR
# (where runs go, default ./runs), NNCTL (the nnctl command, default: nnctl on PATH).
# Exit status: 0 all runs trained; 1 some run failed or diverged (the best of the rest is still
# printed); 2 bad usage, bad config, bad rate or no validation set (checked before anything is
# trained).
set -euo pipefail

nnctl=${NNCTL:-nnctl}
usage="usage: $0 [--metric METRIC] [--set KEY=VALUE]... CONFIG RATE...   e.g. $0 --set validation_fraction=0.2 configs/moons.yaml 0.03 0.1 0.3"
metric=val_loss
sets=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --metric) [[ $# -ge 2 ]] || { echo "$usage" >&2; exit 2; }; metric=$2; shift 2 ;;
    --metric=*) metric=${1#--metric=}; shift ;;
    --set) [[ $# -ge 2 ]] || { echo "$usage" >&2; exit 2; }; sets+=(--set "$2"); shift 2 ;;
    --set=*) sets+=(--set "${1#--set=}"); shift ;;
    --) shift; break ;;
    -*) echo "error: unknown option $1" >&2; echo "$usage" >&2; exit 2 ;;
    *) break ;;
  esac
done
case $metric in
  val_loss|val_mse) order=-1 ;;  # lowest first
  val_accuracy|val_r2) order=1 ;;
  *) echo "error: --metric $metric: use val_loss, val_mse, val_accuracy or val_r2 (a validation metric)" >&2
     exit 2 ;;
esac
if [[ $# -lt 2 ]]; then
  echo "$usage" >&2
  exit 2
fi
config=$1
shift

# Check the config and every rate first: a typo must not cost a half-finished sweep.
for rate in "$@"; do
  if ! $nnctl config check "$config" "${sets[@]}" --set "learning_rate=$rate" >/dev/null; then
    exit 2
  fi
done
resolved=$($nnctl config show "$config" "${sets[@]}" --no-data)
if grep -qx 'validation_fraction: 0.0' <<<"$resolved" && ! grep -q '[{ ]val: [^n]' <<<"$resolved"; then
  echo "error: $config: no validation set to choose the winner on; set validation_fraction or dataset.val" \
       "(e.g. --set validation_fraction=0.2)" >&2
  exit 2
fi

# Runs of this sweep share a name prefix, so the winner is picked among them only.
stem=$(basename "${config%.*}")
sweep="$stem-sweep-$(date +%Y%m%d-%H%M%S)-$$"
jobs=${SWEEP_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
echo "sweep $sweep: ${#} runs, $jobs at a time, chosen by $metric" >&2

# One BLAS thread per training: the parallelism is across runs, not inside them.
status=0
printf '%s\n' "$@" | xargs -P "$jobs" -I RATE \
  $nnctl train "$config" "${sets[@]}" --set learning_rate=RATE --set "name=$sweep-lrRATE" --threads 1 --quiet \
  >/dev/null || status=1

if [[ $order -lt 0 ]]; then sort_key=$metric; else sort_key=-$metric; fi
listing=$($nnctl runs list --json --columns "id,learning_rate,status,$metric,test_accuracy,test_mse,test_r2" \
  --filter "name=$sweep-*" --sort "$sort_key")
python3 - "$listing" "$metric" <<'EOF' || exit 1
import json
import sys

runs, metric = json.loads(sys.argv[1]), sys.argv[2]
if not runs:
    sys.exit("no run of this sweep finished")


def fmt(v):
    return "-" if v is None else f"{v:.4f}"


for r in runs:
    print(f"  {r['id']}  lr {r['learning_rate']:<8g} {r['status']:<9} {metric} {fmt(r[metric])}", file=sys.stderr)
best = runs[0]
if best[metric] is None:
    sys.exit(f"no run of this sweep has a {metric} (a classifier has val_loss and val_accuracy, "
             "a regression val_loss, val_mse and val_r2)")
test = (f"test accuracy {fmt(best['test_accuracy'])}" if best["test_accuracy"] is not None
        else f"test MSE {fmt(best['test_mse'])}, test R² {fmt(best['test_r2'])}" if best["test_mse"] is not None
        else "no test set")
print(f"best: {best['id']} (learning_rate {best['learning_rate']:g}, {metric} {fmt(best[metric])}; its {test})",
      file=sys.stderr)
print(best["id"])
EOF
exit $status
