/* test_io.c - the I/O verbs of braid.h: waiting on file descriptors,
 * socket reads and writes, accept and connect, the TCP helpers.
 *   wait_fd   the ready set; -EINVAL (no events), -EPERM (a regular
 *             file), -EBADF (a bad fd)
 *   rw        read/write move what is there (partial); read_full stops at
 *             end of file; write_all larger than the socket buffer (Unix
 *             socket, TCP, pipe) completes as the peer drains; recv/send
 *             flags; a reader and a writer wait on one fd independently;
 *             writing to a closed peer (socket or pipe) is -EPIPE and no
 *             SIGPIPE
 *   sock      accept gives a non-blocking close-on-exec fd; connect
 *             (success, -ECONNREFUSED, a deadline when the network allows);
 *             braid_close wakes waiters with -EBADF, also one that is
 *             just about to wait (from another thread); fd_nonblock;
 *             tcp_listen (IPv4, IPv6, every address) and tcp_connect (by
 *             name and number, refused, unknown host)
 *   deadline  every waiting verb returns -ETIMEDOUT within slack, moves
 *             nothing it does not report, and leaves the fd usable
 *   cancel    every waiting verb returns -ECANCELED promptly; the fd stays
 *             usable and registered in no epoll instance (checked through
 *             /proc/self/fdinfo); other waiters on the fd are unaffected;
 *             a cancel racing the data loses no byte
 *   reset     a peer's RST is -ECONNRESET
 *   emfile    accept out of fds returns -EMFILE at once and nothing spins
 *             (in a forked child: the rlimit stays there)
 *   echo      a braid echo server with 200 and 10,000 concurrent clients;
 *             no fd leak, no memory growth over a second round
 *   busy      readiness reaches a waiter while a worker computes
 *   misuse    the waiting verbs outside a coroutine are -EPERM
 * Scenarios run on 1 and 2 workers where scheduling matters. Timing checks
 * are generous (a loaded 2-core CI machine): deadlines are never early by
 * more than 5 ms nor late by a second; "promptly" is within 500 ms. */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define MS BRAID_MSEC
#define SEC BRAID_SEC

/* ---- helpers (run_main, upair, fill, drain, ... in common.h) ----------- */

static int64_t dl_ms(int64_t ms)
{
    return braid_now() + ms * MS;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    cr_assert_eq(ss.ss_family, AF_INET6);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int sock_family(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    return ss.ss_family;
}

static struct sockaddr_in v4_loopback(uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int is_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    cr_assert_geq(fl, 0);
    return (fl & O_NONBLOCK) != 0;
}

static int is_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    cr_assert_geq(fl, 0);
    return (fl & FD_CLOEXEC) != 0;
}

static int tcp_socket(int family)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0, "socket: %s", strerror(errno));
    return fd;
}

/* A listener on 127.0.0.1 at a free port (from a coroutine). */
static int listen_v4(uint16_t *port)
{
    int l = -1;
    int err = braid_tcp_listen("127.0.0.1", "0", 64, &l);
    cr_assert_eq(err, 0, "braid_tcp_listen: %s", braid_strerror(err));
    *port = local_port(l);
    return l;
}

/* A connected TCP pair over the loopback (from a coroutine). */
static void tcp_pair(int *client, int *server)
{
    uint16_t port;
    int l = listen_v4(&port);
    int c = tcp_socket(AF_INET);
    struct sockaddr_in a = v4_loopback(port);
    int err = braid_connect(c, (struct sockaddr *)&a, sizeof a, dl_ms(5000));
    cr_assert_eq(err, 0, "braid_connect: %s", braid_strerror(err));
    int s = braid_accept(l, NULL, NULL, dl_ms(5000));
    cr_assert_geq(s, 0, "braid_accept: %s", braid_strerror(s));
    braid_close(l); /* braid made it: braid_close, not close */
    *client = c;
    *server = s;
}

/* A port on 127.0.0.1 where nothing listens: a socket bound there and kept
 * open (not listening), so nobody else takes the port meanwhile. */
static int refusing_port(uint16_t *port)
{
    int fd = tcp_socket(AF_INET);
    struct sockaddr_in a = v4_loopback(0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    *port = local_port(fd);
    return fd;
}

static bool ipv6_loopback_works(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* How many epoll instances of this process hold fd: scans /proc/self/fd
 * for anon_inode:[eventpoll] and their fdinfo for a "tfd: <fd>" line
 * whose inode is fd's (an entry left under the same number by a file
 * that is gone elsewhere does not count). */
static int epoll_holders(int fd)
{
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0, "fstat(%d): %s", fd, strerror(errno));
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        int n = atoi(e->d_name);
        char path[64], target[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", n);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len < 0)
            continue;
        target[len] = '\0';
        if (strcmp(target, "anon_inode:[eventpoll]") != 0)
            continue;
        snprintf(path, sizeof path, "/proc/self/fdinfo/%d", n);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        char line[256];
        while (fgets(line, sizeof line, f) != NULL) {
            int tfd;
            if (sscanf(line, "tfd: %d", &tfd) != 1 || tfd != fd)
                continue;
            const char *p = strstr(line, "ino:");
            unsigned long ino;
            if (p == NULL || sscanf(p, "ino:%lx", &ino) != 1 || ino == (unsigned long)st.st_ino)
                found++;
        }
        fclose(f);
    }
    closedir(d);
    return found;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    cr_assert_not_null(f);
    long size = 0, resident = 0;
    cr_assert_eq(fscanf(f, "%ld %ld", &size, &resident), 2);
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t io_waits(void)
{
    braid_stats s;
    cr_assert_eq(braid_rt_stats(braid_current(), &s), 0);
    return s.io_waits;
}

/* SIGPIPE at its default action (it kills the process) and not blocked:
 * before the runtime starts, so that its threads inherit the mask. */
static void sigpipe_kills(void)
{
    signal(SIGPIPE, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    cr_assert_eq(pthread_sigmask(SIG_UNBLOCK, &s, NULL), 0);
}

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 131u + (i >> 9));
}

/* A task on one fd: what it does, what it got. */
enum op { OP_READ, OP_WAIT_READABLE, OP_RECV };

typedef struct {
    int fd;
    enum op op;
    int64_t deadline;
    ssize_t r;
    char buf[64];
    atomic_int started;
} fdtask;

static void fdtask_init(fdtask *t, int fd, enum op op, int64_t deadline)
{
    memset(t, 0, sizeof *t);
    t->fd = fd;
    t->op = op;
    t->deadline = deadline;
    t->r = 12345;
    atomic_init(&t->started, 0);
}

static int64_t fdtask_body(void *arg)
{
    fdtask *t = arg;
    atomic_store(&t->started, 1);
    switch (t->op) {
    case OP_READ:
        t->r = braid_read(t->fd, t->buf, sizeof t->buf, t->deadline);
        break;
    case OP_WAIT_READABLE:
        t->r = braid_wait_fd(t->fd, BRAID_READABLE, t->deadline);
        break;
    case OP_RECV:
        t->r = braid_recv(t->fd, t->buf, sizeof t->buf, 0, t->deadline);
        break;
    }
    return 0;
}

/* Spawn a task that blocks in op on fd, and wait until it has blocked. */
static braid_task *start_blocked(fdtask *t, int fd, enum op op, int64_t deadline)
{
    fdtask_init(t, fd, op, deadline);
    braid_task *h = spawn(fdtask_body, t);
    wait_count(&t->started, 1);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(braid_task_done(h), 0, "the task did not block: it returned %lld",
                 (long long)t->r);
    return h;
}

/* A task that writes buf to fd after a delay, then optionally closes fd. */
typedef struct {
    int fd;
    int64_t delay;
    const char *chunks[4];
    int close_after;
} writer_job;

static int64_t writer_body(void *arg)
{
    writer_job *w = arg;
    for (int i = 0; i < 4 && w->chunks[i] != NULL; i++) {
        cr_assert_eq(braid_sleep(w->delay), 0);
        size_t n = strlen(w->chunks[i]);
        cr_assert_eq(braid_write_all(w->fd, w->chunks[i], n, dl_ms(5000), NULL), (ssize_t)n);
    }
    if (w->close_after)
        cr_assert_eq(braid_close(w->fd), 0);
    return 0;
}

/* ====================================================================== */
/* wait_fd                                                                 */
/* ====================================================================== */

static int64_t main_wait_fd_ready_set(void *arg)
{
    (void)arg;
    int sv[2];
    upair(sv);
    uint64_t waits0 = io_waits();
    /* A fresh socket has room: writable, and only what was asked for. */
    int r = braid_wait_fd(sv[0], BRAID_WRITABLE, dl_ms(5000));
    cr_assert_gt(r, 0, "wait writable: %s", braid_strerror(r));
    cr_assert(r & BRAID_WRITABLE);
    cr_assert_eq(r & BRAID_READABLE, 0, "not asked for, and not true");
    /* Both asked for: only writable is true. */
    r = braid_wait_fd(sv[0], BRAID_READABLE | BRAID_WRITABLE, dl_ms(5000));
    cr_assert_gt(r, 0);
    cr_assert(r & BRAID_WRITABLE);
    cr_assert_eq(r & BRAID_READABLE, 0, "no data yet: %#x", r);
    /* Readable once a task writes, 30 ms later: the wait waited. */
    writer_job w = {.fd = sv[1], .delay = 30 * MS, .chunks = {"x", NULL}};
    braid_task *wt = spawn(writer_body, &w);
    int64_t t0 = braid_now();
    r = braid_wait_fd(sv[0], BRAID_READABLE, t0 + 5 * SEC);
    int64_t el = braid_now() - t0;
    cr_assert_gt(r, 0, "wait readable: %s", braid_strerror(r));
    cr_assert(r & BRAID_READABLE);
    cr_assert_eq(r & BRAID_WRITABLE, 0, "writable was not asked for: %#x", r);
    cr_assert_geq(el, 25 * MS, "readable after %lld ms, before the data was written", ms_of(el));
    join(wt, 0);
    cr_assert_gt(io_waits(), waits0, "a wait that parked is counted in io_waits");
    /* The data is still there: wait_fd transfers nothing. */
    char c = 0;
    cr_assert_eq(read(sv[0], &c, 1), 1);
    cr_assert_eq(c, 'x');
    /* Already readable: at once. */
    cr_assert_eq(write(sv[1], "y", 1), 1);
    t0 = braid_now();
    r = braid_wait_fd(sv[0], BRAID_READABLE, dl_ms(5000));
    cr_assert_gt(r, 0);
    cr_assert(r & BRAID_READABLE);
    cr_assert_lt(braid_now() - t0, 500 * MS);
    cr_assert_eq(read(sv[0], &c, 1), 1);
    /* The peer closes: readable (end of file) with hang-up. */
    close(sv[1]);
    r = braid_wait_fd(sv[0], BRAID_READABLE, dl_ms(5000));
    cr_assert_gt(r, 0);
    cr_assert(r & BRAID_READABLE, "end of file is readable: %#x", r);
    cr_assert(r & BRAID_HANGUP, "a closed peer is reported as a hang-up: %#x", r);
    cr_assert_eq(read(sv[0], &c, 1), 0);
    close(sv[0]);
    return 0;
}

Test(wait_fd, returns_the_ready_set, .timeout = 30)
{
    run_main_1_and_2(main_wait_fd_ready_set, NULL);
}

