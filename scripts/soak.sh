#!/usr/bin/env bash
# soak.sh - the reliability checks of scripts/test-all.sh, longer: run by
# hand (hours), not in CI. Each step uses the build directories test-all.sh
# makes (run it once first) and the knobs the programs take:
#
#   stress_rt      SOAK_SEEDS seeds x 200 rounds (normal and TSan builds)
#   storm_cancel   SOAK_SEEDS seeds x 10^7 tasks per phase (normal),
#                  10^6 (TSan), on 2 workers and on 1
#   tsan_switch    10^9 switches, 10^7 steals (TSan)
#   test_faults    1000 rounds of every fault kind on 2 workers
#                  (BRAID_FAULT_ROUNDS), normal and ASan builds
#   relacy         10^7 random executions per scenario (RELACY_ITERATIONS)
#   fuzz           SOAK_FUZZ_SECONDS of libFuzzer (default 3600)
#
#   scripts/soak.sh [step ...]     (default: all steps; SOAK_SEEDS default 10)
#
# Prints one line per step and run, a final "N passed, N failed", and exits
# non-zero on any failure. Every seed is printed, so a failure replays with
# the same command line.
set -uo pipefail
cd "$(dirname "$0")/.."

seeds=${SOAK_SEEDS:-10}
fuzz_s=${SOAK_FUZZ_SECONDS:-3600}
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(stress_rt storm_cancel tsan_switch faults relacy fuzz)
passed=0
failed=0

run() { # label, command...
    local label=$1
    shift
    local t0=$SECONDS
    if "$@" >"build-soak.log" 2>&1; then
        passed=$((passed + 1))
        echo "soak: ok     $label ($((SECONDS - t0)) s)"
    else
        failed=$((failed + 1))
        echo "soak: FAILED $label ($((SECONDS - t0)) s): $*"
        tail -30 build-soak.log
    fi
}

for d in build build-asan build-tsan; do
    [ -f "$d/build.ninja" ] || { echo "soak: $d missing: run scripts/test-all.sh first"; exit 1; }
    ninja -C "$d" >/dev/null || { echo "soak: ninja -C $d failed"; exit 1; }
done

for step in "${steps[@]}"; do
    case $step in
    stress_rt)
        for s in $(seq 1 "$seeds"); do
            run "stress_rt seed $s" build/tests/stress_rt "$s" 200
            run "stress_rt seed $s (tsan)" build-tsan/tests/stress_rt "$s" 50
        done ;;
    storm_cancel)
        for s in $(seq 1 "$seeds"); do
            run "storm_cancel seed $s, 2 workers" build/tests/storm_cancel "$s" 10000000 2
            run "storm_cancel seed $s, 1 worker" build/tests/storm_cancel "$s" 3000000 1
            run "storm_cancel seed $s (tsan)" build-tsan/tests/storm_cancel "$s" 1000000 2
        done ;;
    tsan_switch)
        run "tsan_switch 10^9 switches, 10^7 steals" build-tsan/tests/tsan_switch 1000000000 10000000 7 ;;
    faults)
        run "faults, 1000 rounds" env BRAID_FAULT_ROUNDS=1000 build/tests/test_faults --jobs 1
        run "faults, 100 rounds (asan)" env BRAID_FAULT_ROUNDS=100 \
            ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=tests/lsan.supp \
            build-asan/tests/test_faults --jobs 1 ;;
    relacy)
        run "relacy, 10^7 random executions" env RELACY_ITERATIONS=10000000 bash tests/models/run-relacy.sh ;;
    fuzz)
        run "fuzz, $fuzz_s s" env FUZZ_RUNS=-1 FUZZ_EXTRA="-max_total_time=$fuzz_s" bash tests/fuzz/run-fuzz.sh ;;
    *)
        echo "soak: unknown step $step"; exit 2 ;;
    esac
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
