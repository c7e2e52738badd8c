/* stress_deque.c - exactly-once stress of the Chase-Lev deque, as a plain
 * program (no Criterion) so that it runs under ThreadSanitizer.
 *
 * Each round: one owner thread pushes N items in random bursts and takes
 * some back while thieves steal concurrently; or the owner pushes a few items
 * and takes them straight back, racing the thieves for the last ones. At the
 * end every item must have been obtained exactly once. Rounds run at initial
 * capacities 4 and 256.
 *
 * Usage: stress_deque [items-per-round]   (default 200000)
 * Prints a summary and "1 passed, 0 failed" (exit 0) or "0 passed, 1 failed"
 * (exit 1). A watchdog (alarm, 300 s) kills a hung run with SIGALRM.
 *
 * Every variable shared between threads is a C11 atomic, so the program is
 * clean under TSan with the C11 atomics backend (-DBRAID_ATOMICS_C11).
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deque_harness.h"

#define MAX_THIEVES 3
#define WATCHDOG_S 300

/* Totals of the whole run. */
static size_t total_items, total_stolen, total_errors;

/* Checks the round, prints one line for it, frees it; returns its errors. */
static size_t stress_finish(stress *s, const char *what)
{
    size_t zero, many, first_bad;
    stress_count(s, &zero, &many, &first_bad);
    size_t stolen = atomic_load(&s->stolen);
    size_t bad = atomic_load(&s->bad);
    size_t errors = zero + many + bad + s->wrong_take + s->push_fail;
    if (s->taken + stolen != s->n)
        errors++;
    if (braid__deque_size(&s->d) != 0 || braid__deque_take(&s->d) != 0 ||
        braid__deque_steal(&s->d) != BRAID__STEAL_EMPTY)
        errors++;
    printf("  %-40s %zu items, %zu taken, %zu stolen, %zu retries", what, s->n, s->taken, stolen,
           atomic_load(&s->retries));
    if (errors != 0)
        printf(" -- %zu lost, %zu duplicated (first bad index %zu), %zu invalid, %zu wrong takes, "
               "%zu push failures, taken + stolen = %zu",
               zero, many, first_bad, bad, s->wrong_take, s->push_fail, s->taken + stolen);
    printf("\n");
    total_items += s->n;
    total_stolen += stolen;
    braid__deque_destroy(&s->d);
    free(s->count);
    return errors;
}


/* Set up a round and start its thieves; 1 (an error) if memory ran out. */
static int round_begin(stress *s, size_t n, unsigned log2cap, pthread_t *t, int nthieves)
{
    if (stress_init(s, n, log2cap) != 0)
        return 1;
    if (start_thieves(s, t, nthieves) != 0) {
        fprintf(stderr, "stress_deque: pthread_create failed\n");
        exit(1);
    }
    return 0;
}

/* Bursts of pushes (the ring grows while thieves read it) and of takes. */
static size_t push_take_round(size_t n, unsigned log2cap, int nthieves, uint64_t seed)
{
    stress s;
    pthread_t t[MAX_THIEVES];
    if (round_begin(&s, n, log2cap, t, nthieves) != 0)
        return 1;
    uint64_t r = seed;
    size_t i = 0;
    while (i < n) {
        size_t burst = 1 + (size_t)(rng_next(&r) % 64);
        for (size_t k = 0; k < burst && i < n; k++, i++)
            if (braid__deque_push(&s.d, ITEM(i)) < 0)
                s.push_fail++;
        size_t takes = (size_t)(rng_next(&r) % 48);
        for (size_t k = 0; k < takes; k++)
            owner_take(&s);
    }
    /* Drain: once the deque is empty there are no more pushes, so thieves
     * may stop at their next EMPTY. */
    while (braid__deque_size(&s.d) > 0)
        owner_take(&s);
    if (join_thieves(&s, t, nthieves) != 0) {
        fprintf(stderr, "stress_deque: pthread_join failed\n");
        exit(1);
    }
    char what[64];
    snprintf(what, sizeof(what), "push/take, cap %zu, %d thieves:", (size_t)1 << log2cap, nthieves);
    return stress_finish(&s, what);
}

/* Push per_round items and take them straight back: every take races the
 * thieves for the last item(s). */
static size_t last_items_round(size_t n, unsigned log2cap, int per_round, int nthieves, uint64_t seed)
{
    stress s;
    pthread_t t[MAX_THIEVES];
    if (round_begin(&s, n, log2cap, t, nthieves) != 0)
        return 1;
    uint64_t r = seed;
    for (size_t i = 0; i < n; i += (size_t)per_round) {
        int k = 0;
        for (; k < per_round && i + (size_t)k < n; k++)
            if (braid__deque_push(&s.d, ITEM(i + (size_t)k)) < 0)
                s.push_fail++;
        /* Now and then widen the window so that thieves win some races. */
        for (unsigned spin = (unsigned)(rng_next(&r) % 16); spin > 8; spin--)
            braid__cpu_relax();
        while (k-- > 0) {
            uintptr_t x = braid__deque_take(&s.d);
            if (x == 0)
                continue; /* thieves emptied the deque */
            /* Thieves take the oldest, so the owner gets the newest left. */
            if (x != ITEM(i + (size_t)k))
                s.wrong_take++;
            record(&s, x);
            s.taken++;
        }
    }
    if (join_thieves(&s, t, nthieves) != 0) {
        fprintf(stderr, "stress_deque: pthread_join failed\n");
        exit(1);
    }
    char what[64];
    snprintf(what, sizeof(what), "last %d item(s), cap %zu, %d thieves:", per_round,
             (size_t)1 << log2cap, nthieves);
    return stress_finish(&s, what);
}

int main(int argc, char **argv)
{
    size_t n = 200000;
    if (argc > 1) {
        char *end;
        unsigned long long v = strtoull(argv[1], &end, 10);
        if (*end != '\0' || v == 0 || v > (1ULL << 40)) {
            fprintf(stderr, "usage: %s [items-per-round]\n", argv[0]);
            return 2;
        }
        n = (size_t)v;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    alarm(WATCHDOG_S); /* SIGALRM's default action ends a hung run */

    static const unsigned caps[] = {2, 8}; /* initial capacity 4 and 256 */
    uint64_t seed = 1;
    for (int round = 0; round < 2; round++) {
        for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
            total_errors += push_take_round(n, caps[c], 3, seed++);
            total_errors += push_take_round(n, caps[c], 2, seed++);
        }
    }
    total_errors += last_items_round(n, 2, 1, 3, seed++);
    total_errors += last_items_round(n, 2, 2, 2, seed++);
    total_errors += last_items_round(n, 8, 2, 3, seed++);
    total_errors += last_items_round(n, 8, 4, 3, seed++);

    printf("stress_deque: %zu items, %zu stolen, %zu errors\n", total_items, total_stolen, total_errors);
    if (total_errors != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    printf("1 passed, 0 failed\n");
    return 0;
}
