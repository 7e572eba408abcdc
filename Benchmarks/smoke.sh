#!/usr/bin/env bash
# A few seconds of real load for CI: the debug sse-serve, 50 subscribers, 100
# events; fails unless every subscriber got every event.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(swift build --show-bin-path)
swift build --product sse-serve >/dev/null
swift build --product sse-bench >/dev/null
log=$(mktemp)
"$bin/sse-serve" --port 0 --quiet stdin@unused </dev/null 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '^listening on' "$log" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$log" | head -n 1)
[ -n "$url" ] || { echo "smoke: sse-serve did not start"; cat "$log"; exit 1; }
timeout 60 "$bin/sse-bench" smoke --sub "$url/events/{ch}"
