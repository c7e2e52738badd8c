/* pool.h - the blocking pool (see pool.c). */
#ifndef BRAID_POOL_H
#define BRAID_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include <braid.h>

typedef struct braid__pool braid__pool;

/* A pool of at most max threads (0: 64), a queue of at most queue jobs
 * (0: 1024), threads exit after idle_ns (<= 0: 10 s). No thread starts yet. */
int braid__pool_new(braid__pool **out, unsigned max, unsigned queue, int64_t idle_ns);
/* Run what is queued, join every thread, free. */
void braid__pool_free(braid__pool *p);

/* Run fn(arg) on the calling coroutine's runtime pool and wait: 0 with *ret
 * set, or an error of the call (-ECANCELED, -ETIMEDOUT, -ENOMEM,
 * -ESHUTDOWN, -EAGAIN). interruptible: the caller may leave on cancel or
 * deadline (the job then runs on, and cleanup(arg), if not NULL, runs after
 * it); otherwise it waits for the job whatever happens, and a cancel is
 * kept for its next waiting call. On an error before the job was queued
 * cleanup(arg) runs at once: after any error return, arg is taken care of.
 * From a plain thread fn runs inline. */
int braid__pool_run(braid_fn fn, void *arg, void (*cleanup)(void *), int64_t deadline,
                    bool interruptible, int64_t *ret);

#endif
