/* echo_client - closed-loop load generator for TCP echo servers
 * (perf/io-compare).
 *
 *   echo_client [-h HOST] -p PORT [-c CONNECTIONS] [-d SECONDS]
 *               [-s MSGSIZE] [-t THREADS] [-i IMPL] [-w WORKERS]
 *
 * Opens CONNECTIONS (default 64) TCP connections (TCP_NODELAY) spread over
 * THREADS threads (default 1), each with its own level-triggered epoll set.
 * Every connection sends a MSGSIZE-byte message (default 64), waits until
 * all of it has come back (checked byte for byte), records the round trip
 * on the monotonic clock and sends the next: one message in flight per
 * connection. After SECONDS (default 5) it prints one line
 *
 *   BENCH name=echo impl=IMPL workers=WORKERS msgs_per_s=.. p50_us=..
 *         p99_us=.. result=MSGS conns=.. size=.. threads=.. secs=.. errors=..
 *
 * (IMPL and WORKERS only label the server under test) and exits 0, or 1
 * when every connection failed or nothing was echoed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct cconn {
    int fd;
    size_t sent, rcvd; /* bytes of the current message */
    uint64_t t0;       /* when its first byte went out, ns */
};

struct worker {
    pthread_t th;
    int nconn;
    struct cconn *conns;
    uint64_t msgs, errors;
    uint32_t *lat; /* round trips, ns (saturating) */
    size_t nlat, caplat;
};

static const char *host = "127.0.0.1", *impl = "unknown";
static int port = -1, nconns = 64, nthreads = 1, workers = 0;
static double secs = 5;
static size_t msgsize = 64;
static char *msg;
static struct addrinfo *addr;
static pthread_barrier_t ready, go;
static uint64_t deadline;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
    fprintf(stderr, "usage: echo_client [-h HOST] -p PORT [-c CONNECTIONS] [-d SECONDS] "
                    "[-s MSGSIZE] [-t THREADS] [-i IMPL] [-w WORKERS]\n");
    exit(2);
}