static int64_t main_wait_fd_errors(void *arg)
{
    (void)arg;
    int sv[2];
    upair(sv);
    /* No events; error and hang-up alone are no events either (they are
     * reported, never waited for). */
    cr_assert_eq(braid_wait_fd(sv[0], 0, dl_ms(1000)), -EINVAL);
    cr_assert_eq(braid_wait_fd(sv[0], BRAID_ERROR | BRAID_HANGUP, dl_ms(1000)), -EINVAL);
    /* A regular file cannot be polled. */
    char path[] = "/tmp/braid-test-io-XXXXXX";
    int f = mkstemp(path);
    cr_assert_geq(f, 0);
    unlink(path);
    int64_t t0 = braid_now();
    cr_assert_eq(braid_wait_fd(f, BRAID_READABLE, dl_ms(5000)), -EPERM);
    cr_assert_eq(braid_wait_fd(f, BRAID_WRITABLE, dl_ms(5000)), -EPERM);
    char buf[4];
    cr_assert_eq(braid_read(f, buf, sizeof buf, dl_ms(5000)), 0, "a regular file reads, never waits");
    cr_assert_lt(braid_now() - t0, 500 * MS, "errors come at once");
    close(f);
    /* Bad fds: negative, closed, far beyond any table. */
    cr_assert_eq(braid_wait_fd(-1, BRAID_READABLE, dl_ms(1000)), -EBADF);
    int closed = dup(sv[0]);
    cr_assert_geq(closed, 0);
    close(closed);
    cr_assert_eq(braid_wait_fd(closed, BRAID_READABLE, dl_ms(1000)), -EBADF);
    cr_assert_eq(braid_wait_fd(closed, BRAID_WRITABLE, dl_ms(1000)), -EBADF);
    cr_assert_eq(braid_wait_fd(1 << 30, BRAID_READABLE, dl_ms(1000)), -EBADF);
    cr_assert_eq(braid_read(closed, buf, 1, dl_ms(1000)), -EBADF);
    cr_assert_eq(braid_write(closed, "x", 1, dl_ms(1000)), -EBADF);
    cr_assert_eq(braid_accept(closed, NULL, NULL, dl_ms(1000)), -EBADF);
    /* None of that disturbed the socket: a real wait still works. */
    cr_assert_eq(write(sv[1], "z", 1), 1);
    int r = braid_wait_fd(sv[0], BRAID_READABLE, dl_ms(5000));
    cr_assert_gt(r, 0);
    cr_assert(r & BRAID_READABLE);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

Test(wait_fd, no_events_regular_file_and_bad_fd, .timeout = 30)
{
    run_main_1_and_2(main_wait_fd_errors, NULL);
}

/* ====================================================================== */
/* rw: read, write, read_full, write_all, recv, send                       */
/* ====================================================================== */

static int64_t main_read_write_partial(void *arg)
{
    (void)arg;
    int sv[2];
    upair(sv);
    char buf[256];
    /* Read returns what is there: less than asked. */
    cr_assert_eq(braid_write(sv[1], "hello", 5, dl_ms(5000)), 5);
    cr_assert_eq(braid_read(sv[0], buf, sizeof buf, dl_ms(5000)), 5);
    cr_assert_eq(memcmp(buf, "hello", 5), 0);
    /* And at most n. */
    cr_assert_eq(braid_write(sv[1], "abc", 3, dl_ms(5000)), 3);
    cr_assert_eq(braid_read(sv[0], buf, 2, dl_ms(5000)), 2);
    cr_assert_eq(memcmp(buf, "ab", 2), 0);
    cr_assert_eq(braid_read(sv[0], buf, sizeof buf, dl_ms(5000)), 1);
    cr_assert_eq(buf[0], 'c');
    /* A blocked read wakes with the data of a later write. */
    writer_job w = {.fd = sv[1], .delay = 20 * MS, .chunks = {"late", NULL}};
    braid_task *wt = spawn(writer_body, &w);
    int64_t t0 = braid_now();
    cr_assert_eq(braid_read(sv[0], buf, sizeof buf, dl_ms(5000)), 4);
    cr_assert_geq(braid_now() - t0, 15 * MS);
    cr_assert_eq(memcmp(buf, "late", 4), 0);
    join(wt, 0);
    /* A write larger than the socket buffer moves part of it, at once. */
    set_bufs(sv[0], 16384, 0);
    size_t n = (size_t)1 << 20;
    char *big = malloc(n);
    cr_assert_not_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)pattern(i);
    ssize_t put = braid_write(sv[0], big, n, dl_ms(5000));
    cr_assert_gt(put, 0, "braid_write: %s", braid_strerror((int)put));
    cr_assert_lt(put, (ssize_t)n, "a 1 MiB write into a 16 KiB socket buffer is partial");
    size_t got = 0;
    while (got < (size_t)put) {
        ssize_t r = braid_read(sv[1], buf, sizeof buf, dl_ms(5000));
        cr_assert_gt(r, 0);
        for (ssize_t i = 0; i < r; i++)
            cr_assert_eq((unsigned char)buf[i], pattern(got + (size_t)i), "byte %zu", got + (size_t)i);
        got += (size_t)r;
    }
    cr_assert_eq(got, (size_t)put, "the peer got what write reported");
    cr_assert_eq(drain(sv[1]), 0, "and no more");
    free(big);
    /* End of file reads 0. */
    close(sv[1]);
    cr_assert_eq(braid_read(sv[0], buf, sizeof buf, dl_ms(5000)), 0);
    cr_assert_eq(braid_recv(sv[0], buf, sizeof buf, 0, dl_ms(5000)), 0);
    close(sv[0]);
    return 0;
}

Test(rw, read_and_write_move_what_is_there, .timeout = 30)
{
    run_main_1_and_2(main_read_write_partial, NULL);
}

static int64_t main_read_full(void *arg)
{
    (void)arg;
    int sv[2];
    upair(sv);
    char buf[64];
    size_t done = 777;
    /* Chunks with pauses, then end of file: read_full returns the count so
     * far and *done says the same. */
    writer_job w = {.fd = sv[1], .delay = 10 * MS, .chunks = {"abc", "defg", "hi", NULL},
                    .close_after = 1};
    braid_task *wt = spawn(writer_body, &w);
    ssize_t r = braid_read_full(sv[0], buf, sizeof buf, dl_ms(5000), &done);
    cr_assert_eq(r, 9, "read_full: %lld", (long long)r);
    cr_assert_eq(done, 9);
    cr_assert_eq(memcmp(buf, "abcdefghi", 9), 0);
    join(wt, 0);
    /* At end of file already: 0. */
    done = 777;
    cr_assert_eq(braid_read_full(sv[0], buf, sizeof buf, dl_ms(5000), &done), 0);
    cr_assert_eq(done, 0);
    close(sv[0]);
    /* Exactly n, in pieces, without reading past n; done may be NULL. */
    upair(sv);
    writer_job w2 = {.fd = sv[1], .delay = 5 * MS, .chunks = {"01234", "56789", NULL}};
    wt = spawn(writer_body, &w2);
    cr_assert_eq(braid_read_full(sv[0], buf, 7, dl_ms(5000), NULL), 7);
    cr_assert_eq(memcmp(buf, "0123456", 7), 0);
    join(wt, 0);
    done = 777;
    cr_assert_eq(braid_read_full(sv[0], buf, 3, dl_ms(5000), &done), 3);
    cr_assert_eq(done, 3);
    cr_assert_eq(memcmp(buf, "789", 3), 0);
    cr_assert_eq(braid_read_full(sv[0], buf, 0, dl_ms(5000), &done), 0, "n = 0 moves nothing");
    close(sv[0]);
    close(sv[1]);
    return 0;
}

Test(rw, read_full_stops_at_end_of_file, .timeout = 30)
{
    run_main_1_and_2(main_read_full, NULL);
}

/* A reader that starts after a delay and checks the pattern. */
typedef struct {
    int fd;
    size_t n;
    int64_t delay;
    size_t got;
    ssize_t err;
    size_t bad_at;
} drainer;

static int64_t drainer_body(void *arg)
{
    drainer *d = arg;
    d->bad_at = (size_t)-1;
    if (braid_sleep(d->delay) != 0)
        return -EINTR;
    unsigned char buf[4096];
    while (d->got < d->n) {
        ssize_t r = braid_read(d->fd, buf, sizeof buf, dl_ms(20000));
        if (r <= 0) {
            d->err = r;
            break;
        }
        for (ssize_t i = 0; i < r && d->bad_at == (size_t)-1; i++)
            if (buf[i] != pattern(d->got + (size_t)i))
                d->bad_at = d->got + (size_t)i;
        d->got += (size_t)r;
        if (d->got % (256 * 1024) < (size_t)r)
            braid_sleep(MS); /* drain at a modest pace */
    }
    return 0;
}

enum wa_kind { WA_UNIX, WA_TCP, WA_PIPE };

