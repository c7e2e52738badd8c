/* test_pool.c - the blocking pool of braid.h (asyncio.to_thread) and the
 * file verbs that run on it:
 *   blocking   fn runs on a thread that is neither the caller's nor a
 *              worker; its value comes back in *result, a negative return
 *              is the status; from a plain thread fn runs inline; -EINVAL
 *   deadline   braid_blocking_until returns -ETIMEDOUT at the deadline
 *              while fn runs on to its end; a job abandoned that way still
 *              ends before braid_rt_free returns
 *   cancel     a cancelled caller returns -ECANCELED at once; the job runs
 *              on (also one still queued)
 *   queue      one thread, a queue of one: callers wait for room, every
 *              job runs, one at a time, in FIFO order
 *   threads    jobs that wait for each other each get a thread (up to the
 *              limit); idle threads exit after blocking_idle_ns
 *   file       open/write/read/close round trip, positional and
 *              sequential; -ENOENT, -EBADF, -EINVAL; a file verb whose
 *              caller is cancelled still reports its byte count, and the
 *              cancel comes at the next waiting call
 * Scenarios run on 1 and 2 workers where scheduling matters. Timing checks
 * are generous (a loaded 2-core CI machine). */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define MS BRAID_MSEC
#define SEC BRAID_SEC

/* ---- helpers ------------------------------------------------------------ */

enum { MAX_W = 4 };
static pthread_t worker_thread[MAX_W];

static void on_start(unsigned w, void *arg)
{
    (void)arg;
    if (w < MAX_W)
        worker_thread[w] = pthread_self();
}

static braid_rt *rt_make_pool(unsigned nw, unsigned threads, unsigned queue, int64_t idle_ns)
{
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = nw;
    o.blocking_threads = threads;
    o.blocking_queue = queue;
    o.blocking_idle_ns = idle_ns;
    o.on_worker_start = on_start;
    braid_rt *rt = NULL;
    int err = braid_rt_new(&rt, &o);
    cr_assert_eq(err, 0, "braid_rt_new: %s", braid_strerror(err));
    return rt;
}

/* Sleep (in a coroutine) until *flag is set; false after `ms`. */
static bool await_flag(atomic_int *flag, int64_t ms)
{
    int64_t give_up = braid_now() + ms * MS;
    while (!atomic_load(flag)) {
        if (braid_now() > give_up)
            return false;
        cr_assert_eq(braid_sleep(2 * MS), 0);
    }
    return true;
}

/* Threads of this process (entries of /proc/self/task). */
static int count_threads(void)
{
    int n = count_entries("/proc/self/task");
    cr_assert_geq(n, 0, "/proc/self/task cannot be read");
    return n;
}

/* ---- jobs --------------------------------------------------------------- */

/* Records where it ran; returns ret. */
typedef struct {
    pthread_t th;
    int worker;
    int in_task;
    int64_t ret;
} where;

static int64_t where_fn(void *arg)
{
    where *w = arg;
    w->th = pthread_self();
    w->worker = braid_worker_id();
    w->in_task = braid_self() != NULL;
    return w->ret;
}

/* Sleeps arg ms on its thread, then sets slow_done. */
static atomic_int slow_done;

static int64_t slow_fn(void *arg)
{
    plain_sleep_ms((long)(intptr_t)arg);
    atomic_store(&slow_done, 1);
    return 7;
}

/* ====================================================================== */
/* blocking                                                                */
/* ====================================================================== */

static int64_t main_blocking_where(void *arg)
{
    (void)arg;
    int nw = braid_rt_workers(braid_current());
    for (int i = 0; i < 20; i++) {
        where w = {.ret = 1000 + i, .worker = 99, .in_task = 99};
        int64_t res = -1;
        int st = braid_blocking(where_fn, &w, &res);
        cr_assert_eq(st, 0, "braid_blocking: %s", braid_strerror(st));
        cr_assert_eq(res, 1000 + i, "fn's value comes back in *result");
        cr_assert_eq(w.worker, -1, "fn ran on worker %d", w.worker);
        cr_assert_eq(w.in_task, 0, "fn does not run in a coroutine");
        cr_assert(!pthread_equal(w.th, pthread_self()), "fn ran on the caller's thread");
        for (int k = 0; k < nw && k < MAX_W; k++)
            cr_assert(!pthread_equal(w.th, worker_thread[k]), "fn ran on worker %d's thread", k);
    }
    /* A negative return is the status; *result is left alone. */
    where w = {.ret = -EIO};
    int64_t res = 55;
    cr_assert_eq(braid_blocking(where_fn, &w, &res), -EIO);
    cr_assert_eq(res, 55);
    w.ret = -ENOSPC;
    cr_assert_eq(braid_blocking_until(where_fn, &w, &res, braid_now() + 5 * SEC), -ENOSPC);
    cr_assert_eq(res, 55);
    /* Zero is a value; result may be NULL. */
    w.ret = 0;
    cr_assert_eq(braid_blocking(where_fn, &w, &res), 0);
    cr_assert_eq(res, 0);
    w.ret = 3;
    cr_assert_eq(braid_blocking(where_fn, &w, NULL), 0);
    /* Large values pass whole. */
    w.ret = INT64_C(1) << 40;
    cr_assert_eq(braid_blocking(where_fn, &w, &res), 0);
    cr_assert_eq(res, INT64_C(1) << 40);
    /* No fn. */
    cr_assert_eq(braid_blocking(NULL, NULL, &res), -EINVAL);
    cr_assert_eq(braid_blocking_until(NULL, NULL, &res, braid_now() + SEC), -EINVAL);
    return 0;
}

