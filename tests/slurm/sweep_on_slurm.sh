#!/usr/bin/env bash
# Integration test against a real single-node Slurm cluster (run by .ci/run after
# `make test`): a small sweep of the two-step task's quick profile is submitted as a
# job array, merged, and compared byte for byte with the same sweep run locally and
# with a plain `metarl run` of one cell's overrides. Starts Slurm with
# scripts/slurm-local.sh and stops the daemons it started when it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
METARL=${METARL:-${CARGO_TARGET_DIR:-$ROOT/target}/release/metarl}
[ -x "$METARL" ] || { echo "no metarl binary at $METARL (run make build)" >&2; exit 2; }
START=$(date +%s)
WORK=$(mktemp -d /var/tmp/metarl-slurm-test.XXXXXX)
cleanup() {
  scancel --name=metarl-slurm_test 2>/dev/null || true
  "$ROOT/scripts/slurm-local.sh" stop || true
  rm -rf "$WORK"
}
trap cleanup EXIT
"$ROOT/scripts/slurm-local.sh" start

cd "$WORK"
sweep_file() {  # $1 = results directory
  cat <<TOML
[sweep]
name = "slurm_test"
experiment = "s4_two_step"
profile = "quick"
seeds = 2
out = "$1"

[set]
training.episodes = 64
evaluation.episodes = 6

[grid]
agent.hidden = [8, 16]
training.learning_rate = [2e-3, 5e-3]

[plot]
metric = "model_based_index"
x = "agent.hidden"
series = "training.learning_rate"
TOML
}
sweep_file on_slurm > on_slurm.toml
sweep_file here > here.toml

echo "== submitting the sweep as a Slurm job array"
script=$("$METARL" sweep sbatch on_slurm.toml --cpus 1 --mem 1G --time 00:10:00)
timeout 150 sbatch --wait "$script"
"$METARL" sweep merge on_slurm.toml

echo "== the same sweep here, 2 cells at a time"
"$METARL" sweep run here.toml --jobs 2 --threads 1
"$METARL" sweep merge here.toml

echo "== comparing"
fail=0
same() {
  if cmp -s "$1" "$2"; then echo "identical: $1"; else echo "DIFFERENT: $1 $2"; fail=1; fi
}
same on_slurm/merged.parquet here/merged.parquet
for cell in on_slurm/cells/*; do
  c=$(basename "$cell")
  for f in trials.parquet outcomes.json config.toml checkpoints/seed_1.json checkpoints/seed_2.json; do
    same "$cell/$f" "here/cells/$c/$f"
  done
done
# Cell 1 (agent.hidden=8, training.learning_rate=5e-3) as a plain run.
"$METARL" run s4_two_step --profile quick --set seeds.count=2 --set training.episodes=64 \
  --set evaluation.episodes=6 --set agent.hidden=8 --set training.learning_rate=5e-3 \
  --out plain --quiet
for f in trials.parquet outcomes.json checkpoints/seed_1.json; do
  same on_slurm/cells/cell_0001/$f plain/$f
done
echo "slurm sweep test took $(( $(date +%s) - START )) s"
if [ "$fail" != 0 ]; then echo "FAIL: results differ" >&2; exit 1; fi
echo "PASS: the Slurm array, the local sweep and a plain run give identical results"
