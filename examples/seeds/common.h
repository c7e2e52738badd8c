/* common.h - what every seed program shares: its command line, the time
 * scale, and Python's way of printing a float.
 *
 * Every program takes
 *   -s SCALE    seconds of real time per second of the seed (default 1.0;
 *               the tests run at 0.05 .. 0.4)
 *   -w WORKERS  worker threads (default 0: one per CPU)
 * and, where it says so, -S SEED (random delays), -n N, -m MAX_DELAY
 * (seed seconds) or -f FILE. A bad argument prints a usage message on
 * stderr and exits with status 2.
 */
#ifndef SEEDS_COMMON_H
#define SEEDS_COMMON_H

#include <braid.h>
#include <stddef.h>
#include <stdint.h>

typedef struct seed_opts {
    double scale;       /* -s */
    unsigned workers;   /* -w */
    uint64_t seed;      /* -S: braid_rt_opts.seed (0: braid's fixed default) */
    long n;             /* -n */
    double max_delay;   /* -m, in seed seconds */
    const char *file;   /* -f */
} seed_opts;

/* Fill o with the defaults: scale 1, all CPUs, seed 0, n 5, max_delay 5,
 * file "example.txt". A program may change them before seed_parse. */
void seed_opts_init(seed_opts *o);

/* Parse argv into o. `extra` names the options the program takes beside
 * -s and -w, among "Snmf". Exits 2 with a usage message on a bad argument,
 * 0 after printing it for -h. Also makes stdout line-buffered, so that each
 * line leaves when it is printed (as on a terminal) and a reader sees the
 * pauses between them. */
void seed_parse(int argc, char **argv, const char *extra, seed_opts *o);

/* For a program's own checks of its arguments: print "PROGRAM: ", the
 * message, the usage message, and exit 2. */
_Noreturn void seed_bad_arg(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* braid options for o: workers and seed. */
void seed_rt_opts(const seed_opts *o, braid_rt_opts *ro);

/* A duration of the seed (seconds) in real nanoseconds, after the scale. */
int64_t seed_ns(double seconds);

/* asyncio.sleep(seconds), scaled: 0, or -ECANCELED if the caller is
 * cancelled while it sleeps. */
int seed_sleep(double seconds);

/* A delay in seed nanoseconds (what the random-delay tasks return) as
 * seconds. */
double seed_seconds(int64_t ns);

/* Write x as Python's repr(float) does: the shortest digits that read back
 * as x ("0.25", "3.14159", "1e-05", "2.0"). buf: at least 32 bytes. */
void seed_format_float(char *buf, size_t len, double x);

/* print(x) for a float, and print(list_of_floats). */
void seed_print_float(double x);
void seed_print_float_list(const double *v, size_t n);

/* The exit status for a braid status: 0 for 0; otherwise prints
 * "PROGRAM: WHAT: error" on stderr and returns 1. */
int seed_exit(const char *what, int status);

#endif
