/* futex.h - the parking backend: sleep on a 32-bit word, wake its sleepers.
 *
 * Linux futexes, private to the process. The only OS-specific piece of the
 * park/unpark protocol (worker.c); a port replaces this file.
 */
#ifndef BRAID_FUTEX_H
#define BRAID_FUTEX_H

#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"

/* Sleep while *word == expect (returns at once otherwise, or spuriously). */
static inline void braid__futex_wait(braid__a32 *word, uint32_t expect)
{
    syscall(SYS_futex, (void *)word, FUTEX_WAIT_PRIVATE, expect, NULL, NULL, 0);
}

/* Wake up to n sleepers of word. */
static inline void braid__futex_wake(braid__a32 *word, int n)
{
    syscall(SYS_futex, (void *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

#endif
