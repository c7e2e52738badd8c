// What the C++ peers of braid's benchmarks share, whatever runs their tasks
// (oneTBB: peer_common.hpp; Boost.Fiber: boost/boost_common.hpp): the
// -n/-t/-r options, the monotonic clock, the timed runs (warm-up once, then
// reps runs, results checked), the median, and the skynet tree's size.
// Each framework's header adds its thread set-up and its BENCH line.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
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

// Parses -n, -t and -r; -t 0 (the default) becomes all_cores(), the
// framework's count of all cores.
template <class AllCores>
PeerArgs peer_parse_args(int argc, char **argv, long default_n, AllCores all_cores) {
    PeerArgs a{default_n, 0, 5};
    for (int i = 1; i < argc; i += 2) {  // pairs: option, value
        if (i + 1 >= argc) peer_usage(argv[0]);
        char *end = nullptr;
        long v = std::strtol(argv[i + 1], &end, 10);
        if (*argv[i + 1] == '\0' || *end != '\0' || v < 0) peer_usage(argv[0]);
        if (std::strcmp(argv[i], "-n") == 0) a.n = v;
        else if (std::strcmp(argv[i], "-t") == 0) a.threads = static_cast<int>(v);
        else if (std::strcmp(argv[i], "-r") == 0) a.reps = static_cast<int>(v);
        else peer_usage(argv[0]);
    }
    if (a.reps < 1) a.reps = 1;
    if (a.threads == 0) a.threads = all_cores();
    return a;
}

inline double peer_now_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Warm up once, then time `reps` runs of run(); every run's result must equal
// `expect` (else the program exits 1). Returns the per-run times in ms.
template <class Run>
std::vector<double> peer_time_runs(const char *name, const char *impl, int reps,
                                   long long expect, Run &run) {
    std::vector<double> ms;
    for (int i = -1; i < reps; i++) {
        double t0 = peer_now_ms();
        long long got = run();
        double t1 = peer_now_ms();
        if (got != expect) {
            std::fprintf(stderr, "%s/%s: wrong result %lld (expected %lld)\n", name, impl, got,
                         expect);
            std::exit(1);
        }
        if (i >= 0) ms.push_back(t1 - t0);  // i == -1 is the warm-up
    }
    return ms;
}

// Sorts ms (so ms[0] is the minimum) and returns its median.
inline double peer_median(std::vector<double> &ms) {
    std::sort(ms.begin(), ms.end());
    size_t m = ms.size();
    return (m % 2) ? ms[m / 2] : (ms[m / 2 - 1] + ms[m / 2]) / 2;
}

// The nodes of the skynet tree with `leaves` leaves (1 + 10 + ... + leaves),
// each one task; exits 2 unless leaves is a power of 10.
inline long long peer_skynet_tasks(long leaves, const char *prog) {
    long long tasks = 0, level = 1;
    for (; level < leaves; level *= 10) tasks += level;
    if (leaves < 1 || level != leaves) {
        std::fprintf(stderr, "%s: -n (leaves) must be a power of 10\n", prog);
        std::exit(2);
    }
    return tasks + level;
}
