/* ctx_ucontext.c - the portable context switch (-Dctx=ucontext).
 *
 * For architectures without a switch.S. swapcontext also saves and restores
 * the signal mask, a system call per switch: correct but about 20x slower
 * than the assembly, so it is a fallback, not a choice.
 */
#include <stdint.h>

#include "ctx.h"

static void start(unsigned hi, unsigned lo_entry_hi, unsigned lo_entry_lo, unsigned lo_arg)
{
    uintptr_t entry = ((uintptr_t)lo_entry_hi << 32) | lo_entry_lo;
    uintptr_t arg = ((uintptr_t)hi << 32) | lo_arg;
    ((void (*)(void *))entry)((void *)arg);
}

void braid__ctx_make(braid__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg)
{
    getcontext(&ctx->uc);
    ctx->uc.uc_stack.ss_sp = lo;
    ctx->uc.uc_stack.ss_size = size;
    ctx->uc.uc_link = NULL;
    uintptr_t e = (uintptr_t)entry, a = (uintptr_t)arg;
    makecontext(&ctx->uc, (void (*)(void))start, 4, (unsigned)(a >> 32), (unsigned)(e >> 32),
                (unsigned)e, (unsigned)a);
}

/* used: tests reach it from assembly, which LTO cannot see. */
__attribute__((used)) void braid__ctx_swap(braid__ctx *from, braid__ctx *to)
{
    swapcontext(&from->uc, &to->uc);
}
