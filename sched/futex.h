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

/* Sleep while *word == expect, until the CLOCK_MONOTONIC time `until` (ns;
 * INT64_MAX: no limit). */
static inline void braid__futex_wait_until(braid__a32 *word, uint32_t expect, int64_t until)
{
    if (until == INT64_MAX) {
        braid__futex_wait(word, expect);
        return;
    }
    struct timespec ts = {.tv_sec = until / 1000000000, .tv_nsec = until % 1000000000};
    syscall(SYS_futex, (void *)word, FUTEX_WAIT_BITSET_PRIVATE, expect, &ts, NULL,
            FUTEX_BITSET_MATCH_ANY);
}

/* Monotonic clock, nanoseconds. */
static inline int64_t braid__clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wake up to n sleepers of word. */
static inline void braid__futex_wake(braid__a32 *word, int n)
{
    syscall(SYS_futex, (void *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

#endif