Test(blocking, fn_runs_on_a_pool_thread_and_returns_its_value, .timeout = 30)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        braid_rt *rt = rt_make_pool(nw, 0, 0, 0); /* records the worker threads */
        run_on(rt, main_blocking_where, NULL);
        rt_done(rt);
    }
}

typedef struct {
    where w;
    int64_t res;
    int st;
} plain_call;

static void *plain_caller(void *arg)
{
    plain_call *p = arg;
    p->st = braid_blocking(where_fn, &p->w, &p->res);
    return NULL;
}

Test(blocking, from_a_plain_thread_fn_runs_inline, .timeout = 30)
{
    where w = {.ret = 5, .worker = 99};
    int64_t res = 0;
    cr_assert_eq(braid_blocking(where_fn, &w, &res), 0);
    cr_assert_eq(res, 5);
    cr_assert(pthread_equal(w.th, pthread_self()), "fn ran on another thread");
    cr_assert_eq(w.worker, -1);
    w.ret = -ENOSPC;
    res = 77;
    cr_assert_eq(braid_blocking(where_fn, &w, &res), -ENOSPC);
    cr_assert_eq(res, 77);
    cr_assert_eq(braid_blocking(NULL, NULL, &res), -EINVAL);
    /* Also while a runtime exists, from a thread of ours. */
    braid_rt *rt = rt_make_pool(2, 0, 0, 0);
    plain_call p = {.w = {.ret = 9}};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, plain_caller, &p), 0);
    pthread_join(th, NULL);
    cr_assert_eq(p.st, 0);
    cr_assert_eq(p.res, 9);
    cr_assert(pthread_equal(p.w.th, th), "fn ran inline on the calling thread");
    rt_done(rt);
}

/* ====================================================================== */
/* deadline                                                                */
/* ====================================================================== */

static int64_t main_deadline(void *arg)
{
    (void)arg;
    atomic_store(&slow_done, 0);
    int64_t res = -1;
    int64_t t0 = braid_now();
    int st = braid_blocking_until(slow_fn, (void *)(intptr_t)600, &res, t0 + 50 * MS);
    int64_t el = braid_now() - t0;
    int done_at_return = atomic_load(&slow_done);
    cr_assert_eq(st, -ETIMEDOUT, "braid_blocking_until: %s", braid_strerror(st));
    cr_assert_geq(el, 45 * MS, "a 50 ms deadline passed after %lld ms", ms_of(el));
    cr_assert_lt(el, 500 * MS, "a 50 ms deadline returned after %lld ms", ms_of(el));
    cr_assert_eq(done_at_return, 0, "the call waited for the job");
    cr_assert_eq(res, -1, "*result of a timed-out call is left alone");
    /* The job runs on to its end. */
    cr_assert(await_flag(&slow_done, 5000), "the abandoned job never completed");
    /* A deadline that is met changes nothing. */
    atomic_store(&slow_done, 0);
    cr_assert_eq(braid_blocking_until(slow_fn, (void *)(intptr_t)10, &res, braid_now() + 5 * SEC), 0);
    cr_assert_eq(res, 7);
    cr_assert_eq(atomic_load(&slow_done), 1);
    return 0;
}

Test(deadline, blocking_until_times_out_while_the_job_runs_on, .timeout = 30)
{
    run_main_1_and_2(main_deadline, NULL);
}

static int64_t main_abandon(void *arg)
{
    (void)arg;
    atomic_store(&slow_done, 0);
    int64_t res;
    cr_assert_eq(braid_blocking_until(slow_fn, (void *)(intptr_t)300, &res, braid_now() + 20 * MS),
                 -ETIMEDOUT);
    return 0;
}

Test(deadline, an_abandoned_job_ends_before_rt_free_returns, .timeout = 30)
{
    braid_rt *rt = rt_make_pool(1, 0, 0, 0);
    run_on(rt, main_abandon, NULL);
    cr_assert_eq(atomic_load(&slow_done), 0);
    rt_done(rt);
    cr_assert_eq(atomic_load(&slow_done), 1, "braid_rt_free returned while a job still ran");
}

/* ====================================================================== */
/* cancel                                                                  */
/* ====================================================================== */

typedef struct {
    long ms;
    int st;
    int64_t res;
    atomic_int started;
} canc_job;

static int64_t canc_caller(void *arg)
{
    canc_job *c = arg;
    atomic_store(&c->started, 1);
    c->st = braid_blocking(slow_fn, (void *)(intptr_t)c->ms, &c->res);
    return 0;
}

static int64_t main_cancel(void *arg)
{
    (void)arg;
    atomic_store(&slow_done, 0);
    canc_job c = {.ms = 600, .st = 12345, .res = -1};
    atomic_init(&c.started, 0);
    braid_task *t = spawn(canc_caller, &c);
    wait_count(&c.started, 1);
    cr_assert_eq(braid_sleep(30 * MS), 0);
    cr_assert_eq(braid_task_done(t), 0);
    int64_t t0 = braid_now();
    cr_assert_eq(braid_cancel(t), 1);
    join(t, 0);
    int64_t el = braid_now() - t0;
    cr_assert_eq(c.st, -ECANCELED, "braid_blocking: %d", c.st);
    cr_assert_lt(el, 500 * MS, "the cancel took %lld ms", ms_of(el));
    cr_assert_eq(atomic_load(&slow_done), 0, "the caller waited for the job");
    cr_assert_eq(c.res, -1);
    cr_assert(await_flag(&slow_done, 5000), "the abandoned job never completed");
    return 0;
}

Test(cancel, cancelled_caller_returns_ecanceled_at_once_and_the_job_runs_on, .timeout = 30)
{
    run_main_1_and_2(main_cancel, NULL);
}

/* One thread, busy: a job that is still queued when its caller is
 * cancelled runs all the same. */
static atomic_int queued_ran;

static int64_t queued_fn(void *arg)
{
    (void)arg;
    atomic_store(&queued_ran, 1);
    return 0;
}

typedef struct {
    braid_fn fn;
    void *arg;
    int st;
    int64_t res;
    atomic_int started;
} call_job;

static int64_t call_body(void *arg)
{
    call_job *c = arg;
    atomic_store(&c->started, 1);
    c->st = braid_blocking(c->fn, c->arg, &c->res);
    return 0;
}

static void call_init(call_job *c, braid_fn fn, void *arg)
{
    memset(c, 0, sizeof *c);
    c->fn = fn;
    c->arg = arg;
    c->st = 12345;
    atomic_init(&c->started, 0);
}

static int64_t main_cancel_queued(void *arg)
{
    (void)arg;
    atomic_store(&slow_done, 0);
    atomic_store(&queued_ran, 0);
    call_job busy, q;
    call_init(&busy, slow_fn, (void *)(intptr_t)700);
    call_init(&q, queued_fn, NULL);
    braid_task *tb = spawn(call_body, &busy);
    wait_count(&busy.started, 1);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    braid_task *tq = spawn(call_body, &q);
    wait_count(&q.started, 1);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    int64_t t0 = braid_now();
    cr_assert_eq(braid_cancel(tq), 1);
    join(tq, 0);
    cr_assert_lt(braid_now() - t0, 500 * MS, "the cancel waited for the queue");
    cr_assert_eq(q.st, -ECANCELED);
    cr_assert_eq(atomic_load(&queued_ran), 0, "the queued job ran before the busy one ended");
    join(tb, 0);
    cr_assert_eq(busy.st, 0);
    cr_assert(await_flag(&queued_ran, 5000), "a job abandoned while queued never ran");
    return 0;
}

Test(cancel, a_job_abandoned_while_queued_still_runs, .timeout = 30)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        braid_rt *rt = rt_make_pool(nw, 1, 0, 0);
        run_on(rt, main_cancel_queued, NULL);
        rt_done(rt);
    }
}

/* ====================================================================== */
/* queue: one thread, a queue of one                                       */
/* ====================================================================== */

enum { FIFO_N = 6 };
static int fifo_order[FIFO_N];
static atomic_int fifo_n, fifo_inflight, fifo_max_inflight, fifo_announced;

static int64_t fifo_job(void *arg)
{
    int i = (int)(intptr_t)arg;
    int now = atomic_fetch_add(&fifo_inflight, 1) + 1;
    int m = atomic_load(&fifo_max_inflight);
    while (now > m && !atomic_compare_exchange_weak(&fifo_max_inflight, &m, now))
        ;
    plain_sleep_ms(20);
    fifo_order[atomic_fetch_add(&fifo_n, 1)] = i;
    atomic_fetch_sub(&fifo_inflight, 1);
    return 10 * i;
}

static int64_t fifo_submitter(void *arg)
{
    int i = (int)(intptr_t)arg;
    atomic_fetch_add(&fifo_announced, 1);
    int64_t res = -1;
    int st = braid_blocking(fifo_job, arg, &res);
    if (st != 0)
        return st;
    return res == 10 * i ? 0 : -EPROTO;
}

