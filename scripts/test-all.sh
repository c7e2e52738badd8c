#!/usr/bin/env bash
# test-all.sh - build and run every test suite of braid:
#   1. the normal build (gcc, libatomic_ops backend), Criterion suites;
#   2. the same suites under AddressSanitizer + UndefinedBehaviorSanitizer
#      (C11 atomics backend, fiber-switch annotations on);
#   3. the suites again with the portable ucontext context switch;
#   4. the plain stress programs under ThreadSanitizer (clang, C11 atomics;
#      Criterion aborts under TSan, so these are plain executables);
#   5. model checks: the deque in Relacy, the park/unpark, task-state and
#      timer protocols in Spin, each with broken twins that must be caught;
#   6. the libFuzzer harness (tests/fuzz), 10^7 executions;
#   7. the ABI check against the last release tag (skipped until one exists).
# Prints one summary line per stage and a final "N passed, N failed" line;
# exits non-zero on any failure. Build directories: build/, build-asan/,
# build-ucontext/, build-tsan/ (reused when present).
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh || exit 1

passed=0
failed=0
summary=()

stage() { # name, build dir, meson options...
    local name=$1 dir=$2
    shift 2
    local log="$dir-stage.log"
    echo "=== stage $name ($dir)"
    if [ ! -f "$dir/build.ninja" ]; then
        rm -rf "$dir"
        meson setup "$dir" "$@" >"$log" 2>&1 || { cat "$log"; summary+=("$name: setup FAILED"); failed=$((failed + 1)); return; }
    fi
    if ! ninja -C "$dir" >>"$log" 2>&1; then
        tail -50 "$log"
        summary+=("$name: build FAILED")
        failed=$((failed + 1))
        return
    fi
    meson test -C "$dir" --print-errorlogs --no-rebuild >"$dir-test.log" 2>&1
    local rc=$?
    local ok fail
    ok=$(grep -E '^Ok:' "$dir-test.log" | awk '{print $2}')
    fail=$(grep -E '^Fail:' "$dir-test.log" | awk '{print $2}')
    local tout
    tout=$(grep -E '^Timeout:' "$dir-test.log" | awk '{print $2}')
    ok=${ok:-0}; fail=${fail:-0}; tout=${tout:-0}
    # Criterion's own per-test counts, from the full log.
    # Count test cases: Criterion's per-case totals, plus one per plain
    # program (those print no Synthesis line).
    local cp cf nsyn
    read -r cp cf nsyn < <(grep -hE 'Synthesis: Tested' "$dir/meson-logs/testlog.txt" 2>/dev/null |
        awk -F'|' '{split($2,p,": "); split($3,f,": "); split($4,c,": "); P+=p[2]; F+=f[2]+c[2]; N++} END {printf "%d %d %d\n", P, F, N}')
    local cases="$((cp + ok - nsyn)) cases passed, $cf failed"
    grep -E '^ *[0-9]+/[0-9]+ ' "$dir-test.log"
    if [ $rc -ne 0 ] || [ "$fail" != 0 ] || [ "$tout" != 0 ]; then
        grep -hE -B3 -A12 'FAIL|CRASH|ERROR: |WARNING: ThreadSanitizer|runtime error' "$dir/meson-logs/testlog.txt" | head -80
        # The failing programs' own output (meson's --print-errorlogs).
        sed -n '/^Summary of Failures/q;p' "$dir-test.log" | grep -vE '^ *[0-9]+/[0-9]+ ' | tail -120
        summary+=("$name: $ok programs ok, $fail failed, $tout timed out ($cases)")
        failed=$((failed + fail + tout + (rc != 0 && fail == 0 && tout == 0 ? 1 : 0)))
    else
        summary+=("$name: $ok programs ok ($cases)")
    fi
    passed=$((passed + cp + ok - nsyn))
    failed=$((failed + cf))
}

stage normal build -Dwerror=true
CC=gcc stage asan+ubsan build-asan -Db_lto=false -Db_sanitize=address,undefined -Db_lundef=false -Datomics=c11 -Dperf=false
stage ucontext build-ucontext -Dwerror=true -Dctx=ucontext -Dperf=false -Dexamples=false
CC=clang stage tsan build-tsan -Dwerror=true -Db_lto=false -Db_sanitize=thread -Db_lundef=false -Datomics=c11 -Dperf=false -Dexamples=false

# A checker script that ends with "<name>: N passed, N failed" (or a
# "skipped" line) and exits non-zero on failure.
script_stage() { # name, script...
    local name=$1
    shift
    echo "=== stage $name"
    local log="build-$name.log"
    "$@" >"$log" 2>&1
    local rc=$?
    cat "$log"
    local line p f
    line=$(grep -E "^$name: ([0-9]+ passed, [0-9]+ failed|skipped)" "$log" | tail -1)
    p=$(sed -nE 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\1/p' <<<"$line")
    f=$(sed -nE 's/.* ([0-9]+) passed, ([0-9]+) failed.*/\2/p' <<<"$line")
    if [ $rc -ne 0 ]; then
        summary+=("$name: FAILED (${line:-exit $rc})")
        failed=$((failed + ${f:-0} + (${f:-0} == 0 ? 1 : 0)))
        passed=$((passed + ${p:-0}))
    else
        summary+=("$name: ${line:-ok}")
        passed=$((passed + ${p:-0}))
    fi
}
script_stage relacy bash tests/models/run-relacy.sh
[ -f tests/models/run-spin.sh ] && script_stage spin bash tests/models/run-spin.sh
# libFuzzer (clang, ASan+UBSan): 10^7 API sequences on one worker, about 8
# minutes on 2 cores, every group of operations on (FUZZ_AVOID, if set in
# the environment, still leaves groups out: tests/fuzz/README.md).
script_stage fuzz bash tests/fuzz/run-fuzz.sh

# ABI: once a release is tagged (v*), the shared library must stay
# compatible with it (abidiff from abigail-tools). Skipped until then.
abi_stage() {
    local tag
    tag=$(git describe --tags --abbrev=0 --match 'v*' 2>/dev/null || true)
    echo "=== stage abi"
    if [ -z "$tag" ]; then
        summary+=("abi: skipped (no release tag yet)")
        return
    fi
    if ! command -v abidiff >/dev/null; then
        ${SUDO:-} apt-get install -y -q --no-install-recommends abigail-tools >/dev/null 2>&1 ||
            { summary+=("abi: FAILED (cannot install abigail-tools)"); failed=$((failed + 1)); return; }
    fi
    local base=build-abi-base
    rm -rf "$base" "$base-src"
    git worktree add -f "$base-src" "$tag" >/dev/null 2>&1 &&
        meson setup "$base" "$base-src" -Dtests=false -Dperf=false -Dexamples=false >/dev/null &&
        ninja -C "$base" >/dev/null ||
        { summary+=("abi: FAILED (cannot build $tag)"); failed=$((failed + 1)); return; }
    if abidiff --headers-dir1 "$base-src/include" --headers-dir2 include \
        "$base"/libbraid.so.*.*.* build/libbraid.so.*.*.* >build-abi.log 2>&1; then
        summary+=("abi: compatible with $tag")
        passed=$((passed + 1))
    else
        cat build-abi.log
        summary+=("abi: INCOMPATIBLE with $tag (build-abi.log)")
        failed=$((failed + 1))
    fi
    git worktree remove --force "$base-src" >/dev/null 2>&1 || true
}
abi_stage

echo
echo "=== summary"
for s in "${summary[@]}"; do echo "$s"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
