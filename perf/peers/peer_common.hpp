// Shared helpers for the oneTBB peer benchmarks: argument parsing, thread
// limiting, timing and the one-line BENCH report format that braid's own
// benchmarks print, so both can be compared in a single run. What is not
// TBB's own comes from peer_base.hpp (shared with the Boost.Fiber peers).
#pragma once

#include "peer_base.hpp"

#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/task_arena.h>

#include <cstdio>
#include <vector>

// -t 0 (all cores) is TBB's default concurrency.
inline PeerArgs peer_parse(int argc, char **argv, long default_n) {
    return peer_parse_args(argc, argv, default_n, [] { return tbb::info::default_concurrency(); });
}

// Warm up once, then time `reps` runs of fn(); every run's result must equal
// `expect`. Prints one BENCH line.
template <class Fn>
void peer_bench(const char *name, const char *impl, int workers, long param, int reps,
                long long tasks, long long expect, Fn fn) {
    std::vector<double> ms = peer_time_runs(name, impl, reps, expect, fn);
    double median = peer_median(ms);
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
