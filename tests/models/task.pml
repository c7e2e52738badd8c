/* task.pml - the task state word (sched/internal.h, sched/task.c,
 * sched/worker.c): lifecycle IDLE / RUNNING / SUSPENDED / DONE and
 * the flags NOTIFIED and CANCEL, under concurrent wakes, a cancel, a thief
 * and the task's own suspensions.
 *
 * Actors:
 *   - one task, a process that owns the task's body; it moves only while a
 *     worker has switched to it (`on`), and switches back with an action
 *     (ACT_WAIT, ACT_YIELD, ACT_DONE), as task_entry and braid__suspend do;
 *     its body waits for NEED events, each with the usual waiting loop
 *     (braid__park without a timer: take_cancel, suspend, take_cancel, then
 *     re-check the condition; stray wake-ups are allowed), and may yield
 *     once (braid_yield: it stays RUNNING in its worker's private yield
 *     queue, then take_cancel);
 *   - two workers: each runs entries from its own queue, steals from the
 *     other's (the thief), takes from the injection queue, or resumes its
 *     yielder; run_entry (claim a start entry, and complete at once if
 *     CANCEL is set; a resume entry needs no transition: its task is
 *     already RUNNING), then after the
 *     switch back after_switch (task_complete, the yield queue, or
 *     finish_wait's CAS, which re-queues the task on this worker if
 *     NOTIFIED);
 *   - a waker: sets the condition, then braid__wake (wake_transition, and
 *     the winner of SUSPENDED -> RUNNING enqueues the resume entry; a
 *     woken task is RUNNING while its entry waits in a queue);
 *   - a stray waker: a wake-up with no condition behind it (a stale waiter
 *     entry, a timer that lost to a cancel: allowed by braid's contract);
 *   - a canceller: braid_cancel (CANCEL; RUNNING gets NOTIFIED too,
 *     SUSPENDED goes RUNNING and the canceller enqueues the resume entry).
 * With the canceller (default), the waker provides one event fewer than
 * the task needs, so the task can only end if the cancel is delivered;
 * with -DNO_CANCEL it provides them all.
 *
 * Properties (assertions; `rights` counts resume rights: won SUSPENDED ->
 * RUNNING transitions, and NOTIFIED re-queues, whose resume entry was not
 * consumed yet):
 *   - a task is never enqueued twice: at most one resume right at a time,
 *     and the holder of the entry finds the task RUNNING and switched out;
 *   - never run by two workers at once: a switch-in finds nobody on the
 *     task, its context saved, and the state RUNNING;
 *   - no lost wake or cancel, including one that lands while the task is
 *     switching out (RUNNING, context being saved, finish_wait not yet
 *     run): at quiescence (`timeout`) the task is DONE and no entry or
 *     right is left;
 *   - a cancel is delivered at most once (take_cancel's CAS, or the
 *     pre-start check in run_entry);
 *   - once DONE nothing changes the word (every CAS asserts its old state
 *     is not DONE; wakes and cancels of a DONE task do nothing).
 *
 * Abstracted away: reference counts, WAITERS/WLOCK and the waiter list,
 * task memory (one task, never freed), the awaiter's inline claim and
 * inline_child, the hand-off switch (the next task runs finish_wait for
 * us on the same worker: the same thread order as the loop), the LIFO
 * slot (modelled as the worker's stealable queue, which only adds
 * behaviours), what the body computes. Each CAS is one atomic step and
 * every other access a step of its own; SC is exact for a single word
 * accessed only by atomic RMWs (CAS) and loads that the CAS re-validates.
 *
 * Buggy twins (Spin must report an error):
 *   -DBUG_PLAIN_SUSPEND  finish_wait stores SUSPENDED with a plain store
 *                        after its load, losing a NOTIFIED set in between;
 *   -DBUG_WAKE_RUNNING   wake_transition does nothing to a RUNNING task
 *                        (no NOTIFIED: the wake during the switch-out is
 *                        lost);
 *   -DBUG_CANCEL_RUNNING braid_cancel sets CANCEL but not NOTIFIED on a
 *                        RUNNING task.
 */

#define NONE 255

/* the state word */
#define MASK      7
#define IDLE      1
#define RUNNING   2
#define SUSPENDED 3
#define DONE      5
#define NOTIFIED  8
#define CANCEL    16
#define S(x) ((x) & MASK)

#define ACT_WAIT  1
#define ACT_YIELD 2
#define ACT_DONE  3

