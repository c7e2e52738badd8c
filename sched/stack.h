/* stack.h - coroutine stacks: carved from large regions, each with a guard
 * page below it, recycled through per-worker pools.
 *
 * Owns: the memory of coroutine stacks, their guard pages and the lists that
 * recycle them. Does not own which task runs on which stack (worker.c).
 *
 * A stack is a slice of a region mapped once for REGION_STACKS stacks:
 * [guard page][usable bytes ... | header (this struct)]. Guard pages are
 * installed with madvise(MADV_GUARD_INSTALL) (Linux 6.13+), which marks
 * pages inaccessible without splitting the mapping, so a million stacks
 * cost a few thousand kernel mappings, far below vm.max_map_count (about
 * 65,000). Where the kernel lacks it, mprotect makes the guard (two
 * mappings per stack): that path is fine for tens of thousands of stacks.
 * Untouched stack pages cost nothing (MAP_NORESERVE): a suspended coroutine
 * that used little stack holds one or two resident pages.
 *
 * Pools: each worker keeps up to `cap` stacks on a private list (no lock).
 * Stacks move between a pool and the runtime's shared lists in batches of
 * cap / 2, one lock acquisition per batch (with one lock per stack, two
 * workers starting 100,000 sleepers spent a fifth of their time in the
 * lock's futex calls). A full pool hands half its stacks to the shared
 * "dirty" list (still resident, kept as a list of batches so a batch moves
 * in O(1)); an empty pool takes a batch from there first, then from the
 * "clean" list, then carves a new region (outside the lock). Giving pages back
 * (MADV_DONTNEED, keeping the header page) is a system call per stack, so
 * it is not done on the way back but by braid__stack_trim, which a worker
 * calls after a second of idleness (as Go's scavenger runs off the hot
 * path, and jemalloc decays dirty pages with a delay).
 */
#ifndef BRAID_STACK_H
#define BRAID_STACK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "atomics.h"
#include "ctx.h"

typedef struct braid__stack {
    struct braid__stack *next;  /* list link while free */
    struct braid__stack *batch; /* on the source's dirty list: the next batch */
    size_t nbatch;              /* on the source's dirty list: stacks in this batch */
    braid__fiber fiber;        /* usable range [lo, lo + size) and TSan fiber */
    char *base;                /* the guard page; the slice starts here */
    size_t guard;              /* bytes of guard at base */
} braid__stack;

/* Where stacks come from: one per runtime, shared by its workers. */
typedef struct braid__stack_source {
    pthread_mutex_t lock;
    size_t size;            /* usable bytes of every stack */
    size_t stride;          /* bytes of one slice: guard + usable + header */
    struct region *regions; /* every region mapped, for teardown */
    size_t mapped;          /* bytes mapped in all regions */
    braid__stack *dirty;    /* batches of returned stacks, pages still resident */
    size_t ndirty;          /* stacks in all those batches */
    braid__stack *free;     /* stacks whose pages were given back */
    size_t nfree;
    braid__aword mprotect_guards; /* 1: the kernel refused MADV_GUARD_INSTALL */
} braid__stack_source;

typedef struct braid__stack_pool {
    braid__stack_source *src;
    braid__stack *head;
    unsigned count; /* stacks on the private list */
    unsigned cap;   /* beyond this, returned stacks go to the source */
} braid__stack_pool;

/* Round a requested usable size to whole pages; 0 on overflow. */
size_t braid__stack_round(size_t size);

void braid__stack_source_init(braid__stack_source *src, size_t size);
/* Unmap every region. No stack of this source may be in use. */
void braid__stack_source_destroy(braid__stack_source *src);

void braid__stack_pool_init(braid__stack_pool *p, braid__stack_source *src, unsigned cap);
/* A stack, from the pool, the source's free list, or a new region; NULL if
 * the kernel refused the mapping. */
braid__stack *braid__stack_get(braid__stack_pool *p);
void braid__stack_put(braid__stack_pool *p, braid__stack *s);
/* Give back the pages of all but `keep` dirty stacks (idle time). */
void braid__stack_trim(braid__stack_source *src, size_t keep);
/* Bytes of address space mapped for stacks (all regions). */
size_t braid__stack_mapped(braid__stack_source *src);
/* More than keep resident spare stacks? */
bool braid__stack_excess(braid__stack_source *src, size_t keep);

/* Is addr inside s's guard page? (The overflow handler asks.) */
static inline bool braid__stack_guard_hit(const braid__stack *s, const void *addr)
{
    const char *a = addr;
    return a >= s->base && a < s->base + s->guard;
}

#endif
