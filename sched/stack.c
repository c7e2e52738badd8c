/* stack.c - coroutine stacks carved from guarded regions (see stack.h). */
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

static size_t header_room(void)
{
    return (sizeof(braid__stack) + 63) & ~(size_t)63;
}

void braid__stack_source_init(braid__stack_source *src, size_t size)
{
    pthread_mutex_init(&src->lock, NULL);
    src->size = size;
    src->stride = braid__stack_round(page_size() + size + header_room());
    src->regions = NULL;
    src->dirty = NULL;
    src->ndirty = 0;
    src->free = NULL;
    src->nfree = 0;
    src->mprotect_guards = false;
}

static braid__stack *slice(braid__stack_source *src, char *base)
{
    size_t pg = page_size();
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

/* With src->lock held: map a region, guard its slices, string them on the
 * free list. Returns false if the kernel refused. */
static bool carve(braid__stack_source *src)
{
    size_t pg = page_size();
    struct region *r = malloc(sizeof *r);
    if (r == NULL)
        return false;
    r->nstacks = REGION_STACKS;
    r->len = src->stride * r->nstacks;
    r->map = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                  -1, 0);
    if (r->map == MAP_FAILED) {
        free(r);
        return false;
    }
    for (unsigned i = 0; i < r->nstacks; i++) {
        char *base = r->map + (size_t)i * src->stride;
        int ok = -1;
        if (!src->mprotect_guards) {
            ok = madvise(base, pg, MADV_GUARD_INSTALL);
            if (ok != 0 && errno == EINVAL)
                src->mprotect_guards = true; /* an older kernel */
        }
        if (src->mprotect_guards)
            ok = mprotect(base, pg, PROT_NONE);
        if (ok != 0) { /* could not guard: give up on this region */
            munmap(r->map, r->len);
            free(r);
            return false;
        }
    }
    for (unsigned i = 0; i < r->nstacks; i++) {
        braid__stack *s = slice(src, r->map + (size_t)i * src->stride);
        s->next = src->free;
        src->free = s;
        src->nfree++;
    }
    r->next = src->regions;
    src->regions = r;
    return true;
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
        free(r);
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

braid__stack *braid__stack_get(braid__stack_pool *p)
{
    braid__stack *s = p->head;
    if (s != NULL) {
        p->head = s->next;
        p->count--;
        return s;
    }
    braid__stack_source *src = p->src;
    pthread_mutex_lock(&src->lock);
    if ((s = src->dirty) != NULL) { /* resident: no page faults */
        src->dirty = s->next;
        src->ndirty--;
    } else {
        if (src->free == NULL)
            carve(src);
        s = src->free;
        if (s != NULL) {
            src->free = s->next;
            src->nfree--;
        }
    }
    pthread_mutex_unlock(&src->lock);
    return s;
}

void braid__stack_put(braid__stack_pool *p, braid__stack *s)
{
#if defined(BRAID_ASAN)
    /* The finished coroutine's frames may have left poisoned redzones. */
    __asan_unpoison_memory_region(s->fiber.lo, s->fiber.size);
#endif
    if (p->count < p->cap) {
        s->next = p->head;
        p->head = s;
        p->count++;
        return;
    }
    braid__stack_source *src = p->src;
    pthread_mutex_lock(&src->lock);
    s->next = src->dirty;
    src->dirty = s;
    src->ndirty++;
    pthread_mutex_unlock(&src->lock);
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
        braid__stack *s = NULL;
        if (src->ndirty > keep) {
            s = src->dirty;
            src->dirty = s->next;
            src->ndirty--;
        }
        pthread_mutex_unlock(&src->lock);
        if (s == NULL)
            return;
        /* Give the pages back, but keep the one that holds the header. */
        char *hdr = (char *)((uintptr_t)s & ~(uintptr_t)(pg - 1));
        if (hdr > (char *)s->fiber.lo)
            madvise(s->fiber.lo, (size_t)(hdr - (char *)s->fiber.lo), MADV_DONTNEED);
        pthread_mutex_lock(&src->lock);
        s->next = src->free;
        src->free = s;
        src->nfree++;
        pthread_mutex_unlock(&src->lock);
    }
}
