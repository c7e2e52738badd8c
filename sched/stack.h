/* stack.h - coroutine stacks: guarded mappings and per-worker pools.
 *
 * Owns: mmap'd stacks with a PROT_NONE guard page below the usable range,
 * and the free lists that recycle them. Does not own which task runs on
 * which stack (task.c, worker.c).
 *
 * A stack is one mapping of guard + usable bytes; its header (this struct)
 * lives at the top of the same mapping, so taking a stack never calls
 * malloc. A guarded stack costs two kernel mappings (the guard and the rest)
 * and vm.max_map_count is about 65,000 by default: pools cap what they keep,
 * and holding a million suspended coroutines is future work (carved regions,
 * see DESIGN.md).
 */
#ifndef BRAID_STACK_H
#define BRAID_STACK_H

#include <stdbool.h>
#include <stddef.h>

#include "ctx.h"

typedef struct braid__stack {
    struct braid__stack *next; /* pool link while free */
    braid__fiber fiber;        /* usable range [lo, lo + size) and TSan fiber */
    char *map;                 /* the whole mapping, guard included */
    size_t maplen;
    size_t guard;              /* bytes of PROT_NONE below fiber.lo */
} braid__stack;

typedef struct braid__stack_pool {
    braid__stack *head;
    unsigned count; /* stacks on the list */
    unsigned cap;   /* beyond this, freed stacks are unmapped */
    size_t size;    /* usable size of every stack in this pool */
} braid__stack_pool;

/* Round a requested usable size to whole pages; 0 on overflow. */
size_t braid__stack_round(size_t size);

void braid__stack_pool_init(braid__stack_pool *p, size_t size, unsigned cap);
void braid__stack_pool_destroy(braid__stack_pool *p);
/* A stack of the pool's size, from the list or freshly mapped; NULL if the
 * kernel refused the mapping. */
braid__stack *braid__stack_get(braid__stack_pool *p);
void braid__stack_put(braid__stack_pool *p, braid__stack *s);

/* Is addr inside s's guard page(s)? (The overflow handler asks.) */
static inline bool braid__stack_guard_hit(const braid__stack *s, const void *addr)
{
    const char *a = addr;
    return a >= s->map && a < s->map + s->guard;
}

#endif
