/* atomics.h - the only door to atomic operations in braid.
 *
 * Two backends behind one set of names:
 *   - libatomic_ops (the default build), whose AO_t is a machine word;
 *   - C11 <stdatomic.h> (-Datomics=c11), used by sanitizer builds because
 *     ThreadSanitizer understands C11 atomics but not inline assembly.
 * Every caller states, at the call site, why the ordering it asks for is the
 * one it needs; this header only maps names to the backend. Word-sized
 * operations act on braid__aword (uintptr_t-sized); the _32 ones act on
 * braid__a32, a 32-bit word usable as a futex.
 */
#ifndef BRAID_ATOMICS_H
#define BRAID_ATOMICS_H

#include <stdbool.h>
#include <stdint.h>

#if defined(BRAID_ATOMICS_C11)
#include <stdatomic.h>

typedef _Atomic(uintptr_t) braid__aword;
typedef _Atomic(uint32_t) braid__a32;


static inline uintptr_t braid__load_relaxed(braid__aword *p) { return atomic_load_explicit(p, memory_order_relaxed); }
static inline uintptr_t braid__load_acquire(braid__aword *p) { return atomic_load_explicit(p, memory_order_acquire); }
static inline uintptr_t braid__load_seqcst(braid__aword *p) { return atomic_load_explicit(p, memory_order_seq_cst); }
static inline void braid__store_relaxed(braid__aword *p, uintptr_t v) { atomic_store_explicit(p, v, memory_order_relaxed); }
static inline void braid__store_release(braid__aword *p, uintptr_t v) { atomic_store_explicit(p, v, memory_order_release); }
static inline void braid__store_seqcst(braid__aword *p, uintptr_t v) { atomic_store_explicit(p, v, memory_order_seq_cst); }
/* Strong CAS, acq_rel on success and acquire on failure; on failure *expected
 * receives the value seen. */
static inline bool braid__cas(braid__aword *p, uintptr_t *expected, uintptr_t desired)
{
    return atomic_compare_exchange_strong_explicit(p, expected, desired, memory_order_acq_rel,
                                                   memory_order_acquire);
}
/* Sequentially consistent CAS, for the protocols (deque) that need a total order. */
static inline bool braid__cas_seqcst(braid__aword *p, uintptr_t *expected, uintptr_t desired)
{
    return atomic_compare_exchange_strong_explicit(p, expected, desired, memory_order_seq_cst,
                                                   memory_order_seq_cst);
}
static inline uintptr_t braid__fetch_add(braid__aword *p, uintptr_t v) { return atomic_fetch_add_explicit(p, v, memory_order_acq_rel); }
static inline uintptr_t braid__xchg(braid__aword *p, uintptr_t v) { return atomic_exchange_explicit(p, v, memory_order_acq_rel); }
static inline uintptr_t braid__fetch_add_seqcst(braid__aword *p, uintptr_t v) { return atomic_fetch_add_explicit(p, v, memory_order_seq_cst); }
static inline uintptr_t braid__fetch_add_relaxed(braid__aword *p, uintptr_t v) { return atomic_fetch_add_explicit(p, v, memory_order_relaxed); }
static inline void braid__fence_seqcst(void) { atomic_thread_fence(memory_order_seq_cst); }
/* Add one to a word that only the calling thread writes and others read
 * with braid__load_relaxed (statistics). Relaxed load and store, no RMW. */
static inline void braid__inc_owned(braid__aword *p) { atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + 1, memory_order_relaxed); }

static inline uint32_t braid__load32_acquire(braid__a32 *p) { return atomic_load_explicit(p, memory_order_acquire); }
static inline void braid__store32_release(braid__a32 *p, uint32_t v) { atomic_store_explicit(p, v, memory_order_release); }
static inline uint32_t braid__xchg32(braid__a32 *p, uint32_t v) { return atomic_exchange_explicit(p, v, memory_order_acq_rel); }

#else /* libatomic_ops */
#include <atomic_ops.h>

typedef volatile AO_t braid__aword;
typedef volatile unsigned braid__a32;


static inline uintptr_t braid__load_relaxed(braid__aword *p) { return AO_load(p); }
static inline uintptr_t braid__load_acquire(braid__aword *p) { return AO_load_acquire(p); }
#if defined(__x86_64__) || defined(__i386__)
/* The standard C11 mapping on x86-TSO: sequentially consistent stores pay
 * the fence (AO_store_full), so a sequentially consistent load is a plain
 * (acquire) load. AO_load_full would add a second, useless fence. */
static inline uintptr_t braid__load_seqcst(braid__aword *p) { return AO_load_acquire(p); }
#else
static inline uintptr_t braid__load_seqcst(braid__aword *p) { return AO_load_full(p); }
#endif
static inline void braid__store_relaxed(braid__aword *p, uintptr_t v) { AO_store(p, v); }
static inline void braid__store_release(braid__aword *p, uintptr_t v) { AO_store_release(p, v); }
static inline void braid__store_seqcst(braid__aword *p, uintptr_t v) { AO_store_full(p, v); }
static inline bool braid__cas(braid__aword *p, uintptr_t *expected, uintptr_t desired)
{
    AO_t seen = AO_fetch_compare_and_swap_full(p, *expected, desired);
    if (seen == *expected)
        return true;
    *expected = seen;
    return false;
}
static inline bool braid__cas_seqcst(braid__aword *p, uintptr_t *expected, uintptr_t desired)
{
    return braid__cas(p, expected, desired); /* _full is sequentially consistent */
}
static inline uintptr_t braid__fetch_add(braid__aword *p, uintptr_t v) { return AO_fetch_and_add_full(p, v); }
static inline uintptr_t braid__xchg(braid__aword *p, uintptr_t v)
{
    AO_t old = AO_load(p);
    for (;;) {
        AO_t seen = AO_fetch_compare_and_swap_full(p, old, v);
        if (seen == old)
            return old;
        old = seen;
    }
}
static inline uintptr_t braid__fetch_add_seqcst(braid__aword *p, uintptr_t v) { return AO_fetch_and_add_full(p, v); }
static inline uintptr_t braid__fetch_add_relaxed(braid__aword *p, uintptr_t v) { return AO_fetch_and_add(p, v); }
static inline void braid__fence_seqcst(void) { AO_nop_full(); }
/* Add one to a word that only the calling thread writes and others read
 * with braid__load_relaxed (statistics). On x86-64 one unlocked `add` to
 * memory: readers see the old or the new value (aligned word), and no
 * ordering is implied or needed. Not AO_load + AO_store: that volatile
 * load-add-store, placed just before a context switch, cost ~7 ns per
 * switch here (perf/switch: 32 -> 47 ms for 2M yields), which the single
 * memory-operand add does not. */
static inline void braid__inc_owned(braid__aword *p)
{
#if defined(__x86_64__)
    __asm__ volatile("addq $1, %0" : "+m"(*p));
#else
    AO_store(p, AO_load(p) + 1);
#endif
}

static inline uint32_t braid__load32_acquire(braid__a32 *p) { return AO_int_load_acquire(p); }
static inline void braid__store32_release(braid__a32 *p, uint32_t v) { AO_int_store_release(p, v); }
static inline uint32_t braid__xchg32(braid__a32 *p, uint32_t v)
{
    unsigned old = AO_int_load(p);
    for (;;) {
        unsigned seen = AO_int_fetch_compare_and_swap_full(p, old, v);
        if (seen == old)
            return old;
        old = seen;
    }
}
#endif

/* A spin-wait hint for the few bounded spin loops (waiter-list lock). */
static inline void braid__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif
