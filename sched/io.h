/* io.h - the per-worker reactor (epoll) and the process-wide fd table.
 *
 * Owns: epoll instances, the eventfd that wakes a worker sleeping in its
 * instance, and the table of coroutines waiting on each fd. Does not decide
 * when to poll (worker.c does) nor what a verb does with readiness (io.c's
 * verbs).
 *
 * Two kinds of registration. Fds braid made (accept, the TCP helpers:
 * braid__io_adopt) are persistent: added once, edge-triggered for input
 * and output, in the instance of the worker of their first wait (their
 * home, for good), until braid_close. A delivered edge wakes the matching
 * waiters and is otherwise kept in the slot's `ready` bits, which the next
 * wait takes instead of sleeping (the verbs then retry their call; a stale
 * bit costs one EAGAIN). Such a slot counts in its home's `armed` while
 * registered. This saves the epoll_ctl of every wait and the re-homing of
 * a connection whose task moved, the bulk of a keep-alive server's
 * per-request system calls beyond read and write. Since close(2) behind
 * braid's back would end such a registration unseen, a wait that relied
 * on it re-checks it with epoll_ctl after 10 ms and then at doubling
 * intervals (io.c, recheck).
 *
 * Any other fd (the caller's own: it may close(2) it behind our back, and
 * a new fd may then get its number) is registered one-shot, per wait: a coroutine that must wait adds
 * itself to the fd's slot and arms the fd (EPOLLONESHOT) in the epoll
 * instance of the worker it runs on, its "home", or in the current home if
 * other coroutines already wait on the fd. Whoever polls that instance
 * (the home worker every few dozen tasks, an idle worker before it sleeps,
 * the home worker while it sleeps) wakes the matching waiters and re-arms
 * the fd for those left. A waiter that leaves by deadline or cancellation
 * disarms and removes the fd when it was the last: the fd is then
 * registered nowhere. The slot's spin lock orders it all; a waker marks a
 * waiter done (release) only after its wake, so a woken waiter that reads
 * done leaves without the lock (as sync.c's q_grant).
 */
#ifndef BRAID_IO_H
#define BRAID_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "atomics.h"

struct braid__worker;

typedef struct braid__reactor {
    int epfd;           /* epoll instance, -1 before init */
    int efd;            /* eventfd that interrupts a sleep in epfd */
    uint64_t id;        /* process-unique, never reused (fd slots name homes by it) */
    braid__aword armed; /* fd slots homed here with waiters (a hint for pollers) */
} braid__reactor;

/* Create the instance and its eventfd. 0 or a negative errno. */
int braid__reactor_init(braid__reactor *r);
void braid__reactor_destroy(braid__reactor *r);

/* Poll r for at most timeout_ns (0: do not wait; INT64_MAX: no limit),
 * waking the coroutines whose fds are ready onto w. Returns how many were
 * woken; *interrupted (if not NULL) is set when r's eventfd fired. */
unsigned braid__reactor_poll(struct braid__worker *w, braid__reactor *r, int64_t timeout_ns,
                             bool *interrupted);
/* fd was made by braid (braid_accept, the TCP helpers): register it once,
 * edge-triggered, at its first wait, until braid_close. */
void braid__io_adopt(int fd);
/* Interrupt a sleep in r's instance (any thread). */
void braid__reactor_interrupt(braid__reactor *r);

#endif
