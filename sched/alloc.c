/* alloc.c - braid's heap memory and the fault injector (see alloc.h). */
#include "alloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atomics.h"
#include "internal.h"

static braid_allocator host;  /* used when host_set */
static braid__aword host_set; /* 1: host's functions; written only with no block live */
static braid__aword live;     /* blocks handed out and not yet freed */

/* Fault injector state: calls of the armed kinds left before the failure
 * (0: disarmed), and calls seen since arming. */
static braid__aword fault_kinds, fault_left, fault_seen;

bool braid__fault(unsigned kind)
{
    /* Relaxed: tests arm the injector before the calls they aim at; a
     * stray concurrent call may take the failure, which is still a fault
     * handled cleanly. The RMW on the countdown makes exactly one call fail. */
    if ((braid__load_relaxed(&fault_kinds) & kind) == 0)
        return false;
    braid__fetch_add_relaxed(&fault_seen, 1);
    uintptr_t left = braid__load_relaxed(&fault_left);
    while (left != 0) {
        if (braid__cas(&fault_left, &left, left - 1))
            return left == 1;
    }
    return false;
}

void braid__fault_arm(unsigned kinds, unsigned long n)
{
    /* Relaxed: published by the seq_cst store of the kinds that follows. */
    braid__store_relaxed(&fault_seen, 0);
    braid__store_relaxed(&fault_left, n);
    braid__store_seqcst(&fault_kinds, kinds); /* seq_cst: armed before the test goes on */
}

void braid__fault_disarm(void)
{
    braid__store_seqcst(&fault_kinds, 0); /* seq_cst: off before the test goes on */
    braid__store_relaxed(&fault_left, 0); /* relaxed: unread while the kinds are 0 */
}

unsigned long braid__fault_count(void)
{
    /* Relaxed: read by the test after the calls it counts have returned. */
    return (unsigned long)braid__load_relaxed(&fault_seen);
}

int braid_set_allocator(const braid_allocator *a)
{
    if (a != NULL && (a->malloc == NULL || a->realloc == NULL || a->free == NULL))
        return -EINVAL;
    /* Relaxed: the caller guarantees no braid call runs concurrently (the
     * contract); live == 0 means every block went back to its allocator. */
    if (braid__load_relaxed(&live) != 0)
        return -EBUSY;
    if (a != NULL)
        host = *a;
    braid__store_seqcst(&host_set, a != NULL); /* seq_cst: before any later allocation */
    return 0;
}

static void count(intptr_t d)
{
    /* Relaxed: a balance checked only when switching allocators. */
    braid__fetch_add_relaxed(&live, (uintptr_t)d);
}

void *braid__malloc(size_t n)
{
    if (braid__fault(BRAID__FAULT_ALLOC))
        return NULL;
    /* Relaxed: set while nothing allocates (braid_set_allocator). */
    void *p = braid__load_relaxed(&host_set) ? host.malloc(n ? n : 1, host.ctx) : malloc(n ? n : 1);
    if (p != NULL)
        count(1);
    return p;
}

void *braid__calloc(size_t k, size_t n)
{
    if (n != 0 && k > SIZE_MAX / n)
        return NULL;
    if (!braid__load_relaxed(&host_set)) { /* relaxed: as above */
        if (braid__fault(BRAID__FAULT_ALLOC))
            return NULL;
        void *p = calloc(k ? k : 1, n ? n : 1);
        if (p != NULL)
            count(1);
        return p;
    }
    void *p = braid__malloc(k * n);
    if (p != NULL)
        memset(p, 0, k * n);
    return p;
}

void *braid__realloc(void *p, size_t n)
{
    if (p == NULL)
        return braid__malloc(n);
    if (braid__fault(BRAID__FAULT_ALLOC))
        return NULL;
    /* Relaxed: as above. On failure p stays valid and counted. */
    return braid__load_relaxed(&host_set) ? host.realloc(p, n ? n : 1, host.ctx)
                                          : realloc(p, n ? n : 1);
}

void braid__free(void *p)
{
    if (p == NULL)
        return;
    count(-1);
    if (braid__load_relaxed(&host_set)) /* relaxed: as above */
        host.free(p, host.ctx);
    else
        free(p);
}

char *braid__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = braid__malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* Over-allocate and keep the block's start just below the aligned
 * address: works with any host allocator. */
void *braid__aligned_alloc(size_t align, size_t n)
{
    if (n > SIZE_MAX - align - sizeof(void *))
        return NULL;
    char *raw = braid__malloc(n + align + sizeof(void *));
    if (raw == NULL)
        return NULL;
    uintptr_t a = ((uintptr_t)raw + sizeof(void *) + align - 1) & ~(uintptr_t)(align - 1);
    ((void **)a)[-1] = raw;
    return (void *)a;
}

void braid__aligned_free(void *p)
{
    if (p != NULL)
        braid__free(((void **)p)[-1]);
}
