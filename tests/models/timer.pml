/* timer.pml - a sleeper's timer node against the firer (sched/time.c
 * braid__park, sched/worker.c fire_heap, sched/timer.h braid__timer_fired).
 *
 * Actors:
 *   - a sleeper task in sleep_until's loop (at most ITER parks): each
 *     braid__park takes a pending cancel, arms its node (on its stack)
 *     under the heap lock (timer_add also stores fired = 0), suspends
 *     (context saved, then finish_wait's CAS: SUSPENDED, or still RUNNING and
 *     re-queued if NOTIFIED), is resumed by whoever holds its resume entry
 *     (no atomic: the waker made it RUNNING), then disarms: reads fired (acquire) without the
 *     lock, and if 0 takes the lock, reads it again and removes the node if
 *     still 0; then it leaves braid__park (the node's frame is dead: `left`)
 *     and takes a pending cancel. fired: the sleep is over; cancel: it
 *     returns; else (a stray wake-up) it parks again, re-using the same
 *     stack slot for its node (a new incarnation, `gen`). At the end the
 *     task completes (DONE) and, once the handle holders are done with it,
 *     its memory is reused (`freed`);
 *   - a firer (the owner's loop, or an idle worker's fire_all: the heap
 *     lock serialises them all): peeks at the heap without the lock, takes
 *     the lock, pops the node if armed (braid__timer_pop_expired), reads
 *     node->data, wake_transition(task), marks the node fired (release),
 *     unlocks, then enqueues the resume entry if it won SUSPENDED -> RUNNING;
 *   - a canceller (braid_cancel: CANCEL, NOTIFIED if RUNNING, RUNNING and
 *     enqueue if SUSPENDED), holding a handle;
 *   - a stray waker (a wake-up with no condition, allowed by the contract),
 *     holding a reference.
 * Time is abstracted: an armed timer may expire at any moment, so every
 * order of expiry against the other steps is explored. Which worker runs
 * the resume entry does not matter here: the sleeper process takes it.
 *
 * Properties (assertions):
 *   - the firer never touches a node after its sleeper left braid__park,
 *     nor a later incarnation of it (every access of the node: assert
 *     !left and the generation it popped), nor the task after its memory
 *     was reused (every access of the state word: assert !freed);
 *   - a timer fires at most once per arming, and a sleeper that reads
 *     "not fired" under the lock finds its node still armed (remove and
 *     fire exclude each other);
 *   - the task is never lost (a stray extra wake is fine): at quiescence
 *     it is DONE and no resume entry is left; at most one resume right
 *     exists at a time;
 *   - a cancel is delivered at most once.
 *
 * Abstracted away: the heap itself (one node: armed or not; the slot
 * table and lazy removal are sequential code under the lock), deadlines
 * and the clock, timer_armed's unpark (park.pml), the inline-await chain,
 * other tasks. The task word is as in task.pml (its CASes are atomic
 * steps); fired is a release store read with acquire, the node's other
 * fields and the heap are under the lock: SC is exact for these accesses.
 *
 * Buggy twin (Spin must report an error):
 *   -DBUG_MARK_EARLY  the node is marked fired as soon as it is popped,
 *                     before its task is read and woken (the order before
 *                     commit e70a678): a sleeper woken by the cancel reads
 *                     fired = 1 without the lock and leaves while the firer
 *                     still reads the node and wakes the task.
 */

#define NONE 255
#define MASK      7
#define RUNNING   2
#define SUSPENDED 3
#define DONE      5
#define NOTIFIED  8
#define CANCEL    16
#define S(x) ((x) & MASK)

#ifndef ITER
#define ITER 2
#endif

byte st = RUNNING;   /* the sleeper's state word */
bit freed;           /* its memory was reused */
byte runq;           /* its resume entries, queued */
byte rights;         /* resume rights held */
byte delivered;      /* cancels delivered */

bit hl;              /* the heap lock */
bit armed;           /* the node is in the heap (slot != NONE) */
bit fired;           /* node->fired */
bit left = 1;        /* the sleeper is out of braid__park: the node is dead */
byte gen;            /* the node's incarnation (park count) */
byte nfired;         /* fires of the current incarnation */

bit cancel_done, stray_done, sleeper_done;

inline cas(exp, nw, ok)
{
    atomic {
        assert(!freed);
        if
        :: st == exp ->
            assert(S(exp) != DONE);
            st = nw;
            ok = 1
        :: else ->
            exp = st;
            ok = 0
        fi
    }
}

inline load_st(s)
{
    atomic { assert(!freed); s = st }
}

inline got_right()
{
    atomic { assert(rights == 0); rights++ }
}

/* wake_transition: r = 1 if SUSPENDED -> RUNNING was ours. */
inline wake_transition(r)
{
    r = 0;
    load_st(s);
    do
    :: S(s) == SUSPENDED ->
        nw = (s & ~MASK) | RUNNING;
        cas(s, nw, ok);
        if
        :: ok -> r = 1; break
        :: else -> skip
        fi
    :: S(s) == RUNNING && !(s & NOTIFIED) ->
        nw = s | NOTIFIED;
        cas(s, nw, ok);
        if
        :: ok -> break
        :: else -> skip
        fi
    :: else -> break
    od;
    s = 0; nw = 0; ok = 0
}

