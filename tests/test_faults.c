/* test_faults.c - fault injection and the host allocator.
 *
 * A scenario that touches most of the library (runtime start, spawn and
 * await, sleeps, an event, a channel, a group, a blocking-pool job, a
 * socketpair read) runs again and again, with the n-th allocation (then
 * the n-th stack mapping, thread creation, epoll/eventfd creation, reactor
 * or socket system call: alloc.h says which and how each fails) made to
 * fail, for n = 1, 2, ... until the scenario makes fewer than n such
 * calls, on one worker (a fixed allocation order) and then in repeated
 * rounds on two (BRAID_FAULT_ROUNDS, default 10; the order varies). Every
 * run must end with a clean error or success: no crash, no hang (the
 * test's timeout), no leak (ASan builds check after each run), every task
 * accounted for (spawned == completed).
 *
 * Then braid_set_allocator: a counting host allocator sees every block
 * braid takes, and gets all of them back.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <braid.h>

#include "alloc.h"
#include "common.h" /* TEST_ASAN */

static int64_t leaf(void *arg)
{
    int64_t x = (int64_t)(intptr_t)arg;
    if (x % 3 == 0) {
        int err = braid_sleep(BRAID_MSEC / 10);
        if (err != 0)
            return err;
    } else if (braid_yield() != 0) {
        return -ECANCELED;
    }
    return x;
}

static int64_t blocking_job(void *arg)
{
    return (int64_t)(intptr_t)arg + 1;
}

static int64_t producer(void *arg)
{
    braid_chan *c = arg;
    for (intptr_t i = 0; i < 20; i++) {
        int err = braid_chan_send(c, i);
        if (err != 0)
            return err;
    }
    braid_chan_close(c);
    return 0;
}

static int64_t consumer(void *arg)
{
    braid_chan *c = arg;
    intptr_t v;
    int err;
    while ((err = braid_chan_recv(c, &v)) == 0)
        ;
    return err == -EPIPE ? 0 : err;
}

/* Returns 0 or the first error; never crashes, whatever failed. */
static int64_t scenario(void *arg)
{
    (void)arg;
    int first = 0;
#define NOTE(e)                                                                                    \
    do {                                                                                           \
        int e_ = (e);                                                                              \
        if (e_ != 0 && first == 0)                                                                 \
            first = e_;                                                                            \
    } while (0)
    braid_task *t[24];
    int n = 0;
    for (int i = 0; i < 24; i++) {
        int err = braid_spawn(&t[n], leaf, (void *)(intptr_t)i);
        NOTE(err);
        if (err == 0)
            n++;
    }
    for (int i = 0; i < n; i++) {
        int64_t v;
        NOTE(braid_await(t[i], &v));
        braid_task_release(t[i]);
    }
    braid_event *e;
    if (braid_event_new(&e) == 0) {
        braid_event_set(e);
        NOTE(braid_event_wait(e));
        braid_event_free(e);
    } else {
        NOTE(-ENOMEM);
    }
    braid_chan *c;
    if (braid_chan_new(&c, 2) == 0) {
        /* The producer closes the channel when done. But a task whose
         * stack cannot be had ends with -ENOMEM before its body runs: a
         * consumer would then wait for a producer that never comes, or a
         * producer block on a full channel nobody drains. So wait until
         * both ended or one failed (or the wait itself failed), then close
         * the channel, which ends the other (as asyncio's TaskGroup
         * cancels the sibling of a failed task). */
        braid_task *pq[2];
        int err = braid_spawn(&pq[0], producer, c);
        NOTE(err);
        if (err == 0) {
            int qerr = braid_spawn(&pq[1], consumer, c);
            NOTE(qerr);
            if (qerr == 0)
                NOTE(braid_wait(pq, 2, BRAID_WAIT_FIRST_ERROR, BRAID_FOREVER, NULL));
            braid_chan_close(c);
            for (int i = 0; i < (qerr == 0 ? 2 : 1); i++) {
                int e2 = braid_await(pq[i], NULL);
                if (e2 != -EPIPE) /* the one we stopped by closing */
                    NOTE(e2);
                braid_task_release(pq[i]);
            }
        }
        braid_chan_free(c);
    } else {
        NOTE(-ENOMEM);
    }
    braid_group *g;
    if (braid_group_new(&g) == 0) {
        for (int i = 0; i < 4; i++)
            NOTE(braid_group_spawn(g, NULL, leaf, (void *)(intptr_t)i));
        NOTE(braid_group_wait(g));
        braid_group_free(g);
    } else {
        NOTE(-ENOMEM);
    }
    int64_t r;
    NOTE(braid_blocking(blocking_job, (void *)(intptr_t)41, &r));
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) == 0) {
        char b[4];
        ssize_t k = braid_read(sp[0], b, sizeof b, braid_now() + BRAID_MSEC); /* waits, times out */
        if (k != -ETIMEDOUT)
            NOTE(k < 0 ? (int)k : -EIO);
        braid_close(sp[0]);
        braid_close(sp[1]);
    }
    /* TCP over braid's own sockets: name lookup on the pool, socket,
     * connect, accept, a persistent registration, a round trip. */
    int l;
    int lerr = braid_tcp_listen("127.0.0.1", "0", 4, &l);
    if (lerr == 0) {
        struct sockaddr_in a;
        socklen_t len = sizeof a;
        char port[16];
        getsockname(l, (struct sockaddr *)&a, &len);
        snprintf(port, sizeof port, "%u", (unsigned)ntohs(a.sin_port));
        int c;
        int cerr = braid_tcp_connect("127.0.0.1", port, braid_now() + 5 * BRAID_SEC, &c);
        if (cerr == 0) {
            int s = braid_accept(l, NULL, NULL, braid_now() + 5 * BRAID_SEC);
            if (s >= 0) {
                char b[2];
                ssize_t w = braid_write(c, "x", 1, braid_now() + 5 * BRAID_SEC);
                ssize_t r = w == 1 ? braid_read(s, b, 1, braid_now() + 5 * BRAID_SEC) : w;
                if (r != 1)
                    NOTE(r < 0 ? (int)r : -EIO);
                braid_close(s);
            } else {
                NOTE(s);
            }
            braid_close(c);
        } else {
            NOTE(cerr);
        }
        braid_close(l);
    } else {
        NOTE(lerr);
    }
    return first;
#undef NOTE
}

/* The errors a failed call may surface. Never -EINTR: braid retries it. */
static bool allowed(int err)
{
    return err == 0 || err == -ENOMEM || err == -EAGAIN || err == -EMFILE;
}

static void run_with_faults(unsigned kind, const char *what, unsigned workers)
{
    unsigned long n;
    unsigned long failed_runs = 0;
    for (n = 1; n < 5000; n++) {
        braid__fault_arm(kind, n);
        braid_rt_opts o;
        braid_rt_opts_init(&o);
        /* On one worker the order of the library's allocations is the same
         * in every run, so "the n-th allocation" names the same one; on two
         * it varies from run to run (a stolen task takes its stack on the
         * thief), which the repeated 2-worker rounds sample. */
        o.workers = workers;
        braid_rt *rt = NULL;
        int err = braid_rt_new(&rt, &o);
        int status = 0;
        if (err == 0) {
            int64_t res = 0;
            status = braid_rt_block_on(rt, scenario, NULL, &res);
            braid_stats s;
            braid_rt_stats(rt, &s);
            cr_assert_eq(braid_rt_free(rt), 0, "%s #%lu: free", what, n);
            cr_assert_eq(s.spawned, s.completed, "%s #%lu: tasks lost", what, n);
        }
        unsigned long seen = braid__fault_count();
        braid__fault_disarm();
        cr_assert(allowed(err), "%s #%lu: braid_rt_new gave %d (%s)", what, n, err,
                  braid_strerror(err));
        cr_assert(allowed(status) || status == -ECANCELED || status == -ESHUTDOWN,
                  "%s #%lu: the scenario gave %d (%s)", what, n, status, braid_strerror(status));
        if (err != 0 || status != 0)
            failed_runs++;
#if defined(TEST_ASAN)
        cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "%s #%lu: memory leaked", what, n);
#endif
        if (seen < n)
            break; /* the scenario made fewer such calls than n: all covered */
    }
    cr_assert_lt(n, 5000, "%s: the scenario never ran out of calls", what);
    printf("faults: %s, %u worker(s): %lu calls failed in turn, %lu runs reported an error, all "
           "clean\n",
           what, workers, n - 1, failed_runs);
}

/* Rounds of the 2-worker runs (BRAID_FAULT_ROUNDS; a soak sets more). */
static unsigned rounds(void)
{
    const char *r = getenv("BRAID_FAULT_ROUNDS");
    return r != NULL && atoi(r) > 0 ? (unsigned)atoi(r) : 10;
}