#ifndef NEED
#define NEED 2       /* events the body waits for */
#endif
#ifdef NO_CANCEL
#define NEV NEED
#else
#define NEV (NEED - 1)
#endif

byte st = IDLE;
byte qs[2];          /* start entries in each worker's queue */
byte qr[2];          /* resume entries in each worker's queue */
byte injr;           /* resume entries in the injection queue */
bit yq[2];           /* the task sits in this worker's yield queue */
byte rights;         /* resume rights held (entries queued or about to be) */
byte on = NONE;      /* the worker the task runs on */
bit ctx_saved;       /* its context is saved (switched out) */
byte act[2];         /* what it asked this worker for when it switched back
                      * (w->action) */
bit back[2];         /* it switched back to this worker's loop */
byte ev;             /* events signalled by the waker */
byte delivered;      /* cancels delivered */
bit cancelled;       /* braid_cancel ran */

/* An acq_rel CAS on the word: one atomic step. On failure exp is
 * refreshed, as atomic_compare_exchange does. */
inline cas(exp, nw, ok)
{
    atomic {
        if
        :: st == exp ->
            assert(S(exp) != DONE); /* nothing moves a DONE task */
            st = nw;
            ok = 1
        :: else ->
            exp = st;
            ok = 0
        fi
    }
}

/* The winner of SUSPENDED -> RUNNING (or a NOTIFIED re-queue) holds the
 * resume right. */
inline got_right()
{
    atomic { assert(rights == 0); rights++ }
}

/* wake_transition: r = 1 if SUSPENDED -> RUNNING was ours. */
inline wake_transition(r)
{
    r = 0;
    s = st; /* relaxed first guess */
    do
    :: S(s) == SUSPENDED ->
        nw = (s & ~MASK) | RUNNING;
        cas(s, nw, ok);
        if
        :: ok -> r = 1; break
        :: else -> skip
        fi
#ifndef BUG_WAKE_RUNNING
    :: S(s) == RUNNING && !(s & NOTIFIED) ->
        nw = s | NOTIFIED;
        cas(s, nw, ok);
        if
        :: ok -> break
        :: else -> skip
        fi
#endif
    :: else -> break /* notified, DONE (IDLE: not waiting yet) */
    od;
    s = 0; nw = 0; ok = 0
}