static void fail(struct worker *w, int ep, struct cconn *c)
{
    w->errors++;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

/* Sends what is left of c's message; 0 done, 1 socket full, -1 broken. */
static int push(struct cconn *c)
{
    while (c->sent < msgsize) {
        ssize_t k = send(c->fd, msg + c->sent, msgsize - c->sent, MSG_NOSIGNAL);
        if (k > 0) { c->sent += (size_t)k; continue; }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
        return -1;
    }
    return 0;
}

static int start_msg(int ep, struct cconn *c)
{
    c->sent = c->rcvd = 0;
    c->t0 = now_ns();
    int r = push(c);
    if (r < 0) return -1;
    struct epoll_event ev = { .events = EPOLLIN | (r ? EPOLLOUT : 0), .data.ptr = c };
    return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC), one = 1;
    if (ep < 0) { perror("epoll_create1"); exit(1); }
    for (int i = 0; i < w->nconn; i++) {
        struct cconn *c = &w->conns[i];
        c->fd = socket(addr->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, addr->ai_addr, addr->ai_addrlen) < 0) {
            fprintf(stderr, "echo_client: connect %s:%d: %s\n", host, port, strerror(errno));
            exit(1);
        }
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0) { perror("fcntl"); exit(1); }
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) { perror("epoll_ctl"); exit(1); }
    }
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&go);
    for (int i = 0; i < w->nconn; i++)
        if (start_msg(ep, &w->conns[i]) < 0) fail(w, ep, &w->conns[i]);

    char *buf = malloc(msgsize);
    struct epoll_event evs[256];
    for (;;) {
        uint64_t t = now_ns();
        if (t >= deadline) break;
        int timeout = (int)((deadline - t + 999999) / 1000000);
        int n = epoll_wait(ep, evs, 256, timeout);
        if (n < 0) { if (errno == EINTR) continue; perror("epoll_wait"); exit(1); }
        for (int i = 0; i < n; i++) {
            struct cconn *c = evs[i].data.ptr;
            if (c->fd < 0) continue;
            if (evs[i].events & EPOLLOUT) {
                int r = push(c);
                if (r < 0) { fail(w, ep, c); continue; }
                if (r == 0) {
                    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (!(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) continue;
            ssize_t k = recv(c->fd, buf, msgsize - c->rcvd, 0);
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
            if (k <= 0 || (size_t)k + c->rcvd > c->sent ||
                memcmp(buf, msg + c->rcvd, (size_t)k) != 0) {
                if (k > 0) fprintf(stderr, "echo_client: wrong bytes echoed\n");
                fail(w, ep, c);
                continue;
            }
            c->rcvd += (size_t)k;
            if (c->rcvd < msgsize) continue;
            uint64_t t1 = now_ns(), d = t1 - c->t0;
            if (t1 > deadline) continue; /* finished after the end: not counted */
            w->msgs++;
            if (w->nlat == w->caplat) {
                w->caplat = w->caplat ? 2 * w->caplat : 65536;
                if (!(w->lat = realloc(w->lat, w->caplat * sizeof *w->lat))) { perror("realloc"); exit(1); }
            }
            w->lat[w->nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
            if (start_msg(ep, c) < 0) fail(w, ep, c);
        }
    }
    for (int i = 0; i < w->nconn; i++)
        if (w->conns[i].fd >= 0) close(w->conns[i].fd);
    close(ep);
    free(buf);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "h:p:c:d:s:t:i:w:")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': nconns = atoi(optarg); break;
        case 'd': secs = atof(optarg); break;
        case 's': msgsize = (size_t)atol(optarg); break;
        case 't': nthreads = atoi(optarg); break;
        case 'i': impl = optarg; break;
        case 'w': workers = atoi(optarg); break;
        default: usage();
        }
    }
    if (port <= 0 || nconns < 1 || secs <= 0 || msgsize < 1 || nthreads < 1) usage();
    if (nthreads > nconns) nthreads = nconns;
    signal(SIGPIPE, SIG_IGN);
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    int g = getaddrinfo(host, ps, &hints, &addr);
    if (g) { fprintf(stderr, "echo_client: %s: %s\n", host, gai_strerror(g)); return 1; }
    if (!(msg = malloc(msgsize))) return 1;
    for (size_t i = 0; i < msgsize; i++) msg[i] = (char)('a' + i % 26);

    struct worker *ws = calloc((size_t)nthreads, sizeof *ws);
    pthread_barrier_init(&ready, NULL, (unsigned)nthreads + 1);
    pthread_barrier_init(&go, NULL, (unsigned)nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        ws[i].nconn = nconns / nthreads + (i < nconns % nthreads);
        ws[i].conns = calloc((size_t)ws[i].nconn, sizeof *ws[i].conns);
        if (pthread_create(&ws[i].th, NULL, run, &ws[i])) { perror("pthread_create"); return 1; }
    }
    pthread_barrier_wait(&ready); /* every connection is open */
    uint64_t start = now_ns();
    deadline = start + (uint64_t)(secs * 1e9);
    pthread_barrier_wait(&go);

    uint64_t msgs = 0, errors = 0;
    size_t nlat = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(ws[i].th, NULL);
        msgs += ws[i].msgs;
        errors += ws[i].errors;
        nlat += ws[i].nlat;
    }
    uint32_t *lat = malloc((nlat ? nlat : 1) * sizeof *lat);
    size_t k = 0;
    for (int i = 0; i < nthreads; i++) {
        if (ws[i].nlat) memcpy(lat + k, ws[i].lat, ws[i].nlat * sizeof *lat);
        k += ws[i].nlat;
    }
    qsort(lat, nlat, sizeof *lat, cmp_u32);
    double p50 = nlat ? lat[(nlat - 1) / 2] / 1e3 : 0, p99 = nlat ? lat[(nlat - 1) * 99 / 100] / 1e3 : 0;
    double el = (double)(deadline - start) / 1e9;
    printf("BENCH name=echo impl=%s workers=%d msgs_per_s=%.0f p50_us=%.1f p99_us=%.1f result=%llu "
           "conns=%d size=%zu threads=%d secs=%.3f errors=%llu\n",
           impl, workers, msgs / el, p50, p99, (unsigned long long)msgs, nconns, msgsize, nthreads,
           el, (unsigned long long)errors);
    return (msgs == 0 || errors == (uint64_t)nconns) ? 1 : 0;
}
