/* stack.c - coroutine stacks carved from guarded regions (see stack.h). */
#include "alloc.h"
#include "stack.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif

#define REGION_STACKS 64

struct region {
    struct region *next;
    char *map;
    size_t len;
    unsigned nstacks;
    braid__stack *first; /* its stacks, as carved */
};

static size_t page_size(void)
{
    static size_t pg;
    if (pg == 0) /* benign race: every thread computes the same value */
        pg = (size_t)sysconf(_SC_PAGESIZE);
    return pg;
}

size_t braid__stack_round(size_t size)
{
    size_t pg = page_size();
    if (size > SIZE_MAX - pg)
        return 0;
    return (size + pg - 1) & ~(pg - 1);
}

/* Guard below each stack: 64 KiB, so that a frame up to that size cannot
 * step over it (MADV_GUARD_INSTALL costs no memory). */
static size_t guard_size(void)
{
    size_t g = (size_t)64 * 1024;
    return g > page_size() ? g : page_size();
}

static size_t header_room(void)
{
    return (sizeof(braid__stack) + 63) & ~(size_t)63;
}

void braid__stack_source_init(braid__stack_source *src, size_t size)
{
    pthread_mutex_init(&src->lock, NULL);
    src->size = size;
    src->stride = braid__stack_round(guard_size() + size + header_room());
    src->regions = NULL;
    src->mapped = 0;
    src->dirty = NULL;
    src->ndirty = 0;
    src->free = NULL;
    src->nfree = 0;
    braid__store_relaxed(&src->mprotect_guards, 0);
}

static braid__stack *slice(braid__stack_source *src, char *base)
{
    size_t pg = guard_size();
    braid__stack *s = (braid__stack *)(base + src->stride - header_room());
    s->next = NULL;
    s->base = base;
    s->guard = pg;
    s->fiber.lo = base + pg;
    s->fiber.size = (size_t)((char *)s - (base + pg));
#if defined(BRAID_TSAN)
    s->fiber.tsan = __tsan_create_fiber(0);
#else
    s->fiber.tsan = NULL;
#endif
    return s;
}

/* Map a region and guard its slices, without the lock (a system call per
 * guard). Returns the region with its stacks strung from r->first, or NULL
 * if the kernel refused. */
static struct region *carve(braid__stack_source *src)
{
    struct region *r = braid__malloc(sizeof *r);
    if (r == NULL)
        return NULL;
    r->nstacks = REGION_STACKS;
    r->len = src->stride * r->nstacks;
    if (braid__fault(BRAID__FAULT_MMAP)) {
        braid__free(r);
        return NULL;
    }
    r->map = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                  -1, 0);
    if (r->map == MAP_FAILED) {
        braid__free(r);
        return NULL;
    }
    /* Relaxed: carvers run concurrently, outside the lock, and all reach
     * the same answer from the kernel; a stale 0 costs one EINVAL. */
    bool use_mprotect = braid__load_relaxed(&src->mprotect_guards) != 0;
    for (unsigned i = 0; i < r->nstacks; i++) {
        char *base = r->map + (size_t)i * src->stride;
        int ok = -1;
        if (!use_mprotect) {
            ok = madvise(base, guard_size(), MADV_GUARD_INSTALL);
            if (ok != 0 && errno == EINVAL) { /* an older kernel */
                use_mprotect = true;
                braid__store_relaxed(&src->mprotect_guards, 1); /* relaxed: see above */
            }
        }
        if (use_mprotect)
            ok = mprotect(base, guard_size(), PROT_NONE);
        if (ok != 0) { /* could not guard: give up on this region */
            munmap(r->map, r->len);
            braid__free(r);
            return NULL;
        }
    }
    r->first = NULL;
    for (unsigned i = r->nstacks; i-- > 0;) {
        braid__stack *s = slice(src, r->map + (size_t)i * src->stride);
        s->next = r->first;
        r->first = s;
    }
    return r;
}

void braid__stack_source_destroy(braid__stack_source *src)
{
    struct region *r = src->regions;
    while (r != NULL) {
        struct region *next = r->next;
#if defined(BRAID_TSAN)
        for (unsigned i = 0; i < r->nstacks; i++) {
            braid__stack *s =
                (braid__stack *)(r->map + (size_t)(i + 1) * src->stride - header_room());
            __tsan_destroy_fiber(s->fiber.tsan);
        }
#endif
        munmap(r->map, r->len);
        braid__free(r);
        r = next;
    }
    src->regions = NULL;
    src->dirty = src->free = NULL;
    src->ndirty = src->nfree = 0;
    pthread_mutex_destroy(&src->lock);
}

