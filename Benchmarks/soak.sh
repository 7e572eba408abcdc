#!/usr/bin/env bash
# Soak test: Benchmarks/soak.sh [--minutes N] [other soak.py options]   (default 10 minutes)
# Loopback only; builds sse-serve into .build-hard (SOAK_CONFIG=release for a release build).
# Not part of the test run. Exit status 0 when every check passes.
set -euo pipefail
cd "$(dirname "$0")/.."
config=${SOAK_CONFIG:-debug}
swift build -c "$config" --scratch-path .build-hard --product sse-serve 2>&1 | grep -E "error|Compiling sse|Build" || true
exec python3 Benchmarks/soak.py --binary ".build-hard/$config/sse-serve" "$@"