static int64_t main_write_all_big(void *arg)
{
    enum wa_kind kind = (enum wa_kind)(intptr_t)arg;
    static const char *const names[] = {"unix socket", "tcp", "pipe"};
    int wfd, rfd;
    size_t n = kind == WA_TCP ? (size_t)4 << 20 : (size_t)1 << 20;
    if (kind == WA_UNIX) {
        int sv[2];
        upair(sv);
        set_bufs(sv[0], 16384, 0);
        wfd = sv[0];
        rfd = sv[1];
    } else if (kind == WA_TCP) {
        tcp_pair(&wfd, &rfd);
        set_bufs(wfd, 32768, 0);
        set_bufs(rfd, 0, 32768);
    } else {
        int p[2];
        cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
        rfd = p[0];
        wfd = p[1];
    }
    unsigned char *buf = malloc(n);
    cr_assert_not_null(buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = pattern(i);
    drainer d = {.fd = rfd, .n = n, .delay = 50 * MS};
    braid_task *dt = spawn(drainer_body, &d);
    uint64_t waits0 = io_waits();
    size_t done = 0;
    int64_t t0 = braid_now();
    ssize_t r = braid_write_all(wfd, buf, n, dl_ms(20000), &done);
    int64_t el = braid_now() - t0;
    cr_assert_eq(r, (ssize_t)n, "%s: write_all returned %lld (%s)", names[kind], (long long)r,
                 r < 0 ? braid_strerror((int)r) : "short");
    cr_assert_eq(done, n);
    cr_assert_geq(el, 45 * MS, "%s: %zu bytes went through in %lld ms, before the peer began to "
                  "read: the test's buffers are too large", names[kind], n, ms_of(el));
    cr_assert_gt(io_waits(), waits0, "%s: write_all never waited", names[kind]);
    join(dt, 0);
    cr_assert_eq(d.err, 0, "%s: reader: %s", names[kind], braid_strerror((int)d.err));
    cr_assert_eq(d.got, n);
    cr_assert_eq(d.bad_at, (size_t)-1, "%s: byte %zu differs", names[kind], d.bad_at);
    free(buf);
    close(wfd);
    close(rfd);
    return 0;
}

Test(rw, write_all_larger_than_the_buffer_completes_as_the_peer_drains, .timeout = 60)
{
    for (intptr_t k = WA_UNIX; k <= WA_PIPE; k++)
        run_main_1_and_2(main_write_all_big, ARG(k));
}

static int64_t main_recv_send_flags(void *arg)
{
    (void)arg;
    int sv[2];
    upair(sv);
    char buf[64];
    cr_assert_eq(braid_send(sv[0], "peekaboo", 8, 0, dl_ms(5000)), 8);
    /* MSG_PEEK leaves the data queued. */
    cr_assert_eq(braid_recv(sv[1], buf, 4, MSG_PEEK, dl_ms(5000)), 4);
    cr_assert_eq(memcmp(buf, "peek", 4), 0);
    cr_assert_eq(braid_recv(sv[1], buf, sizeof buf, 0, dl_ms(5000)), 8);
    cr_assert_eq(memcmp(buf, "peekaboo", 8), 0);
    /* MSG_DONTWAIT does not wait. */
    int64_t t0 = braid_now();
    cr_assert_eq(braid_recv(sv[1], buf, sizeof buf, MSG_DONTWAIT, dl_ms(5000)), -EAGAIN);
    cr_assert_lt(braid_now() - t0, 500 * MS);
    /* A plain recv waits for a later send. */
    fdtask t;
    braid_task *h = start_blocked(&t, sv[1], OP_RECV, dl_ms(5000));
    cr_assert_eq(braid_send(sv[0], "late", 4, 0, dl_ms(5000)), 4);
    join(h, 0);
    cr_assert_eq(t.r, 4);
    cr_assert_eq(memcmp(t.buf, "late", 4), 0);
    /* send waits for room, or with MSG_DONTWAIT does not. */
    set_bufs(sv[0], 16384, 0);
    fill(sv[0]);
    t0 = braid_now();
    cr_assert_eq(braid_send(sv[0], "x", 1, MSG_DONTWAIT, dl_ms(5000)), -EAGAIN);
    cr_assert_lt(braid_now() - t0, 500 * MS);
    cr_assert_eq(braid_send(sv[0], "x", 1, 0, dl_ms(30)), -ETIMEDOUT);
    drain(sv[1]);
    cr_assert_eq(braid_send(sv[0], "y", 1, 0, dl_ms(5000)), 1);
    cr_assert_eq(braid_recv(sv[1], buf, sizeof buf, 0, dl_ms(5000)), 1);
    cr_assert_eq(buf[0], 'y');
    close(sv[0]);
    close(sv[1]);
    return 0;
}

Test(rw, recv_and_send_take_flags, .timeout = 30)
{
    run_main_1_and_2(main_recv_send_flags, NULL);
}

typedef struct {
    int fd;
    size_t n;
    const char *buf;
    ssize_t r;
    size_t done;
    atomic_int started;
} wall_job;

static int64_t wall_body(void *arg)
{
    wall_job *j = arg;
    atomic_store(&j->started, 1);
    j->r = braid_write_all(j->fd, j->buf, j->n, dl_ms(20000), &j->done);
    return 0;
}

/* A reader and a writer wait on the same fd at once (EPOLLIN for one,
 * EPOLLOUT for the other): each wakes for its own readiness only. */
static int64_t main_reader_and_writer(void *arg)
{
    (void)arg;
    int sv[2];
    upair(sv);
    set_bufs(sv[0], 16384, 0);
    size_t n = (size_t)1 << 20;
    char *big = calloc(1, n);
    cr_assert_not_null(big);
    wall_job wj = {.fd = sv[0], .n = n, .buf = big, .r = 12345};
    atomic_init(&wj.started, 0);
    braid_task *wt = spawn(wall_body, &wj);
    wait_count(&wj.started, 1);
    fdtask rt;
    braid_task *rh = start_blocked(&rt, sv[0], OP_READ, dl_ms(20000));
    cr_assert_eq(braid_task_done(wt), 0, "the writer cannot finish: nobody reads");
    /* Drain the peer: the writer finishes, the reader keeps waiting. */
    size_t got = 0;
    int64_t give_up = dl_ms(15000);
    while (got < n) {
        cr_assert_lt(braid_now(), give_up, "drained %zu of %zu bytes", got, n);
        size_t k = drain(sv[1]);
        got += k;
        if (k == 0)
            cr_assert_eq(braid_sleep(MS), 0);
    }
    join(wt, 0);
    cr_assert_eq(wj.r, (ssize_t)n);
    cr_assert_eq(wj.done, n);
    cr_assert_eq(got, n);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(braid_task_done(rh), 0, "the reader woke without data: %lld", (long long)rt.r);
    /* Now data for the reader. */
    cr_assert_eq(write(sv[1], "r", 1), 1);
    join(rh, 0);
    cr_assert_eq(rt.r, 1);
    cr_assert_eq(rt.buf[0], 'r');
    free(big);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

/* A short read marks a braid-made socket drained, so the next read waits
 * for an edge instead of calling read(2) first. Data that comes after, in
 * any rhythm (at once, in two pieces back to back, after a pause, while
 * the reader is between calls), must still arrive; MSG_PEEK reads leave
 * the socket as it is. */
typedef struct {
    int fd;
    long got;
} short_job;

/* Echo until end of stream: reads, not rounds, since the client's pieces
 * may arrive split or joined. */
static int64_t short_echo(void *arg)
{
    short_job *j = arg;
    char buf[256];
    for (;;) {
        ssize_t r = braid_read(j->fd, buf, sizeof buf, dl_ms(10000));
        if (r == 0)
            return 0;
        cr_assert_gt(r, 0, "server: braid_read: %s", braid_strerror((int)r));
        j->got += r;
        cr_assert_eq(braid_write_all(j->fd, buf, (size_t)r, dl_ms(10000), NULL), r);
    }
}

static int64_t main_short_reads(void *arg)
{
    (void)arg;
    int c, s;
    tcp_pair(&c, &s);
    char buf[256], back[256];
    /* A peek does not drain: after a short peek the data is still read. */
    cr_assert_eq(write(c, "xyz", 3), 3);
    ssize_t r = braid_recv(s, buf, sizeof buf, MSG_PEEK, dl_ms(10000));
    cr_assert_eq(r, 3);
    r = braid_read(s, buf, sizeof buf, dl_ms(10000));
    cr_assert_eq(r, 3);
    cr_assert_eq(memcmp(buf, "xyz", 3), 0);
    cr_assert_eq(braid_recv(s, buf, sizeof buf, -1, dl_ms(100)), -EINVAL);
    short_job j = {.fd = s};
    braid_task *t = spawn(short_echo, &j);
    long sent = 0;
    for (long i = 0; i < 3000; i++) {
        size_t n = 1 + (size_t)(i % 61);
        memset(buf, (int)('a' + i % 26), n);
        switch (i % 4) {
        case 0: /* one piece */
            cr_assert_eq(braid_write_all(c, buf, n, dl_ms(10000), NULL), (ssize_t)n);
            break;
        case 1: /* two pieces back to back: the second may land mid-read */
            cr_assert_eq(braid_write_all(c, buf, 1, dl_ms(10000), NULL), 1);
            if (n > 1)
                cr_assert_eq(braid_write_all(c, buf + 1, n - 1, dl_ms(10000), NULL), (ssize_t)(n - 1));
            break;
        case 2: /* after the reader has surely gone back to waiting */
            if (i % 64 == 2)
                cr_assert_eq(braid_sleep(MS), 0);
            cr_assert_eq(braid_write_all(c, buf, n, dl_ms(10000), NULL), (ssize_t)n);
            break;
        default: /* from a plain write(2), as another process would */
            cr_assert_eq(write(c, buf, n), (ssize_t)n);
        }
        sent += (long)n;
        /* Take the echo back: all n bytes, maybe in pieces. */
        size_t have = 0;
        while (have < n) {
            r = braid_read(c, back + have, n - have, dl_ms(10000));
            cr_assert_gt(r, 0, "round %ld: echo read: %s", i, r < 0 ? braid_strerror((int)r) : "eof");
            have += (size_t)r;
        }
        cr_assert_eq(memcmp(back, buf, n), 0, "round %ld: echo differs", i);
    }
    cr_assert_eq(shutdown(c, SHUT_WR), 0); /* the server sees the end */
    join(t, 0);
    cr_assert_eq(j.got, sent, "the server read %ld of %ld bytes", j.got, sent);
    braid_close(s);
    close(c);
    return 0;
}

Test(rw, short_reads_then_more_data_in_any_rhythm_nothing_lost, .timeout = 60)
{
    run_main_1_and_2(main_short_reads, NULL);
}

Test(rw, a_reader_and_a_writer_wait_on_one_fd_independently, .timeout = 30)
{
    run_main_1_and_2(main_reader_and_writer, NULL);
}

static int64_t main_send_epipe(void *arg)
{
    (void)arg;
    /* Unix socket, peer closed. */
    int sv[2];
    upair(sv);
    close(sv[1]);
    size_t done = 777;
    cr_assert_eq(braid_send(sv[0], "x", 1, 0, dl_ms(5000)), -EPIPE);
    cr_assert_eq(braid_write_all(sv[0], "xyz", 3, dl_ms(5000), &done), -EPIPE);
    cr_assert_eq(done, 0);
    close(sv[0]);
    /* TCP, our side shut down for writing. */
    int c, s;
    tcp_pair(&c, &s);
    cr_assert_eq(shutdown(c, SHUT_WR), 0);
    cr_assert_eq(braid_send(c, "x", 1, 0, dl_ms(5000)), -EPIPE);
    done = 777;
    cr_assert_eq(braid_write_all(c, "xyz", 3, dl_ms(5000), &done), -EPIPE);
    cr_assert_eq(done, 0);
    braid_close(c);
    braid_close(s);
    /* TCP, the peer closed: the first sends may still go out (the peer
     * answers with RST), then -EPIPE or -ECONNRESET. */
    tcp_pair(&c, &s);
    braid_close(s);
    ssize_t r = 0;
    for (int i = 0; i < 200 && r >= 0; i++) {
        r = braid_send(c, "x", 1, 0, dl_ms(5000));
        if (r >= 0)
            cr_assert_eq(braid_sleep(MS), 0);
    }
    cr_assert(r == -EPIPE || r == -ECONNRESET, "send to a closed TCP peer: %lld (%s)",
              (long long)r, braid_strerror((int)r));
    braid_close(c);
    return 0;
}

Test(rw, send_to_a_closed_peer_is_epipe_without_sigpipe, .timeout = 30)
{
    sigpipe_kills();
    run_main_1_and_2(main_send_epipe, NULL);
}

static int64_t main_write_epipe(void *arg)
{
    (void)arg;
    int sv[2];
    upair(sv);
    close(sv[1]);
    cr_assert_eq(braid_write(sv[0], "x", 1, dl_ms(5000)), -EPIPE);
    close(sv[0]);
    int c, s;
    tcp_pair(&c, &s);
    cr_assert_eq(shutdown(c, SHUT_WR), 0);
    cr_assert_eq(braid_write(c, "x", 1, dl_ms(5000)), -EPIPE);
    braid_close(c);
    braid_close(s);
    return 0;
}

/* braid.h's I/O section: "-EPIPE (writing to a closed peer: no SIGPIPE)"
 * holds for each verb, braid_write included. */
Test(rw, write_to_a_closed_socket_peer_is_epipe_without_sigpipe, .timeout = 30)
{
    sigpipe_kills();
    run_main_1_and_2(main_write_epipe, NULL);
}

static int64_t main_pipe_epipe(void *arg)
{
    (void)arg;
    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    close(p[0]);
    cr_assert_eq(braid_write(p[1], "x", 1, dl_ms(5000)), -EPIPE);
    size_t done = 777;
    cr_assert_eq(braid_write_all(p[1], "xyz", 3, dl_ms(5000), &done), -EPIPE);
    cr_assert_eq(done, 0);
    close(p[1]);
    return 0;
}

/* braid.h: "-EPIPE (writing to a socket or pipe whose reader left: braid's
 * threads block SIGPIPE ...)". The test's own thread leaves it unblocked
 * at its default action. */
Test(rw, write_to_a_pipe_without_reader_is_epipe_without_sigpipe, .timeout = 30)
{
    sigpipe_kills();
    run_main_1_and_2(main_pipe_epipe, NULL);
}

/* ====================================================================== */
/* sock: accept, connect, close, fd_nonblock, tcp_listen, tcp_connect      */
/* ====================================================================== */

typedef struct {
    uint16_t port;
    int64_t delay;
    int fd;
    uint16_t local;
} client_job;

static int64_t client_body(void *arg)
{
    client_job *c = arg;
    cr_assert_eq(braid_sleep(c->delay), 0);
    c->fd = tcp_socket(AF_INET);
    struct sockaddr_in a = v4_loopback(c->port);
    int err = braid_connect(c->fd, (struct sockaddr *)&a, sizeof a, dl_ms(5000));
    cr_assert_eq(err, 0, "connect: %s", braid_strerror(err));
    c->local = local_port(c->fd);
    cr_assert_eq(braid_write_all(c->fd, "hi", 2, dl_ms(5000), NULL), 2);
    return 0;
}

static int64_t main_accept(void *arg)
{
    (void)arg;
    uint16_t port;
    int l = listen_v4(&port);
    /* accept waits for a client that connects 20 ms later. */
    client_job cj = {.port = port, .delay = 20 * MS, .fd = -1};
    braid_task *ct = spawn(client_body, &cj);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len = sizeof ss;
    int64_t t0 = braid_now();
    int fd = braid_accept(l, (struct sockaddr *)&ss, &len, dl_ms(5000));
    cr_assert_geq(fd, 0, "braid_accept: %s", braid_strerror(fd));
    cr_assert_geq(braid_now() - t0, 15 * MS, "accept returned before the client connected");
    cr_assert(is_nonblocking(fd), "accepted fd is non-blocking");
    cr_assert(is_cloexec(fd), "accepted fd is close-on-exec");
    join(ct, 0);
    cr_assert_eq(ss.ss_family, AF_INET);
    cr_assert_eq(len, sizeof(struct sockaddr_in));
    cr_assert_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), cj.local, "addr is the peer's");
    char buf[8];
    cr_assert_eq(braid_read_full(fd, buf, 2, dl_ms(5000), NULL), 2);
    cr_assert_eq(memcmp(buf, "hi", 2), 0);
    braid_close(fd);
    braid_close(cj.fd);
    /* A connection already pending, addr and len NULL. */
    client_job cj2 = {.port = port, .delay = 0, .fd = -1};
    join(spawn(client_body, &cj2), 0);
    fd = braid_accept(l, NULL, NULL, dl_ms(5000));
    cr_assert_geq(fd, 0);
    cr_assert(is_nonblocking(fd));
    cr_assert(is_cloexec(fd));
    braid_close(fd);
    braid_close(cj2.fd);
    braid_close(l);
    /* A socket that does not listen. */
    int s = tcp_socket(AF_INET);
    cr_assert_eq(braid_accept(s, NULL, NULL, dl_ms(1000)), -EINVAL);
    braid_close(s);
    return 0;
}

Test(sock, accept_returns_a_nonblocking_cloexec_fd, .timeout = 30)
{
    run_main_1_and_2(main_accept, NULL);
}

static int64_t main_connect(void *arg)
{
    (void)arg;
    uint16_t port;
    int l = listen_v4(&port);
    int c = tcp_socket(AF_INET);
    struct sockaddr_in a = v4_loopback(port);
    cr_assert_eq(braid_connect(c, (struct sockaddr *)&a, sizeof a, dl_ms(5000)), 0);
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    cr_assert_eq(getpeername(c, (struct sockaddr *)&peer, &plen), 0, "connected");
    int s = braid_accept(l, NULL, NULL, dl_ms(5000));
    cr_assert_geq(s, 0);
    cr_assert_eq(braid_write(c, "!", 1, dl_ms(5000)), 1);
    char ch = 0;
    cr_assert_eq(braid_read(s, &ch, 1, dl_ms(5000)), 1);
    cr_assert_eq(ch, '!');
    braid_close(s);
    braid_close(c);
    braid_close(l);
    /* Nothing listens: refused. */
    uint16_t dead;
    int holder = refusing_port(&dead);
    c = tcp_socket(AF_INET);
    a = v4_loopback(dead);
    int64_t t0 = braid_now();
    cr_assert_eq(braid_connect(c, (struct sockaddr *)&a, sizeof a, dl_ms(5000)), -ECONNREFUSED);
    cr_assert_lt(braid_now() - t0, 1000 * MS);
    braid_close(c);
    close(holder);
    /* IPv6 loopback. */
    if (ipv6_loopback_works()) {
        int l6;
        cr_assert_eq(braid_tcp_listen("::1", "0", 16, &l6), 0);
        struct sockaddr_in6 a6;
        memset(&a6, 0, sizeof a6);
        a6.sin6_family = AF_INET6;
        a6.sin6_addr = in6addr_loopback;
        a6.sin6_port = htons(local_port(l6));
        c = tcp_socket(AF_INET6);
        cr_assert_eq(braid_connect(c, (struct sockaddr *)&a6, sizeof a6, dl_ms(5000)), 0);
        s = braid_accept(l6, NULL, NULL, dl_ms(5000));
        cr_assert_geq(s, 0);
        braid_close(s);
        braid_close(c);
        braid_close(l6);
    }
    return 0;
}

Test(sock, connect_succeeds_or_is_refused, .timeout = 30)
{
    run_main_1_and_2(main_connect, NULL);
}

/* Addresses that should not answer (documentation ranges and a private
 * one). With no network, or a proxy that answers everything, none times
 * out and the test is skipped. */
static const char *const blackholes[] = {"10.255.255.1", "198.51.100.1", "192.0.2.1",
                                         "203.0.113.1"};
static int blackhole_result[4];
static int64_t blackhole_elapsed[4];

static int64_t main_connect_deadline(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4; i++) {
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons(9);
        cr_assert_eq(inet_pton(AF_INET, blackholes[i], &a.sin_addr), 1);
        int c = tcp_socket(AF_INET);
        int64_t t0 = braid_now();
        blackhole_result[i] = braid_connect(c, (struct sockaddr *)&a, sizeof a, t0 + 100 * MS);
        blackhole_elapsed[i] = braid_now() - t0;
        braid_close(c);
        if (blackhole_result[i] == -ETIMEDOUT)
            break;
    }
    return 0;
}

Test(sock, connect_to_an_unreachable_address_times_out, .timeout = 30)
{
    for (int i = 0; i < 4; i++)
        blackhole_result[i] = 1;
    run_main(1, main_connect_deadline, NULL);
    for (int i = 0; i < 4; i++) {
        if (blackhole_result[i] != -ETIMEDOUT)
            continue;
        cr_assert_geq(blackhole_elapsed[i], 95 * MS, "%s: timed out after %lld ms, before the "
                      "100 ms deadline", blackholes[i], ms_of(blackhole_elapsed[i]));
        cr_assert_lt(blackhole_elapsed[i], 1100 * MS, "%s: timed out after %lld ms",
                     blackholes[i], ms_of(blackhole_elapsed[i]));
        return;
    }
    cr_skip_test("no unreachable address here (%s: %s, %s: %s, ...): no network to test a "
                 "connect deadline against", blackholes[0], braid_strerror(blackhole_result[0]),
                 blackholes[1], braid_strerror(blackhole_result[1]));
}

typedef struct {
    int fd;
    atomic_int *started;
} closer_job;

static void *closer_thread(void *arg)
{
    closer_job *c = arg;
    while (atomic_load(c->started) < 2)
        plain_sleep_ms(1);
    plain_sleep_ms(30);
    cr_assert_eq(braid_close(c->fd), 0);
    return NULL;
}

static int64_t main_close_wakes(void *arg)
{
    (void)arg;
    /* A blocked reader and a blocked wait_fd on one fd: braid_close from a
     * coroutine wakes both with -EBADF at once. */
    int sv[2];
    upair(sv);
    fdtask r1, r2;
    braid_task *h1 = start_blocked(&r1, sv[0], OP_READ, dl_ms(10000));
    braid_task *h2 = start_blocked(&r2, sv[0], OP_WAIT_READABLE, dl_ms(10000));
    int64_t t0 = braid_now();
    cr_assert_eq(braid_close(sv[0]), 0);
    join(h1, 0);
    join(h2, 0);
    cr_assert_lt(braid_now() - t0, 500 * MS, "close must wake the waiters at once");
    cr_assert_eq(r1.r, -EBADF, "braid_read: %lld", (long long)r1.r);
    cr_assert_eq(r2.r, -EBADF, "braid_wait_fd: %lld", (long long)r2.r);
    cr_assert_eq(braid_close(sv[0]), -EBADF, "closed already");
    close(sv[1]);
    /* A blocked writer (write_all into a full socket): -EBADF and *done. */
    upair(sv);
    set_bufs(sv[0], 16384, 0);
    size_t n = (size_t)1 << 20;
    char *big = calloc(1, n);
    cr_assert_not_null(big);
    wall_job wj = {.fd = sv[0], .n = n, .buf = big, .r = 12345, .done = 777};
    atomic_init(&wj.started, 0);
    braid_task *wt = spawn(wall_body, &wj);
    wait_count(&wj.started, 1);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    cr_assert_eq(braid_task_done(wt), 0);
    t0 = braid_now();
    cr_assert_eq(braid_close(sv[0]), 0);
    join(wt, 0);
    cr_assert_lt(braid_now() - t0, 500 * MS);
    cr_assert_eq(wj.r, -EBADF, "braid_write_all: %lld", (long long)wj.r);
    cr_assert_eq(wj.done, drain(sv[1]), "*done is what reached the peer");
    cr_assert_gt(wj.done, 0);
    free(big);
    close(sv[1]);
    /* From a plain thread. */
    upair(sv);
    atomic_int started;
    atomic_init(&started, 0);
    fdtask r3, r4;
    fdtask_init(&r3, sv[0], OP_READ, dl_ms(10000));
    fdtask_init(&r4, sv[0], OP_RECV, dl_ms(10000));
    braid_task *h3 = spawn(fdtask_body, &r3);
    braid_task *h4 = spawn(fdtask_body, &r4);
    wait_count(&r3.started, 1);
    wait_count(&r4.started, 1);
    closer_job cj = {.fd = sv[0], .started = &started};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, closer_thread, &cj), 0);
    atomic_store(&started, 2);
    t0 = braid_now();
    join(h3, 0);
    join(h4, 0);
    cr_assert_lt(braid_now() - t0, 1000 * MS);
    cr_assert_eq(r3.r, -EBADF, "braid_read: %lld", (long long)r3.r);
    cr_assert_eq(r4.r, -EBADF, "braid_recv: %lld", (long long)r4.r);
    pthread_join(th, NULL);
    close(sv[1]);
    cr_assert_eq(braid_close(-1), -EBADF);
    return 0;
}

Test(sock, close_wakes_blocked_waiters_with_ebadf, .timeout = 30)
{
    run_main_1_and_2(main_close_wakes, NULL);
}

/* braid_close from a plain thread racing a coroutine that is just about to
 * wait on the fd (its read found nothing; it has not registered yet): the
 * coroutine's call must still end with -EBADF, not sleep to its deadline.
 * The racer closes after a varying spin, so over many rounds the close
 * lands at every point of the reader's way into its wait. */
static atomic_int race_fd, race_ready, race_closed, race_stop;

static void *close_racer(void *arg)
{
    (void)arg;
    for (unsigned i = 0;; i++) {
        while (!atomic_load(&race_ready))
            if (atomic_load(&race_stop))
                return NULL;
        int fd = atomic_load(&race_fd);
        atomic_store(&race_ready, 0);
        for (volatile unsigned k = 0; k < (i * 7) % 2048; k++)
            ;
        braid_close(fd);
        atomic_store(&race_closed, 1);
    }
}

static int64_t main_close_race(void *arg)
{
    (void)arg;
    atomic_store(&race_ready, 0);
    atomic_store(&race_closed, 0);
    atomic_store(&race_stop, 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, close_racer, NULL), 0);
    int64_t end = braid_now() + 3 * SEC;
    int rounds = 0;
    while (braid_now() < end || rounds < 1000) {
        int sv[2];
        upair(sv);
        atomic_store(&race_fd, sv[0]);
        atomic_store(&race_ready, 1);
        char c;
        int64_t t0 = braid_now();
        ssize_t r = braid_read(sv[0], &c, 1, t0 + 500 * MS);
        int64_t el = braid_now() - t0;
        while (!atomic_load(&race_closed))
            ;
        atomic_store(&race_closed, 0);
        close(sv[1]);
        if (r != -EBADF) {
            atomic_store(&race_stop, 1);
            pthread_join(th, NULL);
        }
        cr_assert_eq(r, -EBADF, "round %d: braid_close raced a braid_read entering its wait; "
                     "the read returned %lld (%s) after %lld ms: its wake-up was lost", rounds,
                     (long long)r, braid_strerror((int)r), ms_of(el));
        rounds++;
    }
    atomic_store(&race_stop, 1);
    pthread_join(th, NULL);
    cr_log_info("close race: %d rounds", rounds);
    return 0;
}

Test(sock, close_racing_a_reader_about_to_wait_still_wakes_it, .timeout = 60)
{
    run_main(1, main_close_race, NULL);
}