Test(faults, every_allocation_fails_in_turn, .timeout = 600)
{
    run_with_faults(BRAID__FAULT_ALLOC, "allocation", 1);
    for (unsigned i = rounds(); i > 0; i--)
        run_with_faults(BRAID__FAULT_ALLOC, "allocation", 2);
}

Test(faults, stack_maps_threads_and_fds_fail_in_turn, .timeout = 300)
{
    static const struct {
        unsigned kind;
        const char *what;
    } k[] = {{BRAID__FAULT_MMAP, "stack mapping"},
             {BRAID__FAULT_THREAD, "thread creation"},
             {BRAID__FAULT_FD, "epoll/eventfd creation"},
             {BRAID__FAULT_SYSCALL, "reactor/socket system call"}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        run_with_faults(k[i].kind, k[i].what, 1);
        for (unsigned r = rounds(); r > 0; r--)
            run_with_faults(k[i].kind, k[i].what, 2);
    }
}

/* ---- the host allocator ---- */

static atomic_long host_mallocs, host_frees, host_reallocs;

static void *h_malloc(size_t n, void *ctx)
{
    cr_assert_eq(ctx, (void *)&host_mallocs);
    atomic_fetch_add(&host_mallocs, 1);
    return malloc(n);
}

static void *h_realloc(void *p, size_t n, void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&host_reallocs, 1);
    return realloc(p, n);
}

static void h_free(void *p, void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&host_frees, 1);
    free(p);
}

Test(faults, host_allocator_sees_every_block, .timeout = 60)
{
    braid_allocator a = {.malloc = h_malloc, .realloc = h_realloc, .free = h_free, .ctx = &host_mallocs};
    braid_allocator bad = {.malloc = h_malloc, .free = h_free};
    cr_assert_eq(braid_set_allocator(&bad), -EINVAL);
    cr_assert_eq(braid_set_allocator(&a), 0);
    braid_rt *rt;
    cr_assert_eq(braid_rt_new(&rt, NULL), 0);
    cr_assert_eq(braid_set_allocator(NULL), -EBUSY, "a runtime holds memory");
    int64_t res = -1;
    cr_assert_eq(braid_rt_block_on(rt, scenario, NULL, &res), 0);
    cr_assert_eq(res, 0);
    cr_assert_eq(braid_rt_free(rt), 0);
    long m = atomic_load(&host_mallocs), f = atomic_load(&host_frees);
    cr_assert_gt(m, 10, "the host allocator was used (%ld blocks)", m);
    cr_assert_eq(m, f, "every block went back: %ld taken, %ld freed", m, f);
    cr_assert_eq(braid_set_allocator(NULL), 0, "nothing held: back to libc");
    cr_assert_eq(braid_run(scenario, NULL, NULL, &res), 0);
    cr_assert_eq(atomic_load(&host_mallocs), m, "libc again: the host sees nothing");
}

/* call_soon / call_later keep a small record for their callback; a task
 * cancelled before it ran must free it too (found by the fuzzer: the record
 * was freed only by the callback's own body). */
static void never(void *arg)
{
    (void)arg;
    cr_assert_fail("a cancelled callback ran");
}

Test(faults, cancelled_callbacks_give_their_memory_back, .timeout = 30)
{
    atomic_store(&host_mallocs, 0);
    atomic_store(&host_frees, 0);
    braid_allocator a = {.malloc = h_malloc, .realloc = h_realloc, .free = h_free, .ctx = &host_mallocs};
    cr_assert_eq(braid_set_allocator(&a), 0);
    braid_rt *rt;
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = 2;
    cr_assert_eq(braid_rt_new(&rt, &o), 0);
    for (int i = 0; i < 50; i++) {
        braid_task *t;
        cr_assert_eq(braid_call_later(rt, &t, 10 * BRAID_SEC, never, NULL), 0);
        braid_cancel(t);
        cr_assert_eq(braid_join(t, NULL, BRAID_FOREVER), -ECANCELED);
        braid_task_release(t);
        cr_assert_eq(braid_call_later(rt, NULL, 10 * BRAID_SEC, never, NULL), 0); /* detached */
    }
    cr_assert_eq(braid_rt_free(rt), 0); /* cancels the detached ones */
    long m = atomic_load(&host_mallocs), f = atomic_load(&host_frees);
    cr_assert_eq(m, f, "%ld blocks taken, %ld given back", m, f);
    cr_assert_eq(braid_set_allocator(NULL), 0);
}
