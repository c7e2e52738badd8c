/* fetch.c - an HTTP/1.1 GET client: fetch a document and print it.
 *
 * Mirrors seed 003's aiohttp example ("Fetching Data from an API"):
 *
 *     async def fetch_data(session, url):
 *         async with session.get(url) as response:
 *             data = await response.text()
 *             print(data)
 *
 *     async def main():
 *         async with aiohttp.ClientSession() as session:
 *             await fetch_data(session, 'https://jsonplaceholder.typicode.com/posts/1')
 *
 * and seed 000's fetch_data(url). Plain http:// only (no TLS):
 *
 *   braid-fetch [-T SECONDS] URL          e.g. braid-fetch http://127.0.0.1:8000/posts/1
 *
 * The name is resolved on the blocking pool, connect, send and every read
 * wait on the worker's reactor, all under one deadline (-T, default 10 s).
 * The body (Content-Length, chunked, or up to the end of the stream) is
 * printed followed by a newline, as print(data) does. Exit status: 0 for a
 * 2xx answer, 1 for another status or an error (said on stderr), 2 for a bad
 * command line.
 */
#include <braid.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct request {
    char host[256], port[16], path[2048];
    int64_t deadline;
    int status; /* the HTTP status, once known */
} request;

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int put(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int parse_url(const char *url, request *r)
{
    if (strncmp(url, "http://", 7) != 0)
        return -EINVAL;
    const char *h = url + 7, *slash = strchr(h, '/');
    size_t hl = slash != NULL ? (size_t)(slash - h) : strlen(h);
    const char *colon = memchr(h, ':', hl);
    size_t namel = colon != NULL ? (size_t)(colon - h) : hl;
    if (namel == 0 || namel >= sizeof r->host)
        return -EINVAL;
    memcpy(r->host, h, namel);
    r->host[namel] = '\0';
    if (colon != NULL) {
        size_t pl = hl - namel - 1;
        if (pl == 0 || pl >= sizeof r->port)
            return -EINVAL;
        memcpy(r->port, colon + 1, pl);
        r->port[pl] = '\0';
    } else {
        strcpy(r->port, "80");
    }
    const char *path = slash != NULL ? slash : "/";
    if (strlen(path) >= sizeof r->path)
        return -EINVAL;
    strcpy(r->path, path);
    return 0;
}

/* Read more of the response into b; 0 at end of stream, > 0, or error. */
static ssize_t more(int fd, buf *b, int64_t deadline)
{
    char tmp[8192];
    ssize_t n = braid_read(fd, tmp, sizeof tmp, deadline);
    if (n > 0 && put(b, tmp, (size_t)n) != 0)
        return -ENOMEM;
    return n;
}

/* Decode a chunked body from b->p + off into out. */
static int dechunk(int fd, buf *b, size_t off, buf *out, int64_t deadline)
{
    for (;;) {
        char *eol;
        while ((eol = strstr(b->p + off, "\r\n")) == NULL) {
            ssize_t n = more(fd, b, deadline);
            if (n <= 0)
                return n == 0 ? -EPROTO : (int)n;
        }
        size_t size = strtoul(b->p + off, NULL, 16);
        off = (size_t)(eol + 2 - b->p);
        if (size == 0)
            return 0; /* trailers ignored */
        while (b->len < off + size + 2) {
            ssize_t n = more(fd, b, deadline);
            if (n <= 0)
                return n == 0 ? -EPROTO : (int)n;
        }
        if (put(out, b->p + off, size) != 0)
            return -ENOMEM;
        off += size + 2;
    }
}

/* async def fetch_data(session, url) */
static int64_t fetch_data(void *arg)
{
    request *r = arg;
    int fd;
    int err = braid_tcp_connect(r->host, r->port, r->deadline, &fd);
    if (err != 0)
        return braid_fail(err, "connect to %s:%s: %s", r->host, r->port, braid_strerror(err));
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n"
                     "User-Agent: braid-fetch\r\nConnection: close\r\n\r\n",
                     r->path, r->host);
    ssize_t w = braid_write_all(fd, req, (size_t)n, r->deadline, NULL);
    buf b = {0}, body = {0};
    if (w < 0) {
        err = braid_fail((int)w, "send: %s", braid_strerror((int)w));
        goto out;
    }
    char *hend;
    while (b.p == NULL || (hend = strstr(b.p, "\r\n\r\n")) == NULL) {
        ssize_t k = more(fd, &b, r->deadline);
        if (k <= 0) {
            err = braid_fail(k == 0 ? -EPROTO : (int)k, "reading the answer's head: %s",
                             k == 0 ? "connection closed" : braid_strerror((int)k));
            goto out;
        }
    }
    if (sscanf(b.p, "HTTP/%*d.%*d %d", &r->status) != 1) {
        err = braid_fail(-EPROTO, "not an HTTP answer");
        goto out;
    }
    *hend = '\0'; /* headers: b.p .. hend */
    size_t off = (size_t)(hend + 4 - b.p);
    const char *te = strcasestr(b.p, "\r\nTransfer-Encoding:");
    const char *cl = strcasestr(b.p, "\r\nContent-Length:");
    if (te != NULL && strcasestr(te, "chunked") != NULL) {
        err = dechunk(fd, &b, off, &body, r->deadline);
    } else if (cl != NULL) {
        size_t want = strtoul(cl + 17, NULL, 10);
        while (b.len < off + want) {
            ssize_t k = more(fd, &b, r->deadline);
            if (k <= 0) {
                err = k == 0 ? -EPROTO : (int)k;
                break;
            }
        }
        if (err == 0)
            err = put(&body, b.p + off, want);
    } else { /* up to the end of the stream */
        ssize_t k;
        while ((k = more(fd, &b, r->deadline)) > 0)
            ;
        err = k < 0 ? (int)k : put(&body, b.p + off, b.len - off);
    }
    if (err != 0) {
        err = braid_fail(err, "reading the body: %s", braid_strerror(err));
        goto out;
    }
    /* data = await response.text(); print(data) */
    fwrite(body.p != NULL ? body.p : "", 1, body.len, stdout);
    putchar('\n');
out:
    braid_close(fd);
    free(b.p);
    free(body.p);
    return err;
}

/* async def main() */
static int64_t main_task(void *arg)
{
    braid_task *t;
    int err = braid_spawn(&t, fetch_data, arg);
    if (err != 0)
        return err;
    err = braid_await(t, NULL); /* await fetch_data(session, url) */
    if (err != 0) {
        const char *msg = braid_task_message(t);
        fprintf(stderr, "braid-fetch: %s\n", msg != NULL ? msg : braid_strerror(err));
    }
    braid_task_release(t);
    return err;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: braid-fetch [-T SECONDS] http://HOST[:PORT]/PATH\n"
               "  -T SECONDS  give up after this long (default 10)\n");
}

int main(int argc, char **argv)
{
    double secs = 10;
    int c;
    while ((c = getopt(argc, argv, "T:h")) != -1) {
        char *end;
        switch (c) {
        case 'T':
            secs = strtod(optarg, &end);
            if (*end != '\0' || !(secs > 0)) {
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
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    request r = {0};
    if (parse_url(argv[optind], &r) != 0) {
        fprintf(stderr, "braid-fetch: not a plain http:// URL: %s\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    r.deadline = braid_now() + (int64_t)(secs * 1e9);
    int err = braid_run(main_task, &r, NULL, NULL); /* asyncio.run(main()) */
    if (err != 0)
        return 1;
    if (r.status < 200 || r.status > 299) {
        fprintf(stderr, "braid-fetch: HTTP status %d\n", r.status);
        return 1;
    }
    return 0;
}
