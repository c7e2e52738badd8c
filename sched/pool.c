/* pool.c - the blocking pool (braid_blocking, asyncio.to_thread) and what
 * runs on it: file verbs and name lookups.
 *
 * Owns: the pool's threads and its bounded queue of jobs. A coroutine that
 * submits a job parks until a pool thread has run it; a full queue makes
 * the submitter wait for room (a coroutine-aware semaphore counts the free
 * places). Threads start on demand up to the limit and exit after being
 * idle for a while; braid_rt_free joins them all.
 *
 * A job and its waiter meet under the job's spin lock: the thread, done,
 * wakes the waiter and then marks the job done (release), so a woken waiter
 * that reads "done" leaves without the lock (as sync.c's q_grant); a waiter
 * that leaves first (cancel, deadline) marks the job abandoned, and the
 * thread then frees it (and runs its cleanup, which frees what fn's
 * argument owned).
 */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "futex.h"
#include "internal.h"
#include "io.h"
#include "spin.h"

typedef struct job {
    struct job *next;
    braid_fn fn;
    void *arg;
    void (*cleanup)(void *arg); /* when abandoned: frees arg's resources */
    int64_t ret;
    braid__spin lock;
    braid_task *waiter; /* NULL: abandoned */
    braid__a32 done;    /* 1: ret is final and the thread is done with us */
} job;

struct braid__pool {
    pthread_mutex_t lock;
    pthread_cond_t work;   /* a job was queued, or stop */
    pthread_cond_t gone;   /* a thread exited */
    job *head, *tail;      /* queued jobs, FIFO */
    unsigned nthreads, nidle, max;
    unsigned nqueued;      /* jobs in the queue */
    int64_t idle_ns;
    bool stop;
    pthread_t *zombies;    /* threads that exited while idle, to be joined */
    unsigned nzombies;
    pthread_t *threads;    /* live threads (max entries) */
    braid_sem *room;       /* free places in the queue */
};

int braid__pool_new(braid__pool **out, unsigned max, unsigned queue, int64_t idle_ns)
{
    braid__pool *p = braid__calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    p->max = max ? max : 64;
    p->idle_ns = idle_ns > 0 ? idle_ns : 10 * BRAID_SEC;
    p->threads = braid__calloc(p->max, sizeof *p->threads);
    p->zombies = braid__calloc(p->max, sizeof *p->zombies);
    int err = braid_sem_new(&p->room, queue ? (long)queue : 1024, 0);
    if (p->threads == NULL || p->zombies == NULL || err != 0) {
        if (err == 0)
            braid_sem_free(p->room);
        braid__free(p->threads);
        braid__free(p->zombies);
        braid__free(p);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->work, &ca);
    pthread_cond_init(&p->gone, &ca);
    pthread_condattr_destroy(&ca);
    *out = p;
    return 0;
}

static void join_zombies(braid__pool *p)
{
    /* With p->lock held. */
    while (p->nzombies > 0)
        pthread_join(p->zombies[--p->nzombies], NULL);
}

void braid__pool_free(braid__pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    /* Threads finish the queue first: every queued job has a waiter or an
     * abandoned caller that expects it to run. */
    while (p->nthreads > 0)
        pthread_cond_wait(&p->gone, &p->lock);
    join_zombies(p);
    pthread_mutex_unlock(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->gone);
    pthread_mutex_destroy(&p->lock);
    braid_sem_free(p->room);
    braid__free(p->threads);
    braid__free(p->zombies);
    braid__free(p);
}

static void finish(braid__pool *p, job *j)
{
    (void)p;
    braid__spin_lock(&j->lock);
    braid_task *t = j->waiter;
    if (t == NULL) { /* abandoned: nobody will look */
        braid__spin_unlock(&j->lock);
        if (j->cleanup != NULL)
            j->cleanup(j->arg);
        braid__free(j);
        return;
    }
    braid__wake(braid__worker_current(), t); /* NULL worker: injected */
    /* Release, after the wake and under the lock: see the file comment. */
    braid__store32_release(&j->done, 1);
    braid__spin_unlock(&j->lock);
}

