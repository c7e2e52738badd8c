/* alloc.h - the one door for braid's heap memory, and the fault injector.
 *
 * Owns: every malloc/calloc/realloc/free the library makes for its own
 * structures (task slabs, deque rings, timer heaps, queues, sync objects,
 * pool jobs), routed to the host's braid_allocator when one is set, and a
 * count of live blocks (braid_set_allocator refuses to switch while any
 * is outstanding). Not here: coroutine stacks (mmap, stack.c), the
 * process-wide fd table (io.c: it lives as long as the process).
 *
 * Fault injection, for tests: braid__fault_arm(kind mask, n) makes the n-th
 * following call of those kinds fail (allocation: NULL; mmap of a stack
 * region, thread creation, reactor creation: the error), once; callers
 * turn it into a clean error. braid__fault_count() says how many calls of
 * the armed kinds happened since arming, so a test can fail each in turn.
 */
#ifndef BRAID_ALLOC_H
#define BRAID_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

enum {
    BRAID__FAULT_ALLOC = 1,  /* braid__malloc / calloc / realloc / strdup */
    BRAID__FAULT_MMAP = 2,   /* a stack region */
    BRAID__FAULT_THREAD = 4, /* a worker or pool thread */
    BRAID__FAULT_FD = 8,     /* epoll instance, eventfd */
    BRAID__FAULT_SYSCALL = 16, /* reactor and socket calls, each failing as it
                                * can in life: epoll_ctl ENOMEM, epoll_wait
                                * EINTR, read/write/recv/send EINTR, accept4
                                * and socket EMFILE */
};

void *braid__malloc(size_t n);
void *braid__calloc(size_t k, size_t n);
void *braid__realloc(void *p, size_t n);
void braid__free(void *p);
char *braid__strdup(const char *s);
/* align: a power of two; free with braid__aligned_free. */
void *braid__aligned_alloc(size_t align, size_t n);
void braid__aligned_free(void *p);

/* True if this call of `kind` must fail (the fault injector says so). */
bool braid__fault(unsigned kind);
void braid__fault_arm(unsigned kinds, unsigned long n);
void braid__fault_disarm(void);
unsigned long braid__fault_count(void);

#endif