static int64_t main_fd_nonblock(void *arg)
{
    (void)arg;
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    cr_assert(!is_nonblocking(p[0]));
    cr_assert_eq(braid_fd_nonblock(p[0]), 0);
    cr_assert(is_nonblocking(p[0]));
    cr_assert_eq(braid_fd_nonblock(p[0]), 0, "idempotent");
    cr_assert(is_nonblocking(p[0]));
    cr_assert_eq(braid_fd_nonblock(p[1]), 0);
    /* The verbs now wait on it as on a socket. */
    writer_job w = {.fd = p[1], .delay = 20 * MS, .chunks = {"pipe", NULL}};
    braid_task *wt = spawn(writer_body, &w);
    char buf[8];
    cr_assert_eq(braid_read_full(p[0], buf, 4, dl_ms(5000), NULL), 4);
    cr_assert_eq(memcmp(buf, "pipe", 4), 0);
    join(wt, 0);
    close(p[0]);
    close(p[1]);
    cr_assert_eq(braid_fd_nonblock(-1), -EBADF);
    cr_assert_eq(braid_fd_nonblock(p[0]), -EBADF);
    return 0;
}

Test(sock, fd_nonblock_sets_o_nonblock, .timeout = 30)
{
    run_main_1_and_2(main_fd_nonblock, NULL);
    /* Not a waiting call: any thread. */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    cr_assert_eq(braid_fd_nonblock(p[1]), 0);
    cr_assert(is_nonblocking(p[1]));
    close(p[0]);
    close(p[1]);
}

/* Connect to 127.0.0.1 (or ::1) at l's port and check one byte each way. */
static void check_reachable(int l, int family)
{
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)local_port(l));
    int c = -1;
    const char *host = family == AF_INET6 ? "::1" : "127.0.0.1";
    int err = braid_tcp_connect(host, port, dl_ms(5000), &c);
    cr_assert_eq(err, 0, "tcp_connect %s:%s: %s", host, port, braid_strerror(err));
    int s = braid_accept(l, NULL, NULL, dl_ms(5000));
    cr_assert_geq(s, 0, "accept: %s", braid_strerror(s));
    char ch = 0;
    cr_assert_eq(braid_write(c, "?", 1, dl_ms(5000)), 1);
    cr_assert_eq(braid_read(s, &ch, 1, dl_ms(5000)), 1);
    cr_assert_eq(braid_write(s, "!", 1, dl_ms(5000)), 1);
    cr_assert_eq(braid_read(c, &ch, 1, dl_ms(5000)), 1);
    cr_assert_eq(ch, '!');
    braid_close(s);
    braid_close(c);
}

static void check_listener(int l)
{
    cr_assert(is_nonblocking(l));
    cr_assert(is_cloexec(l));
    int v = 0;
    socklen_t len = sizeof v;
    cr_assert_eq(getsockopt(l, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
    cr_assert_neq(v, 0, "SO_REUSEADDR is set");
    len = sizeof v;
    cr_assert_eq(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
    cr_assert_neq(v, 0, "listening");
    cr_assert_neq(local_port(l), 0, "port 0 picks a free port");
}

static int64_t main_tcp_listen(void *arg)
{
    (void)arg;
    bool v6 = ipv6_loopback_works();
    int l = -1;
    /* IPv4 loopback. */
    cr_assert_eq(braid_tcp_listen("127.0.0.1", "0", 16, &l), 0);
    check_listener(l);
    cr_assert_eq(sock_family(l), AF_INET);
    check_reachable(l, AF_INET);
    /* The port is taken now. */
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)local_port(l));
    int l2 = -1;
    cr_assert_eq(braid_tcp_listen("127.0.0.1", port, 16, &l2), -EADDRINUSE);
    braid_close(l);
    /* IPv6 loopback. */
    if (v6) {
        cr_assert_eq(braid_tcp_listen("::1", "0", 16, &l), 0);
        check_listener(l);
        cr_assert_eq(sock_family(l), AF_INET6);
        check_reachable(l, AF_INET6);
        braid_close(l);
    }
    /* Every address: NULL and "" alike; IPv4 clients get in either way. */
    const char *hosts[] = {NULL, ""};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(braid_tcp_listen(hosts[i], "0", 0, &l), 0);
        check_listener(l);
        int fam = sock_family(l);
        cr_assert(fam == AF_INET || fam == AF_INET6);
        check_reachable(l, AF_INET);
        if (fam == AF_INET6 && v6)
            check_reachable(l, AF_INET6);
        braid_close(l);
    }
    /* Errors. */
    cr_assert_eq(braid_tcp_listen("127.0.0.1", NULL, 16, &l), -EINVAL);
    cr_assert_eq(braid_tcp_listen("127.0.0.1", "0", 16, NULL), -EINVAL);
    int err = braid_tcp_listen("no-such-host.invalid", "0", 16, &l);
    cr_assert_lt(err, 0, "listen on an unknown host name succeeded");
    return 0;
}

Test(sock, tcp_listen_ipv4_ipv6_and_every_address, .timeout = 60)
{
    run_main_1_and_2(main_tcp_listen, NULL);
}

static int64_t main_tcp_connect(void *arg)
{
    (void)arg;
    int l = -1;
    cr_assert_eq(braid_tcp_listen(NULL, "0", 16, &l), 0);
    char port[16];
    snprintf(port, sizeof port, "%u", (unsigned)local_port(l));
    const char *hosts[] = {"localhost", "127.0.0.1", "::1"};
    int nhosts = sock_family(l) == AF_INET6 && ipv6_loopback_works() ? 3 : 2;
    for (int i = 0; i < nhosts; i++) {
        int c = -1;
        int err = braid_tcp_connect(hosts[i], port, dl_ms(5000), &c);
        cr_assert_eq(err, 0, "tcp_connect %s: %s", hosts[i], braid_strerror(err));
        cr_assert(is_nonblocking(c), "%s: non-blocking", hosts[i]);
        cr_assert(is_cloexec(c), "%s: close-on-exec", hosts[i]);
        int s = braid_accept(l, NULL, NULL, dl_ms(5000));
        cr_assert_geq(s, 0);
        cr_assert_eq(braid_write_all(c, "ping", 4, dl_ms(5000), NULL), 4);
        char buf[4];
        cr_assert_eq(braid_read_full(s, buf, 4, dl_ms(5000), NULL), 4);
        cr_assert_eq(memcmp(buf, "ping", 4), 0);
        braid_close(s);
        braid_close(c);
    }
    braid_close(l);
    /* Refused. */
    uint16_t dead;
    int holder = refusing_port(&dead);
    snprintf(port, sizeof port, "%u", (unsigned)dead);
    int c = 12345;
    cr_assert_eq(braid_tcp_connect("127.0.0.1", port, dl_ms(5000), &c), -ECONNREFUSED);
    close(holder);
    /* An unknown host (there may be no DNS at all: any error will do). */
    int err = braid_tcp_connect("no-such-host.invalid", "80", dl_ms(20000), &c);
    cr_assert_lt(err, 0, "tcp_connect to no-such-host.invalid succeeded");
    /* Bad arguments. */
    cr_assert_eq(braid_tcp_connect(NULL, "80", dl_ms(1000), &c), -EINVAL);
    cr_assert_eq(braid_tcp_connect("127.0.0.1", NULL, dl_ms(1000), &c), -EINVAL);
    cr_assert_eq(braid_tcp_connect("127.0.0.1", "80", dl_ms(1000), NULL), -EINVAL);
    return 0;
}

Test(sock, tcp_connect_by_name_and_number, .timeout = 60)
{
    run_main_1_and_2(main_tcp_connect, NULL);
}

/* ====================================================================== */
/* deadline and cancel, for every waiting verb                             */
/* ====================================================================== */

enum verb {
    V_WAIT_READABLE,
    V_WAIT_WRITABLE,
    V_READ,
    V_RECV,
    V_WRITE,
    V_SEND,
    V_READ_FULL,
    V_WRITE_ALL,
    V_ACCEPT,
    V_COUNT
};

static const char *const verb_name[V_COUNT] = {
    "wait_fd(READABLE)", "wait_fd(WRITABLE)", "read", "recv", "write", "send",
    "read_full", "write_all", "accept",
};

static char wbig[1 << 20];

typedef struct {
    enum verb v;
    int fd, peer;
    int64_t deadline;
    ssize_t r;
    size_t done;
    char buf[16];
    atomic_int started;
} vjob;

/* Fresh fds on which v must wait: an empty socket to read, a full one to
 * write, a listener with no client. read_full finds 3 of its 10 bytes. */
static void vjob_setup(vjob *j, enum verb v)
{
    memset(j, 0, sizeof *j);
    j->v = v;
    j->r = 12345;
    j->done = 777;
    atomic_init(&j->started, 0);
    if (v == V_ACCEPT) {
        uint16_t port;
        j->fd = listen_v4(&port);
        j->peer = -1;
        return;
    }
    int sv[2];
    upair(sv);
    j->fd = sv[0];
    j->peer = sv[1];
    set_bufs(j->fd, 16384, 0);
    if (v == V_WAIT_WRITABLE || v == V_WRITE || v == V_SEND)
        fill(j->fd);
    if (v == V_READ_FULL)
        cr_assert_eq(write(j->peer, "abc", 3), 3);
}

static void vjob_run(vjob *j)
{
    atomic_store(&j->started, 1);
    switch (j->v) {
    case V_WAIT_READABLE:
        j->r = braid_wait_fd(j->fd, BRAID_READABLE, j->deadline);
        break;
    case V_WAIT_WRITABLE:
        j->r = braid_wait_fd(j->fd, BRAID_WRITABLE, j->deadline);
        break;
    case V_READ:
        j->r = braid_read(j->fd, j->buf, sizeof j->buf, j->deadline);
        break;
    case V_RECV:
        j->r = braid_recv(j->fd, j->buf, sizeof j->buf, 0, j->deadline);
        break;
    case V_WRITE:
        j->r = braid_write(j->fd, "w", 1, j->deadline);
        break;
    case V_SEND:
        j->r = braid_send(j->fd, "s", 1, 0, j->deadline);
        break;
    case V_READ_FULL:
        j->r = braid_read_full(j->fd, j->buf, 10, j->deadline, &j->done);
        break;
    case V_WRITE_ALL:
        j->r = braid_write_all(j->fd, wbig, sizeof wbig, j->deadline, &j->done);
        break;
    case V_ACCEPT:
        j->r = braid_accept(j->fd, NULL, NULL, j->deadline);
        break;
    default:
        break;
    }
}

static int64_t vjob_body(void *arg)
{
    vjob_run(arg);
    return 0;
}

/* After v failed with err: it reports what it moved, the fd is registered
 * in no epoll instance, and it still works. */
static void vjob_check_after(vjob *j, int err, const char *why)
{
    const char *name = verb_name[j->v];
    cr_assert_eq(j->r, err, "%s (%s): returned %lld (%s), expected %s", name, why,
                 (long long)j->r, braid_strerror((int)j->r), braid_strerror(err));
    /* An fd braid made (the listener: braid_tcp_listen) stays registered,
     * edge-triggered, in one instance until braid_close; any other fd is
     * registered per wait, and in none after. */
    int held = epoll_holders(j->fd);
    int want = j->v == V_ACCEPT ? 1 : 0;
    cr_assert_eq(held, want, "%s (%s): the fd is registered in %d epoll instance(s), not %d",
                 name, why, held, want);
    if (j->v == V_READ_FULL) {
        cr_assert_eq(j->done, 3, "%s (%s): *done %zu", name, why, j->done);
        cr_assert_eq(memcmp(j->buf, "abc", 3), 0);
    }
    if (j->v == V_WRITE_ALL) {
        size_t got = drain(j->peer);
        cr_assert_gt(j->done, 0, "%s (%s): the first bytes went at once", name, why);
        cr_assert_lt(j->done, sizeof wbig);
        cr_assert_eq(got, j->done, "%s (%s): *done %zu but the peer got %zu", name, why, j->done,
                     got);
    }
    /* Still usable, with a new waiting call. */
    char buf[8];
    switch (j->v) {
    case V_ACCEPT: {
        struct sockaddr_in a = v4_loopback(local_port(j->fd));
        int c = tcp_socket(AF_INET);
        cr_assert_eq(braid_connect(c, (struct sockaddr *)&a, sizeof a, dl_ms(5000)), 0);
        int s = braid_accept(j->fd, NULL, NULL, dl_ms(5000));
        cr_assert_geq(s, 0, "%s (%s): a later accept: %s", name, why, braid_strerror(s));
        braid_close(s);
        braid_close(c);
        break;
    }
    case V_WAIT_READABLE:
    case V_READ:
    case V_RECV:
    case V_READ_FULL:
        cr_assert_eq(write(j->peer, "ok", 2), 2);
        cr_assert_eq(braid_read(j->fd, buf, sizeof buf, dl_ms(5000)), 2, "%s (%s): a later read",
                     name, why);
        cr_assert_eq(memcmp(buf, "ok", 2), 0);
        break;
    default:
        drain(j->peer);
        cr_assert_eq(braid_write(j->fd, "ok", 2, dl_ms(5000)), 2, "%s (%s): a later write", name,
                     why);
        cr_assert_eq(braid_read(j->peer, buf, sizeof buf, dl_ms(5000)), 2);
        cr_assert_eq(memcmp(buf, "ok", 2), 0);
        break;
    }
}

