/* test_embed.c - braid inside a host program: several runtimes at once,
 * spawning into one and joining from threads braid does not own (with a
 * deadline), shutdown within a deadline that reports what still runs, and
 * the fork() policy. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static int64_t now_ns(void)
{
    return braid_now();
}

static int64_t square_after(void *arg)
{
    int64_t x = IARG(arg);
    braid_sleep(5 * BRAID_MSEC);
    return x * x;
}

static int64_t sleep_long(void *arg)
{
    (void)arg;
    return braid_sleep(BRAID_SEC) == 0 ? 1 : -ECANCELED;
}

/* ---- several runtimes, host threads spawning and joining ---- */

typedef struct host {
    braid_rt *rt[2];
    int id;
    int ok;
} host;

static void *host_thread(void *arg)
{
    host *h = arg;
    for (int i = 0; i < 50; i++) {
        braid_rt *rt = h->rt[(h->id + i) % 2];
        braid_task *t;
        if (braid_rt_spawn(rt, &t, square_after, ARG(i)) != 0)
            return NULL;
        int64_t v = -1;
        int err = braid_join(t, &v, braid_now() + 10 * BRAID_SEC);
        braid_task_release(t);
        if (err != 0 || v != (int64_t)i * i)
            return NULL;
    }
    h->ok = 1;
    return NULL;
}

Test(embed, several_runtimes_and_foreign_threads_joining, .timeout = 30)
{
    braid_rt *a = rt_make(2), *b = rt_make(1);
    host h[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        h[i] = (host){.rt = {a, b}, .id = i};
        cr_assert_eq(pthread_create(&th[i], NULL, host_thread, &h[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(h[i].ok, 1, "host thread %d: a spawn or join failed", i);
    }
    rt_done(a);
    rt_done(b);
}

Test(embed, join_deadline_from_a_foreign_thread, .timeout = 30)
{
    braid_rt *rt = rt_make(2);
    braid_task *t;
    cr_assert_eq(braid_rt_spawn(rt, &t, sleep_long, NULL), 0);
    int64_t t0 = now_ns();
    cr_assert_eq(braid_join(t, NULL, t0 + 50 * BRAID_MSEC), -ETIMEDOUT);
    int64_t took = now_ns() - t0;
    cr_assert(took >= 50 * BRAID_MSEC && took < 900 * BRAID_MSEC, "timed out after %lld ms",
              (long long)(took / BRAID_MSEC));
    cr_assert_eq(braid_task_done(t), 0, "the task keeps running");
    int64_t v = 0;
    cr_assert_eq(braid_join(t, &v, BRAID_FOREVER), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(braid_join(t, &v, now_ns() - 1), 0, "an ended task joins at once, any deadline");
    braid_task_release(t);
    cr_assert_eq(braid_join(NULL, NULL, BRAID_FOREVER), -EINVAL);
    rt_done(rt);
}

/* ---- shutdown with a deadline ---- */

static atomic_int stubborn_stop;

/* Ignores cancellation until told to stop. */
static int64_t stubborn(void *arg)
{
    (void)arg;
    while (!atomic_load(&stubborn_stop))
        braid_sleep(BRAID_MSEC); /* returns -ECANCELED, again and again */
    return 0;
}

Test(embed, shutdown_deadline_reports_what_still_runs, .timeout = 30)
{
    braid_rt *rt = rt_make(2);
    atomic_store(&stubborn_stop, 0);
    braid_task *s, *p;
    cr_assert_eq(braid_rt_spawn(rt, &s, stubborn, NULL), 0);
    cr_assert_eq(braid_rt_spawn(rt, &p, sleep_long, NULL), 0);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL); /* both running */
    /* The report goes to stderr: capture it through a pipe. */
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(pfd[1], 2);
    size_t running = 0;
    int64_t t0 = now_ns();
    int err = braid_rt_shutdown(rt, t0 + 100 * BRAID_MSEC, &running, 1);
    int64_t took = now_ns() - t0;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(pfd[1]);
    char report[4096] = "";
    ssize_t n = read(pfd[0], report, sizeof report - 1);
    close(pfd[0]);
    report[n > 0 ? n : 0] = '\0';
    cr_assert_eq(err, -ETIMEDOUT);
    cr_assert_eq(running, 1, "the sleeper ended on its cancel, the stubborn task did not");
    cr_assert(took >= 100 * BRAID_MSEC && took < BRAID_SEC, "took %lld ms", (long long)(took / BRAID_MSEC));
    char fnp[32];
    snprintf(fnp, sizeof fnp, "at %p ", (void *)(uintptr_t)stubborn);
    cr_assert(strstr(report, fnp) != NULL, "the report shows the task's function (%s): %s", fnp,
              report);
    cr_assert(strstr(report, "1 task still running") != NULL, "report: %s", report);
    cr_assert_eq(braid_rt_spawn(rt, NULL, sleep_long, NULL), -ESHUTDOWN, "closed to new tasks");
    cr_assert_eq(braid_join(p, NULL, BRAID_FOREVER), -ECANCELED);
    atomic_store(&stubborn_stop, 1);
    cr_assert_eq(braid_rt_shutdown(rt, now_ns() + 5 * BRAID_SEC, &running, 1), 0);
    cr_assert_eq(running, 0);
    braid_task_release(s);
    braid_task_release(p);
    cr_assert_eq(braid_rt_free(rt), 0);
}

/* ---- fork ---- */

Test(embed, fork_child_cannot_use_the_parents_runtime, .timeout = 30)
{
    braid_rt *rt = rt_make(2);
    braid_task *t;
    cr_assert_eq(braid_rt_spawn(rt, &t, square_after, ARG(3)), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        /* The child: the parent's runtime is refused, untouched; a new one works. */
        int code = 0;
        if (braid_rt_spawn(rt, NULL, square_after, ARG(2)) != -ECHILD)
            code |= 1;
        if (braid_rt_block_on(rt, square_after, ARG(2), NULL) != -ECHILD)
            code |= 2;
        if (braid_join(t, NULL, BRAID_FOREVER) != -ECHILD)
            code |= 4;
        if (braid_rt_free(rt) != -ECHILD)
            code |= 8;
#if !defined(TEST_ASAN)
        /* A runtime of its own. Not under ASan: its allocator may be
         * locked by a parent thread that the fork did not copy. */
        int64_t v = 0;
        braid_rt_opts o;
        braid_rt_opts_init(&o);
        o.workers = 2;
        if (braid_run(square_after, ARG(9), &o, &v) != 0 || v != 81)
            code |= 16;
#endif
        _exit(code);
    }
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFEXITED(st), "the child crashed (signal %d)", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    cr_assert_eq(WEXITSTATUS(st), 0, "child checks failed: mask %d", WEXITSTATUS(st));
    int64_t v = 0;
    cr_assert_eq(braid_join(t, &v, BRAID_FOREVER), 0, "the parent's runtime is unaffected");
    cr_assert_eq(v, 9);
    braid_task_release(t);
    rt_done(rt);
}
