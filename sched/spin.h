/* spin.h - a small lock for critical sections of a few instructions that
 * never suspend (wait queues of the sync objects).
 *
 * An uncontended acquire is one exchange and a release one store, where a
 * pthread mutex costs about twice that; a holder is never descheduled on
 * purpose (no switch happens with it held), so waiters spin with a pause
 * hint and, after a while, yield the CPU in case the holder's thread was
 * preempted by the kernel.
 */
#ifndef BRAID_SPIN_H
#define BRAID_SPIN_H

#include <sched.h>

#include "atomics.h"

typedef struct braid__spin {
    braid__a32 held;
} braid__spin;

static inline void braid__spin_init(braid__spin *l)
{
    braid__store32_release(&l->held, 0);
}

static inline void braid__spin_lock(braid__spin *l)
{
    /* Acquire (acq_rel exchange): pairs with the release in unlock, so the
     * previous holder's writes are visible. */
    for (unsigned n = 0; braid__xchg32(&l->held, 1) != 0; n++) {
        while (braid__load32_acquire(&l->held) != 0) {
            if (++n < 128)
                braid__cpu_relax();
            else
                sched_yield(); /* the holder may have been preempted */
        }
    }
}

static inline void braid__spin_unlock(braid__spin *l)
{
    /* Release: publishes the critical section to the next holder. */
    braid__store32_release(&l->held, 0);
}

#endif
