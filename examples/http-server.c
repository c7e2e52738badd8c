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
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "tcp_server.h"

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
    tcp_server_done(fd);
    return 0;
}

int main(int argc, char **argv)
{
    return tcp_server_main(argc, argv, "braid-http-server", "8080", serve);
}