static void vjob_teardown(vjob *j)
{
    braid_close(j->fd);
    if (j->peer >= 0)
        close(j->peer);
}

static int64_t main_deadlines(void *arg)
{
    (void)arg;
    for (int v = 0; v < V_COUNT; v++) {
        vjob j;
        vjob_setup(&j, (enum verb)v);
        int64_t t0 = braid_now();
        j.deadline = t0 + 50 * MS;
        vjob_run(&j);
        int64_t el = braid_now() - t0;
        cr_assert_eq(j.r, -ETIMEDOUT, "%s: %lld (%s)", verb_name[v], (long long)j.r,
                     braid_strerror((int)j.r));
        cr_assert_geq(el, 45 * MS, "%s: a 50 ms deadline fired after %lld ms", verb_name[v],
                      ms_of(el));
        cr_assert_lt(el, 1050 * MS, "%s: a 50 ms deadline fired after %lld ms", verb_name[v],
                     ms_of(el));
        vjob_check_after(&j, -ETIMEDOUT, "deadline");
        vjob_teardown(&j);
    }
    return 0;
}

Test(deadline, every_waiting_verb_times_out_and_leaves_the_fd_usable, .timeout = 30)
{
    run_main_1_and_2(main_deadlines, NULL);
}

static int64_t main_cancel_every_verb(void *arg)
{
    (void)arg;
    for (int v = 0; v < V_COUNT; v++) {
        vjob j;
        vjob_setup(&j, (enum verb)v);
        j.deadline = BRAID_FOREVER;
        braid_task *t = spawn(vjob_body, &j);
        wait_count(&j.started, 1);
        cr_assert_eq(braid_sleep(20 * MS), 0);
        cr_assert_eq(braid_task_done(t), 0, "%s did not wait: %lld", verb_name[v], (long long)j.r);
        int64_t t0 = braid_now();
        cr_assert_eq(braid_cancel(t), 1);
        join(t, 0);
        int64_t el = braid_now() - t0;
        cr_assert_lt(el, 500 * MS, "%s: the cancel took %lld ms", verb_name[v], ms_of(el));
        vjob_check_after(&j, -ECANCELED, "cancel");
        vjob_teardown(&j);
    }
    return 0;
}

Test(cancel, every_waiting_verb_returns_ecanceled_and_leaves_the_fd_usable_and_unregistered,
     .timeout = 30)
{
    run_main_1_and_2(main_cancel_every_verb, NULL);
}

static int64_t main_cancel_read(void *arg)
{
    (void)arg;
    int sv[2];
    upair(sv);
    fdtask t;
    braid_task *h = start_blocked(&t, sv[0], OP_READ, BRAID_FOREVER);
    int64_t t0 = braid_now();
    cr_assert_eq(braid_cancel(h), 1);
    join(h, 0);
    cr_assert_lt(braid_now() - t0, 500 * MS, "the cancel must wake the reader at once");
    cr_assert_eq(t.r, -ECANCELED, "braid_read: %lld", (long long)t.r);
    cr_assert_eq(epoll_holders(sv[0]), 0, "a cancelled wait leaves the fd registered nowhere");
    /* Usable: a plain read gets what the peer writes now. */
    cr_assert_eq(write(sv[1], "abc", 3), 3);
    char buf[8];
    cr_assert_eq(read(sv[0], buf, sizeof buf), 3);
    cr_assert_eq(memcmp(buf, "abc", 3), 0);
    /* A new braid_read waits and is woken as usual. */
    h = start_blocked(&t, sv[0], OP_READ, dl_ms(5000));
    cr_assert_eq(write(sv[1], "def", 3), 3);
    join(h, 0);
    cr_assert_eq(t.r, 3);
    cr_assert_eq(memcmp(t.buf, "def", 3), 0);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

Test(cancel, cancelled_read_returns_ecanceled_and_the_fd_stays_usable, .timeout = 30)
{
    run_main_1_and_2(main_cancel_read, NULL);
}

/* Moves the calling task to worker `want` (2 workers): sleeps until a
 * wake-up lands it there. False if that did not happen in time. */
static bool move_to_worker(int want)
{
    int64_t give_up = braid_now() + 2 * SEC;
    while (braid_worker_id() != want) {
        if (braid_now() > give_up)
            return false;
        cr_assert_eq(braid_sleep((int64_t)(braid_rand_u64() % 3) * 100000), 0);
    }
    return true;
}

typedef struct {
    int fd;
    int want;
    bool placed;
    int worker;
    ssize_t r;
    char buf[8];
    atomic_int started;
} placed_read;

static int64_t placed_read_body(void *arg)
{
    placed_read *p = arg;
    p->placed = move_to_worker(p->want);
    p->worker = braid_worker_id();
    atomic_store(&p->started, 1);
    p->r = braid_read(p->fd, p->buf, sizeof p->buf, BRAID_FOREVER);
    return 0;
}

/* The fd was waited on (successfully) from one worker, then a wait from
 * the other worker is cancelled: the fd must be registered nowhere, in
 * neither worker's instance. */
static int64_t main_cancel_after_other_worker(void *arg)
{
    (void)arg;
    int tries = 0;
    for (int round = 0; round < 2; round++) {
        int sv[2];
        upair(sv);
        placed_read a = {.fd = sv[0], .want = round};
        atomic_init(&a.started, 0);
        braid_task *ha = spawn(placed_read_body, &a);
        wait_count(&a.started, 1);
        cr_assert_eq(braid_sleep(20 * MS), 0);
        cr_assert_eq(write(sv[1], "1", 1), 1);
        join(ha, 0);
        cr_assert_eq(a.r, 1);
        placed_read b = {.fd = sv[0], .want = 1 - round};
        atomic_init(&b.started, 0);
        braid_task *hb = spawn(placed_read_body, &b);
        wait_count(&b.started, 1);
        cr_assert_eq(braid_sleep(20 * MS), 0);
        cr_assert_eq(braid_task_done(hb), 0);
        cr_assert_eq(braid_cancel(hb), 1);
        join(hb, 0);
        cr_assert_eq(b.r, -ECANCELED);
        if (a.placed && b.placed) {
            tries++;
            int held = epoll_holders(sv[0]);
            cr_assert_eq(held, 0, "read on worker %d, then a cancelled read on worker %d: the fd "
                         "is still registered in %d epoll instance(s)", a.worker, b.worker, held);
        }
        close(sv[0]);
        close(sv[1]);
    }
    if (tries == 0)
        cr_log_warn("could not place the readers on distinct workers; nothing checked");
    return 0;
}

Test(cancel, a_cancelled_wait_leaves_no_registration_in_any_workers_instance, .timeout = 30)
{
    run_main(2, main_cancel_after_other_worker, NULL);
}

/* Two waiters on one fd: cancelling one leaves the other waiting, and
 * data wakes it. */
static int64_t main_cancel_one_of_two(void *arg)
{
    (void)arg;
    for (int order = 0; order < 2; order++) {
        int sv[2];
        upair(sv);
        fdtask a, b;
        enum op first = order == 0 ? OP_WAIT_READABLE : OP_READ;
        enum op second = order == 0 ? OP_READ : OP_WAIT_READABLE;
        braid_task *ha = start_blocked(&a, sv[0], first, dl_ms(10000));
        braid_task *hb = start_blocked(&b, sv[0], second, dl_ms(10000));
        cr_assert_eq(braid_cancel(ha), 1);
        join(ha, 0);
        cr_assert_eq(a.r, -ECANCELED);
        cr_assert_eq(braid_sleep(20 * MS), 0);
        cr_assert_eq(braid_task_done(hb), 0, "the other waiter woke: %lld", (long long)b.r);
        cr_assert_eq(write(sv[1], "z", 1), 1);
        join(hb, 0);
        if (second == OP_READ) {
            cr_assert_eq(b.r, 1);
            cr_assert_eq(b.buf[0], 'z');
        } else {
            cr_assert_gt(b.r, 0);
            cr_assert(b.r & BRAID_READABLE);
            char c;
            cr_assert_eq(read(sv[0], &c, 1), 1, "wait_fd took nothing");
        }
        close(sv[0]);
        close(sv[1]);
    }
    return 0;
}

Test(cancel, cancelling_one_of_two_waiters_leaves_the_other_waiting, .timeout = 30)
{
    run_main_1_and_2(main_cancel_one_of_two, NULL);
}

/* A cancel racing the data: either the read got the byte (and the cancel
 * comes at the next waiting call), or it returned -ECANCELED and the byte
 * is still in the socket. Never both, never neither. */
typedef struct {
    int fd;
    ssize_t r;
    char c;
    int next;
    atomic_int started;
    atomic_int cancel_sent;
} race_reader;

static int64_t race_reader_body(void *arg)
{
    race_reader *rr = arg;
    atomic_store(&rr->started, 1);
    rr->r = braid_read(rr->fd, &rr->c, 1, dl_ms(10000));
    if (rr->r == -ECANCELED)
        return 0;
    /* Got the byte first: the cancel must still come, exactly once. */
    int64_t give_up = dl_ms(10000);
    for (;;) {
        int sent = atomic_load(&rr->cancel_sent);
        int e = braid_yield();
        if (e == -ECANCELED || sent || braid_now() > give_up) {
            rr->next = e;
            break;
        }
    }
    return 0;
}

static int64_t main_cancel_race(void *arg)
{
    (void)arg;
    int sv[2];
    upair(sv);
    int got = 0, cancelled = 0;
    for (int i = 0; i < 300; i++) {
        race_reader rr = {.fd = sv[0], .r = 12345, .next = 12345};
        atomic_init(&rr.started, 0);
        atomic_init(&rr.cancel_sent, 0);
        braid_task *h = spawn(race_reader_body, &rr);
        wait_count(&rr.started, 1);
        if (i % 2 == 1)
            cr_assert_eq(braid_yield(), 0);
        cr_assert_eq(write(sv[1], "b", 1), 1);
        /* Cancel at once, after a yield (a poll may deliver the data
         * first), or after a short spin (the other worker may). */
        if (i % 3 == 1)
            cr_assert_eq(braid_yield(), 0);
        else if (i % 3 == 2)
            spin_ms(0.01 * (i % 7));
        cr_assert_eq(braid_cancel(h), 1, "round %d: the reader ended before its cancel", i);
        atomic_store(&rr.cancel_sent, 1);
        join(h, 0);
        char c;
        ssize_t left = read(sv[0], &c, 1);
        if (rr.r == 1) {
            got++;
            cr_assert_eq(rr.c, 'b');
            cr_assert_eq(left, -1, "round %d: the byte was read twice", i);
            cr_assert_eq(rr.next, -ECANCELED, "round %d: read won, then the cancel was lost "
                         "(next waiting call: %d)", i, rr.next);
        } else {
            cancelled++;
            cr_assert_eq(rr.r, -ECANCELED, "round %d: read returned %lld", i, (long long)rr.r);
            cr_assert_eq(left, 1, "round %d: a cancelled read consumed the byte", i);
        }
    }
    cr_log_info("cancel race: %d reads won, %d cancels won", got, cancelled);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

Test(cancel, a_cancel_racing_the_data_loses_no_byte, .timeout = 60)
{
    run_main_1_and_2(main_cancel_race, NULL);
}

/* ====================================================================== */
/* reset                                                                   */
/* ====================================================================== */

static void reset_close(int fd)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    cr_assert_eq(close(fd), 0);
}

static int64_t main_reset(void *arg)
{
    (void)arg;
    /* The reset arrives while the reader waits. */
    int c, s;
    tcp_pair(&c, &s);
    fdtask t;
    braid_task *h = start_blocked(&t, c, OP_READ, dl_ms(10000));
    int64_t t0 = braid_now();
    reset_close(s);
    join(h, 0);
    cr_assert_lt(braid_now() - t0, 1000 * MS);
    cr_assert_eq(t.r, -ECONNRESET, "braid_read: %lld (%s)", (long long)t.r,
                 braid_strerror((int)t.r));
    braid_close(c);
    /* The reset came before the read; recv alike. */
    tcp_pair(&c, &s);
    reset_close(s);
    cr_assert_eq(braid_sleep(20 * MS), 0);
    char buf[8];
    cr_assert_eq(braid_read(c, buf, sizeof buf, dl_ms(5000)), -ECONNRESET);
    braid_close(c);
    tcp_pair(&c, &s);
    h = start_blocked(&t, c, OP_RECV, dl_ms(10000));
    reset_close(s);
    join(h, 0);
    cr_assert_eq(t.r, -ECONNRESET, "braid_recv: %lld", (long long)t.r);
    braid_close(c);
    return 0;
}

Test(reset, a_peer_reset_is_econnreset, .timeout = 30)
{
    run_main_1_and_2(main_reset, NULL);
}

/* ====================================================================== */
/* emfile                                                                  */
/* ====================================================================== */

/* Runs in a forked child: no Criterion asserts; a failure is a message. */
typedef struct {
    char msg[256];
} child_report;

#define CHILD_FAIL(rep, ...)                                                                 \
    do {                                                                                     \
        snprintf((rep)->msg, sizeof (rep)->msg, __VA_ARGS__);                                \
        return 1;                                                                            \
    } while (0)

typedef struct {
    struct sockaddr_in addr;
    int fd;
    int err;
} child_client;

static int64_t child_client_body(void *arg)
{
    child_client *c = arg;
    braid_sleep(10 * MS);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return c->err = -errno;
    c->err = braid_connect(c->fd, (struct sockaddr *)&c->addr, sizeof c->addr, dl_ms(5000));
    return 0;
}

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int64_t emfile_main(void *arg)
{
    child_report *rep = arg;
    int l = -1;
    int err = braid_tcp_listen("127.0.0.1", "0", 16, &l);
    if (err != 0)
        CHILD_FAIL(rep, "tcp_listen: %s", braid_strerror(err));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(l, (struct sockaddr *)&ss, &sl);
    /* A first connection through an accept that waits, so the listener has
     * been registered with the reactor. */
    child_client c1 = {.addr = *(struct sockaddr_in *)&ss, .fd = -1};
    braid_task *t;
    if (braid_spawn(&t, child_client_body, &c1) != 0)
        CHILD_FAIL(rep, "spawn");
    int s1 = braid_accept(l, NULL, NULL, dl_ms(5000));
    braid_await(t, NULL);
    braid_task_release(t);
    if (s1 < 0 || c1.err != 0)
        CHILD_FAIL(rep, "first connection: accept %s, connect %s", braid_strerror(s1),
                   braid_strerror(c1.err));
    /* A second one stays pending. */
    child_client c2 = {.addr = c1.addr, .fd = -1};
    child_client_body(&c2);
    if (c2.err != 0)
        CHILD_FAIL(rep, "second connect: %s", braid_strerror(c2.err));
    /* Out of fds. */
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = 128;
    if (setrlimit(RLIMIT_NOFILE, &low) != 0)
        CHILD_FAIL(rep, "setrlimit: %s", strerror(errno));
    int held[160];
    int nheld = 0;
    for (;;) {
        int d = dup(c2.fd);
        if (d < 0) {
            if (errno != EMFILE)
                CHILD_FAIL(rep, "dup: %s", strerror(errno));
            break;
        }
        if (nheld == 160)
            CHILD_FAIL(rep, "no EMFILE after %d dups", nheld);
        held[nheld++] = d;
    }
    int64_t t0 = braid_now();
    int r = braid_accept(l, NULL, NULL, t0 + 2 * SEC);
    int64_t el = braid_now() - t0;
    if (r != -EMFILE && r != -ENFILE)
        CHILD_FAIL(rep, "accept with no fd left returned %d (%s), expected -EMFILE", r,
                   r < 0 ? braid_strerror(r) : "an fd");
    if (el > 1 * SEC)
        CHILD_FAIL(rep, "accept took %lld ms to return -EMFILE: it was retried", ms_of(el));
    /* Nothing spins: idle for 300 ms costs (almost) no CPU. */
    double cpu0 = cpu_ms();
    int64_t w0 = braid_now();
    braid_sleep(300 * MS);
    double used = cpu_ms() - cpu0;
    if (used > 100)
        CHILD_FAIL(rep, "%.0f ms of CPU over %lld ms of idle sleep after -EMFILE", used,
                   ms_of(braid_now() - w0));
    /* The listener stays readable: again -EMFILE, then, with fds back,
     * the pending connection. */
    r = braid_accept(l, NULL, NULL, dl_ms(2000));
    if (r != -EMFILE && r != -ENFILE)
        CHILD_FAIL(rep, "second accept with no fd left: %d", r);
    for (int i = 0; i < nheld; i++)
        braid_close(held[i]);
    setrlimit(RLIMIT_NOFILE, &old);
    r = braid_accept(l, NULL, NULL, dl_ms(5000));
    if (r < 0)
        CHILD_FAIL(rep, "accept once fds are back: %s", braid_strerror(r));
    braid_close(r);
    braid_close(s1);
    braid_close(c1.fd);
    braid_close(c2.fd);
    braid_close(l);
    return 0;
}

static void run_in_child(unsigned nw, braid_fn fn, const char *what)
{
    int p[2];
    cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(p[0]);
        child_report rep;
        memset(&rep, 0, sizeof rep);
        braid_rt_opts o;
        braid_rt_opts_init(&o);
        o.workers = nw;
        braid_rt *rt;
        int64_t res = 1;
        int st = braid_rt_new(&rt, &o);
        if (st == 0) {
            st = braid_rt_block_on(rt, fn, &rep, &res);
            braid_rt_free(rt);
        }
        if (st != 0 && rep.msg[0] == '\0')
            snprintf(rep.msg, sizeof rep.msg, "runtime: %s", braid_strerror(st));
        ssize_t k = write(p[1], rep.msg, strlen(rep.msg));
        (void)k;
        _exit(st == 0 && res == 0 ? 0 : 1);
    }
    close(p[1]);
    int status = 0;
    int64_t give_up = braid_now() + 25 * SEC;
    pid_t w;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && braid_now() < give_up)
        plain_sleep_ms(10);
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    char msg[257];
    ssize_t k = read(p[0], msg, sizeof msg - 1);
    msg[k > 0 ? k : 0] = '\0';
    close(p[0]);
    cr_assert_neq(w, 0, "%s (%u workers): the child hung", what, nw);
    cr_assert(WIFEXITED(status), "%s (%u workers): the child died of signal %d", what, nw,
              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    cr_assert_eq(WEXITSTATUS(status), 0, "%s (%u workers): %s", what, nw, msg);
}

