/* braid.h - coroutines on a multi-threaded work-stealing runtime, with the
 * programming model of Python's asyncio.
 *
 * A coroutine is a plain C function, braid_fn, that runs on its own stack and
 * may suspend anywhere below its body (in braid_await, braid_yield, ...). A
 * runtime runs coroutines on N worker threads, one per core by default; each
 * worker keeps a work-stealing deque and idle workers steal from busy ones.
 *
 *   asyncio                         braid
 *   asyncio.run(main())             braid_run(main, arg, &opts, &result)
 *   loop = new_event_loop()         braid_rt_new(&rt, &opts)
 *   loop.run_until_complete(main()) braid_rt_block_on(rt, main, arg, &result)
 *   loop.close()                    braid_rt_free(rt)
 *   asyncio.create_task(coro)       braid_spawn(&task, fn, arg)
 *   await task                      braid_await(task, &result)
 *   asyncio.sleep(0)                braid_yield()
 *   task.cancel()                   braid_cancel(task)
 *
 * Conventions (they hold for every function below):
 *   - Errors are negative errno values; 0 (or a value >= 0) is success.
 *     Nothing here sets errno. -EPERM: a waiting call made outside a
 *     coroutine; -ECANCELED: the calling task was cancelled; -EINVAL: a bad
 *     argument (nothing was changed).
 *   - Task handles are counted. braid_spawn gives the caller one reference;
 *     braid_task_release drops it. braid_await never consumes it.
 *   - Pointers passed in are borrowed unless a comment says the call takes
 *     them.
 *   - A body's return value is its result when >= 0 and its error status
 *     when negative (a negative errno, asyncio's "raise").
 */
#ifndef BRAID_H
#define BRAID_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "braid_version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the public functions (the only symbols libbraid.so exports). */
#if defined(BRAID_BUILDING) && defined(__GNUC__)
#define BRAID_API __attribute__((visibility("default")))
#else
#define BRAID_API
#endif

/* A runtime: worker threads, their queues, stacks and task memory. */
typedef struct braid_rt braid_rt;
/* A task: one run of a coroutine body. Opaque, reference counted. */
typedef struct braid_task braid_task;

/* A coroutine body. arg is whatever was given to spawn. Return a result
 * (>= 0) or a negative errno (the task's error status). */
typedef int64_t (*braid_fn)(void *arg);

/* Runtime options. Always fill with braid_rt_opts_init first, then change
 * what you need: new fields take their defaults that way. */
typedef struct braid_rt_opts {
    /* Worker threads; 0 means one per CPU the process may run on.
     * At most BRAID_MAX_WORKERS. */
    unsigned workers;
    /* Usable bytes of each coroutine stack, rounded up to whole pages;
     * 0 means BRAID_DEFAULT_STACK. Below BRAID_MIN_STACK or above
     * BRAID_MAX_STACK is -EINVAL. Below each stack lies a 64 KiB guard
     * (address space only): running into it is reported (see
     * no_overflow_handler). A single frame larger than the guard could
     * step over it; build such code with -fstack-clash-protection. */
    size_t stack_size;
    /* Nonzero: pin worker i to the i-th CPU of the process's affinity set. */
    int pin_workers;
    /* Nonzero: do not install the SIGSEGV handler that reports coroutine
     * stack overflows (for hosts that own SIGSEGV). */
    int no_overflow_handler;
    /* Seed of the per-worker random generators (braid_rand_*, and victim
     * choice). 0: a fixed default, so runs are repeatable. */
    uint64_t seed;
    /* Called on each worker thread once, before it runs any task, and once
     * as it exits (after the last); for hosts that set up thread-locals.
     * They must not call braid's waiting verbs. NULL: none. */
    void (*on_worker_start)(unsigned worker, void *arg);
    void (*on_worker_stop)(unsigned worker, void *arg);
    void *hook_arg; /* passed to both */
    /* Write a trace of the run (Chrome Trace Event JSON: one lane per
     * worker with task slices, parks, steals as arrows between lanes, timer
     * batches; Perfetto and chrome://tracing open it) to this path when the
     * runtime is freed. NULL: the BRAID_TRACE environment variable, if set,
     * names the file; otherwise no tracing. Borrowed: copied at _new. */
    const char *trace_path;
    /* The blocking pool (braid_blocking, file verbs, name lookups): at
     * most this many threads (0: 64), started on demand; a thread idle for
     * blocking_idle_ns (0: 10 s) exits. At most blocking_queue jobs wait
     * for a thread (0: 1024); a caller that finds the queue full waits. */
    unsigned blocking_threads;
    unsigned blocking_queue;
    int64_t blocking_idle_ns;
    /* Room for growth; keep zero. */
    uint64_t reserved[2];
} braid_rt_opts;