static int64_t main_fifo(void *arg)
{
    (void)arg;
    atomic_store(&fifo_n, 0);
    atomic_store(&fifo_inflight, 0);
    atomic_store(&fifo_max_inflight, 0);
    atomic_store(&fifo_announced, 0);
    braid_task *t[FIFO_N];
    int64_t t0 = braid_now();
    for (int i = 0; i < FIFO_N; i++) {
        t[i] = spawn(fifo_submitter, (void *)(intptr_t)i);
        wait_count(&fifo_announced, i + 1);
        cr_assert_eq(braid_sleep(5 * MS), 0); /* it has queued, or waits for room */
    }
    for (int i = 0; i < FIFO_N; i++)
        join(t[i], 0);
    cr_assert_eq(atomic_load(&fifo_n), FIFO_N, "every job ran");
    cr_assert_eq(atomic_load(&fifo_max_inflight), 1, "one thread runs one job at a time");
    for (int i = 0; i < FIFO_N; i++)
        cr_assert_eq(fifo_order[i], i, "job %d ran in place %d: not FIFO", fifo_order[i], i);
    cr_assert_geq(braid_now() - t0, FIFO_N * 20 * MS - 5 * MS, "jobs ran one after another");
    return 0;
}

Test(queue, full_queue_makes_callers_wait_and_jobs_run_in_fifo_order, .timeout = 30)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        braid_rt *rt = rt_make_pool(nw, 1, 1, 0);
        run_on(rt, main_fifo, NULL);
        rt_done(rt);
    }
}

/* ====================================================================== */
/* threads: jobs in parallel, idle threads exit                            */
/* ====================================================================== */

/* A rendezvous of `parties` jobs: each waits (on its own thread) until
 * all have arrived, so they must run at the same time. */
typedef struct {
    int parties;
    atomic_int arrived;
    int peak_threads;
    atomic_int gave_up; /* arrivals when the first job gave up, + 1 */
} rendezvous;

static int64_t rendezvous_job(void *arg)
{
    rendezvous *r = arg;
    int me = atomic_fetch_add(&r->arrived, 1) + 1;
    if (me == r->parties)
        r->peak_threads = count_threads();
    for (int i = 0; i < 2000 && atomic_load(&r->arrived) < r->parties; i++)
        plain_sleep_ms(1);
    int seen = atomic_load(&r->arrived);
    if (seen >= r->parties)
        return 0;
    int zero = 0;
    atomic_compare_exchange_strong(&r->gave_up, &zero, seen + 1);
    return -ETIMEDOUT;
}

static int64_t rendezvous_caller(void *arg)
{
    return braid_blocking(rendezvous_job, arg, NULL);
}

/* Run `parties` callers at once; each job waits (up to 2 s) for all the
 * others. */
static void rendezvous_round(rendezvous *r, int parties, const char *what)
{
    r->parties = parties;
    atomic_store(&r->arrived, 0);
    atomic_store(&r->gave_up, 0);
    r->peak_threads = 0;
    braid_task *t[16];
    cr_assert_leq(parties, 16);
    for (int i = 0; i < parties; i++)
        t[i] = spawn(rendezvous_caller, r);
    int bad = 0;
    for (int i = 0; i < parties; i++) {
        if (braid_await(t[i], NULL) != 0)
            bad++;
        braid_task_release(t[i]);
    }
    cr_assert_eq(bad, 0, "%s: %d jobs that wait for each other, submitted at once: only %d of "
                 "them ran at the same time (after 2 s, %d gave up)", what, parties,
                 atomic_load(&r->gave_up) - 1, bad);
}

static int64_t main_idle_exit(void *arg)
{
    (void)arg;
    int before = count_threads();
    rendezvous r;
    rendezvous_round(&r, 4, "a fresh pool");
    cr_assert_geq(r.peak_threads, before + 4, "4 jobs at once: %d threads, %d before",
                  r.peak_threads, before);
    /* blocking_idle_ns is 50 ms: after ~500 ms the threads are gone. */
    cr_assert_eq(braid_sleep(500 * MS), 0);
    int64_t give_up = braid_now() + 3 * SEC;
    int after;
    while ((after = count_threads()) > before && braid_now() < give_up)
        cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(after, before, "%d threads before the jobs, %d at the peak, %d long after",
                 before, r.peak_threads, after);
    /* And the pool starts them again on demand. */
    rendezvous_round(&r, 3, "after the threads exited");
    return 0;
}

Test(threads, idle_threads_exit_after_blocking_idle_ns, .timeout = 30)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        braid_rt *rt = rt_make_pool(nw, 0, 0, 50 * MS);
        run_on(rt, main_idle_exit, NULL);
        rt_done(rt);
    }
}

/* Threads that exist but are idle count for one job each: a burst of
 * jobs larger than the idle threads still gets a thread per job. */
static int64_t main_burst(void *arg)
{
    (void)arg;
    rendezvous r;
    /* 2, then 4 with 2 threads idle, then 8 with 4 idle. */
    rendezvous_round(&r, 2, "a fresh pool");
    rendezvous_round(&r, 4, "2 idle threads");
    rendezvous_round(&r, 8, "4 idle threads");
    return 0;
}

