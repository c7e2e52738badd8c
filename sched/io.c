/* io.c - waiting on file descriptors, and the verbs built on it (see io.h
 * for the reactor's design, braid.h for the verbs' contracts). */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "internal.h"
#include "spin.h"

/* epoll_ctl to add or modify, through the fault injector (alloc.h): the
 * kernel may refuse with ENOMEM, and every caller must cope. */
static int ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    if (braid__fault(BRAID__FAULT_SYSCALL)) {
        errno = ENOMEM;
        return -1;
    }
    return epoll_ctl(epfd, op, fd, ev);
}

/* An injected EINTR before a system call that braid retries on EINTR. */
static bool eintr(void)
{
    if (braid__fault(BRAID__FAULT_SYSCALL)) {
        errno = EINTR;
        return true;
    }
    return false;
}

/* ---- the fd table ------------------------------------------------------ */

/* A coroutine waiting on an fd; lives on its stack. */
typedef struct fdwait {
    struct fdwait *next;
    braid_task *task;
    uint32_t events;  /* what it waits for (EPOLLIN and/or EPOLLOUT) */
    uint32_t revents; /* what woke it */
    int result;       /* 0, or -EBADF: the fd was closed by braid_close */
    braid__a32 done;  /* 1: a waker decided the outcome (release) */
} fdwait;

typedef struct fdslot {
    braid__spin lock;
    fdwait *waiters;
    int home_epfd;    /* the instance the fd is registered in, -1: none */
    uint64_t home_id; /* that reactor's id (an epfd number can be reused) */
    braid__reactor *home;
    bool counted;     /* counted in home->armed (one-shot: has waiters;
                       * persistent: registered) */
    /* The fields above and below: under `lock`, by any thread. */
    bool persistent;  /* braid made the fd: registered once, edge-triggered */
    bool registered;  /* persistent and in home's instance */
    uint32_t ready;   /* persistent: edges seen that no waiter took */
    uint32_t tick;    /* persistent: deliveries so far (braid_wait_fd's and
                       * read_drained's "no edge since" checks) */
    uint32_t drained; /* persistent: directions a short read found emptied
                       * with no edge since: the next read waits for an edge
                       * instead of a system call that would say EAGAIN */
    int fd;           /* its index in the table */
} fdslot;

/* Events of a persistent registration, and what a delivered edge leaves in
 * `ready` for good (conditions, not edges). */
#define PERSIST_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)
#define STICKY_EVENTS (EPOLLERR | EPOLLHUP | EPOLLRDHUP)

#define CHUNK_BITS 10
#define CHUNK_SLOTS (1u << CHUNK_BITS)
#define MAX_FDS (1u << 22)
static braid__aword chunks[MAX_FDS / CHUNK_SLOTS];
static braid__aword next_reactor_id = 1;

/* Live reactors by id, so that a slot's old home can be told apart from a
 * closed instance whose epfd number was reused. Small and rarely written
 * (a runtime's start and end); read when an fd moves between workers. */
#define MAX_REACTORS 4096
static braid__spin reactors_lock;
static struct {
    uint64_t id;
    int epfd;
} reactors[MAX_REACTORS];
static unsigned nreactors;

static void reactor_register(braid__reactor *r)
{
    braid__spin_lock(&reactors_lock);
    if (nreactors < MAX_REACTORS) { /* else: re-homing leaves an entry behind, harmless */
        reactors[nreactors].id = r->id;
        reactors[nreactors].epfd = r->epfd;
        nreactors++;
    }
    braid__spin_unlock(&reactors_lock);
}

static void reactor_unregister(braid__reactor *r)
{
    braid__spin_lock(&reactors_lock);
    for (unsigned i = 0; i < nreactors; i++) {
        if (reactors[i].id == r->id) {
            reactors[i] = reactors[--nreactors];
            break;
        }
    }
    braid__spin_unlock(&reactors_lock);
}

/* Remove fd from the instance of reactor `id`, if it still exists. */
static void forget_in(uint64_t id, int fd)
{
    braid__spin_lock(&reactors_lock);
    for (unsigned i = 0; i < nreactors; i++) {
        if (reactors[i].id == id) {
            epoll_ctl(reactors[i].epfd, EPOLL_CTL_DEL, fd, NULL); /* ENOENT: fine */
            break;
        }
    }
    braid__spin_unlock(&reactors_lock);
}

/* The slot of fd, created on first use (NULL: no memory, or fd too big). */
static fdslot *slot_of(int fd, bool create)
{
    if (fd < 0 || (unsigned)fd >= MAX_FDS)
        return NULL;
    braid__aword *cp = &chunks[(unsigned)fd >> CHUNK_BITS];
    /* Acquire: pairs with the release CAS that published the chunk. */
    fdslot *c = (fdslot *)braid__load_acquire(cp);
    if (c == NULL) {
        if (!create)
            return NULL;
        /* libc, not braid__calloc: the table lives as long as the process. */
        fdslot *n = calloc(CHUNK_SLOTS, sizeof *n);
        if (n == NULL)
            return NULL;
        for (unsigned i = 0; i < CHUNK_SLOTS; i++) {
            braid__spin_init(&n[i].lock);
            n[i].home_epfd = -1;
            n[i].fd = (int)(((unsigned)fd & ~(CHUNK_SLOTS - 1)) + i);
        }
        uintptr_t expect = 0;
        /* Acq_rel CAS: publishes the initialised chunk; chunks are never
         * freed (a process has one table, bounded by its fd limit). */
        if (braid__cas(cp, &expect, (uintptr_t)n)) {
            c = n;
        } else {
            free(n);
            c = (fdslot *)expect;
        }
    }
    return &c[(unsigned)fd & (CHUNK_SLOTS - 1)];
}

static uint32_t wanted(const fdslot *s)
{
    uint32_t ev = 0;
    for (const fdwait *n = s->waiters; n != NULL; n = n->next)
        ev |= n->events;
    return ev;
}

static void unlink_waiter(fdslot *s, fdwait *n)
{
    for (fdwait **p = &s->waiters; *p != NULL; p = &(*p)->next) {
        if (*p == n) {
            *p = n->next;
            return;
        }
    }
}

static void count_home(fdslot *s, bool has_waiters)
{
    if (has_waiters && !s->counted && s->home != NULL) {
        braid__fetch_add_relaxed(&s->home->armed, 1); /* relaxed: a hint */
        s->counted = true;
    } else if (!has_waiters && s->counted) {
        braid__fetch_add_relaxed(&s->home->armed, (uintptr_t)-1); /* relaxed: a hint */
        s->counted = false;
    }
}

/* With s->lock held: arm fd for what its waiters want, in the current home
 * if it has other waiters, else in r (which becomes the home). */
