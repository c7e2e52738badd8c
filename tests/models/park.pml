/* park.pml - braid's park/unpark protocol (sched/worker.c, header comment
 * "Park/unpark protocol", steps 1-5): no lost wake-up.
 *
 * Actors: N = 2 workers running worker_main's loop (next_entry, steal_work,
 * park, stop_searching), a pusher (a thread outside the runtime that
 * injects PUSHES items: braid__inject, i.e. enqueue under inj_lock, then
 * braid__notify), and a stopper (braid_rt_free once nothing is alive:
 * braid__worker_stop_all). An item run by a worker may push a child onto
 * that worker's deque (push_entry: notify only on the empty -> non-empty
 * change), SPAWNS children in all.
 *
 * Kept, one Promela step per shared access: nsearching and nparked, the
 * idle list under idle_lock, each worker's park_word, the queue checks
 * (work_visible's relaxed loads, one queue at a time), steal_work's half
 * rule and force, stop_searching's hand-on notify (the last searcher that
 * finds work notifies), park's unidle, the stop flag and stop_all's stores.
 *
 * Abstracted away: the deques and the injection ring are counters (a take,
 * a steal, an inject_pop is one atomic step; the Chase-Lev deque is
 * tests/models/deque_relacy.cpp's business), and a steal takes one item;
 * the LIFO slot and yield queue (private to a running worker, which does
 * not park while they hold anything); timers (step 6) and the I/O poll
 * (park_epoll has its own fence pair, see wake_parked); statistics, trace,
 * stack trimming. The futex: futex_wait(&park_word, 0) is the blocking
 * guard "park_word != 0 || stop", exact for a futex (the kernel compares
 * and sleeps atomically with respect to FUTEX_WAKE, and every store of 1 is
 * followed by a wake).
 *
 * Atomic blocks. A critical section is collapsed into at most two atomic
 * steps by Lipton's reduction: the lock acquire moves right, the release
 * left, accesses to data only touched under the lock (the idle list) move
 * both ways, and each block holds at most one access to a variable that is
 * also read without the lock (nparked, park_word, inj).
 *
 * Memory model. Spin interleaves, i.e. checks sequential consistency. That
 * is a fair model of the C11 code because every cross-thread ordering the
 * protocol relies on is seq_cst or under a lock:
 *   - pusher: the store that publishes the work (under inj_lock, or the
 *     deque's release store), a seq_cst fence, then relaxed loads of
 *     nsearching and nparked (braid__notify);
 *   - parker: seq_cst RMWs nsearching-- and nparked++, a seq_cst fence,
 *     then relaxed loads of every queue (park, step 3).
 * That is the store-buffering (Dekker) shape. With a seq_cst fence between
 * each side's store and its loads, C11 (with the C++20 fence rules that
 * compilers implement) forbids both sides reading the old values: the
 * outcome SC forbids too, and the only one in which a lost wake-up can
 * happen. The same argument covers a searcher (its seq_cst nsearching++
 * before it scans; its seq_cst nsearching-- before park's fence) against a
 * notifier that read nsearching != 0. Everything else (idle list,
 * park_word's reset and set, the ring) is under a mutex: data-race free,
 * hence SC. stop is a seq_cst store read after park's fence.
 *
 * Properties:
 *   - no lost wake-up: at quiescence (Spin's `timeout`: nobody can move,
 *     i.e. the workers sleep on their futex words and the pusher is done)
 *     every pushed item has run; the stopper (which waits for that) then
 *     ran and every worker left its loop;
 *   - a worker is on the idle list at most once (park's assert);
 *   - nsearching and nparked never underflow;
 *   - no livelock: compiled with -DNP and run with -l -f (weak fairness),
 *     there is no cycle that never passes the progress label at the end
 *     of an item (the workers cannot spin forever between searching and
 *     parking while an item waits).
 *
 * Size: N = 2 workers (the default; -DN=3 works but its state space is
 * beyond an exhaustive search on a small machine: use -DBITSTATE), PUSHES
 * = 2 injected items, SPAWNS = 1 child; -D on the spin command line
 * changes them.
 *
 * Buggy twins (Spin must report an error):
 *   -DBUG_NO_RECHECK    park does not re-check the queues after registering;
 *   -DBUG_NOTIFY_EARLY  notify without its fence: the loads of the counters
 *                       are satisfied before the store that publishes the
 *                       work is visible (modelled by loading first);
 *   -DBUG_WORD_OUTSIDE_LOCK unpark_one sets park_word after unlocking
 *                       idle_lock (the order the comment in unpark_one
 *                       rules out): the late store fakes a wake-up of a
 *                       worker that parked again meanwhile and is still
 *                       listed, so it parks twice (the idle-list assert).
 */