Test(threads, jobs_that_wait_for_each_other_each_get_a_thread, .timeout = 60)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        braid_rt *rt = rt_make_pool(nw, 0, 0, 0);
        run_on(rt, main_burst, NULL);
        rt_done(rt);
    }
}

/* ====================================================================== */
/* file verbs                                                              */
/* ====================================================================== */

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/braid-test-pool-XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static void path_in_tmp(char *out, size_t n, const char *name)
{
    int k = snprintf(out, n, "%s/%s", tmpdir, name);
    cr_assert(k > 0 && (size_t)k < n);
}

static int64_t main_file_round_trip(void *arg)
{
    (void)arg;
    char path[128];
    path_in_tmp(path, sizeof path, "round-trip");
    int fd = -1;
    cr_assert_eq(braid_file_open(path, O_CREAT | O_RDWR | O_TRUNC, 0600, &fd), 0);
    cr_assert_geq(fd, 0);
    /* Sequential writes move the file position. */
    cr_assert_eq(braid_file_write(fd, "hello ", 6, -1), 6);
    cr_assert_eq(braid_file_write(fd, "world", 5, -1), 5);
    char buf[64];
    cr_assert_eq(braid_file_read(fd, buf, sizeof buf, -1), 0, "at the end: end of file");
    /* Positional reads and writes do not. */
    memset(buf, 0, sizeof buf);
    cr_assert_eq(braid_file_read(fd, buf, sizeof buf, 0), 11);
    cr_assert_str_eq(buf, "hello world");
    cr_assert_eq(braid_file_write(fd, "WORLD", 5, 6), 5);
    memset(buf, 0, sizeof buf);
    cr_assert_eq(braid_file_read(fd, buf, 5, 6), 5);
    cr_assert_str_eq(buf, "WORLD");
    cr_assert_eq(lseek(fd, 0, SEEK_CUR), 11, "positional verbs moved the file position");
    cr_assert_eq(braid_file_write(fd, "!", 1, -1), 1);
    /* Past the end: a hole of zeros. */
    cr_assert_eq(braid_file_write(fd, "x", 1, 20), 1);
    cr_assert_eq(braid_file_close(fd), 0);
    const char want[21] = "hello WORLD!\0\0\0\0\0\0\0\0x";
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 21);
    /* Read it back sequentially, in small pieces. */
    cr_assert_eq(braid_file_open(path, O_RDONLY, 0, &fd), 0);
    char all[64];
    size_t got = 0;
    for (;;) {
        ssize_t r = braid_file_read(fd, all + got, 4, -1);
        cr_assert_geq(r, 0, "read: %s", braid_strerror((int)r));
        if (r == 0)
            break;
        got += (size_t)r;
        cr_assert_leq(got, sizeof want);
    }
    cr_assert_eq(got, sizeof want);
    cr_assert_eq(memcmp(all, want, sizeof want), 0);
    cr_assert_eq(braid_file_write(fd, "no", 2, 0), -EBADF, "opened read-only");
    cr_assert_eq(braid_file_close(fd), 0);
    /* A megabyte, positional, checked through a plain read. */
    size_t n = (size_t)1 << 20;
    unsigned char *big = malloc(n), *back = malloc(n);
    cr_assert(big != NULL && back != NULL);
    for (size_t i = 0; i < n; i++)
        big[i] = (unsigned char)(i * 31u + (i >> 11));
    cr_assert_eq(braid_file_open(path, O_WRONLY | O_TRUNC, 0, &fd), 0);
    size_t put = 0;
    while (put < n) {
        ssize_t r = braid_file_write(fd, big + put, n - put, (int64_t)put);
        cr_assert_gt(r, 0, "write: %s", braid_strerror((int)r));
        put += (size_t)r;
    }
    cr_assert_eq(braid_file_close(fd), 0);
    int pfd = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(pfd, 0);
    size_t have = 0;
    ssize_t r;
    while (have < n && (r = read(pfd, back + have, n - have)) > 0)
        have += (size_t)r;
    close(pfd);
    cr_assert_eq(have, n);
    cr_assert_eq(memcmp(big, back, n), 0);
    free(big);
    free(back);
    cr_assert_eq(unlink(path), 0);
    return 0;
}

Test(file, open_write_read_close_round_trip, .timeout = 30)
{
    make_tmpdir();
    run_main_1_and_2(main_file_round_trip, NULL);
    cr_assert_eq(rmdir(tmpdir), 0);
}

