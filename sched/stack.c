/* stack.c - guarded coroutine stacks and their pools (see stack.h). */
#include "stack.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

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

static braid__stack *stack_map(size_t size)
{
    size_t guard = page_size();
    size_t len = guard + size + header_room();
    len = braid__stack_round(len);
    /* One mapping; the guard is then made inaccessible, which splits it in
     * two kernel mappings. MAP_NORESERVE: untouched stack pages cost nothing. */
    char *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    if (map == MAP_FAILED)
        return NULL;
    if (mprotect(map, guard, PROT_NONE) != 0) {
        munmap(map, len);
        return NULL;
    }
    braid__stack *s = (braid__stack *)(map + len - header_room());
    s->next = NULL;
    s->map = map;
    s->maplen = len;
    s->guard = guard;
    s->fiber.lo = map + guard;
    s->fiber.size = (size_t)((char *)s - (map + guard));
#if defined(BRAID_TSAN)
    s->fiber.tsan = __tsan_create_fiber(0);
#else
    s->fiber.tsan = NULL;
#endif
    return s;
}

static void stack_unmap(braid__stack *s)
{
#if defined(BRAID_TSAN)
    __tsan_destroy_fiber(s->fiber.tsan);
#endif
    munmap(s->map, s->maplen);
}

void braid__stack_pool_init(braid__stack_pool *p, size_t size, unsigned cap)
{
    p->head = NULL;
    p->count = 0;
    p->cap = cap;
    p->size = size;
}

void braid__stack_pool_destroy(braid__stack_pool *p)
{
    while (p->head != NULL) {
        braid__stack *s = p->head;
        p->head = s->next;
        stack_unmap(s);
    }
    p->count = 0;
}

braid__stack *braid__stack_get(braid__stack_pool *p)
{
    braid__stack *s = p->head;
    if (s != NULL) {
        p->head = s->next;
        p->count--;
    } else {
        s = stack_map(p->size);
        if (s == NULL)
            return NULL;
    }
    return s;
}

void braid__stack_put(braid__stack_pool *p, braid__stack *s)
{
#if defined(BRAID_ASAN)
    /* The finished coroutine's frames may have left poisoned redzones. */
    __asan_unpoison_memory_region(s->fiber.lo, s->fiber.size);
#endif
    if (p->count >= p->cap) {
        stack_unmap(s);
        return;
    }
    s->next = p->head;
    p->head = s;
    p->count++;
}
