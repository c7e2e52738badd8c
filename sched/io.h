/* io.h - the per-worker reactor (epoll) and the process-wide fd table.
 *
 * Owns: epoll instances, the eventfd that wakes a worker sleeping in its
 * instance, and the table of coroutines waiting on each fd. Does not decide
 * when to poll (worker.c does) nor what a verb does with readiness (io.c's
 * verbs).
 *
 * Registration is one-shot and per wait: a coroutine that must wait adds
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
/* Interrupt a sleep in r's instance (any thread). */
void braid__reactor_interrupt(braid__reactor *r);

#endif