inline take_cancel(r)
{
    r = 0;
    load_st(s);
    do
    :: s & CANCEL ->
        nw = s & ~CANCEL;
        cas(s, nw, ok);
        if
        :: ok -> r = 1; atomic { delivered++; assert(delivered <= 1) }; break
        :: else -> skip
        fi
    :: else -> break
    od;
    s = 0; nw = 0; ok = 0
}

proctype sleeper()
{
    byte s, nw, iter;
    bit ok, r, f;

    do
    :: iter == ITER -> break /* (bound: would park again) */
    :: else ->
        iter++;
        /* braid__park */
        take_cancel(r);
        if
        :: r -> break /* -ECANCELED */
        :: else -> skip
        fi;
        atomic { /* lock; braid__timer_add; unlock */
            hl == 0 ->
            assert(!armed);
            gen++;
            left = 0;
            nfired = 0;
            fired = 0;
            armed = 1
        };
        /* braid__suspend: context saved, then finish_wait on the worker */
        load_st(s);
        do
        :: true ->
            if
            :: s & NOTIFIED -> nw = s & ~NOTIFIED /* stays RUNNING */
            :: else -> nw = (s & ~MASK) | SUSPENDED
            fi;
            cas(s, nw, ok);
            if
            :: ok ->
                if
                :: s & NOTIFIED -> got_right(); runq++
                :: else -> skip
                fi;
                break
            :: else -> skip
            fi
        od;
        /* a worker takes the resume entry: no transition, the waker made
         * the task RUNNING */
        atomic { runq > 0 -> runq--; assert(rights == 1); rights--; assert(!freed && S(st) == RUNNING) };
        s = 0; nw = 0; ok = 0;
        /* disarm: fired without the lock (acquire); if 0, under the lock */
        f = fired;
        if
        :: !f ->
            atomic { hl == 0 -> hl = 1 };
            f = fired;
            if
            :: !f -> assert(armed); armed = 0 /* braid__timer_remove */
            :: else -> skip
            fi;
            hl = 0
        :: else -> skip
        fi;
        left = 1; /* braid__park returns: tm's frame is dead */
        take_cancel(r);
        if
        :: r -> break /* -ECANCELED */
        :: f -> break /* -ETIMEDOUT: the sleep is over */
        :: else -> skip /* a stray wake-up: sleep on */
        fi
    od;
    /* the task ends: braid__task_complete */
    load_st(s);
    do
    :: true ->
        nw = (s & ~(MASK | NOTIFIED)) | DONE;
        cas(s, nw, ok);
        if
        :: ok -> break
        :: else -> skip
        fi
    od;
    sleeper_done = 1
}

proctype firer()
{
    byte s, nw, g;
    bit ok, r;

end_idle:
    armed; /* braid__timer_next(h) <= now: a lock-free peek */
    atomic { hl == 0 -> hl = 1 };
    if
    :: armed ->
        /* braid__timer_pop_expired */
        atomic { assert(!left); armed = 0; g = gen; nfired++; assert(nfired == 1) };
#ifdef BUG_MARK_EARLY
        atomic { assert(!left && g == gen); fired = 1 };
#endif
        atomic { assert(!left && g == gen) }; /* task = node->data */
        wake_transition(r);
#ifndef BUG_MARK_EARLY
        atomic { assert(!left && g == gen); fired = 1 }; /* braid__timer_fired */
#endif
        g = 0
    :: else -> skip
    fi;
    hl = 0;
    if
    :: r -> r = 0; got_right(); runq++ /* push_entry, after the unlock */
    :: else -> skip
    fi;
    goto end_idle
}

active proctype canceller()
{
    byte s, nw;
    bit ok;
    load_st(s);
    do
    :: S(s) == DONE -> break
    :: S(s) != DONE && (s & CANCEL) -> break
    :: else ->
        nw = s | CANCEL;
        if
        :: S(s) == RUNNING -> nw = nw | NOTIFIED
        :: S(s) == SUSPENDED -> nw = (nw & ~MASK) | RUNNING
        :: else -> skip
        fi;
        cas(s, nw, ok);
        if
        :: ok ->
            if
            :: S(s) == SUSPENDED -> got_right(); runq++
            :: else -> skip
            fi;
            break
        :: else -> skip
        fi
    od;
    cancel_done = 1
}

active proctype stray()
{
    byte s, nw;
    bit ok, r;
    wake_transition(r);
    if
    :: r -> got_right(); runq++
    :: else -> skip
    fi;
    stray_done = 1
}

/* The last reference goes: the task's memory may be reused. */
active proctype reaper()
{
    atomic { sleeper_done && cancel_done && stray_done -> freed = 1 }
}

active proctype quiescent()
{
end:
    timeout ->
        assert(sleeper_done && freed);
        assert(runq == 0 && rights == 0 && !armed)
}

init
{
    atomic {
        run sleeper();
        run firer()
    }
}
