/* stress_rt.c - a seeded storm of spawn, await, yield and cancel across
 * workers, as a plain program (no Criterion) so that it also runs under
 * ThreadSanitizer. Invariants checked:
 *   - every spawned task runs its body at most once and ends exactly once;
 *   - a task reports -ECANCELED only if it was cancelled (yields and
 *     sleeps are cancelled alike);
 *   - tree sums are exact (no task lost, none run twice);
 *   - channel, mutex, future and group traffic adds up exactly;
 *   - I/O: socket-pair echo traffic adds up exactly; a read cancelled
 *     mid-wait loses no byte (read + left in the socket == written); a
 *     reader blocked on an fd closed with braid_close gets -EBADF after
 *     exactly the bytes sent before;
 *   - the runtime ends with spawned == completed, and frees cleanly.
 * Usage: stress_rt [seed] [rounds]. Prints the seed so a failure can be
 * replayed, and a final "N passed, N failed" line.
 */
#include <braid.h>
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <time.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define STRESS_NAME "stress_rt"
#include "stress_common.h"

static atomic_long bodies, cancels_seen, io_bytes, io_tcp_rounds;

/* A node: depth and a seed; returns the number of leaves below it. */
static int64_t node(void *arg)
{
    uint64_t v = (uint64_t)(uintptr_t)arg;
    unsigned depth = (unsigned)(v & 7);
    uint64_t seed = v >> 3;
    atomic_fetch_add(&bodies, 1);
    if (depth == 0) {
        if (seed % 3 == 0)
            braid_yield();
        return 1;
    }
    enum { K = 4 };
    braid_task *t[K];
    for (int i = 0; i < K; i++) {
        uint64_t s = mix(seed * 31 + (uint64_t)i) & 0x0fffffffffffULL;
        if (braid_spawn(&t[i], node, (void *)(uintptr_t)((s << 3) | (depth - 1))) != 0)
            return -ENOMEM;
    }
    if (seed % 5 == 0)
        braid_yield();
    int64_t sum = 0;
    /* Await in an order chosen by the seed: bottom first, top first, or mixed. */
    for (int k = 0; k < K; k++) {
        int i = (seed % 3 == 0) ? k : (seed % 3 == 1) ? K - 1 - k : (k * 3) % K;
        int64_t r = 0;
        int err = braid_await(t[i], &r);
        CHECK(err == 0);
        sum += r;
        braid_task_release(t[i]);
    }
    return sum;
}

static int64_t spinner(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++) {
        /* Mostly yields, some short sleeps (timers armed, fired, stolen
         * and cancelled across workers). */
        int err = (i + n) % 7 == 0 ? braid_sleep((i % 3) * 100000) : braid_yield();
        if (err == -ECANCELED) {
            atomic_fetch_add(&cancels_seen, 1);
            return -ECANCELED;
        }
    }
    return n;
}

static int64_t cancel_storm(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    enum { N = 200 };
    braid_task *t[N];
    int cancelled[N];
    for (int i = 0; i < N; i++) {
        uint64_t r = mix(seed + (uint64_t)i);
        CHECK(braid_spawn(&t[i], spinner, (void *)(intptr_t)(r % 50)) == 0);
        cancelled[i] = 0;
        if (r % 4 == 0)
            braid_yield();
        if ((r >> 8) % 3 == 0) { /* cancel some, at random moments */
            int prev = i > 0 ? i - 1 : i;
            cancelled[prev] |= braid_cancel(t[prev]) == 1;
        }
    }
    for (int i = 0; i < N; i++) {
        int64_t v = 0;
        int err = braid_await(t[i], &v);
        if (err == -ECANCELED)
            CHECK(cancelled[i]);
        else
            CHECK(err == 0);
        braid_task_release(t[i]);
    }
    return 0;
}

/* Sync storm: producers and consumers over a small channel, a mutex-held
 * counter, a future resolved by a plain pthread while coroutines on every
 * worker await it, and a group. Checks exact sums (TSan sees every lock
 * and hand-off). */
typedef struct {
    braid_chan *ch;
    braid_mutex *mx;
    braid_future *fut;
    long counter; /* under mx */
    long per_producer;
} storm;