Test(emfile, accept_out_of_fds_returns_emfile_and_nothing_spins, .timeout = 60)
{
    for (unsigned nw = 1; nw <= 2; nw++)
        run_in_child(nw, emfile_main, "EMFILE");
}

/* ====================================================================== */
/* echo: many concurrent connections                                       */
/* ====================================================================== */

typedef struct {
    int n;
    int lfd;
    struct sockaddr_in addr;
    braid_event *all_echoed;
    atomic_int echoed;
    atomic_int failed;
    atomic_int first_err;
    atomic_int acceptor_started;
} echo_ctx;

static echo_ctx echo_g;

static int64_t echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[512];
    ssize_t r;
    while ((r = braid_read(fd, buf, sizeof buf, BRAID_FOREVER)) > 0) {
        ssize_t w = braid_write_all(fd, buf, (size_t)r, BRAID_FOREVER, NULL);
        if (w < 0) {
            r = w;
            break;
        }
    }
    braid_close(fd);
    return r < 0 ? r : 0;
}

static int64_t echo_acceptor(void *arg)
{
    echo_ctx *e = arg;
    braid_group *g;
    int err = braid_group_new(&g);
    if (err != 0)
        return err;
    atomic_store(&e->acceptor_started, 1);
    int st = 0;
    for (int i = 0; i < e->n; i++) {
        int fd = braid_accept(e->lfd, NULL, NULL, dl_ms(60000));
        if (fd < 0) {
            st = fd;
            break;
        }
        err = braid_group_spawn(g, NULL, echo_conn, ARG(fd));
        if (err != 0) {
            braid_close(fd);
            st = err;
            break;
        }
    }
    int gst = braid_group_wait(g);
    braid_group_free(g);
    return st != 0 ? st : gst;
}

static void echo_fail(echo_ctx *e, int err)
{
    int zero = 0;
    atomic_compare_exchange_strong(&e->first_err, &zero, err);
    atomic_fetch_add(&e->failed, 1);
    braid_event_set(e->all_echoed); /* nobody waits for the full count now */
}

static int64_t echo_client(void *arg)
{
    echo_ctx *e = &echo_g;
    int i = (int)(intptr_t)arg;
    int64_t deadline = dl_ms(60000);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        echo_fail(e, -errno);
        return -errno;
    }
    char msg[64], back[64];
    int len = snprintf(msg, sizeof msg, "hello from client %d of %d", i, e->n);
    int err = braid_connect(fd, (struct sockaddr *)&e->addr, sizeof e->addr, deadline);
    if (err == 0) {
        ssize_t r = braid_write_all(fd, msg, (size_t)len, deadline, NULL);
        if (r < 0)
            err = (int)r;
    }
    if (err == 0) {
        ssize_t r = braid_read_full(fd, back, (size_t)len, deadline, NULL);
        if (r != len)
            err = r < 0 ? (int)r : -EPROTO;
        else if (memcmp(msg, back, (size_t)len) != 0)
            err = -EILSEQ;
    }
    if (err == 0) {
        /* Hold the connection until every client has its echo: all n are
         * open at once. */
        if (atomic_fetch_add(&e->echoed, 1) + 1 == e->n)
            braid_event_set(e->all_echoed);
        err = braid_event_wait_until(e->all_echoed, deadline);
    }
    if (err != 0)
        echo_fail(e, err);
    braid_close(fd);
    return err;
}

static int64_t echo_round(void *arg)
{
    echo_ctx *e = arg;
    cr_assert_eq(braid_tcp_listen("127.0.0.1", "0", 65535, &e->lfd), 0);
    e->addr = v4_loopback(local_port(e->lfd));
    cr_assert_eq(braid_event_new(&e->all_echoed), 0);
    atomic_store(&e->echoed, 0);
    atomic_store(&e->failed, 0);
    atomic_store(&e->first_err, 0);
    atomic_store(&e->acceptor_started, 0);
    braid_task *acc = spawn(echo_acceptor, e);
    wait_count(&e->acceptor_started, 1);
    braid_task **cl = malloc((size_t)e->n * sizeof *cl);
    cr_assert_not_null(cl);
    for (int i = 0; i < e->n; i++) {
        cl[i] = spawn(echo_client, ARG(i));
        if (i % 64 == 63)
            cr_assert_eq(braid_yield(), 0); /* let the acceptor keep up */
    }
    int bad = 0, first = 0;
    for (int i = 0; i < e->n; i++) {
        int st = braid_await(cl[i], NULL);
        if (st != 0 && bad++ == 0)
            first = st;
        braid_task_release(cl[i]);
    }
    free(cl);
    int ast = braid_await(acc, NULL);
    braid_task_release(acc);
    cr_assert_eq(bad, 0, "%d of %d clients failed; first: %s", bad, e->n, braid_strerror(first));
    cr_assert_eq(atomic_load(&e->echoed), e->n, "every client had its echo, all at once");
    cr_assert_eq(ast, 0, "the acceptor or a connection failed: %s", braid_strerror(ast));
    braid_close(e->lfd);
    braid_event_free(e->all_echoed);
    return 0;
}

