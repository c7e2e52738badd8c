/* tcp_server.h - what braid's example servers share: the command line
 * (-p PORT -t WORKERS -H HOST -n CONNECTIONS), the listening socket, and
 * an accept loop that spawns one coroutine per connection. A server
 * defines its connection body, which ends with tcp_server_done(fd), and
 * calls tcp_server_main. Header-only, so that an example builds from its
 * one .c file against an installed braid. */
#ifndef BRAID_EXAMPLES_TCP_SERVER_H
#define BRAID_EXAMPLES_TCP_SERVER_H

#include <braid.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int lfd = -1;
static long max_conns = -1;           /* -n */
static atomic_long conns_done;
static braid_event *all_done;          /* -n: set when the last connection ends */
static const char *server_name, *server_port;
static braid_fn server_conn;

/* A connection's body ends here: close its fd, count it (-n). */
static void tcp_server_done(int fd)
{
    braid_close(fd);
    if (atomic_fetch_add(&conns_done, 1) + 1 == max_conns)
        braid_event_set(all_done); /* the accept loop waits for it */
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
        int err = braid_spawn(NULL, server_conn, (void *)(intptr_t)fd);
        if (err != 0) {
            braid_close(fd);
            continue;
        }
        accepted++;
    }
    /* -n: every connection accepted. Returning now would end the runtime
     * and cancel those still being served: wait for the last to end. */
    return braid_event_wait(all_done);
}

static int64_t main_task(void *arg)
{
    const char **hp = arg;
    int err = braid_event_new(&all_done);
    if (err != 0)
        return err;
    err = braid_tcp_listen(hp[0], hp[1], 4096, &lfd);
    if (err != 0) {
        fprintf(stderr, "%s: listen on %s:%s: %s\n", server_name, hp[0] ? hp[0] : "*", hp[1],
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
    braid_close(lfd);
    braid_event_free(all_done);
    return err;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: %s [-p PORT] [-t WORKERS] [-H HOST] [-n CONNECTIONS]\n"
               "  -p PORT     port to listen on (default %s; 0: any free one)\n"
               "  -t WORKERS  worker threads (default 0: one per CPU)\n"
               "  -H HOST     address to listen on (default: every address)\n"
               "  -n N        exit after N connections have ended (default: run until a signal)\n",
            server_name, server_port);
}

static int tcp_server_main(int argc, char **argv, const char *name, const char *port,
                           braid_fn conn)
{
    server_name = name;
    server_port = port;
    server_conn = conn;
    const char *hp[2] = {NULL, port};
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
        fprintf(stderr, "%s: %s\n", server_name, braid_strerror(err));
        return 1;
    }
    return 0;
}

#endif
