/* ctx.h - machine context switch between coroutine stacks.
 *
 * Owns: the saved context of a suspended stack (braid__ctx), how a fresh one
 * is laid out (braid__ctx_make), and the one inlined switch that tells the
 * sanitizers which stack is about to run (braid__switch). Does not own the
 * stacks themselves (stack.c) nor decide what runs next (worker.c).
 *
 * The switch saves only what the ABI says survives a call: callee-saved
 * registers and the floating-point control words (x86-64: MXCSR and the x87
 * control word; aarch64: FPCR is left alone by design, see switch.S). The
 * architecture code lives in sched/arch/<arch>/switch.S; Meson picks it, or
 * the portable ucontext fallback (ctx_ucontext.c) with -Dctx=ucontext.
 */
#ifndef BRAID_CTX_H
#define BRAID_CTX_H

#include <stdbool.h>
#include <stddef.h>

#if defined(BRAID_CTX_UCONTEXT)
#include <ucontext.h>
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BRAID_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define BRAID_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(BRAID_ASAN)
#define BRAID_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(BRAID_TSAN)
#define BRAID_TSAN 1
#endif

#if defined(BRAID_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(BRAID_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

typedef struct braid__ctx {
#if defined(BRAID_CTX_UCONTEXT)
    ucontext_t uc;
#else
    void *sp; /* stack pointer of the suspended context; registers sit above it */
#endif
} braid__ctx;

/* What the sanitizers must know of a stack: its bounds, and TSan's fiber. */
typedef struct braid__fiber {
    void *lo;
    size_t size;
    void *tsan; /* __tsan_create_fiber() handle, or the thread's own */
} braid__fiber;

/* Prepare ctx so that switching to it calls entry(arg) on the stack
 * [lo, lo + size). entry must never return. */
void braid__ctx_make(braid__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg);

/* Save the running context into from and resume to. Returns when something
 * switches back to from. */
void braid__ctx_swap(braid__ctx *from, braid__ctx *to);

/* The switch every caller uses. Kept always-inline on purpose: TSan's fiber
 * switch and ASan's start/finish pair must run in the frame that switches
 * (a non-inlined helper crashes TSan at -O0). from_dies says the current
 * stack is abandoned for good (a finished coroutine), so ASan frees its
 * fake stack. */
static inline __attribute__((always_inline)) void braid__switch(braid__ctx *from, braid__ctx *to,
                                                                 const braid__fiber *to_fiber,
                                                                 bool from_dies)
{
#if defined(BRAID_ASAN)
    void *fake = NULL;
    __sanitizer_start_switch_fiber(from_dies ? NULL : &fake, to_fiber->lo, to_fiber->size);
#endif
#if defined(BRAID_TSAN)
    __tsan_switch_to_fiber(to_fiber->tsan, 0);
#endif
    (void)to_fiber;
    (void)from_dies;
    braid__ctx_swap(from, to);
#if defined(BRAID_ASAN)
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
}

/* The first instructions a fresh context runs (ASan needs to hear that the
 * switch finished on the new stack). */
static inline __attribute__((always_inline)) void braid__switch_arrived(void)
{
#if defined(BRAID_ASAN)
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
}

#endif