static int64_t producer(void *arg)
{
    storm *s = arg;
    for (long i = 1; i <= s->per_producer; i++)
        if (braid_chan_send(s->ch, (intptr_t)i) != 0)
            return -1;
    return 0;
}

static int64_t consumer(void *arg)
{
    storm *s = arg;
    int64_t sum = 0;
    intptr_t v;
    while (braid_chan_recv(s->ch, &v) == 0) {
        sum += v;
        if (braid_mutex_lock(s->mx) != 0)
            return -1;
        long c = s->counter;
        if (v % 16 == 0)
            braid_yield(); /* hold the lock across a suspension */
        s->counter = c + 1;
        braid_mutex_unlock(s->mx);
    }
    int64_t fv = 0;
    if (braid_future_await(s->fut, &fv) != 0 || fv != 42)
        return -1;
    return sum;
}

static void *resolver(void *arg)
{
    storm *s = arg;
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    braid_future_resolve(s->fut, 42);
    return NULL;
}

static int64_t sync_storm(void *arg)
{
    (void)arg;
    enum { P = 4, C = 4 };
    storm s = {.per_producer = 2000};
    CHECK(braid_chan_new(&s.ch, 8) == 0);
    CHECK(braid_mutex_new(&s.mx) == 0);
    CHECK(braid_future_new(&s.fut) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, resolver, &s) == 0);
    braid_group *prod;
    CHECK(braid_group_new(&prod) == 0);
    braid_task *cons[C];
    for (int i = 0; i < C; i++)
        CHECK(braid_spawn(&cons[i], consumer, &s) == 0);
    for (int i = 0; i < P; i++)
        CHECK(braid_group_spawn(prod, NULL, producer, &s) == 0);
    CHECK(braid_group_wait(prod) == 0);
    braid_group_free(prod);
    braid_chan_close(s.ch);
    int64_t total = 0;
    for (int i = 0; i < C; i++) {
        int64_t r = 0;
        CHECK(braid_await(cons[i], &r) == 0);
        total += r;
        braid_task_release(cons[i]);
    }
    pthread_join(th, NULL);
    CHECK(total == (int64_t)P * s.per_producer * (s.per_producer + 1) / 2);
    CHECK(s.counter == P * s.per_producer);
    braid_chan_free(s.ch);
    braid_mutex_free(s.mx);
    braid_future_free(s.fut);
    return 0;
}

/* I/O storm: socket pairs across workers. Echo pairs (a server task and a
 * client task that checks every echo), a bulk pair whose writer waits for
 * room while its reader drains, readers cancelled mid-wait, and readers
 * whose fd is closed with braid_close while they wait. Every fd is made
 * before the tasks start and closed after they end (bar the braid_close
 * ones), so no fd number is reused while a task may still touch it. */
enum { IO_ECHO = 6, IO_MSGS = 120, IO_VICTIMS = 8, IO_CLOSERS = 4, IO_BULK = 256 * 1024 };

static int64_t io_deadline(void)
{
    return braid_now() + 20 * BRAID_SEC;
}

static size_t io_msg_len(uint64_t seed, int m)
{
    return 1 + (size_t)(mix(seed + (uint64_t)m) % 2048);
}

static unsigned char io_byte(uint64_t seed, int m, size_t k)
{
    return (unsigned char)(seed + (uint64_t)m * 131 + k * 7);
}

static int64_t io_echo_server(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[1024];
    int64_t total = 0;
    for (;;) {
        ssize_t r = braid_read(fd, buf, sizeof buf, io_deadline());
        if (r == 0)
            return total; /* the client shut down its side */
        if (r < 0)
            return r;
        ssize_t w = braid_write_all(fd, buf, (size_t)r, io_deadline(), NULL);
        if (w != r)
            return w < 0 ? w : -EIO;
        total += r;
    }
}

typedef struct {
    int fd;
    uint64_t seed;
} io_client_arg;