/* Limits of braid_rt_opts: workers, and the usable stack size of each
 * coroutine (default, least and most). */
#define BRAID_MAX_WORKERS 1024
#define BRAID_DEFAULT_STACK ((size_t)64 * 1024)
#define BRAID_MIN_STACK ((size_t)16 * 1024)
#define BRAID_MAX_STACK ((size_t)1024 * 1024 * 1024)

/* Fill o with the defaults. */
BRAID_API void braid_rt_opts_init(braid_rt_opts *o);

/* Start a runtime: its workers start at once and park until work arrives.
 * o may be NULL (defaults). On success *out holds the runtime (owned by the
 * caller, freed with braid_rt_free).
 * Errors: -EINVAL (out NULL, bad option), -ENOMEM, -EAGAIN (the system
 * refused a thread), -EMFILE / -ENFILE (no fd left for a worker's epoll
 * instance or eventfd; nothing is leaked). Thread-safe; several runtimes
 * may coexist. */
BRAID_API int braid_rt_new(braid_rt **out, const braid_rt_opts *o);

/* Run fn(arg) as a task on rt and block the calling thread until it ends.
 * Returns its status (0, or the negative value the body returned, or
 * -ECANCELED); *result (if result is not NULL) receives the body's return
 * value when the status is 0. Other tasks keep running after it returns.
 * Errors: -EINVAL (rt or fn NULL), -EPERM (called from a worker of any braid
 * runtime: it would block that worker), -ESHUTDOWN (rt is being freed),
 * -ENOMEM. Callable from any thread that is not a braid worker. */
BRAID_API int braid_rt_block_on(braid_rt *rt, braid_fn fn, void *arg, int64_t *result);

/* Shut rt down and free it: every task still alive is cancelled (its
 * waiting call returns -ECANCELED) and awaited, the workers are joined, and
 * all memory is returned. Task handles of rt must not be used afterwards.
 * Errors: -EINVAL (rt NULL), -EPERM (called from one of rt's own workers),
 * or the error writing the trace file (the runtime is freed all the same).
 * Blocks until every task has ended; a task that ignores cancellation and
 * never returns makes this wait forever (braid_rt_shutdown bounds it). */
BRAID_API int braid_rt_free(braid_rt *rt);

/* Shut rt down within a deadline: refuse new spawns (-ESHUTDOWN), cancel
 * every task (again every millisecond: a task may catch one cancellation)
 * and wait until none is left or the deadline (absolute braid_now() ns)
 * passes. Returns 0 when every task has ended (braid_rt_free then only
 * joins the workers and frees), or -ETIMEDOUT; *running (if not NULL) gets
 * how many tasks are still running, and with `report` nonzero each of them
 * is listed on stderr with its function's name (when the symbol table has
 * it) and state. rt stays valid: call this again, or braid_rt_free.
 * Errors: -EINVAL, -EPERM (from one of rt's workers), -ECHILD (see fork). */
BRAID_API int braid_rt_shutdown(braid_rt *rt, int64_t deadline, size_t *running, int report);

/* fork(): a runtime belongs to the process that made it. In a child forked
 * while runtimes exist (their worker threads are not copied), calls on
 * them (braid_rt_spawn, _block_on, _shutdown, _free, braid_join) return
 * -ECHILD and touch nothing; the child's copies are simply left behind. The
 * child may make new runtimes of its own. Fork from a plain thread: a
 * coroutine that forks leaves a child running on a copy of its stack with
 * no runtime, and the child may only call async-signal-safe functions or
 * exec (as after forking any multi-threaded process). */

/* asyncio.run: braid_rt_new + braid_rt_block_on + braid_rt_free. Returns the
 * status of fn's task, or an error of any of the three. */
BRAID_API int braid_run(braid_fn fn, void *arg, const braid_rt_opts *o, int64_t *result);

/* Create a task running fn(arg) on the calling coroutine's runtime (asyncio
 * create_task). It starts soon: on this worker, or on another that steals
 * it; or at once, on the awaiter's stack, when something awaits it before
 * it started. Start order differs from asyncio's FIFO ready queue: a worker
 * starts the tasks it spawned newest first (work-first, as Cilk and oneTBB:
 * depth-first fork-join keeps memory bounded) while thieves take the
 * oldest; order between tasks comes from awaits, events and channels. If out is not NULL, *out receives a handle (one reference,
 * release it with braid_task_release); if out is NULL the task is detached.
 * Errors: -EINVAL (fn NULL), -EPERM (not called from a coroutine: use
 * braid_rt_spawn), -ESHUTDOWN (the runtime is closing), -ENOMEM. */
BRAID_API int braid_spawn(braid_task **out, braid_fn fn, void *arg);

