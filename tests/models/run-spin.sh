#!/usr/bin/env bash
# run-spin.sh - model-check braid's concurrency protocols with Spin.
#
# For each Promela model in this directory: generate the verifier (spin -a),
# compile it (cc -O2, bounded memory), search the whole state space, and
# expect the faithful model to pass with 0 errors and each buggy twin
# (selected with -DBUG_... through spin's preprocessor) to produce a
# counterexample. One line per check, then "spin: N passed, N failed"; the
# exit status is non-zero if any check did not go as expected.
#
#   park.pml   park/unpark: no lost wake-up (and no livelock: -DNP)
#   task.pml   the task state word: SUSPENDED/READY/RUNNING/DONE, NOTIFIED, CANCEL
#   timer.pml  a sleeper's timer node against the firer and a cancel
#
# Needs spin (Debian/Ubuntu: apt-get install spin) and a C compiler ($CC,
# default cc). Without spin it says so and exits 0.
#
# Environment: CC, MEMLIM (MiB per verifier, default 1024), JOBS (checks at
# once, default nproc), KEEP=1 keeps the work directory (pan sources and
# trails) and prints its path. About 40 s of CPU in all (the park liveness
# search is the longest, ~6 s; compiling the verifiers is most of the rest).
# Arguments: model names (park task timer) to run only those.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CC=${CC:-cc}
MEMLIM=${MEMLIM:-1024}

if ! command -v spin >/dev/null 2>&1; then
    echo "spin: SKIPPED: spin is not installed (apt-get install spin)"
    exit 0
fi
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "spin: FAILED: no C compiler ($CC) to build the verifiers" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/braid-spin.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    echo "spin: work directory $work"
else
    trap 'rm -rf "$work"' EXIT
fi

JOBS=${JOBS:-$( (nproc || echo 2) 2>/dev/null)}
pass=0
fail=0
n=0

# run_check DIR EXPECT MODEL MODE DESCRIPTION [-Dmacro ...]: prints one line
# (and details on an unexpected result); status 0 if as expected.
#   EXPECT: pass (0 errors, search complete) or fail (a counterexample)
#   MODE:   safety (assertions, invalid end states) or np (non-progress
#           cycles under weak fairness)
run_check() {
    local d=$1 expect=$2 model=$3 mode=$4 what=$5
    shift 5
    cp "$here/$model" "$d/"
    local label="$model${*:+ $*}"
    local t0 t1 cflags runflags
    t0=$(date +%s.%N)
    if ! (cd "$d" && spin -a "$@" "$model" >spin.out 2>&1); then
        echo "FAIL $label: spin -a failed"
        sed 's/^/    /' "$d/spin.out" | head -20
        return 1
    fi
    case $mode in
    safety)
        cflags="-DSAFETY"
        runflags=""
        ;;
    np)
        cflags="-DNP -DNFAIR=3"
        runflags="-l -f"
        ;;
    esac
    # -w: the generated verifier is full of harmless warnings.
    if ! (cd "$d" && $CC -O2 -w $cflags -DMEMLIM="$MEMLIM" -o pan pan.c >cc.out 2>&1); then
        echo "FAIL $label: compiling pan failed"
        sed 's/^/    /' "$d/cc.out" | head -20
        return 1
    fi
    # -m: search depth bound (the models are far shallower); -n: no list
    # of unreached states.
    (cd "$d" && ./pan -m200000 -n $runflags >pan.out 2>&1)
    t1=$(date +%s.%N)
    local secs errors states why incomplete=""
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$d/pan.out" | tail -1)
    states=$(awk '/states, stored/ { print $1; exit }' "$d/pan.out")
    why=$(grep -m1 -E '^pan:[0-9]+: |acceptance cycle|non-progress cycle' "$d/pan.out" |
        sed 's/^pan:[0-9]*: *//')
    grep -q 'reached -DMEMLIM bound\|out of memory' "$d/pan.out" && incomplete="memory bound reached"
    grep -q 'max search depth too small' "$d/pan.out" && incomplete="depth bound reached"
    if [ -z "$errors" ]; then
        echo "FAIL $label: no verdict from pan"
        tail -5 "$d/pan.out" | sed 's/^/    /'
        return 1
    fi
    if [ "$expect" = pass ]; then
        if [ "$errors" = 0 ] && [ -z "$incomplete" ]; then
            echo "PASS $label: $what ($states states, ${secs}s)"
            return 0
        else
            echo "FAIL $label: $what: ${why:-$incomplete} ($states states, ${secs}s)"
            if [ "$errors" != 0 ]; then
                echo "    counterexample (last steps; KEEP=1 and 'spin -t -p $* $model' in the work directory for all):"
                (cd "$d" && spin -t -p -g "$@" "$model" 2>&1 | grep -E '^ *[0-9]+:' | tail -25 |
                    sed 's/^/    /')
            fi
            return 1
        fi
    else
        if [ "$errors" != 0 ]; then
            echo "PASS $label: $what: found as expected: $why (${secs}s)"
            return 0
        else
            echo "FAIL $label: $what: Spin found no error in the buggy twin ($states states${incomplete:+, $incomplete})"
            return 1
        fi
    fi
}

# check EXPECT MODEL MODE DESCRIPTION [-Dmacro ...]: run_check in the
# background, at most JOBS at once; the lines are printed in order at the end.
check() {
    n=$((n + 1))
    local d="$work/$n"
    mkdir -p "$d"
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
        wait -n 2>/dev/null || sleep 0.2
    done
    (run_check "$d" "$@" >"$d/result" 2>&1; echo $? >"$d/status") &
}

want() {
    [ $# -eq 0 ] && return 0
    local m
    for m in "${selected[@]}"; do
        [ "$m" = "$1" ] && return 0
    done
    return 1
}
selected=("$@")
if [ ${#selected[@]} -eq 0 ]; then
    selected=(park task timer)
fi

if want park; then
    check pass park.pml safety "no lost wake-up, idle list sane"
    check pass park.pml np "no livelock (no cycle without an item run, weak fairness)"
    check fail park.pml safety "park without the re-check: lost wake-up" -DBUG_NO_RECHECK
    check fail park.pml safety "notify without its fence: lost wake-up" -DBUG_NOTIFY_EARLY
    check fail park.pml safety "park_word set after the unlock: listed twice" -DBUG_WORD_OUTSIDE_LOCK
fi
if want task; then
    check pass task.pml safety "wakes, cancel, thief, yield: nothing lost or doubled"
    check pass task.pml safety "wakes only: every wake reaches the task" -DNO_CANCEL
    check fail task.pml safety "finish_wait plain store: a NOTIFIED set while switching out is lost" -DBUG_PLAIN_SUSPEND
    check fail task.pml safety "wake ignores RUNNING: a wake is lost" -DBUG_WAKE_RUNNING -DNO_CANCEL
    check fail task.pml safety "cancel of RUNNING without NOTIFIED: lost" -DBUG_CANCEL_RUNNING
fi
if want timer; then
    check pass timer.pml safety "firer never touches a node after its sleeper left"
    check fail timer.pml safety "node marked fired before the wake: use after leave" -DBUG_MARK_EARLY
fi

wait
for ((i = 1; i <= n; i++)); do
    cat "$work/$i/result"
    if [ "$(cat "$work/$i/status" 2>/dev/null)" = 0 ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
    fi
done
echo "spin: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