void braid__stack_pool_init(braid__stack_pool *p, braid__stack_source *src, unsigned cap)
{
    p->src = src;
    p->head = NULL;
    p->count = 0;
    p->cap = cap;
}

/* The pool is empty: refill it with a batch (one lock), or a new region. */
static braid__stack *refill(braid__stack_pool *p)
{
    braid__stack_source *src = p->src;
    unsigned want = p->cap / 2 ? p->cap / 2 : 1;
    pthread_mutex_lock(&src->lock);
    braid__stack *b = src->dirty;
    if (b != NULL) { /* resident: no page faults */
        src->dirty = b->batch;
        src->ndirty -= b->nbatch;
        p->head = b;
        p->count = (unsigned)b->nbatch;
        pthread_mutex_unlock(&src->lock);
        return b;
    }
    unsigned n = 0;
    braid__stack *head = NULL, *s;
    while (n < want && (s = src->free) != NULL) {
        src->free = s->next;
        src->nfree--;
        s->next = head;
        head = s;
        n++;
    }
    pthread_mutex_unlock(&src->lock);
    if (n == 0) {
        struct region *r = carve(src);
        if (r == NULL)
            return NULL;
        pthread_mutex_lock(&src->lock);
        src->mapped += r->len;
        r->next = src->regions;
        src->regions = r;
        pthread_mutex_unlock(&src->lock);
        head = r->first;
        n = r->nstacks;
    }
    p->head = head;
    p->count = n;
    return head;
}

braid__stack *braid__stack_get(braid__stack_pool *p)
{
    braid__stack *s = p->head;
    if (s == NULL && (s = refill(p)) == NULL)
        return NULL;
    p->head = s->next;
    p->count--;
    /* The next stack's header sits on a page of its own, cold when tasks
     * start in a burst (a spawn loop): fetch it while this one runs. */
    if (p->head != NULL)
        __builtin_prefetch(p->head, 1);
    return s;
}

void braid__stack_put(braid__stack_pool *p, braid__stack *s)
{
#if defined(BRAID_ASAN)
    /* The finished coroutine's frames may have left poisoned redzones. */
    __asan_unpoison_memory_region(s->fiber.lo, s->fiber.size);
#endif
    s->next = p->head;
    p->head = s;
    if (++p->count <= p->cap)
        return;
    /* Keep the most recently used half (their lines are warm), hand the
     * rest to the source as one batch. */
    unsigned keep = p->cap / 2;
    braid__stack *m = p->head;
    for (unsigned i = 1; i < keep; i++)
        m = m->next;
    braid__stack *b = keep ? m->next : p->head;
    if (keep)
        m->next = NULL;
    else
        p->head = NULL;
    b->nbatch = p->count - keep;
    p->count = keep;
    braid__stack_source *src = p->src;
    pthread_mutex_lock(&src->lock);
    b->batch = src->dirty;
    src->dirty = b;
    src->ndirty += b->nbatch;
    pthread_mutex_unlock(&src->lock);
}

size_t braid__stack_mapped(braid__stack_source *src)
{
    pthread_mutex_lock(&src->lock);
    size_t n = src->mapped;
    pthread_mutex_unlock(&src->lock);
    return n;
}

bool braid__stack_excess(braid__stack_source *src, size_t keep)
{
    /* Under the lock: called only before a long park. */
    pthread_mutex_lock(&src->lock);
    bool more = src->ndirty > keep;
    pthread_mutex_unlock(&src->lock);
    return more;
}

void braid__stack_trim(braid__stack_source *src, size_t keep)
{
    size_t pg = page_size();
    for (;;) {
        pthread_mutex_lock(&src->lock);
        braid__stack *b = NULL;
        if (src->ndirty > keep && (b = src->dirty) != NULL) {
            src->dirty = b->batch;
            src->ndirty -= b->nbatch;
        }
        pthread_mutex_unlock(&src->lock);
        if (b == NULL)
            return;
        braid__stack *head = NULL, *tail = NULL;
        size_t n = 0;
        for (braid__stack *s = b, *next; s != NULL; s = next) {
            next = s->next;
            /* Give the pages back, but keep the one that holds the header. */
            char *hdr = (char *)((uintptr_t)s & ~(uintptr_t)(pg - 1));
            if (hdr > (char *)s->fiber.lo)
                madvise(s->fiber.lo, (size_t)(hdr - (char *)s->fiber.lo), MADV_DONTNEED);
            if (tail == NULL)
                tail = s;
            s->next = head;
            head = s;
            n++;
        }
        pthread_mutex_lock(&src->lock);
        tail->next = src->free;
        src->free = head;
        src->nfree += n;
        pthread_mutex_unlock(&src->lock);
    }
}
