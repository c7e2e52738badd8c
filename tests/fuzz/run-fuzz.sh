#!/usr/bin/env bash
# run-fuzz.sh - build the libFuzzer harness (tests/fuzz/fuzz_api.c) against
# an ASan+UBSan build of libbraid in build-fuzz/, then run it on the seed
# corpus for FUZZ_RUNS executions in all (default 10,000,000), split over
# FUZZ_JOBS processes (default 2). Ends with one line:
#   fuzz: 1 passed, 0 failed (N executions, T s, corpus K files)
# or, on a crash, leak, hang or invariant violation:
#   fuzz: 0 passed, 1 failed (...: artifact PATH; replay: COMMAND)
# and exits non-zero. Needs clang and its libFuzzer runtime
# (Debian: clang, libclang-rt-14-dev); installs nothing.
#
# Environment: FUZZ_RUNS, FUZZ_JOBS, FUZZ_MAX_LEN (default 128),
# FUZZ_TIMEOUT (seconds per input before it counts as a hang, default 20),
# FUZZ_SEED (default 1; each job adds its number), FUZZ_EXTRA (more
# libFuzzer flags, e.g. "-max_total_time=3600" for a soak), CC (default clang).
# The harness reads FUZZ_TRACE, FUZZ_WATCHDOG and FUZZ_AVOID (README.md).
#
# Speed (10^7 executions must fit a CI stage): each job is pinned to one CPU
# (the runtime's worker and libFuzzer's thread hand each input back and forth:
# on one core that is a cheap switch, across cores a wake-up of an idle core);
# -entropic=0 (the entropic schedule's bookkeeping cost more than the target);
# no comparison tracing (-fno-sanitize-coverage=trace-cmp: it doubled the cost
# of the library's hot paths and the harness's model); ASan with a small
# quarantine (LSan's per-input leak checks walk it) and no malloc fill.
set -uo pipefail
cd "$(dirname "$0")/../.."

runs=${FUZZ_RUNS:-10000000}
jobs=${FUZZ_JOBS:-2}
max_len=${FUZZ_MAX_LEN:-128}
timeout=${FUZZ_TIMEOUT:-20}
seed=${FUZZ_SEED:-1}
cc=${CC:-clang}
dir=build-fuzz
corpus=tests/fuzz/corpus
bin=$dir/fuzz_api

fail() {
    echo "fuzz: 0 passed, 1 failed ($*)"
    exit 1
}

command -v "$cc" >/dev/null || fail "no $cc: install clang and libclang-rt-14-dev"

# 1. libbraid with ASan + UBSan (fiber-switch annotations on, C11 atomics),
#    and libFuzzer's coverage instrumentation so the library guides it too.
if [ ! -f "$dir/build.ninja" ]; then
    rm -rf "$dir"
    CC="$cc" meson setup "$dir" -Db_lto=false -Datomics=c11 -Dperf=false -Dexamples=false \
        -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false \
        "-Dc_args=-fsanitize=fuzzer-no-link -fno-sanitize-coverage=trace-cmp" >"$dir-setup.log" 2>&1 ||
        { cat "$dir-setup.log"; fail "meson setup failed ($dir-setup.log)"; }
fi
ninja -C "$dir" libbraid.a >"$dir/build.log" 2>&1 || { tail -40 "$dir/build.log"; fail "library build failed"; }

# 2. The harness, linked with the static library (public API only).
"$cc" -std=c11 -g -O1 -Wall -Wextra -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-coverage=trace-cmp \
    -fno-sanitize-recover=undefined \
    -Iinclude -I"$dir" tests/fuzz/fuzz_api.c "$dir/libbraid.a" -lpthread -o "$bin" \
    >"$dir/harness.log" 2>&1 || { cat "$dir/harness.log"; fail "harness build failed"; }

# 3. Run: each job its share of the executions, its own seed, logs and
#    artifact prefix; new inputs go to a work corpus under build-fuzz/ (the
#    corpus in the repository is only read).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:quarantine_size_mb=16:malloc_context_size=6:max_malloc_fill_size=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
nfiles=$(find "$corpus" -type f | wc -l)
if [ "$runs" -lt 0 ]; then
    per=-1 # a soak: until FUZZ_EXTRA's -max_total_time, or a crash
else
    per=$(((runs + jobs - 1) / jobs))
fi
rm -rf "$dir/artifacts" "$dir/work"
mkdir -p "$dir/artifacts" "$dir/work"
# The CPUs we may use (Cpus_allowed_list: "0-3,6"), one per job in turn.
cpus=()
for part in $(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status 2>/dev/null | tr ',' ' '); do
    if [[ $part == *-* ]]; then
        for ((c = ${part%-*}; c <= ${part#*-}; c++)); do cpus+=("$c"); done
    else
        cpus+=("$part")
    fi
done
start=$(date +%s)
pids=()
for j in $(seq 1 "$jobs"); do
    mkdir -p "$dir/work/$j"
    pin=()
    if [ ${#cpus[@]} -gt 0 ] && command -v taskset >/dev/null; then
        pin=(taskset -c "${cpus[$(((j - 1) % ${#cpus[@]}))]}")
    fi
    # shellcheck disable=SC2086
    "${pin[@]}" "$bin" -runs="$per" -max_len="$max_len" -timeout="$timeout" -seed=$((seed + j)) \
        -entropic=0 -rss_limit_mb=4096 -print_final_stats=1 -reload=0 \
        -artifact_prefix="$dir/artifacts/job$j-" ${FUZZ_EXTRA:-} \
        "$dir/work/$j" "$corpus" >"$dir/fuzz-$j.log" 2>&1 &
    pids+=($!)
done
rc=0
for p in "${pids[@]}"; do
    wait "$p" || rc=1
done
secs=$(($(date +%s) - start))

done_runs=0
for j in $(seq 1 "$jobs"); do
    n=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$dir/fuzz-$j.log" | tail -1)
    done_runs=$((done_runs + ${n:-0}))
done
art=$(find "$dir/artifacts" -type f | head -1)
if [ $rc -ne 0 ] || [ -n "$art" ]; then
    for j in $(seq 1 "$jobs"); do
        if grep -qE 'ERROR: |invariant violated|runtime error|deadly signal|timeout' "$dir/fuzz-$j.log"; then
            echo "--- $dir/fuzz-$j.log (tail)"
            tail -60 "$dir/fuzz-$j.log"
        fi
    done
    fail "$done_runs executions, $secs s, corpus $nfiles files: artifact ${art:-none}; replay: $bin -runs=100 ${art:-<artifact>}"
fi
[ "$runs" -lt 0 ] || [ "$done_runs" -ge "$runs" ] || fail "only $done_runs of $runs executions ran, $secs s (see $dir/fuzz-*.log)"
echo "fuzz: 1 passed, 0 failed ($done_runs executions, $secs s, corpus $nfiles files)"
