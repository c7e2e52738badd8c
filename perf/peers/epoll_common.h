/* epoll_common.h - what the single-threaded epoll floors of braid's servers
 * (epoll_echo.c, epoll_http.c) share: the -p PORT [-t 1] options, the
 * listening socket on 127.0.0.1, the per-connection output buffer, and the
 * level-triggered loop. Each program supplies on_readable(). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

struct conn {
    int fd;
    int want_out;          /* waiting for EPOLLOUT (reads paused) */
    char *out;             /* bytes not yet written */
    size_t out_len, out_cap;
    char *in;              /* epoll_http: bytes of an unfinished request */
    size_t in_len, in_cap;
};

static int ep;

static void die(const char *what) { perror(what); exit(1); }

static void conn_close(struct conn *c)
{
    close(c->fd); /* also leaves the epoll set */
    free(c->out);
    free(c->in);
    free(c);
}

static void buf_append(char **b, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < *len + n) nc *= 2;
        if (!(*b = realloc(*b, nc))) die("realloc");
        *cap = nc;
    }
    memcpy(*b + *len, p, n);
    *len += n;
}

/* Writes what c->out holds; returns -1 if the connection broke. Pauses
 * reading (EPOLLOUT only) while bytes remain, resumes it when drained. */
static int conn_flush(struct conn *c)
{
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t k = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
        if (k > 0) { off += (size_t)k; continue; }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    memmove(c->out, c->out + off, c->out_len - off);
    c->out_len -= off;
    int want = c->out_len > 0;
    if (want != c->want_out) {
        struct epoll_event ev = { .events = want ? EPOLLOUT : EPOLLIN, .data.ptr = c };
        if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) return -1;
        c->want_out = want;
    }
    return 0;
}

/* Sends p[0..n) now if nothing is queued, queues what the socket takes not. */
static int conn_send(struct conn *c, const char *p, size_t n)
{
    if (c->out_len == 0) {
        ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
        if (k > 0) { p += k; n -= (size_t)k; }
        if (n == 0) return 0;
    }
    buf_append(&c->out, &c->out_len, &c->out_cap, p, n);
    return conn_flush(c);
}

static int on_readable(struct conn *c); /* per program; -1 closes */

static void usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-p PORT] [-t 1]   (single-threaded)\n", prog);
    exit(2);
}

static _Noreturn void serve_main(int argc, char **argv, const char *name)
{
    int port = 8080, opt;
    while ((opt = getopt(argc, argv, "p:t:")) != -1) {
        if (opt == 'p') port = atoi(optarg);
        else if (opt == 't') { if (atoi(optarg) != 1) usage(argv[0]); }
        else usage(argv[0]);
    }
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ls < 0) die("socket");
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(ls, 1024) < 0) die("listen");
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) die("epoll_create1");
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0) die("epoll_ctl");
    printf("READY name=%s impl=epoll workers=1 port=%d\n", name, port);
    fflush(stdout);

    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) { /* the listener: take every pending connection */
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    if (!(c = calloc(1, sizeof *c))) die("calloc");
                    c->fd = fd;
                    struct epoll_event ce = { .events = EPOLLIN, .data.ptr = c };
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce) < 0) conn_close(c);
                }
                continue;
            }
            int r;
            if (c->want_out) r = (evs[i].events & (EPOLLERR | EPOLLHUP)) ? -1 : conn_flush(c);
            else r = on_readable(c);
            if (r < 0) conn_close(c);
        }
    }
}
