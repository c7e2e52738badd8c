#!/usr/bin/env bash
# run-relacy.sh - model-check braid's Chase-Lev deque with Relacy.
#
# Builds tests/models/deque_relacy.cpp (a transcription of sched/deque.[ch])
# and runs:
#   1. the correct model, in each of its three scenarios (grow, last-take,
#      last-take-if; see deque_relacy.cpp), exhaustive search at context
#      bound 2 and 200,000 random executions: all must pass;
#   2. a coverage check: together, the three exhaustive runs must reach every
#      path the model counts (grow, each take/take_if/steal/steal_if outcome,
#      a steal through a replaced ring, a read of a never-written slot);
#   3. each deliberately broken variant (grow scenario, exhaustive CB2) must
#      FAIL, with a failure reported by Relacy itself, so the checker is known
#      not to be blind to the mistakes it is meant to catch.
# Prints one summary line per check, then "relacy: N passed, N failed";
# exits non-zero on any failure. If Relacy (Debian package relacy-dev, header
# relacy/relacy.hpp) is not installed, prints a "relacy: skipped" line and
# exits 0.
#
# Environment: CXX (default g++), RELACY_INCLUDE (a directory holding
# relacy/relacy.hpp, searched before /usr/include and /usr/local/include),
# RELACY_BUILD_DIR (default build-relacy, reused), RELACY_ITERATIONS (random
# executions, default 200000), RELACY_TIMEOUT (seconds per run, default 600),
# RELACY_JOBS (runs at once, default: the number of CPUs).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

src=tests/models/deque_relacy.cpp
dir=${RELACY_BUILD_DIR:-build-relacy}
iters=${RELACY_ITERATIONS:-200000}
tmo=${RELACY_TIMEOUT:-600}
CXX=${CXX:-g++}
jobs=${RELACY_JOBS:-$(nproc 2>/dev/null || echo 2)}

inc=
for d in ${RELACY_INCLUDE:-} /usr/include /usr/local/include; do
    if [ -f "$d/relacy/relacy.hpp" ]; then
        inc=$d
        break
    fi
done
if [ -z "$inc" ]; then
    echo "relacy: skipped (relacy-dev is not installed: no relacy/relacy.hpp in ${RELACY_INCLUDE:+$RELACY_INCLUDE, }/usr/include or /usr/local/include; apt-get install relacy-dev)"
    exit 0
fi

passed=0
failed=0
summary=()
pass() { summary+=("$1"); passed=$((passed + 1)); }
fail() { summary+=("$1"); failed=$((failed + 1)); }

