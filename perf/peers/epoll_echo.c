/* epoll_echo - the floor for braid's TCP echo server (perf/io-compare): one
 * thread, one level-triggered epoll set, non-blocking sockets; every read
 * (up to 64 KiB) is written straight back, what the socket does not take
 * is queued and reading pauses until it drains.
 *
 *   epoll_echo -p PORT [-t 1]
 *
 * Listens on 127.0.0.1:PORT, prints one READY line, serves until killed. */
#include "epoll_common.h"

static int on_readable(struct conn *c)
{
    static char buf[65536];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n == 0) return -1;
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    return conn_send(c, buf, (size_t)n);
}

int main(int argc, char **argv) { serve_main(argc, argv, "echo"); }
