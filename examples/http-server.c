/* http-server.c - a minimal HTTP/1.1 server on every core: one coroutine
 * per connection, keep-alive and pipelining, every request answered with
 * the 13-byte body "Hello, World!" (what the benchmarks compare).
 *
 *   braid-http-server [-p PORT] [-t WORKERS] [-H HOST] [-n CONNECTIONS]
 *
 * -p 0 picks a free port; the server prints "listening on PORT" once it
 * accepts. -n N exits after N connections have come and gone (for tests);
 * otherwise it runs until killed (SIGINT, SIGTERM). The accept loop is one
 * coroutine; each connection is another, spawned on the accepting worker
 * and stolen by idle ones, so connections spread over all workers. Out of
 * file descriptors, the accept loop backs off for 10 ms instead of spinning.
 */
#include <braid.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int lfd = -1;
static long max_conns = -1;           /* -n */
static atomic_long conns_done;

static const char reply[] = "HTTP/1.1 200 OK\r\n"
                            "Content-Length: 13\r\n"
                            "Content-Type: text/plain\r\n"
                            "\r\n"
                            "Hello, World!";

/* Case-insensitive search for header `name` in [p, end); its value's
 * start, or NULL. */
static const char *header(const char *p, const char *end, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = p; l < end;) {
        const char *eol = memchr(l, '\n', (size_t)(end - l));
        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - l) > n && strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            return v;
        }
        l = eol + 1;
    }
    return NULL;
}

static int64_t serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char in[16384];
    char out[64 * (sizeof reply - 1)];
    size_t have = 0;
    bool keep = true;
    while (keep) {
        ssize_t n = braid_read(fd, in + have, sizeof in - have, BRAID_FOREVER);
        if (n <= 0) /* end of stream, reset, or cancelled */
            break;
        have += (size_t)n;
        /* Answer every complete request in the buffer (pipelining). */
        size_t used = 0, olen = 0;
        for (;;) {
            char *start = in + used;
            char *hend = memmem(start, have - used, "\r\n\r\n", 4);
            if (hend == NULL)
                break;
            size_t body = 0;
            const char *cl = header(start, hend, "Content-Length");
            if (cl != NULL)
                body = strtoul(cl, NULL, 10);
            size_t total = (size_t)(hend + 4 - start) + body;
            if (total > have - used) {
                if (total > sizeof in) { /* a body we will not buffer */
                    keep = false;
                }
                break;
            }
            const char *conn = header(start, hend, "Connection");
            bool http10 = memmem(start, (size_t)(hend - start), "HTTP/1.0", 8) != NULL;
            if ((conn != NULL && strncasecmp(conn, "close", 5) == 0) ||
                (http10 && (conn == NULL || strncasecmp(conn, "keep-alive", 10) != 0)))
                keep = false;
            memcpy(out + olen, reply, sizeof reply - 1);
            olen += sizeof reply - 1;
            used += total;
            if (!keep || olen + sizeof reply > sizeof out)
                break;
        }
        if (olen > 0 && braid_write_all(fd, out, olen, BRAID_FOREVER, NULL) < 0)
            break;
        memmove(in, in + used, have - used);
        have -= used;
        if (have == sizeof in) /* a header larger than the buffer */
            break;
    }
    braid_close(fd);
    if (atomic_fetch_add(&conns_done, 1) + 1 == max_conns)
        braid_close(lfd); /* wakes the accept loop with -EBADF */
    return 0;
}

static int64_t accept_loop(void *arg)
{
    (void)arg;
    long accepted = 0;
    while (max_conns < 0 || accepted < max_conns) {
        int fd = braid_accept(lfd, NULL, NULL, BRAID_FOREVER);
        if (fd == -EMFILE || fd == -ENFILE) {
            braid_sleep(10 * BRAID_MSEC); /* out of fds: back off, do not spin */
            continue;
        }
        if (fd < 0)
            return fd == -EBADF ? 0 : fd;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        int err = braid_spawn(NULL, serve, (void *)(intptr_t)fd);
        if (err != 0) {
            braid_close(fd);
            continue;
        }
        accepted++;
    }
    return 0; /* -n: the runtime ends when the last connection's task does */
}

static int64_t main_task(void *arg)
{
    const char **hp = arg;
    int err = braid_tcp_listen(hp[0], hp[1], 4096, &lfd);
    if (err != 0) {
        fprintf(stderr, "braid-http-server: listen on %s:%s: %s\n", hp[0] ? hp[0] : "*", hp[1],
                braid_strerror(err));
        return err;
    }
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    int port = sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&sa)->sin_port);
    printf("listening on %d\n", port);
    fflush(stdout);
    braid_task *t;
    if ((err = braid_spawn(&t, accept_loop, NULL)) != 0)
        return err;
    err = braid_await(t, NULL);
    braid_task_release(t);
    return err;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: braid-http-server [-p PORT] [-t WORKERS] [-H HOST] [-n CONNECTIONS]\n"
               "  -p PORT     port to listen on (default 8080; 0: any free one)\n"
               "  -t WORKERS  worker threads (default 0: one per CPU)\n"
               "  -H HOST     address to listen on (default: every address)\n"
               "  -n N        exit after N connections have ended (default: run until a signal)\n");
}

int main(int argc, char **argv)
{
    const char *hp[2] = {NULL, "8080"};
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    int c;
    while ((c = getopt(argc, argv, "p:t:H:n:h")) != -1) {
        char *end;
        switch (c) {
        case 'p':
            hp[1] = optarg;
            break;
        case 't':
            o.workers = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0') {
                usage(stderr);
                return 2;
            }
            break;
        case 'H':
            hp[0] = optarg;
            break;
        case 'n':
            max_conns = strtol(optarg, &end, 10);
            if (*end != '\0' || max_conns < 1) {
                usage(stderr);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* braid's writes use MSG_NOSIGNAL; be safe anyway */
    int err = braid_run(main_task, hp, &o, NULL);
    if (err != 0) {
        fprintf(stderr, "braid-http-server: %s\n", braid_strerror(err));
        return 1;
    }
    return 0;
}