static int64_t io_echo_client(void *arg)
{
    io_client_arg *c = arg;
    unsigned char out[2048], back[2048];
    int64_t total = 0;
    for (int m = 0; m < IO_MSGS; m++) {
        size_t len = io_msg_len(c->seed, m);
        for (size_t k = 0; k < len; k++)
            out[k] = io_byte(c->seed, m, k);
        if (braid_write_all(c->fd, out, len, io_deadline(), NULL) != (ssize_t)len)
            return -EIO;
        /* Half the time through wait_fd and a plain recv. */
        ssize_t got;
        if (m % 2 == 0) {
            got = braid_read_full(c->fd, back, len, io_deadline(), NULL);
        } else {
            got = 0;
            while (got < (ssize_t)len) {
                int ev = braid_wait_fd(c->fd, BRAID_READABLE, io_deadline());
                if (ev < 0)
                    return ev;
                ssize_t r = recv(c->fd, back + got, len - (size_t)got, MSG_DONTWAIT);
                if (r > 0)
                    got += r;
                else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                    return -EIO;
            }
        }
        if (got != (ssize_t)len || memcmp(out, back, len) != 0)
            return -EILSEQ;
        total += (int64_t)len;
        if (m % 16 == 0)
            braid_yield();
    }
    shutdown(c->fd, SHUT_WR);
    return total;
}

static int64_t io_bulk_writer(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static const unsigned char zeros[IO_BULK];
    ssize_t r = braid_write_all(fd, zeros, sizeof zeros, io_deadline(), NULL);
    return r;
}

static int64_t io_bulk_reader(void *arg)
{
    int fd = (int)(intptr_t)arg;
    unsigned char buf[4096];
    int64_t total = 0;
    while (total < IO_BULK) {
        size_t want = (size_t)(IO_BULK - total) < sizeof buf ? (size_t)(IO_BULK - total) : sizeof buf;
        ssize_t r = braid_read_full(fd, buf, want, io_deadline(), NULL);
        if (r <= 0)
            return r < 0 ? r : -EIO;
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != 0)
                return -EILSEQ;
        total += r;
        if (total % 65536 == 0)
            braid_yield();
    }
    return total;
}

/* Reads one byte at a time until cancelled; counts what it got. */
typedef struct {
    int fd;
    atomic_long got;
} io_victim;

static int64_t io_victim_body(void *arg)
{
    io_victim *v = arg;
    char c;
    for (;;) {
        ssize_t r = braid_read(v->fd, &c, 1, io_deadline());
        if (r == 1) {
            atomic_fetch_add(&v->got, 1);
            continue;
        }
        return r == -ECANCELED ? 0 : (r < 0 ? r : -EIO);
    }
}

/* Reads `want` bytes, then waits for more (braid_wait_fd: no read(2) of
 * its own races the close): braid_close must wake it with -EBADF. */
typedef struct {
    int fd;
    long want;
    long got;
    atomic_int at_last;
} io_closer;

static int64_t io_closer_body(void *arg)
{
    io_closer *c = arg;
    char buf[64];
    while (c->got < c->want) {
        ssize_t r = braid_read(c->fd, buf, sizeof buf, io_deadline());
        if (r <= 0)
            return r < 0 ? r : -EIO;
        c->got += r;
    }
    atomic_store(&c->at_last, 1);
    int r = braid_wait_fd(c->fd, BRAID_READABLE, io_deadline());
    return r == -EBADF ? 0 : (r < 0 ? r : -EIO);
}

/* A connected pair: a socketpair (fds of our own: registered per wait),
 * or, with tcp, a loopback TCP connection made by braid (braid_tcp_listen,
 * braid_tcp_connect and braid_accept: registered once, edge-triggered). */
static int io_pair(int sv[2], bool tcp)
{
    if (!tcp)
        return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
    int l, c;
    int err = braid_tcp_listen("127.0.0.1", "0", 4, &l);
    if (err != 0)
        return err;
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    char port[16];
    err = getsockname(l, (struct sockaddr *)&a, &len) == 0 ? 0 : -errno;
    if (err == 0) {
        snprintf(port, sizeof port, "%u", (unsigned)ntohs(((struct sockaddr_in *)&a)->sin_port));
        err = braid_tcp_connect("127.0.0.1", port, braid_now() + 10 * BRAID_SEC, &c);
    }
    if (err == 0) {
        int s = braid_accept(l, NULL, NULL, braid_now() + 10 * BRAID_SEC);
        if (s < 0) {
            braid_close(c);
            err = s;
        } else {
            sv[0] = c;
            sv[1] = s;
        }
    }
    braid_close(l);
    return err;
}