static int arm(fdslot *s, int fd, braid__reactor *r, bool others)
{
    struct epoll_event ev = {.events = wanted(s) | EPOLLONESHOT, .data.ptr = s};
    if (others && s->home != NULL) {
        if (ctl(s->home_epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
            return 0;
        if (errno != ENOENT)
            return -errno;
    }
    if (s->home_id != r->id) { /* re-home */
        if (s->counted) {
            count_home(s, false);
        }
        /* The old instance keeps a disarmed entry for the fd: take it out,
         * so that a later cancel can leave the fd registered nowhere. Only
         * if that reactor still exists (its epfd number may be reused). */
        if (s->home_id != 0)
            forget_in(s->home_id, fd);
        s->home = r;
        s->home_id = r->id;
        s->home_epfd = r->epfd;
        if (ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
            return 0;
        if (errno != EEXIST)
            goto fail;
        if (ctl(r->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
            return 0;
        goto fail;
    }
    if (ctl(r->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
        return 0;
    if (errno == ENOENT && ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
        return 0; /* the fd was closed and its number reused since */
fail:;
    int err = -errno;
    s->home = NULL;
    s->home_id = 0;
    s->home_epfd = -1;
    return err;
}

/* With s->lock held: register a persistent fd, once, in its current home
 * (a one-shot registration left from before it was adopted: modified in
 * place) or else in r. */
static int arm_persistent(fdslot *s, int fd, braid__reactor *r)
{
    struct epoll_event ev = {.events = PERSIST_EVENTS, .data.ptr = s};
    if (s->home != NULL) {
        if (ctl(s->home_epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
            goto done;
        if (errno != ENOENT)
            return -errno;
        count_home(s, false);
    }
    s->home = r;
    s->home_id = r->id;
    s->home_epfd = r->epfd;
    if (ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 &&
        (errno != EEXIST || ctl(r->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)) {
        int err = -errno;
        s->home = NULL;
        s->home_id = 0;
        s->home_epfd = -1;
        return err;
    }
done:
    s->registered = true;
    s->drained = 0; /* ADD and MOD report what is ready now */
    count_home(s, true); /* polled while registered, waiters or not */
    return 0;
}

/* What of `ready` answers a wait for events (edges it asked for, and the
 * conditions that end any wait). */
static uint32_t ready_for(uint32_t ready, uint32_t events)
{
    uint32_t want = events | EPOLLERR | EPOLLHUP | ((events & EPOLLIN) ? EPOLLRDHUP : 0);
    return ready & want;
}

/* With s->lock held, the last waiter gone by deadline or cancel: take the
 * fd out of its instance. */
static void disarm(fdslot *s, int fd)
{
    if (s->home_epfd >= 0)
        epoll_ctl(s->home_epfd, EPOLL_CTL_DEL, fd, NULL);
    count_home(s, false);
    s->home = NULL;
    s->home_id = 0;
    s->home_epfd = -1;
}

/* A wait on a persistent fd that needed no system call confirms, after
 * CHECK_FIRST_NS and then at doubling intervals up to CHECK_MAX_NS, that
 * the registration still exists (see recheck). A wait that ends sooner,
 * as in a busy server, pays only for the timer. */
#define CHECK_FIRST_NS (10 * 1000 * 1000LL)
#define CHECK_MAX_NS (1000 * 1000 * 1000LL)

/* With s->lock held: 0 if fd's persistent registration is (again) in
 * place, or the error to return (-EBADF: fd is closed). */
static int recheck(fdslot *s, int fd, braid__worker *w)
{
    struct epoll_event ev = {.events = PERSIST_EVENTS, .data.ptr = s};
    if (s->registered && ctl(s->home_epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
        return 0;
    if (errno == EBADF)
        return -EBADF;
    /* ENOENT: the fd was closed with close(2) and its number reused. */
    s->registered = false;
    count_home(s, false);
    s->home = NULL;
    s->home_id = 0;
    s->home_epfd = -1;
    return arm_persistent(s, fd, &w->io);
}

/* Wait for events on fd. `retry`: the caller just got EAGAIN and will try
 * its call again, so a persistent fd's recorded edge is answer enough (a
 * stale one costs one more EAGAIN); braid_wait_fd, whose answer is the
 * readiness itself, checks a recorded edge with poll(2) first. */
static int fd_wait(int fd, uint32_t events, int64_t deadline, bool retry)
{
    braid__worker *w = braid__worker_current();
    if (w == NULL || w->cur == NULL)
        return -EPERM;
    if (events == 0)
        return -EINVAL;
    fdslot *s = slot_of(fd, true);
    if (s == NULL)
        return fd < 0 || (unsigned)fd >= MAX_FDS ? -EBADF : -ENOMEM;
    braid_task *self = w->cur;
    if (braid__take_cancel(self))
        return -ECANCELED;
    if (deadline != BRAID_FOREVER && deadline <= braid_now()) {
        /* Already past: readiness now, or the timeout (no registration).
         * epoll refuses regular files and directories (-EPERM), poll(2)
         * calls them ready: keep epoll's answer. */
        struct stat st;
        if (fstat(fd, &st) != 0)
            return -errno;
        if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
            return -EPERM;
        struct pollfd p = {.fd = fd, .events = (short)events};
        int k = poll(&p, 1, 0);
        if (k < 0)
            return -errno;
        if (k == 0)
            return -ETIMEDOUT;
        if (p.revents & POLLNVAL)
            return -EBADF;
        return (int)(unsigned short)p.revents;
    }
    fdwait n = {.task = self, .events = events};
    braid__store32_release(&n.done, 0); /* release: not shared yet; cheap */
    braid__spin_lock(&s->lock);
    int err = 0;
    int64_t check_at = BRAID_FOREVER; /* when to confirm a persistent registration */
    if (s->persistent) {
        /* Edge-triggered: an edge that came while nobody waited is in
         * `ready`. Take it instead of sleeping through it. */
        uint32_t hit = ready_for(s->ready, events);
        while (hit != 0 && !retry) {
            uint32_t tick = s->tick;
            braid__spin_unlock(&s->lock);
            struct pollfd p = {.fd = fd, .events = (short)events};
            int k = poll(&p, 1, 0);
            if (k != 0)
                return k > 0 ? (int)(unsigned short)p.revents : -errno;
            braid__spin_lock(&s->lock);
            if (s->tick == tick) /* no edge since: the recorded one is stale */
                s->ready &= ~events;
            hit = ready_for(s->ready, events);
        }
        if (hit != 0) {
            s->ready &= ~events; /* consumed; conditions stay */
            braid__spin_unlock(&s->lock);
            return (int)hit;
        }
        n.next = s->waiters;
        s->waiters = &n;
        if (s->registered) /* no system call: check it now and then (below) */
            check_at = braid_now() + CHECK_FIRST_NS;
        else
            err = arm_persistent(s, fd, &w->io);
    } else {
        bool others = s->waiters != NULL;
        n.next = s->waiters;
        s->waiters = &n;
        err = arm(s, fd, &w->io, others);
    }
    if (err != 0) {
        unlink_waiter(s, &n);
        if (s->waiters == NULL && !s->persistent)
            count_home(s, false);
        braid__spin_unlock(&s->lock);
        return err;
    }
    if (!s->persistent)
        count_home(s, true);
    braid__spin_unlock(&s->lock);
    stat_io_wait(w);
    braid__trace(w, TEV_IOWAIT, (uint64_t)fd, events);
    for (;;) {
        err = braid__park(&w, self, check_at < deadline ? check_at : deadline);
        /* Acquire: pairs with the waker's release store after its wake. */
        if (err == 0 && braid__load32_acquire(&n.done))
            return n.result != 0 ? n.result : (int)n.revents;
        braid__spin_lock(&s->lock);
        if (braid__load32_acquire(&n.done)) { /* a wake-up wins over a timeout or cancel */
            braid__spin_unlock(&s->lock);
            if (err == -ECANCELED)
                braid__rearm_cancel(self);
            return n.result != 0 ? n.result : (int)n.revents;
        }
        if (err == -ETIMEDOUT && check_at < deadline) {
            /* Our own check, not the caller's deadline: is the fd still
             * registered? Only a close(2) behind braid's back (braid.h)
             * ends a persistent registration unseen, and a new fd with the
             * same number would then wait here for ever. MOD also re-arms
             * the edge for what is ready now. */
            err = recheck(s, fd, w);
            if (err == 0) {
                braid__spin_unlock(&s->lock);
                int64_t gap = (check_at - braid_now()) * 2;
                check_at = braid_now() +
                           (gap < CHECK_FIRST_NS ? CHECK_FIRST_NS : gap > CHECK_MAX_NS ? CHECK_MAX_NS : gap);
                continue;
            }
        }
        if (err != 0) {
            unlink_waiter(s, &n);
            if (s->persistent)
                ; /* stays registered for all events: nothing to change */
            else if (s->waiters == NULL)
                disarm(s, fd);
            else
                arm(s, fd, s->home, true); /* fewer events now */
            braid__spin_unlock(&s->lock);
            return err;
        }
        braid__spin_unlock(&s->lock); /* a stray wake-up: wait on */
    }
}

static void wake_waiter(braid__worker *w, fdwait *n, uint32_t rev, int result)
{
    n->revents = rev;
    n->result = result;
    braid__wake(w, n->task);
    /* Release, after the wake: the waiter reading 1 without the lock knows
     * we touch neither node nor task again. */
    braid__store32_release(&n->done, 1);
}

/* With s->lock held: hand the readiness in ev to the matching waiters. */
static unsigned deliver(braid__worker *w, fdslot *s, uint32_t ev)
{
    unsigned woken = 0;
    uint32_t taken = 0;
    bool all = (ev & (EPOLLERR | EPOLLHUP)) != 0;
    for (fdwait **p = &s->waiters; *p != NULL;) {
        fdwait *n = *p;
        if (all || (n->events & ev) != 0) {
            *p = n->next;
            taken |= n->events;
            wake_waiter(w, n, ev & (n->events | EPOLLERR | EPOLLHUP), 0);
            woken++;
        } else {
            p = &n->next;
        }
    }
    if (s->persistent) {
        /* Still registered (edge-triggered): keep what nobody took for the
         * next wait, and the lasting conditions for every wait. */
        s->ready |= (ev & ~taken) | (ev & STICKY_EVENTS);
        s->drained &= (ev & STICKY_EVENTS) ? 0 : ~ev; /* an end: try the call */
        s->tick++;
        return woken;
    }
    /* One-shot: re-arm for those left; if that fails, they must not sleep
     * on, so they get the error. */
    int err = 0;
    if (s->waiters != NULL)
        err = s->home != NULL ? arm(s, s->fd, s->home, true) : -EBADF;
    while (err != 0 && s->waiters != NULL) {
        fdwait *n = s->waiters;
        s->waiters = n->next;
        wake_waiter(w, n, 0, err);
        woken++;
    }
    if (s->waiters == NULL)
        count_home(s, false);
    return woken;
}

/* ---- the reactor ------------------------------------------------------- */

int braid__reactor_init(braid__reactor *r)
{
    if (braid__fault(BRAID__FAULT_FD))
        return -EMFILE;
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->epfd < 0)
        return -errno;
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->efd < 0) {
        int err = -errno;
        close(r->epfd);
        r->epfd = -1;
        return err;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (ctl(r->epfd, EPOLL_CTL_ADD, r->efd, &ev) != 0) {
        int err = -errno;
        braid__reactor_destroy(r);
        return err;
    }
    r->id = braid__fetch_add_relaxed(&next_reactor_id, 1); /* relaxed: uniqueness only */
    braid__store_relaxed(&r->armed, 0);
    reactor_register(r);
    return 0;
}

/* Forget every slot's registration in reactor r (being destroyed): a
 * persistent fd would otherwise believe itself registered in an instance
 * that no longer exists, and wait there forever. Runtime teardown only. */
static void forget_reactor(braid__reactor *r)
{
    for (unsigned c = 0; c < MAX_FDS / CHUNK_SLOTS; c++) {
        /* Acquire: pairs with the CAS that published the chunk. */
        fdslot *chunk = (fdslot *)braid__load_acquire(&chunks[c]);
        if (chunk == NULL)
            continue;
        for (unsigned i = 0; i < CHUNK_SLOTS; i++) {
            fdslot *s = &chunk[i];
            braid__spin_lock(&s->lock);
            if (s->home_id == r->id) {
                s->counted = false; /* r's count dies with it */
                s->home = NULL;
                s->home_id = 0;
                s->home_epfd = -1;
                s->registered = false;
            }
            braid__spin_unlock(&s->lock);
        }
    }
}

void braid__reactor_destroy(braid__reactor *r)
{
    if (r->epfd >= 0 && r->id != 0) {
        reactor_unregister(r);
        forget_reactor(r);
    }
    if (r->efd >= 0)
        close(r->efd);
    if (r->epfd >= 0)
        close(r->epfd);
    r->efd = r->epfd = -1;
}

void braid__reactor_interrupt(braid__reactor *r)
{
    uint64_t one = 1;
    ssize_t n = write(r->efd, &one, sizeof one);
    (void)n; /* EAGAIN: the counter is full, a wake-up is pending anyway */
}

unsigned braid__reactor_poll(braid__worker *w, braid__reactor *r, int64_t timeout_ns,
                             bool *interrupted)
{
    enum { MAXEV = 64 };
    struct epoll_event evs[MAXEV];
    struct timespec ts, *tsp = NULL;
    if (timeout_ns != INT64_MAX) {
        if (timeout_ns < 0)
            timeout_ns = 0;
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tsp = &ts;
    }
    int k = eintr() ? -1 : epoll_pwait2(r->epfd, evs, MAXEV, tsp, NULL);
    if (k < 0 && errno == ENOSYS) { /* kernel older than 5.11: ms resolution */
        int ms = tsp == NULL ? -1 : (int)((timeout_ns + 999999) / 1000000);
        k = epoll_wait(r->epfd, evs, MAXEV, ms);
    }
    unsigned woken = 0;
    for (int i = 0; i < k; i++) {
        fdslot *s = evs[i].data.ptr;
        if (s == NULL) {
            /* The eventfd: only its owner consumes it (level-triggered, so
             * another poller leaves it for the owner's sleep to see). */
            if (r == &w->io) {
                uint64_t v;
                ssize_t n = read(r->efd, &v, sizeof v);
                (void)n;
                if (interrupted != NULL)
                    *interrupted = true;
            }
            continue;
        }
        braid__spin_lock(&s->lock);
        woken += deliver(w, s, evs[i].events);
        braid__spin_unlock(&s->lock);
    }
    return woken;
}

void braid__io_adopt(int fd)
{
    fdslot *s = slot_of(fd, true);
    if (s == NULL)
        return; /* no memory for the table: the fd stays one-shot */
    braid__spin_lock(&s->lock);
    /* A new fd: whatever the slot says of an older fd with this number
     * (closed without braid_close) is stale, except a registration, which
     * arm_persistent checks with the kernel. */
    s->persistent = true;
    s->registered = false;
    s->ready = 0;
    s->drained = 0;
    braid__spin_unlock(&s->lock);
}

/* ---- verbs --------------------------------------------------------------- */

int braid_wait_fd(int fd, unsigned events, int64_t deadline)
{
    events &= BRAID_READABLE | BRAID_WRITABLE;
    return fd_wait(fd, events, deadline, false);
}

int braid_fd_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

static bool would_block(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK;
}

/* Wait for ev on fd after an EAGAIN: 0 to retry, or the error. */
static int again(int fd, uint32_t ev, int64_t deadline)
{
    int r = fd_wait(fd, ev, deadline, true);
    return r < 0 ? r : 0;
}

/* Readiness tracking for reads on a persistent fd (edge-triggered, so any
 * data that arrives after a read that drained the socket brings an edge),
 * as Tokio clears readiness after a short read: a stream read that returns
 * less than asked emptied the receive queue, so the next read waits for an
 * edge first instead of paying a read(2) that says EAGAIN (one system call
 * in two of a request/response loop).
 *
 * read_begin: true if the fd is known drained for ev (wait first); else
 * *tick is the delivery count before the transfer, for read_drained. */
static bool read_begin(int fd, uint32_t ev, uint32_t *tick)
{
    fdslot *s = slot_of(fd, false);
    if (s == NULL)
        return false;
    braid__spin_lock(&s->lock);
    bool skip = s->persistent && s->registered && (s->drained & ev) != 0;
    *tick = s->tick;
    braid__spin_unlock(&s->lock);
    return skip;
}

/* After a short read that began at *tick: record ev as drained, unless an
 * edge was delivered since (it may be for data the read did not see). */
static void read_drained(int fd, uint32_t ev, uint32_t tick)
{
    fdslot *s = slot_of(fd, false);
    if (s == NULL)
        return;
    braid__spin_lock(&s->lock);
    if (s->persistent && s->registered && s->tick == tick) {
        s->drained |= ev;
        s->ready &= ~ev; /* an edge recorded before the read: it took that data */
    }
    braid__spin_unlock(&s->lock);
}

/* read(2) or recv(2) (flags >= 0) with the wait, the drained shortcut and
 * EINTR retries of braid_read and braid_recv. */
static ssize_t read_or_recv(int fd, void *buf, size_t n, int flags, int64_t deadline)
{
    bool track = flags < 0 || (flags & (MSG_PEEK | MSG_DONTWAIT)) == 0;
    bool waited = false;
    for (;;) {
        uint32_t tick = 0;
        /* Wait first at most once: whatever ends that wait, the call is
         * tried next (a fresh tick: the edge that woke us is counted). */
        if (track && n > 0 && read_begin(fd, EPOLLIN, &tick) && !waited) {
            waited = true;
            int err = again(fd, EPOLLIN, deadline);
            if (err != 0)
                return err;
            continue;
        }
        ssize_t r;
        if (eintr())
            r = -1;
        else
            r = flags < 0 ? read(fd, buf, n) : recv(fd, buf, n, flags);
        if (r >= 0) {
            if (track && r > 0 && (size_t)r < n)
                read_drained(fd, EPOLLIN, tick);
            return r;
        }
        if (errno == EINTR)
            continue;
        if (!would_block(errno) || (flags >= 0 && (flags & MSG_DONTWAIT)))
            return -errno;
        int err = again(fd, EPOLLIN, deadline);
        if (err != 0)
            return err;
    }
}

ssize_t braid_read(int fd, void *buf, size_t n, int64_t deadline)
{
    return read_or_recv(fd, buf, n, -1, deadline);
}

/* write(2), but send(MSG_NOSIGNAL) on a socket: a closed peer gives
 * -EPIPE, never a SIGPIPE that would kill the host process. */
static ssize_t write_nosig(int fd, const void *buf, size_t n)
{
    if (eintr())
        return -1;
    ssize_t r = send(fd, buf, n, MSG_NOSIGNAL);
    if (r < 0 && errno == ENOTSOCK)
        r = write(fd, buf, n);
    return r;
}

ssize_t braid_write(int fd, const void *buf, size_t n, int64_t deadline)
{
    for (;;) {
        ssize_t r = write_nosig(fd, buf, n);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (!would_block(errno))
            return -errno;
        int err = again(fd, EPOLLOUT, deadline);
        if (err != 0)
            return err;
    }
}

ssize_t braid_recv(int fd, void *buf, size_t n, int flags, int64_t deadline)
{
    if (flags < 0)
        return -EINVAL;
    return read_or_recv(fd, buf, n, flags, deadline);
}

ssize_t braid_send(int fd, const void *buf, size_t n, int flags, int64_t deadline)
{
    for (;;) {
        ssize_t r = eintr() ? -1 : send(fd, buf, n, flags | MSG_NOSIGNAL);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        if (!would_block(errno) || (flags & MSG_DONTWAIT))
            return -errno;
        int err = again(fd, EPOLLOUT, deadline);
        if (err != 0)
            return err;
    }
}

ssize_t braid_read_full(int fd, void *buf, size_t n, int64_t deadline, size_t *done)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = braid_read(fd, (char *)buf + got, n - got, deadline);
        if (r < 0) {
            if (done != NULL)
                *done = got;
            return r;
        }
        if (r == 0)
            break; /* end of file */
        got += (size_t)r;
    }
    if (done != NULL)
        *done = got;
    return (ssize_t)got;
}

ssize_t braid_write_all(int fd, const void *buf, size_t n, int64_t deadline, size_t *done)
{
    size_t put = 0;
    while (put < n) {
        ssize_t r = write_nosig(fd, (const char *)buf + put, n - put);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (would_block(errno)) {
                int err = again(fd, EPOLLOUT, deadline);
                if (err == 0)
                    continue;
                r = err;
            } else {
                r = -errno;
            }
            if (done != NULL)
                *done = put;
            return r;
        }
        put += (size_t)r;
    }
    if (done != NULL)
        *done = put;
    return (ssize_t)put;
}

int braid_accept(int lfd, struct sockaddr *addr, socklen_t *len, int64_t deadline)
{
    for (;;) {
        int fd = braid__fault(BRAID__FAULT_SYSCALL) ? (errno = EMFILE, -1)
                                                    : accept4(lfd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            braid__io_adopt(fd);
            return fd;
        }
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        if (!would_block(errno))
            return -errno;
        int err = again(lfd, EPOLLIN, deadline);
        if (err != 0)
            return err;
    }
}

int braid_connect(int fd, const struct sockaddr *addr, socklen_t len, int64_t deadline)
{
    if (connect(fd, addr, len) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return -errno;
    int r = fd_wait(fd, EPOLLOUT, deadline, false);
    if (r < 0)
        return r;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        return -errno;
    return -soerr;
}

int braid_close(int fd)
{
    fdslot *s = slot_of(fd, false);
    if (s != NULL) {
        braid__worker *w = braid__worker_current();
        braid__spin_lock(&s->lock);
        while (s->waiters != NULL) {
            fdwait *n = s->waiters;
            s->waiters = n->next;
            wake_waiter(w, n, 0, -EBADF);
        }
        disarm(s, fd);
        s->persistent = s->registered = false;
        s->ready = s->drained = 0;
        /* Close under the slot's lock: a coroutine about to wait either
         * registered before (woken above) or arms after the close (its
         * epoll_ctl fails with EBADF). Closed after the unlock, a wait
         * armed in between would lose its fd from epoll silently. */
        int r = close(fd) == 0 ? 0 : -errno;
        braid__spin_unlock(&s->lock);
        return r;
    }
    return close(fd) == 0 ? 0 : -errno;
}
