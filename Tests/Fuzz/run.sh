#!/usr/bin/env bash
# Builds the libFuzzer targets and fuzzes them.
#
#   Tests/Fuzz/run.sh [TARGET|all] [SECONDS]     e.g. Tests/Fuzz/run.sh FuzzHTTP 300
#   Tests/Fuzz/run.sh replay                     replay the checked-in corpus once (no fuzzing build)
#
# TARGET: FuzzHTTP, FuzzRecords, FuzzQuery, FuzzJWT, FuzzResponse, FuzzEventStream, FuzzRESP, FuzzOutbound or all (default all, 60 s each).
# Builds with -sanitize=fuzzer,address into .build-fuzz. New interesting inputs
# go to .build-fuzz/corpus/TARGET (the checked-in seeds in Tests/Fuzz/corpus/TARGET
# are read, never written); crashes are written to .build-fuzz/crashes/TARGET/.
# FUZZ_PARALLEL=1 builds every selected target first, then fuzzes them all at once (one
# process each, at idle CPU priority), e.g. the 1-hour runs: FUZZ_PARALLEL=1 Tests/Fuzz/run.sh all 3600
# Exit status: 0 when no target crashed.
set -euo pipefail
cd "$(dirname "$0")/../.."

TARGETS=(FuzzHTTP FuzzRecords FuzzQuery FuzzJWT FuzzResponse FuzzEventStream FuzzRESP FuzzOutbound)
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

build() {
    echo "== building $1"
    swift build --scratch-path .build-fuzz --product "$1" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | grep -E "error|Build" || true
    [[ -x .build-fuzz/debug/$1 ]] || { echo "no .build-fuzz/debug/$1"; exit 2; }
}

# Fuzzes one built target; its summary or crash report goes to standard output.
fuzz() {
    local t=$1 binary=".build-fuzz/debug/$1" root=$PWD
    mkdir -p ".build-fuzz/corpus/$t" ".build-fuzz/crashes/$t"
    echo "== fuzzing $t for $seconds s"
    # Swift's own backtracer would catch the trap before libFuzzer can save the input.
    # Run from .build-fuzz: with FUZZ_JOBS libFuzzer writes its fuzz-N.log files to the current folder.
    if (cd .build-fuzz && SWIFT_BACKTRACE=enable=no "$root/$binary" "corpus/$t" "$root/Tests/Fuzz/corpus/$t" \
        -max_total_time="$seconds" -max_len=4096 -timeout="$timeout" -rss_limit_mb=2048 "${parallel[@]}" \
        -artifact_prefix="crashes/$t/" -print_final_stats=1 2>"$t.log"); then
        echo "== $t: $(grep -E "stat::number_of_executed_units" ".build-fuzz/$t.log" | tail -1 | tr -s ' ')," \
            "$(grep -E "stat::new_units_added" ".build-fuzz/$t.log" | tail -1 | tr -s ' '), $(grep -E "cov:" ".build-fuzz/$t.log" | tail -1)"
    else
        echo "!! $t crashed; log: .build-fuzz/$t.log; inputs:"
        ls -1 ".build-fuzz/crashes/$t/"
        grep -E "Fatal error|precondition|ERROR" ".build-fuzz/$t.log" | head -5
        return 1
    fi
}

status=0
timeout=10
if [[ ${FUZZ_PARALLEL:-0} == 1 ]]; then
    for t in "${selected[@]}"; do build "$t"; done
    pids=()
    # The lowest priority (nice 19, not SCHED_IDLE: an idle-class process can be starved for
    # longer than libFuzzer's wall-clock timeout on a busy machine, a false "timeout" crash),
    # and a minute per input before libFuzzer calls it a hang.
    renice -n 19 $$ >/dev/null
    timeout=60
    for t in "${selected[@]}"; do fuzz "$t" & pids+=($!); done
    for pid in "${pids[@]}"; do wait "$pid" || status=1; done
    exit $status
fi
for t in "${selected[@]}"; do
    build "$t"
    fuzz "$t" || status=1
done
exit $status
