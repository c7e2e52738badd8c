/* trace.h - a per-worker event log written as Chrome Trace Event JSON.
 *
 * Owns: the event buffers and the JSON writer. Off unless a runtime is made
 * with braid_rt_opts.trace_path or the BRAID_TRACE environment variable;
 * then each worker appends to its own buffer (no lock, no atomic: only its
 * thread writes it) up to a fixed number of events (bounded memory; later
 * events are counted as dropped), and braid_rt_free writes the file once
 * the workers have stopped. When off, every trace point is one predictable
 * branch on a field the worker already has in cache; the inline-await path
 * (fork-join's hot path) has no trace point at all.
 *
 * Events: a slice per run of a task on a worker (begin/end: a task that
 * suspends ends its slice, and resumes in a new one, maybe on another
 * lane), spawns, parks (begin/end), steals (written as a flow from the
 * victim's lane to the thief's), timer batches fired, waits on an fd.
 *
 * Built with -Dtracing=false (BRAID_NO_TRACE), every trace point compiles
 * to nothing: perf/trace-cost compares the two builds on fib(30).
 */
#ifndef BRAID_TRACE_H
#define BRAID_TRACE_H

#include <stddef.h>
#include <stdint.h>

enum {
    TEV_BEGIN = 1, /* a: task */
    TEV_END,       /* a: task */
    TEV_PARK,
    TEV_UNPARK,
    TEV_STEAL,     /* a: entries taken, b: victim worker */
    TEV_TIMERS,    /* a: timers fired */
    TEV_SPAWN,     /* a: the new task */
    TEV_IOWAIT,    /* a: fd, b: events waited for */
};

typedef struct braid__tev {
    int64_t ts;
    uint64_t a;
    uint32_t kind;
    uint32_t b;
} braid__tev;

typedef struct braid__tracebuf {
    braid__tev *ev;
    size_t n, cap;
    uint64_t dropped;
} braid__tracebuf;

#define BRAID__TRACE_EVENTS ((size_t)1 << 18) /* per worker: 6 MiB */

#endif