/* take_cancel: r = 1 if we consumed a pending CANCEL. */
inline take_cancel(r)
{
    r = 0;
    s = st;
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

/* braid__switch back to worker `on`: the context is saved first. */
inline switch_out(a)
{
    atomic {
        assert(S(st) == RUNNING);
        w = on;
        act[w] = a;
        ctx_saved = 1;
        on = NONE;
        back[w] = 1;
        w = 0
    }
}

proctype task()
{
    byte s, nw, w, consumed;
    bit ok, r, yielded;

end_unstarted: /* (stays here if cancelled before it started) */
    (on != NONE);
    do
    :: consumed == NEED -> break
    :: else ->
        if
        :: !yielded ->   /* braid_yield, once */
            yielded = 1;
            switch_out(ACT_YIELD);
            (on != NONE);
            take_cancel(r);
            if
            :: r -> break /* -ECANCELED: the body returns */
            :: else -> skip
            fi
        :: true -> skip
        fi;
        /* a waiting call: braid__park(no timer) */
        take_cancel(r);
        if
        :: r -> break
        :: else -> skip
        fi;
        if
        :: ev > consumed -> consumed++ /* the condition holds: no wait */
        :: else ->
            switch_out(ACT_WAIT);
            (on != NONE); /* resumed, maybe on the other worker */
            take_cancel(r);
            if
            :: r -> break
            :: else -> skip /* woken: re-check the condition */
            fi
        fi
    od;
    switch_out(ACT_DONE) /* task_entry returns */
}

proctype worker(byte me)
{
    byte s, nw, kind;
    bit ok;

end_loop:
    if /* find an entry: own queue, injection queue, steal, yielder */
    :: atomic { qs[me] > 0 -> qs[me]--; kind = 1 }
    :: atomic { qs[1 - me] > 0 -> qs[1 - me]--; kind = 1 }  /* thief */
    :: atomic { qr[me] > 0 -> qr[me]--; kind = 2 }
    :: atomic { qr[1 - me] > 0 -> qr[1 - me]--; kind = 2 }  /* thief */
    :: atomic { injr > 0 -> injr--; kind = 2 }
    :: atomic { yq[me] -> yq[me] = 0; kind = 3 }
    fi;
    if
    :: kind == 1 ->
        /* braid__task_claim: IDLE -> RUNNING */
        s = st;
        do
        :: S(s) == IDLE ->
            nw = (s & ~MASK) | RUNNING;
            cas(s, nw, ok);
            if
            :: ok -> break
            :: else -> skip
            fi
        :: else -> assert(false) /* only the start entry claims here */
        od;
        if
        :: st & CANCEL -> /* cancelled before it started */
            atomic { delivered++; assert(delivered <= 1) };
            goto complete
        :: else -> skip
        fi;
        atomic { assert(on == NONE && !ctx_saved); on = me } /* first switch in */
    :: kind == 2 ->
        /* a resume entry: its holder touches no atomic (the waker made
         * the task RUNNING) */
        atomic { assert(rights == 1); rights-- };
        atomic { assert(on == NONE && ctx_saved && S(st) == RUNNING); ctx_saved = 0; on = me }
    :: kind == 3 ->
        /* the yield queue: still RUNNING, ours alone */
        atomic { assert(on == NONE && ctx_saved && S(st) == RUNNING); ctx_saved = 0; on = me }
    fi;
    s = 0; nw = 0; ok = 0; kind = 0;
    back[me];
    back[me] = 0;
    /* after_switch */
    if
    :: act[me] == ACT_DONE -> goto complete
    :: act[me] == ACT_YIELD -> yq[me] = 1
    :: act[me] == ACT_WAIT ->
        /* finish_wait */
        s = st;
#ifdef BUG_PLAIN_SUSPEND
        if
        :: s & NOTIFIED -> skip /* (the CAS path below) */
        :: else ->
            st = (s & ~MASK) | SUSPENDED; /* a plain store */
            goto waited
        fi;
#endif
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
                :: s & NOTIFIED -> /* woken while switching out: re-queue */
                    got_right();
                    qr[me]++
                :: else -> skip
                fi;
                break
            :: else -> skip
            fi
        od
    fi;
waited:
    act[me] = 0; s = 0; nw = 0; ok = 0;
    goto end_loop;

complete:
    /* braid__task_complete: -> DONE, NOTIFIED cleared */
    s = st;
    do
    :: true ->
        nw = (s & ~(MASK | NOTIFIED)) | DONE;
        cas(s, nw, ok);
        if
        :: ok -> break
        :: else -> skip
        fi
    od;
    act[me] = 0; s = 0; nw = 0; ok = 0;
    goto end_loop
}

/* braid__wake from a thread that is not a worker: inject the entry. */
inline wake()
{
    wake_transition(r);
    if
    :: r -> got_right(); injr++
    :: else -> skip
    fi;
    r = 0
}

active proctype waker()
{
    byte s, nw;
    bit ok, r;
    do
    :: ev < NEV ->
        ev++; /* the condition (its release store) */
        wake()
    :: else -> break
    od
}

active proctype stray()
{
    byte s, nw;
    bit ok, r;
    wake()
}

#ifndef NO_CANCEL
active proctype canceller()
{
    byte s, nw;
    bit ok;
    cancelled = 1;
    s = st;
    do
    :: S(s) == DONE -> break
    :: S(s) != DONE && (s & CANCEL) -> break
    :: else ->
        nw = s | CANCEL;
        if
#ifndef BUG_CANCEL_RUNNING
        :: S(s) == RUNNING -> nw = nw | NOTIFIED /* it may be switching out */
#endif
        :: S(s) == SUSPENDED -> nw = (nw & ~MASK) | RUNNING
        :: else -> skip
        fi;
        cas(s, nw, ok);
        if
        :: ok ->
            if
            :: S(s) == SUSPENDED -> got_right(); injr++
            :: else -> skip
            fi;
            break
        :: else -> skip
        fi
    od
}
#endif

/* Quiescence: the task has ended and left nothing behind. */
active proctype quiescent()
{
end:
    timeout ->
        assert(S(st) == DONE);
        assert(rights == 0 && injr == 0 && qr[0] == 0 && qr[1] == 0);
        assert(qs[0] == 0 && qs[1] == 0 && on == NONE)
}

init
{
    atomic {
        qs[0] = 1; /* spawned on worker 0: its start entry */
        run task();
        run worker(0);
        run worker(1)
    }
}