static int64_t main_file_errors(void *arg)
{
    (void)arg;
    char path[128];
    path_in_tmp(path, sizeof path, "missing");
    int fd = -7;
    cr_assert_eq(braid_file_open(path, O_RDONLY, 0, &fd), -ENOENT);
    cr_assert_eq(fd, -7, "*out is left alone on error");
    cr_assert_eq(braid_file_open(tmpdir, O_WRONLY, 0, &fd), -EISDIR);
    cr_assert_eq(braid_file_open(NULL, O_RDONLY, 0, &fd), -EINVAL);
    cr_assert_eq(braid_file_open(path, O_RDONLY, 0, NULL), -EINVAL);
    char buf[8];
    cr_assert_eq(braid_file_read(-1, buf, sizeof buf, -1), -EBADF);
    cr_assert_eq(braid_file_read(-1, buf, sizeof buf, 0), -EBADF);
    cr_assert_eq(braid_file_write(-1, "x", 1, -1), -EBADF);
    cr_assert_eq(braid_file_write(-1, "x", 1, 0), -EBADF);
    cr_assert_eq(braid_file_close(-1), -EBADF);
    /* A closed fd. */
    path_in_tmp(path, sizeof path, "closed");
    cr_assert_eq(braid_file_open(path, O_CREAT | O_RDWR, 0600, &fd), 0);
    cr_assert_eq(braid_file_close(fd), 0);
    cr_assert_eq(braid_file_read(fd, buf, sizeof buf, 0), -EBADF);
    cr_assert_eq(braid_file_write(fd, "x", 1, -1), -EBADF);
    cr_assert_eq(braid_file_close(fd), -EBADF);
    cr_assert_eq(unlink(path), 0);
    return 0;
}

Test(file, errors_enoent_ebadf_einval, .timeout = 30)
{
    make_tmpdir();
    run_main_1_and_2(main_file_errors, NULL);
    cr_assert_eq(rmdir(tmpdir), 0);
}

/* A file verb whose caller is cancelled while it runs, or while it waits
 * for its turn: the operation still runs and reports its count; the cancel
 * comes at the caller's next waiting call, once. With one pool thread kept
 * busy by a sleeping job, the verb waits for the thread (its job queued)
 * or, when a second job fills the queue of one, for room in the queue. On
 * one worker, a ticker task shows whether the worker stayed free to run
 * other tasks meanwhile. */
typedef struct {
    int fd;
    int op; /* 0 write, 1 read */
    ssize_t r;
    char buf[8];
    int next, after;
    atomic_int started;
} fcancel;

static int64_t fcancel_body(void *arg)
{
    fcancel *f = arg;
    atomic_store(&f->started, 1);
    if (f->op == 0)
        f->r = braid_file_write(f->fd, "abcde", 5, 0);
    else
        f->r = braid_file_read(f->fd, f->buf, 5, f->op == 1 ? 0 : -1);
    f->next = braid_yield();
    f->after = braid_yield();
    return 0;
}

static void fcancel_init(fcancel *f, int fd, int op)
{
    memset(f, 0, sizeof *f);
    f->fd = fd;
    f->op = op;
    f->r = 12345;
    f->next = f->after = 12345;
    atomic_init(&f->started, 0);
}

static void fcancel_check(const fcancel *f, const char *where)
{
    const char *verb = f->op == 0 ? "braid_file_write" : "braid_file_read";
    cr_assert_eq(f->r, 5, "%s cancelled %s returned %lld, not its count", verb, where,
                 (long long)f->r);
    cr_assert_eq(f->next, -ECANCELED, "%s cancelled %s: the next waiting call returned %d, not "
                 "-ECANCELED (the cancel was lost)", verb, where, f->next);
    cr_assert_eq(f->after, 0, "%s cancelled %s: the cancel came twice", verb, where);
    if (f->op != 0)
        cr_assert_eq(memcmp(f->buf, "abcde", 5), 0);
}

static atomic_int tick_stop, ticks;

static int64_t ticker(void *arg)
{
    (void)arg;
    while (!atomic_load(&tick_stop)) {
        if (braid_sleep(2 * MS) != 0)
            break;
        atomic_fetch_add(&ticks, 1);
    }
    return 0;
}

typedef struct {
    int op;          /* 0 write, 1 read */
    int fill_queue;  /* 1: the queue is full too: the verb waits for room */
    int liveness;    /* check the ticker instead of the result */
} fcancel_case;