static int64_t io_storm(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    bool tcp = (seed >> 7) & 1; /* half the rounds over braid's own sockets */
    if (tcp)
        atomic_fetch_add(&io_tcp_rounds, 1);
    int echo[IO_ECHO][2], bulk[2], vic[IO_VICTIMS][2], clo[IO_CLOSERS][2];
    bool closed[IO_CLOSERS] = {false};
    for (int i = 0; i < IO_ECHO; i++)
        CHECK(io_pair(echo[i], tcp) == 0);
    CHECK(io_pair(bulk, tcp) == 0);
    int small = 4096;
    setsockopt(bulk[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    for (int i = 0; i < IO_VICTIMS; i++)
        CHECK(io_pair(vic[i], tcp) == 0);
    for (int i = 0; i < IO_CLOSERS; i++)
        CHECK(io_pair(clo[i], tcp) == 0);

    braid_task *srv[IO_ECHO], *cli[IO_ECHO], *bw, *br, *vt[IO_VICTIMS], *ct[IO_CLOSERS];
    io_client_arg ca[IO_ECHO];
    int64_t expect = 0;
    for (int i = 0; i < IO_ECHO; i++) {
        ca[i].fd = echo[i][0];
        ca[i].seed = mix(seed + (uint64_t)i);
        for (int m = 0; m < IO_MSGS; m++)
            expect += (int64_t)io_msg_len(ca[i].seed, m);
        CHECK(braid_spawn(&srv[i], io_echo_server, (void *)(intptr_t)echo[i][1]) == 0);
        CHECK(braid_spawn(&cli[i], io_echo_client, &ca[i]) == 0);
    }
    CHECK(braid_spawn(&bw, io_bulk_writer, (void *)(intptr_t)bulk[0]) == 0);
    CHECK(braid_spawn(&br, io_bulk_reader, (void *)(intptr_t)bulk[1]) == 0);
    io_victim vs[IO_VICTIMS];
    for (int i = 0; i < IO_VICTIMS; i++) {
        vs[i].fd = vic[i][0];
        atomic_init(&vs[i].got, 0);
        CHECK(braid_spawn(&vt[i], io_victim_body, &vs[i]) == 0);
    }
    io_closer cs[IO_CLOSERS];
    for (int i = 0; i < IO_CLOSERS; i++) {
        cs[i].fd = clo[i][0];
        cs[i].want = 1 + (long)(mix(seed ^ (uint64_t)i) % 500);
        cs[i].got = 0;
        atomic_init(&cs[i].at_last, 0);
        CHECK(braid_spawn(&ct[i], io_closer_body, &cs[i]) == 0);
    }

    /* Victims: feed each some bytes, then cancel it at a random moment. */
    for (int i = 0; i < IO_VICTIMS; i++) {
        uint64_t r = mix(seed * 7 + (uint64_t)i);
        long written = (long)(r % 40);
        for (long k = 0; k < written; k++) {
            CHECK(write(vic[i][1], "v", 1) == 1);
            if ((r >> (k % 32)) & 1)
                braid_yield();
        }
        for (int y = 0; y < (int)((r >> 8) % 4); y++)
            braid_yield();
        braid_cancel(vt[i]);
        int64_t v = -1;
        int st = braid_await(vt[i], &v);
        /* -ECANCELED: cancelled before it started (it read nothing). */
        CHECK((st == 0 && v == 0) || (st == -ECANCELED && atomic_load(&vs[i].got) == 0));
        braid_task_release(vt[i]);
        long left = 0;
        char c;
        while (read(vic[i][0], &c, 1) == 1)
            left++;
        CHECK(atomic_load(&vs[i].got) + left == written);
    }
    /* Closers: send `want` bytes, wait until it has them all and (a few
     * ms later) waits for more, then close its fd. */
    for (int i = 0; i < IO_CLOSERS; i++) {
        char buf[500];
        memset(buf, 'c', sizeof buf);
        CHECK(write(clo[i][1], buf, (size_t)cs[i].want) == cs[i].want);
        while (!atomic_load(&cs[i].at_last) && !braid_task_done(ct[i]))
            braid_yield();
        braid_sleep(5 * BRAID_MSEC); /* it is parked in braid_wait_fd by now */
        CHECK(braid_close(clo[i][0]) == 0);
        closed[i] = true;
        int64_t v = -1;
        CHECK(braid_await(ct[i], &v) == 0 && v == 0);
        braid_task_release(ct[i]);
        CHECK(cs[i].got == cs[i].want);
    }
    int64_t ctotal = 0, stotal = 0;
    for (int i = 0; i < IO_ECHO; i++) {
        int64_t v = -1;
        CHECK(braid_await(cli[i], &v) == 0);
        ctotal += v;
        braid_task_release(cli[i]);
        v = -1;
        CHECK(braid_await(srv[i], &v) == 0);
        stotal += v;
        braid_task_release(srv[i]);
    }
    CHECK(ctotal == expect);
    CHECK(stotal == expect);
    atomic_fetch_add(&io_bytes, (long)ctotal);
    int64_t v = -1;
    CHECK(braid_await(bw, &v) == 0 && v == IO_BULK);
    braid_task_release(bw);
    v = -1;
    CHECK(braid_await(br, &v) == 0 && v == IO_BULK);
    braid_task_release(br);

    for (int i = 0; i < IO_ECHO; i++) {
        braid_close(echo[i][0]);
        braid_close(echo[i][1]);
    }
    braid_close(bulk[0]);
    braid_close(bulk[1]);
    for (int i = 0; i < IO_VICTIMS; i++) {
        braid_close(vic[i][0]);
        braid_close(vic[i][1]);
    }
    for (int i = 0; i < IO_CLOSERS; i++) {
        if (!closed[i])
            braid_close(clo[i][0]);
        braid_close(clo[i][1]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 12345;
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    printf("stress_rt: seed %llu, %d rounds\n", (unsigned long long)seed, rounds);
    int passed = 0, failed = 0;
    for (unsigned workers = 1; workers <= 4; workers *= 2) {
        long before = atomic_load(&failures);
        braid_rt *rt;
        if (stress_rt_new(&rt, workers, seed) != 0) {
            failed++;
            continue;
        }
        for (int r = 0; r < rounds; r++) {
            uint64_t s = mix(seed + (uint64_t)r) & 0x0fffffffffffULL;
            int64_t leaves = 0;
            int err = braid_rt_block_on(rt, node, (void *)(uintptr_t)((s << 3) | 6), &leaves);
            CHECK(err == 0);
            CHECK(leaves == 4096);
            CHECK(braid_rt_block_on(rt, cancel_storm, (void *)(uintptr_t)s, NULL) == 0);
            if (r % 5 == 0)
                CHECK(braid_rt_block_on(rt, sync_storm, NULL, NULL) == 0);
            if (r % 5 == 2)
                CHECK(braid_rt_block_on(rt, io_storm, (void *)(uintptr_t)s, NULL) == 0);
        }
        braid_stats st;
        braid_rt_stats(rt, &st);
        CHECK(st.live == 0);
        CHECK(st.spawned == st.completed);
        printf("stress_rt: %u workers: %llu tasks, %llu inline, %llu stolen, %llu parks\n", workers,
               (unsigned long long)st.spawned, (unsigned long long)st.inlined,
               (unsigned long long)st.stolen, (unsigned long long)st.parks);
        CHECK(braid_rt_free(rt) == 0);
        if (atomic_load(&failures) == before)
            passed++;
        else
            failed++;
    }
    printf("stress_rt: %ld bodies run, %ld cancellations seen, %ld bytes echoed (%ld I/O rounds "
           "over TCP)\n",
           atomic_load(&bodies), atomic_load(&cancels_seen), atomic_load(&io_bytes),
           atomic_load(&io_tcp_rounds));
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