/* Same as braid_spawn on a given runtime, from any thread: a coroutine of
 * rt, a coroutine of another runtime, or a thread braid does not own.
 * Errors: -EINVAL (rt or fn NULL), -ESHUTDOWN, -ENOMEM, -ECHILD (see fork). */
BRAID_API int braid_rt_spawn(braid_rt *rt, braid_task **out, braid_fn fn, void *arg);

/* Wait for t to end from any thread: a thread braid does not own blocks
 * (no spinning) until t ends or the deadline (absolute braid_now() ns;
 * BRAID_FOREVER: none) passes; in a coroutine this is braid_await_until.
 * Returns t's status like braid_await, or -ETIMEDOUT (t keeps running).
 * The reference to t is not consumed. Errors: -EINVAL (t NULL), -EPERM (a
 * worker thread outside any coroutine, e.g. in a start hook), -ECHILD. */
BRAID_API int braid_join(braid_task *t, int64_t *result, int64_t deadline);

/* Wait for t to end (await task). Returns t's status: 0, the negative errno
 * its body returned, or -ECANCELED if it was cancelled before it started.
 * When the status is 0 and result is not NULL, *result receives the body's
 * return value. If t has not started, the caller runs it at once on its own
 * stack ("inline"), so fork-join code costs no stack and no switch per task.
 * The reference to t is not consumed.
 * If the caller is cancelled while it waits, the cancellation passes on to
 * t (as asyncio's await does; braid_shield does not) and the caller keeps
 * waiting for t, then returns t's status (-ECANCELED if t took it).
 * Errors of the call itself: -EINVAL (t NULL), -EPERM (not in a coroutine),
 * -EDEADLK (t is the caller, or a task the caller is running inline). */
BRAID_API int braid_await(braid_task *t, int64_t *result);

/* Let other ready tasks run, then continue (asyncio.sleep(0)). Tasks that
 * yield are resumed in the order they yielded.
 * Errors: -EPERM (not in a coroutine), -ECANCELED (the caller was
 * cancelled; delivered once). */
BRAID_API int braid_yield(void);

/* Ask t to stop (task.cancel()). A suspended t wakes at once and its
 * waiting call returns -ECANCELED; a t that has not started never runs and
 * ends with status -ECANCELED; a running t sees -ECANCELED at its next
 * waiting call. The cancellation is delivered once: the body may then clean
 * up, await again, and return what it likes. Idempotent; no effect on a
 * finished task. Safe from any thread.
 * Returns 1 if the request was recorded, 0 if t had already ended;
 * -EINVAL (t NULL). */
BRAID_API int braid_cancel(braid_task *t);

/* ---- time (asyncio.sleep) ------------------------------------------------
 * Time is int64_t nanoseconds on the monotonic clock. Every waiting call has
 * a deadline form (_until); the relative form is a thin wrapper. */
#define BRAID_MSEC ((int64_t)1000000)
#define BRAID_SEC ((int64_t)1000000000)
#define BRAID_FOREVER INT64_MAX

/* The monotonic clock, in nanoseconds. Any thread. */
BRAID_API int64_t braid_now(void);

/* Suspend the calling coroutine until braid_now() >= deadline (other tasks
 * run meanwhile). A deadline already past behaves as braid_yield();
 * BRAID_FOREVER sleeps until cancelled. Sleepers with equal deadlines wake
 * in the order they went to sleep. A woken sleeper may be stolen and resume
 * on another worker.
 * Errors: -EPERM (not in a coroutine), -ECANCELED (cancelled; its timer is
 * removed), -ENOMEM (the timer heap could not grow). */
BRAID_API int braid_sleep_until(int64_t deadline);
/* braid_sleep_until(braid_now() + ns); ns <= 0 behaves as braid_yield(). */
BRAID_API int braid_sleep(int64_t ns);

/* Run the plain callback fn(arg) on rt's workers soon (call_soon), or
 * after delay ns (call_later), from any thread. It runs as a small task: if
 * out is not NULL, *out gets its handle (cancel it to call it off before it
 * runs; release it when done). Errors: -EINVAL, -ESHUTDOWN, -ENOMEM. */
BRAID_API int braid_call_soon(braid_rt *rt, braid_task **out, void (*fn)(void *arg), void *arg);
BRAID_API int braid_call_later(braid_rt *rt, braid_task **out, int64_t delay,
                               void (*fn)(void *arg), void *arg);

/* ---- waiting on tasks (asyncio.wait_for, shield, wait, gather) ---------- */

/* braid_await with a deadline: t's status, or -ETIMEDOUT (t keeps
 * running). Never runs t inline (a deadline could not be kept). If the
 * caller is cancelled, t is cancelled and awaited (as braid_await does).
 * Errors as braid_await, plus -ETIMEDOUT. */