static int64_t main_file_cancel_queued(void *arg)
{
    const fcancel_case *fc = arg;
    const char *where = fc->fill_queue ? "while waiting for room in the queue"
                                       : "while its job waited for the busy thread";
    char path[128];
    path_in_tmp(path, sizeof path, "cancelled");
    int fd = -1;
    cr_assert_eq(braid_file_open(path, O_CREAT | O_RDWR | O_TRUNC, 0600, &fd), 0);
    if (fc->op == 1)
        cr_assert_eq(braid_file_write(fd, "abcde", 5, 0), 5);
    atomic_store(&slow_done, 0);
    atomic_store(&tick_stop, 0);
    atomic_store(&ticks, 0);
    braid_task *tick = spawn(ticker, NULL);
    call_job busy, filler;
    call_init(&busy, slow_fn, (void *)(intptr_t)250);
    call_init(&filler, queued_fn, NULL);
    braid_task *tb = spawn(call_body, &busy);
    wait_count(&busy.started, 1);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    braid_task *tf = NULL;
    if (fc->fill_queue) {
        tf = spawn(call_body, &filler);
        wait_count(&filler.started, 1);
        cr_assert_eq(braid_sleep(10 * MS), 0);
    }
    fcancel f;
    fcancel_init(&f, fd, fc->op);
    braid_task *t = spawn(fcancel_body, &f);
    wait_count(&f.started, 1);
    cr_assert_eq(braid_sleep(10 * MS), 0);
    cr_assert_eq(braid_task_done(t), 0, "the file verb did not wait for the busy thread");
    cr_assert_eq(braid_cancel(t), 1);
    int ticks0 = atomic_load(&ticks);
    int64_t t0 = braid_now();
    while (!atomic_load(&slow_done) && braid_now() - t0 < 5 * SEC)
        cr_assert_eq(braid_sleep(MS), 0);
    int64_t window = braid_now() - t0;
    int ticked = atomic_load(&ticks) - ticks0;
    join(t, 0);
    join(tb, 0);
    if (tf != NULL)
        join(tf, 0);
    atomic_store(&tick_stop, 1);
    join(tick, 0);
    if (fc->liveness) {
        if (window >= 100 * MS)
            cr_assert_geq(ticked, 5, "a %s cancelled %s: in %lld ms its worker ran other "
                          "tasks only %d times (a 2 ms ticker)",
                          fc->op == 0 ? "braid_file_write" : "braid_file_read", where,
                          ms_of(window), ticked);
    } else {
        fcancel_check(&f, where);
        char buf[8] = {0};
        cr_assert_eq(pread(fd, buf, 5, 0), 5);
        cr_assert_eq(memcmp(buf, "abcde", 5), 0);
    }
    cr_assert_eq(braid_file_close(fd), 0);
    cr_assert_eq(unlink(path), 0);
    return 0;
}

static void file_cancel_cases(const fcancel_case *cases, size_t n, unsigned max_workers)
{
    make_tmpdir();
    for (unsigned nw = 1; nw <= max_workers; nw++) {
        for (size_t k = 0; k < n; k++) {
            braid_rt *rt = rt_make_pool(nw, 1, 1, 0);
            run_on(rt, main_file_cancel_queued, (void *)&cases[k]);
            rt_done(rt);
        }
    }
    cr_assert_eq(rmdir(tmpdir), 0);
}

Test(file, cancelled_while_queued_still_reports_the_count, .timeout = 30)
{
    static const fcancel_case cases[] = {{0, 0, 0}, {1, 0, 0}};
    file_cancel_cases(cases, 2, 2);
}

Test(file, cancelled_while_waiting_for_room_still_reports_the_count, .timeout = 30)
{
    static const fcancel_case cases[] = {{0, 1, 0}, {1, 1, 0}};
    file_cancel_cases(cases, 2, 2);
}

Test(file, a_cancelled_file_verb_waiting_for_its_turn_leaves_the_worker_free, .timeout = 30)
{
    static const fcancel_case cases[] = {{0, 0, 1}, {0, 1, 1}};
    file_cancel_cases(cases, 2, 1);
}

/* While running: a read from a FIFO blocks on its pool thread until a
 * plain thread writes, after the cancel. */
typedef struct {
    char path[128];
    atomic_int go;
    int delay_ms;
    braid_task *cancel; /* cancel it right after writing, if not NULL */
} fifo_writer;

static void *fifo_writer_thread(void *arg)
{
    fifo_writer *w = arg;
    while (!atomic_load(&w->go))
        plain_sleep_ms(1);
    plain_sleep_ms(w->delay_ms);
    int fd = open(w->path, O_WRONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "open fifo: %s", strerror(errno));
    cr_assert_eq(write(fd, "abcde", 5), 5);
    if (w->cancel != NULL)
        braid_cancel(w->cancel);
    close(fd);
    return NULL;
}

static int64_t main_file_cancel_running(void *arg)
{
    (void)arg;
    fifo_writer w;
    memset(&w, 0, sizeof w);
    path_in_tmp(w.path, sizeof w.path, "fifo");
    cr_assert_eq(mkfifo(w.path, 0600), 0);
    atomic_init(&w.go, 0);
    w.delay_ms = 30;
    int fd = -1;
    /* O_RDWR: the open does not wait for a writer. */
    cr_assert_eq(braid_file_open(w.path, O_RDWR, 0, &fd), 0);
    fcancel f;
    fcancel_init(&f, fd, 2);
    braid_task *t = spawn(fcancel_body, &f);
    wait_count(&f.started, 1);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(braid_task_done(t), 0, "the read did not block");
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, fifo_writer_thread, &w), 0);
    cr_assert_eq(braid_cancel(t), 1); /* the read runs on: the FIFO is empty */
    atomic_store(&w.go, 1);
    join(t, 0);
    pthread_join(th, NULL);
    fcancel_check(&f, "while it ran");
    cr_assert_eq(braid_file_close(fd), 0);
    cr_assert_eq(unlink(w.path), 0);
    return 0;
}

Test(file, cancelled_while_running_still_reports_the_count, .timeout = 30)
{
    make_tmpdir();
    run_main_1_and_2(main_file_cancel_running, NULL);
    cr_assert_eq(rmdir(tmpdir), 0);
}

