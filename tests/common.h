/* common.h - helpers shared by braid's Criterion suites: make a runtime,
 * and end a test by checking that it frees cleanly with no task alive and,
 * in ASan builds, that nothing leaked; run a main task; tiny task bodies;
 * sockets, fds and forked children. */
#ifndef BRAID_TEST_COMMON_H
#define BRAID_TEST_COMMON_H

#include <braid.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#endif
#if defined(TEST_ASAN)
#include <sanitizer/lsan_interface.h>
#endif

static inline braid_rt *rt_make(unsigned workers)
{
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.workers = workers;
    braid_rt *rt = NULL;
    int err = braid_rt_new(&rt, &o);
    cr_assert_eq(err, 0, "braid_rt_new: %s", braid_strerror(err));
    cr_assert_not_null(rt);
    return rt;
}

/* Ends a test: every task has ended (spawned == completed) and the runtime
 * frees cleanly. */
static inline void rt_done(braid_rt *rt)
{
    braid_stats s;
    cr_assert_eq(braid_rt_stats(rt, &s), 0);
    cr_assert_eq(s.live, 0, "%llu tasks still alive", (unsigned long long)s.live);
    cr_assert_eq(s.spawned, s.completed);
    cr_assert_eq(braid_rt_free(rt), 0);
#if defined(TEST_ASAN)
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked");
#endif
}

/* Frees a runtime whose tasks may still be running (shutdown tests). */
static inline void rt_shutdown(braid_rt *rt)
{
    cr_assert_eq(braid_rt_free(rt), 0);
#if defined(TEST_ASAN)
    cr_assert_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked");
#endif
}

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline void spin_ms(double ms)
{
    double end = now_ms() + ms;
    while (now_ms() < end)
        ;
}

/* Helpers for a test's main coroutine (test_sync, test_io, test_pool). */

/* Spawn fn(arg); the spawn must succeed. */
static inline braid_task *spawn(braid_fn fn, void *arg)
{
    braid_task *t = NULL;
    int err = braid_spawn(&t, fn, arg);
    cr_assert_eq(err, 0, "braid_spawn: %s", braid_strerror(err));
    return t;
}

/* Await t, expect status `want`, release it. */
static inline void join(braid_task *t, int want)
{
    int st = braid_await(t, NULL);
    cr_assert_eq(st, want, "task status %d (%s), expected %d", st, braid_strerror(st), want);
    braid_task_release(t);
}

/* Yield until *counter reaches n (tasks announce that they are about to
 * block); give up after 5 s. On one worker a task that announced has
 * blocked by the time we run again; on two, callers sleep a little more
 * where it matters. */
static inline void wait_count(atomic_int *counter, int n)
{
    int64_t give_up = braid_now() + 5 * BRAID_SEC;
    while (atomic_load(counter) < n) {
        cr_assert_lt(braid_now(), give_up, "only %d of %d tasks arrived", atomic_load(counter), n);
        cr_assert_eq(braid_yield(), 0);
    }
}

#define ARG(x) ((void *)(intptr_t)(x))
#define IARG(p) ((int64_t)(intptr_t)(p))

/* Run fn as the main task of rt; it must end with status 0. */
static inline void run_on(braid_rt *rt, braid_fn fn, void *arg)
{
    int st = braid_rt_block_on(rt, fn, arg, NULL);
    cr_assert_eq(st, 0, "main task on %d worker(s): %s", braid_rt_workers(rt), braid_strerror(st));
}

/* Run fn as the main task of a fresh runtime with nw workers; it must end
 * with status 0, and nothing may be left alive. */
static inline void run_main(unsigned nw, braid_fn fn, void *arg)
{
    braid_rt *rt = rt_make(nw);
    run_on(rt, fn, arg);
    rt_done(rt);
}

static inline void run_main_1_and_2(braid_fn fn, void *arg)
{
    for (unsigned nw = 1; nw <= 2; nw++)
        run_main(nw, fn, arg);
}

/* Task bodies: return 0; return the argument; fail with -EIO. */
static inline int64_t nop(void *arg)
{
    (void)arg;
    return 0;
}

static inline int64_t ret_arg(void *arg)
{
    return IARG(arg);
}

static inline int64_t fails_eio(void *arg)
{
    (void)arg;
    return -EIO;
}

/* Sleep the calling thread (not a coroutine's sleep). */
static inline void plain_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static inline long long ms_of(int64_t ns)
{
    return (long long)(ns / BRAID_MSEC);
}

/* A connected pair of non-blocking Unix stream sockets. */
static inline void upair(int sv[2])
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0,
                 "socketpair: %s", strerror(errno));
}

/* Set fd's send and receive buffer sizes (0: leave it). */
static inline void set_bufs(int fd, int snd, int rcv)
{
    if (snd > 0)
        cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd), 0);
    if (rcv > 0)
        cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv), 0);
}

/* Write into the socket fd until the kernel takes no more (down to single
 * bytes, so that any later write must wait). Returns the bytes taken. */
static inline size_t fill(int fd)
{
    static const char junk[4096];
    size_t total = 0;
    for (size_t chunk = sizeof junk; chunk > 0; chunk /= 2) {
        for (;;) {
            ssize_t r = send(fd, junk, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (r < 0) {
                cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "fill: %s", strerror(errno));
                break;
            }
            total += (size_t)r;
        }
    }
    return total;
}

/* Read what fd holds now (non-blocking), up to end of file. */
static inline size_t drain(int fd)
{
    char buf[4096];
    size_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0) {
            cr_assert(r == 0 || errno == EAGAIN || errno == EWOULDBLOCK, "drain: %s",
                      strerror(errno));
            break;
        }
        total += (size_t)r;
    }
    return total;
}

/* Entries of the directory path (. and .. not counted), or -1 if it cannot
 * be read. Asserts nothing, so a forked child may call it. */
static inline int count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* The fds open in this process (the one reading /proc/self/fd not
 * counted), or -1 if it cannot be read. */
static inline int count_fds(void)
{
    int n = count_entries("/proc/self/fd");
    return n < 0 ? n : n - 1;
}

/* Recurse n times in 1 KiB frames: a stack overflow for large n. Not
 * inline (each call a real frame); unused: not every suite calls it. */
static __attribute__((noinline, unused)) int deep_frames(int n)
{
    volatile char buf[1024];
    for (size_t i = 0; i < sizeof buf; i += 64)
        buf[i] = (char)n;
    return n == 0 ? buf[0] : deep_frames(n - 1) + buf[512];
}

/* Run body(arg) in a forked child whose stderr goes to buf (at most size - 1
 * bytes, then a NUL); the child exits with what body returns. Returns the
 * child's wait status. */
static inline int run_child_stderr(int (*body)(void *), void *arg, char *buf, size_t size)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        _exit(body(arg));
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t n;
    while (got < size - 1 && (n = read(fds[0], buf + got, size - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

#endif
