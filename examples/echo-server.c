/* echo-server.c - a TCP echo server on every core: one coroutine per
 * connection, reading and writing back whatever arrives.
 *
 *   braid-echo-server [-p PORT] [-t WORKERS] [-H HOST] [-n CONNECTIONS]
 *
 * -p 0 picks a free port; the server prints "listening on PORT" once it
 * accepts. -n N exits after N connections have come and gone (for tests);
 * otherwise it runs until killed (SIGINT, SIGTERM). The accept loop is one
 * coroutine; each connection is another, spawned on the accepting worker
 * and stolen by idle ones, so connections spread over all workers. Out of
 * file descriptors, the accept loop backs off for 10 ms instead of spinning.
 */
#include "tcp_server.h"

static int64_t serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16384];
    for (;;) {
        ssize_t n = braid_read(fd, buf, sizeof buf, BRAID_FOREVER);
        if (n <= 0) /* end of stream, reset, or cancelled */
            break;
        if (braid_write_all(fd, buf, (size_t)n, BRAID_FOREVER, NULL) < 0)
            break;
    }
    tcp_server_done(fd);
    return 0;
}

int main(int argc, char **argv)
{
    return tcp_server_main(argc, argv, "braid-echo-server", "7000", serve);
}