#ifndef N
#define N 2            /* workers (2 or 3) */
#endif
#define NONE 255
#ifndef PUSHES
#define PUSHES 2
#endif
#ifndef SPAWNS
#define SPAWNS 1
#endif

byte dq[N];          /* items in each worker's deque */
byte inj;            /* items in the injection queue */
byte nsearching;
byte nparked;
bit idle_lock;
byte idle_ids[N];
byte nidle;
bit park_word[N];
bit stop;
byte pushed;         /* items injected */
byte spawned;        /* children pushed by running items */
byte ran;            /* items over */
byte exited;         /* workers that left their loop */

/* unpark_one: pop a parked worker under idle_lock, nparked--, set its word
 * under the lock, unlock, wake (the wake is implicit: the guard). */
inline unpark_one()
{
    atomic {
        idle_lock == 0 -> idle_lock = 1;
        if
        :: nidle == 0 -> idle_lock = 0; v = NONE
        :: else ->
            nidle--;
            v = idle_ids[nidle];
            idle_ids[nidle] = 0;
            assert(nparked > 0);
            nparked--
        fi
    };
    if
#ifndef BUG_WORD_OUTSIDE_LOCK
    :: v != NONE -> atomic { park_word[v] = 1; idle_lock = 0; v = 0 }
#else
    :: v != NONE -> idle_lock = 0; park_word[v] = 1; v = 0
#endif
    :: else -> v = 0
    fi
}

/* braid__notify, after the caller made work visible: seq_cst fence
 * (program order here), relaxed loads of the counters. */
inline notify()
{
    if
    :: nsearching != 0 -> skip
    :: else ->
        if
        :: nparked == 0 -> skip
        :: else -> unpark_one()
        fi
    fi
}

/* unidle: take ourselves off the idle list, if an unparker has not. */
inline unidle()
{
    atomic {
        idle_lock == 0 -> idle_lock = 1;
        i = 0;
        do
        :: i < nidle && idle_ids[i] != me -> i++
        :: i < nidle && idle_ids[i] == me ->
            nidle--;
            idle_ids[i] = idle_ids[nidle];
            idle_ids[nidle] = 0;
            assert(nparked > 0);
            nparked--;
            break
        :: i >= nidle -> break
        od;
        i = 0;
        idle_lock = 0
    }
}

/* A take, steal or inject_pop: one atomic step; on success, run the item. */
#define TAKE(q) atomic { q > 0 -> q--; goto dorun }