static void echo_rounds(unsigned nw, int n, int rounds, long rss_slack_kib)
{
    braid_rt *rt = rt_make(nw);
    echo_g.n = n;
    int fds0 = count_fds();
    cr_assert_geq(fds0, 0, "/proc/self/fd cannot be read");
    long rss1 = 0;
    for (int r = 0; r < rounds; r++) {
        int64_t t0 = braid_now();
        int st = braid_rt_block_on(rt, echo_round, &echo_g, NULL);
        cr_assert_eq(st, 0, "round %d: %s", r, braid_strerror(st));
        int fds = count_fds();
        long rss = rss_kib();
        cr_log_info("echo: %d connections on %u worker(s), round %d: %lld ms, %d fds, RSS %ld KiB",
                    n, nw, r, ms_of(braid_now() - t0), fds, rss);
        cr_assert_eq(fds, fds0, "round %d: %d fds open before, %d after", r, fds0, fds);
        if (r == 0)
            rss1 = rss;
        else
            cr_assert_leq(rss, rss1 + rss_slack_kib, "RSS grew from %ld KiB after round 1 to %ld "
                          "KiB after round %d", rss1, rss, r + 1);
    }
    rt_done(rt);
}

Test(echo, two_hundred_concurrent_connections, .timeout = 60)
{
    for (unsigned nw = 1; nw <= 2; nw++)
        echo_rounds(nw, 200, 2, 16 * 1024);
}

Test(echo, ten_thousand_concurrent_connections, .timeout = 110)
{
    enum { N = 10000, NEED = 20500 };
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < NEED)
        cr_skip_test("RLIMIT_NOFILE hard limit is %llu: %d connections need both ends, %d fds",
                     (unsigned long long)rl.rlim_max, N, NEED);
    if (rl.rlim_max == RLIM_INFINITY)
        rl.rlim_cur = 1 << 20;
    else
        rl.rlim_cur = rl.rlim_max;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0, "setrlimit: %s", strerror(errno));
    echo_rounds(2, N, 2, 64 * 1024);
}

/* ====================================================================== */
/* busy: readiness while a worker computes                                 */
/* ====================================================================== */

typedef struct {
    int fd, peer;
    atomic_int waiting, computing;
    int wait_worker, wake_worker, comp_worker;
    int64_t t_write, t_wake, comp_end;
    ssize_t r;
} busy_ctx;

static int64_t busy_waiter(void *arg)
{
    busy_ctx *b = arg;
    b->wait_worker = braid_worker_id();
    atomic_store(&b->waiting, 1);
    char c;
    b->r = braid_read(b->fd, &c, 1, dl_ms(10000));
    b->t_wake = braid_now();
    b->wake_worker = braid_worker_id();
    return 0;
}

static int64_t busy_compute(void *arg)
{
    busy_ctx *b = arg;
    b->comp_worker = braid_worker_id();
    atomic_store(&b->computing, 1);
    spin_ms(400); /* never yields */
    cr_assert_eq(braid_worker_id(), b->comp_worker);
    b->comp_end = braid_now();
    return 0;
}

static void *busy_writer(void *arg)
{
    busy_ctx *b = arg;
    while (!atomic_load(&b->computing))
        plain_sleep_ms(1);
    plain_sleep_ms(50);
    b->t_write = braid_now();
    cr_assert_eq(write(b->peer, "!", 1), 1);
    return NULL;
}

static int busy_checked;

static int64_t main_busy(void *arg)
{
    (void)arg;
    busy_checked = 0;
    for (int attempt = 0; attempt < 4 && busy_checked < 2; attempt++) {
        busy_ctx b;
        memset(&b, 0, sizeof b);
        int sv[2];
        upair(sv);
        b.fd = sv[0];
        b.peer = sv[1];
        atomic_init(&b.waiting, 0);
        atomic_init(&b.computing, 0);
        braid_task *w = spawn(busy_waiter, &b);
        wait_count(&b.waiting, 1);
        cr_assert_eq(braid_sleep(10 * MS), 0);
        pthread_t th;
        cr_assert_eq(pthread_create(&th, NULL, busy_writer, &b), 0);
        braid_task *c = spawn(busy_compute, &b);
        join(c, 0);
        join(w, 0);
        pthread_join(th, NULL);
        cr_assert_eq(b.r, 1, "the waiter's read: %lld", (long long)b.r);
        if (b.wake_worker != b.comp_worker) {
            busy_checked++;
            cr_assert_lt(b.t_wake, b.comp_end - 100 * MS, "the waiter (waited on worker %d, "
                         "resumed on %d) woke %lld ms after the data, %lld ms before the "
                         "computation on worker %d ended", b.wait_worker, b.wake_worker,
                         ms_of(b.t_wake - b.t_write), ms_of(b.comp_end - b.t_wake),
                         b.comp_worker);
        } else {
            cr_log_info("busy: the waiter resumed on the computing worker %d: timing not "
                        "checked", b.comp_worker);
        }
        close(sv[0]);
        close(sv[1]);
    }
    return 0;
}

Test(busy, a_waiter_wakes_while_another_worker_computes, .timeout = 30)
{
    run_main(2, main_busy, NULL);
}

/* The fd is registered in the instance of the worker that then computes:
 * the waiter parked on an event first, so that setting the event puts it
 * in that worker's (unstealable) next-task slot, and the other worker went
 * to sleep when no fd was registered anywhere. The idle worker must still
 * find the readiness while the busy one computes. */
typedef struct {
    braid_event *go;
    int fd;
    atomic_int waiting;
    int wait_worker, wake_worker;
    int64_t t_wake;
    ssize_t r;
} homed_ctx;

static int64_t homed_waiter(void *arg)
{
    homed_ctx *h = arg;
    cr_assert_eq(braid_event_wait(h->go), 0);
    h->wait_worker = braid_worker_id();
    atomic_store(&h->waiting, 1);
    char c;
    h->r = braid_read(h->fd, &c, 1, dl_ms(10000));
    h->t_wake = braid_now();
    h->wake_worker = braid_worker_id();
    return 0;
}

typedef struct {
    int fd;
    atomic_int go;
    int64_t t_write;
} homed_writer_ctx;

static void *homed_writer(void *arg)
{
    homed_writer_ctx *w = arg;
    while (!atomic_load(&w->go))
        plain_sleep_ms(1);
    plain_sleep_ms(50);
    w->t_write = braid_now();
    cr_assert_eq(write(w->fd, "!", 1), 1);
    return NULL;
}

static int64_t main_busy_homed(void *arg)
{
    int *checked = arg;
    *checked = 0;
    for (int attempt = 0; attempt < 10 && *checked < 2; attempt++) {
        int sv[2];
        upair(sv);
        homed_ctx h;
        memset(&h, 0, sizeof h);
        h.fd = sv[0];
        atomic_init(&h.waiting, 0);
        cr_assert_eq(braid_event_new(&h.go), 0);
        braid_task *w = spawn(homed_waiter, &h);
        /* Let everything settle: the waiter parks on the event, the
         * other worker goes to sleep with nothing registered. */
        cr_assert_eq(braid_sleep(30 * MS), 0);
        cr_assert_eq(braid_sleep(30 * MS), 0);
        homed_writer_ctx wc = {.fd = sv[1]};
        atomic_init(&wc.go, 0);
        pthread_t th;
        cr_assert_eq(pthread_create(&th, NULL, homed_writer, &wc), 0);
        int me = braid_worker_id();
        cr_assert_eq(braid_event_set(h.go), 0);
        /* The waiter runs next, here, and registers the fd here. */
        int64_t give_up = dl_ms(5000);
        while (!atomic_load(&h.waiting) && braid_now() < give_up)
            braid_yield();
        int here = braid_worker_id();
        bool placed = h.wait_worker == me && here == me;
        atomic_store(&wc.go, 1);
        int64_t c0 = braid_now();
        spin_ms(400); /* compute here, never yield */
        int64_t c1 = braid_now();
        join(w, 0);
        pthread_join(th, NULL);
        cr_assert_eq(h.r, 1, "the waiter's read: %lld", (long long)h.r);
        if (placed) {
            (*checked)++;
            cr_assert_lt(h.t_wake, c1 - 100 * MS, "the fd was registered on worker %d, which "
                         "then computed for %lld ms; the data came %lld ms in, but the waiter "
                         "woke only %lld ms after it (on worker %d), %lld ms before the end",
                         me, ms_of(c1 - c0), ms_of(wc.t_write - c0), ms_of(h.t_wake - wc.t_write),
                         h.wake_worker, ms_of(c1 - h.t_wake));
        }
        braid_event_free(h.go);
        close(sv[0]);
        close(sv[1]);
    }
    return 0;
}

Test(busy, an_fd_registered_on_the_busy_worker_is_polled_by_the_idle_one, .timeout = 30)
{
    int checked = 0;
    run_main(2, main_busy_homed, &checked);
    if (checked == 0)
        cr_skip_test("the waiter never registered on the computing worker: nothing checked");
}

/* ====================================================================== */
/* misuse                                                                  */
/* ====================================================================== */

Test(misuse, waiting_verbs_outside_a_coroutine_are_eperm, .timeout = 30)
{
    int sv[2];
    upair(sv);
    char buf[8];
    size_t done = 777;
    cr_assert_eq(braid_wait_fd(sv[0], BRAID_READABLE, dl_ms(1000)), -EPERM);
    cr_assert_eq(braid_wait_fd(sv[0], BRAID_WRITABLE, dl_ms(1000)), -EPERM);
    cr_assert_eq(braid_read(sv[0], buf, sizeof buf, dl_ms(1000)), -EPERM);
    cr_assert_eq(braid_recv(sv[0], buf, sizeof buf, 0, dl_ms(1000)), -EPERM);
    cr_assert_eq(braid_read_full(sv[0], buf, sizeof buf, dl_ms(1000), &done), -EPERM);
    cr_assert_eq(done, 0);
    set_bufs(sv[0], 16384, 0);
    fill(sv[0]);
    cr_assert_eq(braid_write(sv[0], "x", 1, dl_ms(1000)), -EPERM);
    cr_assert_eq(braid_send(sv[0], "x", 1, 0, dl_ms(1000)), -EPERM);
    done = 777;
    cr_assert_eq(braid_write_all(sv[0], "x", 1, dl_ms(1000), &done), -EPERM);
    cr_assert_eq(done, 0);
    /* A listener with no client; a connect in progress. */
    int l = tcp_socket(AF_INET);
    struct sockaddr_in a = v4_loopback(0);
    cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(l, 4), 0);
    cr_assert_eq(braid_accept(l, NULL, NULL, dl_ms(1000)), -EPERM);
    a = v4_loopback(local_port(l));
    int c = tcp_socket(AF_INET);
    cr_assert_eq(braid_connect(c, (struct sockaddr *)&a, sizeof a, dl_ms(1000)), -EPERM);
    braid_close(c);
    braid_close(l);
    /* The calls that do not wait work from any thread. */
    cr_assert_eq(braid_fd_nonblock(sv[0]), 0);
    cr_assert_eq(braid_close(sv[0]), 0);
    cr_assert_eq(braid_close(sv[0]), -EBADF);
    cr_assert_eq(braid_close(sv[1]), 0);
}