BRAID_API int braid_await_until(braid_task *t, int64_t *result, int64_t deadline);

/* asyncio.wait_for: await t for at most timeout ns; on timeout t is
 * cancelled, awaited, and the call returns -ETIMEDOUT (or t's own status if
 * it finished anyway). Errors as braid_await_until. */
BRAID_API int braid_wait_for(braid_task *t, int64_t timeout, int64_t *result);

/* asyncio.shield: await t, but if the caller is cancelled return
 * -ECANCELED at once and leave t running. */
BRAID_API int braid_shield(braid_task *t, int64_t *result);

/* A set of tasks delivered in completion order (asyncio.as_completed).
 * The tasks are borrowed: keep your references until braid_waitset_free. */
typedef struct braid_waitset braid_waitset;
/* From a coroutine, which alone may call _next. Tasks already done come
 * first, in input order. Errors: -EINVAL, -EPERM, -ENOMEM. */
BRAID_API int braid_waitset_new(braid_waitset **out, braid_task *const *tasks, size_t n);
/* Wait until another task of the set ends; *index is its position in the
 * array given to _new. Returns 0, -ENOENT (all delivered), -ETIMEDOUT,
 * -ECANCELED, -EPERM (not the creating coroutine), -EINVAL. */
BRAID_API int braid_waitset_next(braid_waitset *ws, int64_t deadline, size_t *index);
/* Free ws (the tasks are not touched; they keep running). NULL is ignored. */
BRAID_API void braid_waitset_free(braid_waitset *ws);

/* braid_wait's modes: asyncio's ALL_COMPLETED, FIRST_COMPLETED,
 * FIRST_EXCEPTION. */
#define BRAID_WAIT_ALL 0
#define BRAID_WAIT_FIRST_COMPLETED 1
#define BRAID_WAIT_FIRST_ERROR 2

/* asyncio.wait: wait until all / the first / the first failed (or all) of
 * the tasks end, or the deadline. Cancels nothing. *ndone (may be NULL)
 * receives how many had ended when it returned; look at each with
 * braid_task_done. Returns 0, -ETIMEDOUT, -ECANCELED, -EINVAL, -EPERM. */
BRAID_API int braid_wait(braid_task *const *tasks, size_t n, int mode, int64_t deadline,
                         size_t *ndone);

/* braid_gather's flag: collect every status instead of returning at the
 * first error (return_exceptions=True). */
#define BRAID_GATHER_RETURN_ERRORS 1u

/* asyncio.gather: wait for every task; results[i] (if results is not NULL)
 * gets task i's result when its status is 0, statuses[i] (if not NULL) its
 * status, or -EINPROGRESS if the call returned before it ended.
 * Default: returns 0 when all succeeded, else the first error as soon as it
 * happens (the others keep running). With BRAID_GATHER_RETURN_ERRORS: waits
 * for all and returns 0; errors are in statuses (return_exceptions=True).
 * If the caller is cancelled, every task is cancelled and the call returns
 * -ECANCELED. Errors: -EINVAL, -EPERM, -ENOMEM, -ECANCELED. */
BRAID_API int braid_gather(braid_task *const *tasks, size_t n, int64_t *results, int *statuses,
                           unsigned flags);

/* ---- structured groups (asyncio.TaskGroup) ------------------------------
 * Spawn tasks into a group, then leave it with braid_group_wait, which
 * awaits every member (also those spawned into it while it waits). The
 * first failure cancels the other members; every member's status stays
 * readable. */
typedef struct braid_group braid_group;
BRAID_API int braid_group_new(braid_group **out);
/* Spawn into g (from a coroutine; its tasks may spawn into it too). *out,
 * if not NULL, is borrowed: the group holds the reference until _free.
 * Errors as braid_spawn. */
BRAID_API int braid_group_spawn(braid_group *g, braid_task **out, braid_fn fn, void *arg);
/* Await every member. Returns 0, the first failure (a member that ended
 * with -ECANCELED, whoever cancelled it, is not a failure, as in asyncio's
 * TaskGroup), or -ECANCELED if the caller was cancelled (then every member
 * is cancelled and still awaited). -EPERM outside a coroutine, -EINVAL,
 * -ENOMEM. */
BRAID_API int braid_group_wait(braid_group *g);
/* Members so far, and member i's status (-EINPROGRESS if not awaited yet;
 * -ERANGE past the end); *task, if not NULL, gets the member (borrowed). */
BRAID_API size_t braid_group_size(braid_group *g);
BRAID_API int braid_group_status(braid_group *g, size_t i, braid_task **task);
/* Release the members (cancelling any never waited for) and free g. */
BRAID_API void braid_group_free(braid_group *g);