finish() {
    echo
    echo "=== summary"
    for s in "${summary[@]}"; do echo "$s"; done
    echo "relacy: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

mkdir -p "$dir" || exit 1
bin=$dir/deque_relacy
# -fno-lifetime-dse: Relacy detects use of freed memory through a signature
# its destructors clear; GCC would otherwise delete those "dead" stores.
cxxflags=(-std=c++11 -O2 -fno-lifetime-dse -Wall -Wextra -I"$inc")
echo "=== build $bin ($CXX ${cxxflags[*]})"
if [ -x "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$0" ] && [ "$bin" -nt "$inc/relacy/relacy.hpp" ]; then
    echo "up to date"
elif ! command -v "$CXX" >/dev/null 2>&1; then
    fail "build: FAILED (no C++ compiler '$CXX')"
    finish
elif ! "$CXX" "${cxxflags[@]}" -o "$bin" "$src" >"$dir/build.log" 2>&1; then
    head -60 "$dir/build.log"
    rm -f "$bin"
    fail "build: FAILED (log: $dir/build.log)"
    finish
fi

# Phase 1: start every run, $jobs at a time, longest first; each leaves
# $dir/SCENARIO-VARIANT-SEARCH.log and its exit status in .rc beside it.
# Phase 2 (below) judges them in a fixed order.
launch() { # SCENARIO VARIANT SEARCH [ITERATIONS]
    local log=$dir/$1-$2-$3.log
    rm -f "$log" "$log.rc"
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n
    done
    # The subshell passes a TERM on to the model run (see stop_runs).
    (
        timeout "$tmo" "$bin" -s "$@" >"$log" 2>&1 &
        run_pid=$!
        trap 'kill "$run_pid" 2>/dev/null; exit 143' TERM
        wait "$run_pid"
        echo $? >"$log.rc"
    ) &
}

# collect SCENARIO VARIANT SEARCH -> sets rc, result, execs, secs, grew, log
collect() {
    log=$dir/$1-$2-$3.log
    rc=$(cat "$log.rc" 2>/dev/null || echo 255)
    local line ms
    line=$(grep -E '^RESULT ' "$log" 2>/dev/null | tail -1)
    result=$(sed -nE 's/.* result=([^ ]+).*/\1/p' <<<"$line")
    execs=$(sed -nE 's/.* executions=([0-9]+).*/\1/p' <<<"$line")
    ms=$(sed -nE 's/.* ms=([0-9]+).*/\1/p' <<<"$line")
    secs=$(awk -v ms="${ms:-0}" 'BEGIN { printf "%.1f", ms / 1000 }')
    grew=$(sed -nE 's/.* grew=([0-9]+).*/\1/p' <<<"$line")
}

expect_pass() { # label scenario variant search
    local label=$1
    shift
    echo "=== $label"
    collect "$@"
    if [ "$rc" -eq 0 ] && [ "$result" = SUCCESS ]; then
        echo "ok: $execs executions (ring grew in $grew), ${secs}s"
        pass "$label: ok ($execs executions, ${secs}s)"
    else
        # Relacy's report: the failure, then the interleaving that led to it.
        head -400 "$log"
        if [ "$rc" -eq 124 ]; then
            fail "$label: FAILED (timed out after ${tmo}s; log: $log)"
        else
            fail "$label: FAILED (${result:-exit status $rc}; log: $log)"
        fi
    fi
}

expect_caught() { # label scenario variant search
    local label=$1
    shift
    echo "=== $label"
    collect "$@"
    if [ "$rc" -eq 1 ] && [ -n "$result" ] && [ "$result" != SUCCESS ]; then
        # The failure Relacy reported (second line of its report).
        echo "caught: $(sed -n 2p "$log")"
        pass "$label: caught ($result after $execs executions, ${secs}s)"
    elif [ "$rc" -eq 0 ]; then
        fail "$label: FAILED (not caught: the model passed $execs executions; the checker is blind to this mistake)"
    else
        tail -20 "$log"
        fail "$label: FAILED (exit status $rc without a Relacy verdict; log: $log)"
    fi
}

scenarios=(grow last-take last-take-if)
broken=(take-relaxed push-relaxed free-old-ring take-if-relaxed steal-ring-relaxed grow-relaxed steal-acquire)
declare -A label=(
    [take-relaxed]="(a) take-relaxed" [push-relaxed]="(b) push-relaxed"
    [free-old-ring]="(c) free-old-ring" [take-if-relaxed]="take-if-relaxed"
    [steal-ring-relaxed]="steal-ring-relaxed" [grow-relaxed]="grow-relaxed"
    [steal-acquire]="steal-acquire"
)
echo "=== running ${#scenarios[@]} scenarios x (CB2 + random) and ${#broken[@]} broken variants, $jobs at a time"
t0=$SECONDS
# On interrupt, stop the runs this script started (by their process ids).
# shellcheck disable=SC2317 # called by the trap
stop_runs() {
    local p
    for p in $(jobs -p); do
        kill "$p" 2>/dev/null
    done
    exit 130
}
trap stop_runs INT TERM
for sc in "${scenarios[@]}"; do
    launch "$sc" correct cb2
done
for v in "${broken[@]}"; do
    launch grow "$v" cb2
done
for sc in "${scenarios[@]}"; do
    launch "$sc" correct random "$iters"
done
wait
echo "(all runs done in $((SECONDS - t0))s wall time)"

for sc in "${scenarios[@]}"; do
    expect_pass "correct [$sc], exhaustive CB2" "$sc" correct cb2
    expect_pass "correct [$sc], random x$iters" "$sc" correct random
done

# Coverage: sum each path's counter over the exhaustive runs of the correct
# model; every path must have been reached.
echo "=== coverage"
cov_logs=()
for sc in "${scenarios[@]}"; do
    cov_logs+=("$dir/$sc-correct-cb2.log")
done
cov=$(grep -h '^COVERAGE ' "${cov_logs[@]}" 2>/dev/null | awk '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (!(kv[1] in n)) order[++k] = kv[1]; n[kv[1]] += kv[2] } }
    END { for (i = 1; i <= k; i++) printf "%s=%d\n", order[i], n[order[i]] }')
tr '\n' ' ' <<<"$cov" | fold -s -w 100
echo
npaths=$(grep -c = <<<"$cov")
missing=$(awk -F= '$2 == 0 { printf " %s", $1 }' <<<"$cov")
if [ "$npaths" -eq 0 ]; then
    fail "coverage: FAILED (no COVERAGE lines in the exhaustive runs' logs)"
elif [ -n "$missing" ]; then
    fail "coverage: FAILED (never reached:$missing)"
else
    pass "coverage: all $npaths paths reached"
fi

for v in "${broken[@]}"; do
    expect_caught "${label[$v]}, exhaustive CB2" grow "$v" cb2
done
finish