/* ====================================================================== */
/* cancel_race: a cancel that races the job's completion                    */
/* ====================================================================== */

/* braid_cancel says a running (or ready) task sees the cancel at its next
 * waiting call; a call that succeeds because its job completed first must
 * leave the cancel for the next one, as braid's other waiting calls do
 * when a grant races a cancel. */
typedef struct {
    braid_task *caller;
    int st;
    int64_t res;
    int next;
    atomic_int ready;
} self_cancel;

static int64_t cancels_its_caller(void *arg)
{
    self_cancel *c = arg;
    braid_cancel(c->caller); /* from the pool thread, any thread may */
    return 42;
}

static int64_t self_cancel_body(void *arg)
{
    self_cancel *c = arg;
    while (!atomic_load(&c->ready))
        if (braid_yield() != 0)
            return -EINTR;
    c->st = braid_blocking(cancels_its_caller, c, &c->res);
    c->next = braid_yield();
    return 0;
}

static int64_t main_race_blocking(void *arg)
{
    int *wins = arg;
    for (int i = 0; i < 30; i++) {
        self_cancel c = {.st = 12345, .res = -1, .next = 12345};
        atomic_init(&c.ready, 0);
        braid_task *t = spawn(self_cancel_body, &c);
        c.caller = t;
        atomic_store(&c.ready, 1);
        join(t, 0);
        if (c.st == 0) {
            (*wins)++;
            cr_assert_eq(c.res, 42);
            cr_assert_eq(c.next, -ECANCELED, "round %d: braid_blocking returned the job's value "
                         "(its caller was cancelled just before the job ended), and the next "
                         "waiting call returned %d: the cancel was lost", i, c.next);
        } else {
            cr_assert_eq(c.st, -ECANCELED, "round %d: braid_blocking: %d", i, c.st);
            cr_assert_eq(c.res, -1);
        }
    }
    return 0;
}

Test(cancel_race, blocking_completion_racing_a_cancel_keeps_the_cancel, .timeout = 30)
{
    for (unsigned nw = 1; nw <= 2; nw++) {
        int wins = 0;
        run_main(nw, main_race_blocking, &wins);
        cr_log_info("%u worker(s): the job's value won %d of 30 races", nw, wins);
    }
}

/* The racing cancel may land before the verb returns (kept for the next
 * waiting call) or after (delivered at one of the sleeps below, as the
 * writer may be descheduled between its write and its cancel): either way
 * exactly once. next counts the cancels seen within 2 s, after is the
 * status of one more waiting call. */
static int64_t fcancel_race_body(void *arg)
{
    fcancel *f = arg;
    atomic_store(&f->started, 1);
    f->r = braid_file_read(f->fd, f->buf, 5, -1);
    f->next = 0;
    int64_t end = braid_now() + 2 * SEC;
    while (f->next == 0 && braid_now() < end)
        if (braid_sleep(MS) == -ECANCELED)
            f->next++;
    f->after = braid_yield();
    return 0;
}

static int64_t main_race_file(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) {
        fifo_writer w;
        memset(&w, 0, sizeof w);
        path_in_tmp(w.path, sizeof w.path, "fifo-race");
        cr_assert_eq(mkfifo(w.path, 0600), 0);
        atomic_init(&w.go, 0);
        w.delay_ms = 5;
        int fd = -1;
        cr_assert_eq(braid_file_open(w.path, O_RDWR, 0, &fd), 0);
        fcancel f;
        fcancel_init(&f, fd, 2);
        braid_task *t = spawn(fcancel_race_body, &f);
        w.cancel = t;
        wait_count(&f.started, 1);
        pthread_t th;
        cr_assert_eq(pthread_create(&th, NULL, fifo_writer_thread, &w), 0);
        atomic_store(&w.go, 1);
        join(t, 0);
        pthread_join(th, NULL);
        /* The writer cancels right after its write, but it may be
         * descheduled in between: the cancel then lands after the verb
         * returned, at the second yield instead of the first. Either way
         * it arrives once and is not lost. */
        cr_assert_eq(f.r, 5, "braid_file_read as it completed (round %d) returned %lld", i,
                     (long long)f.r);
        cr_assert(memcmp(f.buf, "abcde", 5) == 0);
        cr_assert_eq(f.next, 1, "round %d: the cancel must arrive exactly once at the waiting "
                     "calls after the verb (seen %d times)", i, f.next);
        cr_assert_eq(f.after, 0, "round %d: a waiting call after the cancel returned %d", i,
                     f.after);
        cr_assert_eq(braid_file_close(fd), 0);
        cr_assert_eq(unlink(w.path), 0);
    }
    return 0;
}

Test(cancel_race, file_verb_completion_racing_a_cancel_keeps_the_cancel, .timeout = 30)
{
    make_tmpdir();
    run_main_1_and_2(main_race_file, NULL);
    cr_assert_eq(rmdir(tmpdir), 0);
}