/* ---- synchronisation (asyncio.Event, Lock, Semaphore, Condition,
 * Barrier, Queue, Future) --------------------------------------------------
 * Coroutine-aware: waiting suspends the coroutine, never its worker thread.
 * Objects are not tied to a runtime. Every waiting call has an _until form
 * (deadline, -ETIMEDOUT) and returns -ECANCELED if the caller is cancelled;
 * when a grant (the lock, a permit, a value) races a timeout or a cancel,
 * the grant wins and the call succeeds. Waiting calls return -EPERM outside
 * a coroutine (futures excepted: plain threads may wait on them). _free
 * requires that nobody waits. All calls are safe from any thread. */
typedef struct braid_event braid_event;
typedef struct braid_mutex braid_mutex;
typedef struct braid_sem braid_sem;
typedef struct braid_cond braid_cond;
typedef struct braid_barrier braid_barrier;
typedef struct braid_chan braid_chan;
typedef struct braid_future braid_future;

/* Event: set wakes every waiter; stays set until cleared. */
BRAID_API int braid_event_new(braid_event **out);
BRAID_API void braid_event_free(braid_event *e);
BRAID_API int braid_event_set(braid_event *e);
BRAID_API int braid_event_clear(braid_event *e);
BRAID_API int braid_event_is_set(braid_event *e);
BRAID_API int braid_event_wait(braid_event *e);
BRAID_API int braid_event_wait_until(braid_event *e, int64_t deadline);

/* Mutex owned by a task; unlock hands it to the longest waiter (FIFO).
 * lock: -EDEADLK if the caller owns it. trylock: -EBUSY. unlock: -EPERM if
 * the caller does not own it. Ownership is the task's identity: a task that
 * ends while holding the mutex leaves it locked (as asyncio.Lock does), and
 * the check cannot tell a later task that reuses its memory from it. */
BRAID_API int braid_mutex_new(braid_mutex **out);
BRAID_API void braid_mutex_free(braid_mutex *x);
BRAID_API int braid_mutex_lock(braid_mutex *x);
BRAID_API int braid_mutex_lock_until(braid_mutex *x, int64_t deadline);
BRAID_API int braid_mutex_trylock(braid_mutex *x);
BRAID_API int braid_mutex_unlock(braid_mutex *x);

/* Semaphore with `initial` permits; max > 0 makes it bounded (release past
 * max: -EOVERFLOW, asyncio.BoundedSemaphore), 0 unbounded. Permits go to
 * waiters in FIFO order. */
BRAID_API int braid_sem_new(braid_sem **out, long initial, long max);
BRAID_API void braid_sem_free(braid_sem *s);
BRAID_API int braid_sem_acquire(braid_sem *s);
BRAID_API int braid_sem_acquire_until(braid_sem *s, int64_t deadline);
BRAID_API int braid_sem_release(braid_sem *s);
BRAID_API long braid_sem_value(braid_sem *s);

/* Condition used with a braid_mutex the caller holds: wait releases it,
 * waits for a notify, and re-acquires it before returning (also on timeout
 * or cancel). notify wakes up to n waiters and returns how many. */
BRAID_API int braid_cond_new(braid_cond **out);
BRAID_API void braid_cond_free(braid_cond *c);
BRAID_API int braid_cond_wait(braid_cond *c, braid_mutex *x);
BRAID_API int braid_cond_wait_until(braid_cond *c, braid_mutex *x, int64_t deadline);
BRAID_API int braid_cond_notify(braid_cond *c, int n);
BRAID_API int braid_cond_notify_all(braid_cond *c);

/* Barrier for `parties` tasks: wait returns the caller's arrival index
 * (0 .. parties-1) once all arrived; reusable round after round. */
BRAID_API int braid_barrier_new(braid_barrier **out, unsigned parties);
BRAID_API void braid_barrier_free(braid_barrier *b);
BRAID_API int braid_barrier_wait(braid_barrier *b);

/* Channel: a bounded MPMC FIFO of intptr_t (asyncio.Queue), capacity >= 1.
 * send blocks while full, recv while empty. close (asyncio's shutdown):
 * later sends fail with -EPIPE, blocked senders too; receivers drain what
 * is buffered, then get -EPIPE. try_send / try_recv: -EAGAIN instead of
 * blocking. close twice: -EALREADY. */
