#!/usr/bin/env bash
# Builds the libFuzzer targets and fuzzes them.
#
#   Tests/Fuzz/run.sh [TARGET|all] [SECONDS]     e.g. Tests/Fuzz/run.sh FuzzHTTP 300
#   Tests/Fuzz/run.sh replay                     replay the checked-in corpus once (no fuzzing build)
#
# TARGET: FuzzHTTP, FuzzRecords, FuzzQuery, FuzzJWT, FuzzResponse, FuzzEventStream, FuzzRESP or all (default all, 60 s each).
# Builds with -sanitize=fuzzer,address into .build-fuzz. New interesting inputs
# go to .build-fuzz/corpus/TARGET (the checked-in seeds in Tests/Fuzz/corpus/TARGET
# are read, never written); crashes are written to .build-fuzz/crashes/TARGET/.
# Exit status: 0 when no target crashed.
set -euo pipefail
cd "$(dirname "$0")/../.."

TARGETS=(FuzzHTTP FuzzRecords FuzzQuery FuzzJWT FuzzResponse FuzzEventStream FuzzRESP)
what=${1:-all}
seconds=${2:-60}
jobs=${FUZZ_JOBS:-1}

if [[ $what == replay ]]; then
    for t in "${TARGETS[@]}"; do
        swift build --scratch-path .build-hard --product "$t" 2>&1 | grep -E "error|Compiling|Build" || true
        ".build-hard/debug/$t" "Tests/Fuzz/corpus/$t"
    done
    exit 0
fi

if [[ $what == all ]]; then selected=("${TARGETS[@]}"); else selected=("$what"); fi

# FUZZ_JOBS=N runs N processes (logs in .build-fuzz/fuzz-*.log); the default is one, in this process.
parallel=()
if (( jobs > 1 )); then parallel=(-jobs="$jobs" -workers="$jobs"); fi

status=0
for t in "${selected[@]}"; do
    echo "== building $t"
    swift build --scratch-path .build-fuzz --product "$t" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | grep -E "error|Build" || true
    binary=".build-fuzz/debug/$t"
    [[ -x $binary ]] || { echo "no $binary"; exit 2; }
    mkdir -p ".build-fuzz/corpus/$t" ".build-fuzz/crashes/$t"
    echo "== fuzzing $t for $seconds s"
    # Swift's own backtracer would catch the trap before libFuzzer can save the input.
    # Run from .build-fuzz: with FUZZ_JOBS libFuzzer writes its fuzz-N.log files to the current folder.
    root=$PWD
    if (cd .build-fuzz && SWIFT_BACKTRACE=enable=no "$root/$binary" "corpus/$t" "$root/Tests/Fuzz/corpus/$t" \
        -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 "${parallel[@]}" \
        -artifact_prefix="crashes/$t/" -print_final_stats=1 2>"$t.log"); then
        grep -E "stat::number_of_executed_units|stat::new_units_added|cov:" ".build-fuzz/$t.log" | tail -3
    else
        status=1
        echo "!! $t crashed; log: .build-fuzz/$t.log; inputs:"
        ls -1 ".build-fuzz/crashes/$t/"
        grep -E "Fatal error|precondition|ERROR" ".build-fuzz/$t.log" | head -5
    fi
done
exit $status
