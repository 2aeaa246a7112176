#!/usr/bin/env bash
# Run by .ci/run: the reproduction report of tiny runs (quick profile, 16 training
# episodes) of every shipped experiment, opened in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
METARL=${METARL:-${CARGO_TARGET_DIR:-$ROOT/target}/release/metarl}
WORK=$(mktemp -d /var/tmp/metarl-report-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
for name in $("$METARL" list | awk '$NF == "(built-in)" {print $1}'); do
  extra=()   # training stages (Simulation 5) must fit in the 16-episode budget
  if "$METARL" show "$name" | grep -q '^stages *='; then extra=(--set "evaluation.stages=[0, 16]"); fi
  "$METARL" run "$name" --profile quick --episodes 16 --seeds 2 --quiet --out "runs/$name" "${extra[@]}"
done
"$METARL" report --all > /dev/null || true   # tiny runs do not reproduce: exit 1 is expected
bash "$ROOT/tests/report/check_html.sh" "$WORK/REPRODUCTION.html"