BRAID_API int braid_chan_new(braid_chan **out, size_t capacity);
BRAID_API void braid_chan_free(braid_chan *c);
BRAID_API int braid_chan_send(braid_chan *c, intptr_t v);
BRAID_API int braid_chan_send_until(braid_chan *c, intptr_t v, int64_t deadline);
BRAID_API int braid_chan_try_send(braid_chan *c, intptr_t v);
BRAID_API int braid_chan_recv(braid_chan *c, intptr_t *v);
BRAID_API int braid_chan_recv_until(braid_chan *c, intptr_t *v, int64_t deadline);
BRAID_API int braid_chan_try_recv(braid_chan *c, intptr_t *v);
BRAID_API int braid_chan_close(braid_chan *c);
BRAID_API long braid_chan_len(braid_chan *c);

/* Future: completed once (resolve with a value, or fail with a negative
 * errno) from any thread, including threads braid does not own; awaited by
 * any number of coroutines or plain threads; a second completion returns
 * -EALREADY. Callbacks registered with on_done run once, in registration
 * order, on the completing thread (at once if already done). */
BRAID_API int braid_future_new(braid_future **out);
BRAID_API void braid_future_free(braid_future *f);
BRAID_API int braid_future_resolve(braid_future *f, int64_t value);
BRAID_API int braid_future_fail(braid_future *f, int err);
BRAID_API int braid_future_done(braid_future *f);
/* 0 and *value, or the failure's errno, -ETIMEDOUT, -ECANCELED. */
BRAID_API int braid_future_await(braid_future *f, int64_t *value);
BRAID_API int braid_future_await_until(braid_future *f, int64_t *value, int64_t deadline);
BRAID_API int braid_future_on_done(braid_future *f, void (*fn)(braid_future *f, void *arg),
                                   void *arg);

/* ---- errors as exceptions ------------------------------------------------ */

/* Record a message for the calling task's failure and return err (a
 * negative errno; anything else becomes -EINVAL), so a body can write
 * `return braid_fail(-EIO, "reading %s", path);`. Outside a coroutine only
 * returns err. A failed task whose status nobody observed (await, gather,
 * wait_for, ...) is reported on stderr when its memory is reused, as
 * asyncio reports "Task exception was never retrieved" (cancellations are
 * not reported). */