proctype worker(byte me)
{
    bit searching, force, seen;
    byte v, i, k;

loop:
    /* next_entry: own deque, then the injection queue */
    if
    :: TAKE(dq[me])
    :: else -> skip
    fi;
    if
    :: TAKE(inj)
    :: else -> force = 0
    fi;

search: /* steal_work(w, force) */
    if
    :: !searching && !force && 2 * nsearching >= N -> goto idle
    :: !searching && (force || 2 * nsearching < N) ->
        atomic { searching = 1; nsearching++ }
    :: else -> skip
    fi;
    /* every other deque once, from a random victim on */
#if N == 2
    if
    :: TAKE(dq[1 - me])
    :: else -> skip
    fi;
#else
    select(i : 0 .. N - 1);
    k = 0;
    do
    :: k < N ->
        if
        :: i != me -> if
                      :: TAKE(dq[i])
                      :: else -> skip
                      fi
        :: else -> skip
        fi;
        atomic { i = (i + 1) % N; k++ }
    :: else -> break
    od;
    i = 0; k = 0;
#endif
    if
    :: TAKE(inj)
    :: else ->
        if
        :: force -> force = 0; goto loop /* the re-check's work is gone */
        :: else -> skip
        fi
    fi;

idle:
    if
    :: stop -> goto out
    :: else -> skip
    fi;
    /* park(w) */
    if
    :: searching -> atomic { searching = 0; assert(nsearching > 0); nsearching-- }
    :: else -> skip
    fi;
    atomic {
        idle_lock == 0 -> idle_lock = 1;
        assert(nidle < N); /* each worker is on the list at most once */
        idle_ids[nidle] = me;
        nidle++;
        park_word[me] = 0
    };
    atomic { nparked++; idle_lock = 0 };
    /* seq_cst fence (step 3), then the re-check: work_visible || stop */
#ifndef BUG_NO_RECHECK
    seen = (inj > 0);
#if N == 2
    seen = seen || (dq[0] > 0);
    seen = seen || (dq[1] > 0);
#else
    do
    :: i < N -> seen = seen || (dq[i] > 0); i++
    :: else -> break
    od;
    i = 0;
#endif
#endif
    seen = seen || stop;
    if
    :: seen ->
        seen = 0;
        unidle();
        force = 1;
        goto search
    :: else -> skip
    fi;
end_sleep:
    /* while (park_word == 0 && !stop) futex_wait(&park_word, 0) */
    (park_word[me] != 0 || stop);
    if
    :: park_word[me] == 0 -> /* stop (a timeout, in the code) */
        unidle();
        force = 1;
        goto search
    :: else -> goto loop /* unparked: woken for work */
    fi;

dorun:
    /* stop_searching: the last searcher hands the search on */
    if
    :: searching ->
        atomic { searching = 0; assert(nsearching > 0); nsearching--; v = nsearching };
        if
        :: v == 0 -> notify()
        :: else -> v = 0
        fi
    :: else -> skip
    fi;
    force = 0;
    /* the item may push a child onto this worker's deque (push_entry) */
    if
    :: atomic { spawned < SPAWNS -> spawned++ }; /* (ghost bound) */
        atomic { dq[me]++; v = dq[me] };
        if
        :: v == 1 -> notify()
        :: else -> v = 0
        fi
    :: true -> skip
    fi;
progress_ran:
    ran++; /* the item is over (a progress label: see -DNP in run-spin.sh) */
    goto loop;

out:
    if
    :: searching -> atomic { searching = 0; nsearching-- }
    :: else -> skip
    fi;
    exited++
}

active proctype pusher()
{
    byte v;
#ifdef BUG_NOTIFY_EARLY
    bit s, p;
#endif
    do
    :: pushed < PUSHES ->
#ifdef BUG_NOTIFY_EARLY
        s = (nsearching != 0);
        p = (nparked != 0);
        atomic { inj++; pushed++ };
        if
        :: !s && p -> unpark_one()
        :: else -> skip
        fi;
        s = 0; p = 0
#else
        atomic { inj++; pushed++ }; /* (the whole inj_lock section) */
        notify()
#endif
    :: else -> break
    od
}

/* braid_rt_free: once nothing is alive, stop = 1 (seq_cst), then set (and
 * wake) every worker's park word. */
active proctype stopper()
{
    byte i;
    pushed == PUSHES && ran == PUSHES + spawned; /* (every item over) */
    stop = 1;
    do
    :: i < N -> park_word[i] = 1; i++
    :: else -> break
    od
}

/* Quiescence: nobody can move. Every item must have run (else the stopper
 * still waits: a push was not followed by a wake-up), every worker must
 * have left its loop. */
active proctype quiescent()
{
    byte i;
end:
    timeout ->
        assert(pushed == PUSHES && ran == PUSHES + spawned);
        i = 0;
        do
        :: i < N -> assert(dq[i] == 0); i++
        :: else -> break
        od;
        assert(inj == 0);
        assert(exited == N)
}

init
{
    atomic {
        run worker(0);
        run worker(1);
#if N > 2
        run worker(2)
#endif
    }
}
