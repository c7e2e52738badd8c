#!/bin/sh
# run.sh DIR [PASSES] - run the peers that build.sh put in DIR at 1 thread
# and at $(nproc) threads, PASSES times (default 1), interleaved: every pass
# runs every workload, and within a workload every peer at both thread
# counts, so drift of the machine hits all alike. Prints the BENCH lines on
# stdout (progress and failures on stderr). Python asyncio runs at 1 thread
# only; Tokio prints its current-thread runtime beside the multi-thread one
# at 1 thread. Extra arguments for every program go in PEER_ARGS (e.g.
# PEER_ARGS="-r 3"); a peer that fails is reported and the rest go on.
set -u
DIR=${1:?usage: run.sh DIR [PASSES]}
PASSES=${2:-1}
NP=$(nproc)
THREADS=1
[ "$NP" -gt 1 ] && THREADS="1 $NP"
status=0

run1() { # program args...
    echo "run.sh: $*" >&2
    # shellcheck disable=SC2086 # PEER_ARGS is split into words on purpose
    "$@" ${PEER_ARGS:-} || { echo "run.sh: FAILED ($?): $*" >&2; status=1; }
}

p=1
while [ "$p" -le "$PASSES" ]; do
    echo "run.sh: pass $p/$PASSES" >&2
    for w in fib skynet spawn pingpong sleeps mutex; do
        for t in $THREADS; do
            for prog in go_$w tokio_$w boost_$w omp_gomp_$w omp_llvm_$w; do
                [ -x "$DIR/$prog" ] && run1 "$DIR/$prog" -t "$t"
            done
            py="$DIR/py/asyncio_$w.py"
            if [ "$t" = 1 ] && [ -f "$py" ]; then
                run1 "$(cat "$DIR/py/python")" -B "$py" -t 1
            fi
        done
    done
    p=$((p + 1))
done
exit $status
