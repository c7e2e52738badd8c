/* ctx_make.c (aarch64) - lay out a fresh context that switch.S can resume.
 *
 * The 160-byte frame of switch.S sits at the 16-byte-aligned top of the
 * stack: x19 = entry, x20 = arg, x29 = 0 (ends frame walks), x30 =
 * braid__ctx_start; everything else zero.
 */
#include <stdint.h>
#include <string.h>

#include "../../ctx.h"

void braid__ctx_start(void);

void braid__ctx_make(braid__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    uint64_t *frame = (uint64_t *)(top - 160);
    memset(frame, 0, 160);
    frame[0] = (uint64_t)(uintptr_t)entry;            /* x19 */
    frame[1] = (uint64_t)(uintptr_t)arg;              /* x20 */
    frame[10] = 0;                                    /* x29 */
    frame[11] = (uint64_t)(uintptr_t)braid__ctx_start; /* x30 */
    ctx->sp = frame;
}
