#!/usr/bin/env bash
# Opens a REPRODUCTION.html in headless Chromium and checks that it renders and that
# every embedded figure loads (the page marks <body data-images-loaded="ok/total">
# once loaded). Installs Debian's chromium if it is missing. Usage:
#   tests/report/check_html.sh [path/to/REPRODUCTION.html]
set -euo pipefail
HTML=$(realpath "${1:-REPRODUCTION.html}")
[ -f "$HTML" ] || { echo "no report at $HTML (run make report)" >&2; exit 2; }
if ! command -v chromium >/dev/null; then
  echo "installing chromium" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
PROFILE=$(mktemp -d)
trap 'rm -rf "$PROFILE"' EXIT
DOM=$(timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$PROFILE" --virtual-time-budget=10000 --dump-dom "file://$HTML" 2>/dev/null)
LOADED=$(printf '%s' "$DOM" | grep -o 'data-images-loaded="[0-9]*/[0-9]*"' | head -1 | grep -o '[0-9]*/[0-9]*' || true)
if [ -z "$LOADED" ]; then
  echo "FAIL: the page did not finish loading in Chromium" >&2
  exit 1
fi
OK=${LOADED%/*}
TOTAL=${LOADED#*/}
if [ "$TOTAL" -eq 0 ] || [ "$OK" -ne "$TOTAL" ]; then
  echo "FAIL: $OK of $TOTAL figures loaded in $HTML" >&2
  exit 1
fi
echo "PASS: $HTML renders in headless Chromium; all $TOTAL figures load"
