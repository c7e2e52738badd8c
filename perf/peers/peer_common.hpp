// Shared helpers for the oneTBB peer benchmarks: argument parsing, thread
// limiting, timing and the one-line BENCH report format that braid's own
// benchmarks print, so both can be compared in a single run.
#pragma once

#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

struct PeerArgs {
    long n;       // -n: workload parameter
    int threads;  // -t: worker threads (0 = all cores), resolved to > 0
    int reps;     // -r: timed repetitions
};

[[noreturn]] inline void peer_usage(const char *prog) {
    std::fprintf(stderr, "usage: %s [-n N] [-t THREADS (0 = all cores)] [-r REPS]\n", prog);
    std::exit(2);
}

inline PeerArgs peer_parse(int argc, char **argv, long default_n) {
    PeerArgs a{default_n, 0, 5};
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) peer_usage(argv[0]);
        char *end = nullptr;
        long v = std::strtol(argv[i + 1], &end, 10);
        if (*argv[i + 1] == '\0' || *end != '\0' || v < 0) peer_usage(argv[0]);
        if (std::strcmp(argv[i], "-n") == 0) a.n = v;
        else if (std::strcmp(argv[i], "-t") == 0) a.threads = static_cast<int>(v);
        else if (std::strcmp(argv[i], "-r") == 0) a.reps = static_cast<int>(v);
        else peer_usage(argv[0]);
        i++;
    }
    if (a.reps < 1) a.reps = 1;
    if (a.threads == 0) a.threads = tbb::info::default_concurrency();
    return a;
}

inline double peer_now_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Warm up once, then time `reps` runs of fn(); every run's result must equal
// `expect`. Prints one BENCH line.
template <class Fn>
void peer_bench(const char *name, const char *impl, int workers, long param, int reps,
                long long tasks, long long expect, Fn fn) {
    std::vector<double> ms;
    for (int i = -1; i < reps; i++) {
        double t0 = peer_now_ms();
        long long got = fn();
        double t1 = peer_now_ms();
        if (got != expect) {
            std::fprintf(stderr, "%s/%s: wrong result %lld (expected %lld)\n", name, impl, got,
                         expect);
            std::exit(1);
        }
        if (i >= 0) ms.push_back(t1 - t0);  // i == -1 is the warm-up
    }
    std::sort(ms.begin(), ms.end());
    size_t m = ms.size();
    double median = (m % 2) ? ms[m / 2] : (ms[m / 2 - 1] + ms[m / 2]) / 2;
    std::printf("BENCH name=%s impl=%s workers=%d param=%ld reps=%d median_ms=%.3f min_ms=%.3f "
                "ns_per_task=%.1f result=%lld\n",
                name, impl, workers, param, reps, median, ms[0], median * 1e6 / tasks, expect);
    std::fflush(stdout);
}

// Limits TBB to `threads` threads (global_control) and provides an arena of
// that size to run the parallel variant in.
struct PeerLimit {
    tbb::global_control gc;
    tbb::task_arena arena;
    explicit PeerLimit(int threads)
        : gc(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads)),
          arena(threads) {}
};