static void *pool_thread(void *arg)
{
    braid__pool *p = arg;
    sigset_t pipe_set; /* as on the workers: EPIPE, not death (worker.c) */
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        job *j = p->head;
        if (j != NULL) {
            p->head = j->next;
            if (p->head == NULL)
                p->tail = NULL;
            p->nqueued--;
            pthread_mutex_unlock(&p->lock);
            braid_sem_release(p->room);
            j->ret = j->fn(j->arg);
            finish(p, j);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        if (p->stop)
            break;
        p->nidle++;
        struct timespec ts;
        int64_t until = braid__clock_ns() + p->idle_ns;
        ts.tv_sec = until / 1000000000;
        ts.tv_nsec = until % 1000000000;
        int r = 0;
        while (p->head == NULL && !p->stop && r != ETIMEDOUT)
            r = pthread_cond_timedwait(&p->work, &p->lock, &ts);
        p->nidle--;
        if (p->head == NULL && !p->stop && r == ETIMEDOUT) { /* idle too long: shrink */
            for (unsigned i = 0; i < p->nthreads; i++) {
                if (pthread_equal(p->threads[i], pthread_self())) {
                    p->threads[i] = p->threads[--p->nthreads];
                    break;
                }
            }
            p->zombies[p->nzombies++] = pthread_self();
            pthread_cond_broadcast(&p->gone);
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
    }
    /* Stopping: leave our handle for braid__pool_free to join. */
    for (unsigned i = 0; i < p->nthreads; i++) {
        if (pthread_equal(p->threads[i], pthread_self())) {
            p->threads[i] = p->threads[--p->nthreads];
            break;
        }
    }
    p->zombies[p->nzombies++] = pthread_self();
    pthread_cond_broadcast(&p->gone);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Queue j; start a thread if none is idle and the limit allows. */
static int enqueue(braid__pool *p, job *j)
{
    pthread_mutex_lock(&p->lock);
    if (p->stop) {
        pthread_mutex_unlock(&p->lock);
        return -ESHUTDOWN;
    }
    join_zombies(p);
    /* A thread for this job: an idle one not already claimed by a queued
     * job (idle threads leave the count only when they wake), else a new
     * one while the limit allows. Jobs may wait for each other: each
     * needs a thread of its own. */
    if (p->nqueued >= p->nidle && p->nthreads < p->max) {
        pthread_t th;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 256 * 1024);
        int err = braid__fault(BRAID__FAULT_THREAD) ? EAGAIN
                                                    : pthread_create(&th, &a, pool_thread, p);
        pthread_attr_destroy(&a);
        if (err == 0) {
            p->threads[p->nthreads++] = th;
        } else if (p->nthreads == 0) {
            pthread_mutex_unlock(&p->lock);
            return -EAGAIN;
        }
    }
    j->next = NULL;
    if (p->tail != NULL)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->nqueued++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

/* An error before the job was queued: nobody else will clean arg up. */
static int not_queued(void (*cleanup)(void *), void *arg, int err)
{
    if (cleanup != NULL)
        cleanup(arg);
    return err;
}

int braid__pool_run(braid_fn fn, void *arg, void (*cleanup)(void *), int64_t deadline,
                    bool interruptible, int64_t *ret)
{
    braid__worker *w = braid__worker_current();
    if (w == NULL || w->cur == NULL) { /* a plain thread: it may block */
        *ret = fn(arg);
        return 0;
    }
    braid_rt *rt = w->rt;
    braid__pool *p = rt->pool;
    braid_task *self = w->cur;
    if (interruptible && braid__take_cancel(self))
        return not_queued(cleanup, arg, -ECANCELED);
    job *j = braid__malloc(sizeof *j);
    if (j == NULL)
        return not_queued(cleanup, arg, -ENOMEM);
    j->fn = fn;
    j->arg = arg;
    j->cleanup = cleanup;
    j->waiter = self;
    braid__spin_init(&j->lock);
    braid__store32_release(&j->done, 0); /* release: not shared yet; cheap */
    int err;
    bool cancelled = false; /* uninterruptible: a cancel seen, reported after the job */
    /* Room in the queue: waiting for it can be cancelled or time out. */
    while ((err = braid_sem_acquire_until(p->room, interruptible ? deadline : BRAID_FOREVER)) != 0) {
        if (interruptible || err != -ECANCELED) {
            braid__free(j);
            return not_queued(cleanup, arg, err);
        }
        cancelled = true; /* consumed: the retry waits for real */
    }
    if ((err = enqueue(p, j)) != 0) {
        braid_sem_release(p->room);
        braid__free(j);
        if (cancelled)
            braid__rearm_cancel(self);
        return not_queued(cleanup, arg, err);
    }
    w = braid__worker_current();
    for (;;) {
        err = braid__park(&w, self, interruptible ? deadline : BRAID_FOREVER);
        /* A cancel that came with the completion is kept for the next
         * waiting call: the result wins, the cancel is not lost. */
        cancelled |= err == -ECANCELED;
        /* Acquire: pairs with the thread's release store after its wake. */
        if (braid__load32_acquire(&j->done))
            break;
        /* Not done yet: the thread may be between its wake and its mark,
         * and holds the lock until it is past both; take it to know. */
        braid__spin_lock(&j->lock);
        if (braid__load32_acquire(&j->done)) { /* done: the result wins */
            braid__spin_unlock(&j->lock);
            break;
        }
        if (err == 0 || !interruptible) { /* a stray wake-up, or one we must sit out */
            braid__spin_unlock(&j->lock);
            continue;
        }
        j->waiter = NULL; /* abandoned: the thread frees it */
        braid__spin_unlock(&j->lock);
        return err;
    }
    if (cancelled)
        braid__rearm_cancel(self); /* the next waiting call reports it */
    /* The thread may still be inside its unlock: take the lock once so it
     * is out before we free. */
    braid__spin_lock(&j->lock);
    braid__spin_unlock(&j->lock);
    *ret = j->ret;
    braid__free(j);
    return 0;
}

/* ---- public: braid_blocking ----------------------------------------------- */

int braid_blocking_until(braid_fn fn, void *arg, int64_t *result, int64_t deadline)
{
    if (fn == NULL)
        return -EINVAL;
    int64_t r;
    int err = braid__pool_run(fn, arg, NULL, deadline, true, &r);
    if (err != 0)
        return err;
    if (r < 0)
        return r < INT32_MIN ? INT32_MIN : (int)r;
    if (result != NULL)
        *result = r;
    return 0;
}

int braid_blocking(braid_fn fn, void *arg, int64_t *result)
{
    return braid_blocking_until(fn, arg, result, BRAID_FOREVER);
}

/* ---- files ------------------------------------------------------------------ */

typedef struct fileop {
    int fd;
    int flags;
    unsigned mode;
    const char *path;
    void *buf;
    size_t n;
    int64_t off;
    int op; /* 0 open, 1 read, 2 write, 3 close */
} fileop;

static int64_t run_fileop(void *arg)
{
    fileop *o = arg;
    ssize_t r = -1;
    switch (o->op) {
    case 0:
        do
            r = open(o->path, o->flags | O_CLOEXEC, (mode_t)o->mode);
        while (r < 0 && errno == EINTR);
        break;
    case 1:
        do
            r = o->off < 0 ? read(o->fd, o->buf, o->n) : pread(o->fd, o->buf, o->n, (off_t)o->off);
        while (r < 0 && errno == EINTR);
        break;
    case 2:
        do
            r = o->off < 0 ? write(o->fd, o->buf, o->n) : pwrite(o->fd, o->buf, o->n, (off_t)o->off);
        while (r < 0 && errno == EINTR);
        break;
    default:
        r = close(o->fd);
        break;
    }
    return r < 0 ? -(int64_t)errno : (int64_t)r;
}

/* The operation runs to its end even if the caller is cancelled meanwhile
 * (bytes moved must be reported, and o lives on the caller's stack); the
 * cancel is then delivered at the caller's next waiting call. */
static int64_t fileop_run(fileop *o)
{
    int64_t r;
    int err = braid__pool_run(run_fileop, o, NULL, BRAID_FOREVER, false, &r);
    return err != 0 ? err : r;
}

int braid_file_open(const char *path, int flags, unsigned mode, int *out)
{
    if (path == NULL || out == NULL)
        return -EINVAL;
    fileop o = {.op = 0, .path = path, .flags = flags, .mode = mode};
    int64_t r = fileop_run(&o);
    if (r < 0)
        return (int)r;
    *out = (int)r;
    return 0;
}

ssize_t braid_file_read(int fd, void *buf, size_t n, int64_t off)
{
    fileop o = {.op = 1, .fd = fd, .buf = buf, .n = n, .off = off};
    return (ssize_t)fileop_run(&o);
}

ssize_t braid_file_write(int fd, const void *buf, size_t n, int64_t off)
{
    fileop o = {.op = 2, .fd = fd, .buf = (void *)buf, .n = n, .off = off};
    return (ssize_t)fileop_run(&o);
}

int braid_file_close(int fd)
{
    fileop o = {.op = 3, .fd = fd};
    return (int)fileop_run(&o);
}

/* ---- name lookups and TCP helpers ------------------------------------------- */

typedef struct lookup {
    char *host, *port;
    struct addrinfo hints;
    struct addrinfo *res;
} lookup;

static void lookup_free(void *arg)
{
    lookup *l = arg;
    if (l->res != NULL)
        freeaddrinfo(l->res);
    braid__free(l->host);
    braid__free(l->port);
    braid__free(l);
}

static int64_t run_lookup(void *arg)
{
    lookup *l = arg;
    int r = getaddrinfo(l->host, l->port, &l->hints, &l->res);
    switch (r) {
    case 0:
        return 0;
    case EAI_NONAME:
    case EAI_SERVICE:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
        return -ENOENT;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return -errno;
    default:
        return -EINVAL;
    }
}

/* Resolve host:port on the pool. The lookup can be cancelled: it then
 * finishes on its thread and frees itself. */
static int resolve(const char *host, const char *port, bool passive, int64_t deadline,
                   lookup **out)
{
    lookup *l = braid__calloc(1, sizeof *l);
    if (l == NULL)
        return -ENOMEM;
    l->host = host != NULL && host[0] != '\0' ? braid__strdup(host) : NULL;
    l->port = braid__strdup(port);
    if ((host != NULL && host[0] != '\0' && l->host == NULL) || l->port == NULL) {
        lookup_free(l);
        return -ENOMEM;
    }
    l->hints.ai_family = AF_UNSPEC;
    l->hints.ai_socktype = SOCK_STREAM;
    l->hints.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG;
    int64_t r;
    int err = braid__pool_run(run_lookup, l, lookup_free, deadline, true, &r);
    if (err != 0)
        return err; /* l is freed: at once, or by the thread if abandoned */
    if (r < 0) {
        lookup_free(l);
        return (int)r;
    }
    *out = l;
    return 0;
}

int braid_tcp_listen(const char *host, const char *port, int backlog, int *out)
{
    if (port == NULL || out == NULL)
        return -EINVAL;
    lookup *l;
    int err = resolve(host, port, true, BRAID_FOREVER, &l);
    if (err != 0)
        return err;
    /* Prefer IPv6 (dual-stack) for the wildcard, then the order given. */
    err = -EADDRNOTAVAIL;
    for (int pass = 0; pass < 2 && err != 0; pass++) {
        for (struct addrinfo *a = l->res; a != NULL; a = a->ai_next) {
            if ((pass == 0) != (a->ai_family == AF_INET6))
                continue;
            int fd = braid__fault(BRAID__FAULT_SYSCALL)
                         ? (errno = EMFILE, -1)
                         : socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                  a->ai_protocol);
            if (fd < 0) {
                err = -errno;
                continue;
            }
            int one = 1, zero = 0;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            if (a->ai_family == AF_INET6)
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
            if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 &&
                listen(fd, backlog > 0 ? backlog : SOMAXCONN) == 0) {
                braid__io_adopt(fd); /* registered once, until braid_close */
                *out = fd;
                err = 0;
                break;
            }
            err = -errno;
            close(fd);
        }
    }
    lookup_free(l);
    return err;
}

int braid_tcp_connect(const char *host, const char *port, int64_t deadline, int *out)
{
    if (host == NULL || port == NULL || out == NULL)
        return -EINVAL;
    lookup *l;
    int err = resolve(host, port, false, deadline, &l);
    if (err != 0)
        return err;
    err = -ECONNREFUSED;
    for (struct addrinfo *a = l->res; a != NULL; a = a->ai_next) {
        int fd = braid__fault(BRAID__FAULT_SYSCALL)
                     ? (errno = EMFILE, -1)
                     : socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        err = braid_connect(fd, a->ai_addr, a->ai_addrlen, deadline);
        if (err == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            braid__io_adopt(fd); /* registered once, until braid_close */
            *out = fd;
            break;
        }
        braid_close(fd);
        if (err == -ETIMEDOUT || err == -ECANCELED)
            break;
    }
    lookup_free(l);
    return err;
}
