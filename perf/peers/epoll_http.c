/* epoll_http - the floor for braid's HTTP server (perf/io-compare): one
 * thread, one level-triggered epoll set, non-blocking sockets, HTTP/1.1
 * keep-alive. Every request (bytes up to the blank line; bodies are not
 * expected) is answered 200 with Content-Length: 13, Content-Type:
 * text/plain and "Hello, World!"; all complete requests of one read
 * (pipelining) are answered by one write.
 *
 *   epoll_http -p PORT [-t 1]
 *
 * Listens on 127.0.0.1:PORT, prints one READY line, serves until killed. */
#include "epoll_common.h"

static const char RESPONSE[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";
#define MAX_HEADER 65536

static int on_readable(struct conn *c)
{
    char buf[16384], out[16384];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n == 0) return -1;
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    const char *p = buf;
    size_t len = (size_t)n;
    if (c->in_len) { /* an unfinished request from an earlier read */
        buf_append(&c->in, &c->in_len, &c->in_cap, buf, len);
        p = c->in;
        len = c->in_len;
    }
    size_t used = 0, olen = 0;
    for (;;) {
        /* a "\r\n\r\n" straddling reads is found because the unfinished
         * request is kept whole and scanned again */
        const char *e = memmem(p + used, len - used, "\r\n\r\n", 4);
        if (!e) break;
        used = (size_t)(e - p) + 4;
        if (olen + sizeof RESPONSE - 1 > sizeof out) {
            if (conn_send(c, out, olen) < 0) return -1;
            olen = 0;
        }
        memcpy(out + olen, RESPONSE, sizeof RESPONSE - 1);
        olen += sizeof RESPONSE - 1;
    }
    if (p == c->in) { /* keep the tail of the kept buffer */
        memmove(c->in, c->in + used, len - used);
        c->in_len = len - used;
    } else if (used < len) {
        buf_append(&c->in, &c->in_len, &c->in_cap, p + used, len - used);
    }
    if (c->in_len > MAX_HEADER) return -1;
    return olen ? conn_send(c, out, olen) : 0;
}

int main(int argc, char **argv) { serve_main(argc, argv, "http"); }