BRAID_API int braid_fail(int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The message recorded by braid_fail in t's body, or NULL. Valid while the
 * caller holds its reference to t. */
BRAID_API const char *braid_task_message(braid_task *t);

/* ---- I/O ------------------------------------------------------------------- */

/* Coroutines wait on file descriptors without blocking a worker: each
 * worker has an epoll instance, a waiting coroutine's fd is registered
 * there and the coroutine parks; whichever worker polls that instance
 * wakes it, and the woken coroutine may then be stolen like any ready
 * task. Workers poll while busy (every few dozen tasks), idle workers poll
 * everyone's before they sleep, and a worker sleeps in its own instance.
 *
 * Sockets braid makes (braid_accept, braid_tcp_listen, braid_tcp_connect)
 * are registered once, edge-triggered, at their first wait, and stay so
 * until braid_close: no system call per wait, as in Tokio or Go. Close
 * them with braid_close: after close(2) the registration outlives the fd
 * unseen until a wait re-checks it (10 ms into a wait, then at doubling
 * intervals up to 1 s), so a later fd with the same number may wake that
 * late. Any other fd is registered per wait (one-shot) and in no instance
 * once the wait ends, so either close works for it.
 *
 * The verbs want non-blocking fds: the socket helpers and braid_accept
 * return them, braid_fd_nonblock sets the flag on others (a blocking fd
 * would block the worker in the read or write itself). Regular files do
 * not poll: use the braid_file_* verbs, which run on the blocking pool.
 *
 * Each verb returns what its system call returns (bytes, a new fd, 0) or a
 * negative errno: -EBADF (a bad fd, or closed with braid_close while we
 * waited), -ECONNRESET, -EPIPE (writing to a socket or pipe whose reader left: braid's
 * threads block SIGPIPE and sockets are written with MSG_NOSIGNAL, so the
 * process is not killed),
 * -ETIMEDOUT (the deadline, absolute braid_now() ns, passed; BRAID_FOREVER
 * for none), -ECANCELED (the caller was cancelled: nothing was transferred
 * by that call, and the fd is left usable; registered nowhere unless braid
 * made it), -EPERM
 * (not called from a coroutine). */

#define BRAID_READABLE 0x001u /* EPOLLIN */
#define BRAID_WRITABLE 0x004u /* EPOLLOUT */
#define BRAID_ERROR 0x008u    /* EPOLLERR (reported, never needed in events) */
#define BRAID_HANGUP 0x010u   /* EPOLLHUP (reported, never needed in events) */

/* Wait until fd is ready for any of events (BRAID_READABLE, BRAID_WRITABLE).
 * Returns the ready set (> 0, may include BRAID_ERROR, BRAID_HANGUP) or an
 * error: -EINVAL (no events), -EBADF, -EPERM (fd cannot be polled: a
 * regular file), -ETIMEDOUT, -ECANCELED. */
BRAID_API int braid_wait_fd(int fd, unsigned events, int64_t deadline);

/* read(2) / write(2) that wait for readiness: at least 1 byte (0 from read
 * means end of file), at most n. A closed reader is -EPIPE, never SIGPIPE. */
BRAID_API ssize_t braid_read(int fd, void *buf, size_t n, int64_t deadline);
BRAID_API ssize_t braid_write(int fd, const void *buf, size_t n, int64_t deadline);
/* Loop until n bytes moved. read_full stops early at end of file and
 * returns the count so far; on an error or the deadline, both return the
 * error and *done (if not NULL) says how many bytes moved before it. */
BRAID_API ssize_t braid_read_full(int fd, void *buf, size_t n, int64_t deadline, size_t *done);
BRAID_API ssize_t braid_write_all(int fd, const void *buf, size_t n, int64_t deadline,
                                  size_t *done);
/* recv(2) / send(2) with flags; send adds MSG_NOSIGNAL. Negative flags:
 * -EINVAL. On a socket braid made, a read or recv (without MSG_PEEK) that
 * returns less than n marks it drained: the next one waits for new data
 * before calling read(2), which saves the call that would say EAGAIN. */
BRAID_API ssize_t braid_recv(int fd, void *buf, size_t n, int flags, int64_t deadline);
BRAID_API ssize_t braid_send(int fd, const void *buf, size_t n, int flags, int64_t deadline);
/* accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC: a new fd. addr and len may be
 * NULL. Out of fds (-EMFILE, -ENFILE) is returned, not retried: the
 * listening socket stays readable, so a caller should back off. */
BRAID_API int braid_accept(int lfd, struct sockaddr *addr, socklen_t *len, int64_t deadline);
/* Non-blocking connect of fd (a non-blocking socket) to addr: 0 when
 * connected; -ECONNREFUSED, -ETIMEDOUT (the deadline: the socket is then
 * unusable, close it), ... */
BRAID_API int braid_connect(int fd, const struct sockaddr *addr, socklen_t len, int64_t deadline);
/* Close fd, first waking every coroutine waiting on it (their calls return
 * -EBADF), and end its registration. Any thread, any fd; required for the
 * sockets braid made (see above). Returns close(2)'s status. */
BRAID_API int braid_close(int fd);
/* Set O_NONBLOCK on fd. */
BRAID_API int braid_fd_nonblock(int fd);

/* TCP helpers. Names are resolved (getaddrinfo) on the blocking pool, never
 * on a worker. listen: host NULL or "" means every address (IPv6 with IPv4
 * mapped where the system allows, else IPv4); port "0" picks a free one
 * (read it with getsockname). SO_REUSEADDR is set. connect: tries each
 * address in turn until one answers or the deadline passes. Both store a
 * non-blocking CLOEXEC socket in *out. Errors: -EINVAL, -ENOENT (no such
 * name: EAI_NONAME), -EAGAIN (EAI_AGAIN), -EADDRINUSE, -ECONNREFUSED,
 * -ETIMEDOUT, -ECANCELED, ... */
BRAID_API int braid_tcp_listen(const char *host, const char *port, int backlog, int *out);
BRAID_API int braid_tcp_connect(const char *host, const char *port, int64_t deadline, int *out);

/* ---- the blocking pool (asyncio.to_thread) ---------------------------------- */

/* Run fn(arg) on a thread of the runtime's blocking pool (not a worker: it
 * may block) and wait for it. Returns like braid_await: fn's status, with
 * *result (if not NULL) its value when the status is 0. If the caller is
 * cancelled or its deadline passes first, it returns -ECANCELED or
 * -ETIMEDOUT at once; fn still runs to its end (a thread cannot be
 * interrupted) and its result is dropped, so arg must stay valid until fn
 * returns (it may free arg itself). From a plain thread fn simply runs
 * there. Errors of the call: -EINVAL (fn NULL), -ESHUTDOWN, -ENOMEM,
 * -EAGAIN (no thread could be started and none exists). */
BRAID_API int braid_blocking(braid_fn fn, void *arg, int64_t *result);
BRAID_API int braid_blocking_until(braid_fn fn, void *arg, int64_t *result, int64_t deadline);

/* Files, through the blocking pool (regular files never block a worker;
 * aiofiles). open returns the fd in *out; read and write move at most n
 * bytes at offset off (off < 0: the file position, like read/write) and
 * return the count or an error; close closes. */
BRAID_API int braid_file_open(const char *path, int flags, unsigned mode, int *out);
BRAID_API ssize_t braid_file_read(int fd, void *buf, size_t n, int64_t off);
BRAID_API ssize_t braid_file_write(int fd, const void *buf, size_t n, int64_t off);
BRAID_API int braid_file_close(int fd);

/* ---- memory ------------------------------------------------------------------ */

/* The host's allocator for braid's own heap memory (task slabs, queues,
 * timer heaps, sync objects, pool jobs, trace buffers). Coroutine stacks
 * are mapped with mmap, not allocated; the process-wide fd table uses
 * libc. realloc and free get only pointers their allocator returned. */
typedef struct braid_allocator {
    void *(*malloc)(size_t size, void *ctx);           /* as malloc(3); NULL: no memory */
    void *(*realloc)(void *p, size_t size, void *ctx); /* as realloc(3) */
    void (*free)(void *p, void *ctx);                  /* as free(3); p never NULL */
    void *ctx;                                         /* passed to all three */
} braid_allocator;

/* Use a (copied) from now on; NULL goes back to libc's malloc. Switch only
 * while braid holds no memory: no runtime and no braid object alive.
 * Errors: -EINVAL (a function missing), -EBUSY (memory from the current
 * allocator is still held). Not thread-safe against other braid calls. */
BRAID_API int braid_set_allocator(const braid_allocator *a);

/* ---- random ---------------------------------------------------------------- */

/* 64 random bits from the calling worker's generator (seeded from
 * braid_rt_opts.seed), or from a per-thread one outside the workers. Not
 * for cryptography. */
BRAID_API uint64_t braid_rand_u64(void);
/* Uniform in [lo, hi) (random.uniform). */
BRAID_API double braid_rand_uniform(double lo, double hi);

/* Take another reference to t (for another owner). Returns t. */
BRAID_API braid_task *braid_task_retain(braid_task *t);
/* Drop a reference. The task keeps running if it has not ended; its memory
 * is reused once it has ended and no reference is left. NULL is ignored. */
BRAID_API void braid_task_release(braid_task *t);
/* 1 if t has ended, 0 if not, -EINVAL if t is NULL. Any thread. */
BRAID_API int braid_task_done(braid_task *t);

/* The task the caller runs in, or NULL outside a coroutine. Borrowed: no
 * reference is taken. */
BRAID_API braid_task *braid_self(void);
/* The runtime the caller's coroutine runs on, or NULL. */
BRAID_API braid_rt *braid_current(void);
/* Number of worker threads of rt (-EINVAL if rt is NULL). */
BRAID_API int braid_rt_workers(const braid_rt *rt);
/* Index (0-based) of the worker thread the caller runs on, or -1 outside
 * the workers. A coroutine may move between workers at each suspension. */
BRAID_API int braid_worker_id(void);

/* Counters of a runtime, summed over its workers. A snapshot: each counter
 * is exact for the moment it was read, not all at one instant. */
typedef struct braid_stats {
    uint64_t spawned;       /* tasks created (braid_spawn, rt_spawn, block_on) */
    uint64_t completed;     /* tasks that ended (including cancelled ones) */
    uint64_t started;       /* tasks whose body began (on a worker or inline) */
    uint64_t inlined;       /* of those, started inline by an awaiter */
    uint64_t stolen;        /* queue entries taken from another worker */
    uint64_t steal_tries;   /* victims tried by searching workers */
    uint64_t parks;         /* times a worker went to sleep */
    uint64_t live;          /* spawned - completed */
    uint64_t stacks_in_use; /* coroutine stacks held by tasks */
    uint64_t timers_fired;  /* sleeps that ended by their deadline */
    uint64_t io_waits;      /* waits on a file descriptor that parked */
    uint64_t stolen_out;    /* queue entries other workers took from this one */
    uint64_t wakeups;       /* parks ended by work (an unpark, or I/O) */
    uint64_t max_deque;     /* deepest a worker's deque was seen at a push (max) */
    uint64_t stack_bytes;   /* address space mapped for stacks (runtime-wide) */
    uint64_t switches;      /* coroutine entries: a worker switching into a
                             * task, from its loop or by a direct hand-off */
    uint64_t reserved[3];   /* room for growth; zero */
} braid_stats;

/* Fill *out with rt's counters. Any thread. Errors: -EINVAL (NULL). */
BRAID_API int braid_rt_stats(braid_rt *rt, braid_stats *out);
/* The same counters for one worker (0 .. workers-1). Spawns from threads
 * that are not workers count in no worker's `spawned`; `live` and
 * `stacks_in_use` are per-worker differences (a task may end, or return its
 * stack, on another worker): only their sum over the workers is meaningful.
 * Errors: -EINVAL (NULL, or no such worker). */
BRAID_API int braid_rt_worker_stats(braid_rt *rt, unsigned worker, braid_stats *out);

/* Short description of a braid error code (a negative errno). */
BRAID_API const char *braid_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
