/* ctx_make.c (x86-64) - lay out a fresh context that switch.S can resume.
 *
 * Frame, from the new stack pointer upwards (each slot 8 bytes):
 *   [MXCSR | x87 CW] r15 r14 r13=arg r12=entry rbx rbp  ret=braid__ctx_start
 * The return slot sits 8 bytes below a 16-byte boundary, so when the ret in
 * braid__ctx_swap pops it, rsp is 16-byte aligned at braid__ctx_start, whose
 * call then gives entry the ABI's (rsp + 8) % 16 == 0.
 */
#include <stdint.h>
#include <string.h>

#include "../../ctx.h"

void braid__ctx_start(void);

void braid__ctx_make(braid__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    uint64_t *sp = (uint64_t *)(top - 16); /* 16 bytes of headroom above the frame */
    *--sp = (uint64_t)(uintptr_t)braid__ctx_start; /* at top - 24: aligned after ret */
    *--sp = 0;                                     /* rbp: ends frame-pointer walks */
    *--sp = 0;                                     /* rbx */
    *--sp = (uint64_t)(uintptr_t)entry;            /* r12 */
    *--sp = (uint64_t)(uintptr_t)arg;              /* r13 */
    *--sp = 0;                                     /* r14 */
    *--sp = 0;                                     /* r15 */
    uint32_t mxcsr = 0x1F80;                       /* all exceptions masked, round to nearest */
    uint16_t fcw = 0x037F;                         /* x87 default: extended precision, masked */
    uint64_t ctl = 0;
    memcpy(&ctl, &mxcsr, 4);
    memcpy((char *)&ctl + 4, &fcw, 2);
    *--sp = ctl;
    ctx->sp = sp;
}
