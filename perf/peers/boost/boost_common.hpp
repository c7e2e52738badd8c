// What the Boost.Fiber peers of braid's benchmarks share: the -n/-t/-r
// options, the scheduler set-up, timing (warm-up once, then reps timed runs
// on the monotonic clock, results checked) and the one-line BENCH report
// that braid's own benchmarks print (perf/bench.h). What is not Boost's own
// comes from ../peer_base.hpp (shared with the oneTBB peers).
//
// Scheduler: with -t N > 1, boost::fibers::algo::work_stealing on N threads
// (this one and N-1 more, each installing the algorithm and then parking
// its main fiber on a fiber condition variable until the pool is torn
// down), with work_stealing's default suspend=false: an idle thread keeps
// looking for work to steal instead of sleeping (with suspend=true an idle
// thread sleeps until a fiber is made ready on it remotely, so it would
// never steal newly spawned fibers). With -t 1 the default round_robin
// algorithm: work_stealing needs a second thread to steal from (its
// pick_next looks for a victim other than itself and never finds one).
// Every fiber gets Boost's default stack (fixedsize_stack, 128 KiB malloc'd);
// a timed run is itself a fiber (so it may migrate), joined by main.
//
// Memory: each live fiber costs about 11 KB of resident memory (the pages
// its stack's allocation touches), and a fiber lives until joined, so the
// big trees (fib 30: 2.7M fibers) can exhaust the machine. PeerGuard stops
// the program before that: a thread samples the resident size every 5 ms
// and, past the limit (BOOST_PEER_MEM_MB, default 60% of MemAvailable at
// start), prints the workload's BENCH line with status=oom and NaN times,
// then exits with status 3. The same line is printed when an allocation
// fails (std::bad_alloc, e.g. under ulimit -v).
#pragma once

#include "../peer_base.hpp"

#include <boost/fiber/all.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

// -t 0 (all cores) is the hardware's thread count (at least 1).
inline PeerArgs peer_parse(int argc, char **argv, long default_n) {
    return peer_parse_args(argc, argv, default_n, [] {
        return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    });
}

inline long peer_rss_kib() {
    FILE *f = std::fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f != nullptr) {
        if (std::fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
        std::fclose(f);
    }
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

// The memory limit of PeerGuard (see the top of this file); one per process.
class PeerGuard {
    static inline char line_[256];
    static inline std::atomic<bool> failed_{false};
    long limit_kib_ = 0;
    std::atomic<bool> stop_{false};
    std::thread t_;

    static long mem_available_kib() {
        FILE *f = std::fopen("/proc/meminfo", "r");
        char key[64];
        long v = 0, avail = 0;
        char unit[16];
        while (f != nullptr && std::fscanf(f, "%63s %ld %15[^\n]", key, &v, unit) >= 2)
            if (std::strcmp(key, "MemAvailable:") == 0) avail = v;
        if (f != nullptr) std::fclose(f);
        return avail;
    }
    // Prints the status=oom BENCH line once and exits (3).
    static void fail(const char *why) {
        if (failed_.exchange(true)) return;
        std::fprintf(stderr, "%s", why);
        std::fputs(line_, stdout);
        std::fflush(stdout);
        std::fflush(stderr);
        _exit(3);
    }

public:
    PeerGuard(const char *name, int workers, long param) {
        std::snprintf(line_, sizeof line_,
                      "BENCH name=%s impl=boost-fiber workers=%d param=%ld reps=0 median_ms=nan "
                      "min_ms=nan ns_per_op=nan result=0 status=oom\n",
                      name, workers, param);
        const char *env = std::getenv("BOOST_PEER_MEM_MB");
        limit_kib_ = env != nullptr ? std::atol(env) * 1024 : mem_available_kib() / 10 * 6;
        std::set_terminate([] {
            try {
                if (std::exception_ptr e = std::current_exception()) std::rethrow_exception(e);
            } catch (const std::bad_alloc &) {
                fail("boost peer: out of memory (std::bad_alloc)\n");
            } catch (...) {
            }
            std::abort();
        });
        if (limit_kib_ <= 0) return;
        t_ = std::thread([this] {
            while (!stop_.load(std::memory_order_relaxed)) {
                long rss = peer_rss_kib();
                if (rss > limit_kib_) {
                    char why[160];
                    std::snprintf(why, sizeof why,
                                  "boost peer: out of memory: resident %ld MiB over the limit "
                                  "%ld MiB (BOOST_PEER_MEM_MB)\n",
                                  rss / 1024, limit_kib_ / 1024);
                    fail(why);
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        });
    }
    ~PeerGuard() {
        stop_.store(true);
        if (t_.joinable()) t_.join();
    }
    PeerGuard(const PeerGuard &) = delete;
    PeerGuard &operator=(const PeerGuard &) = delete;
};

// The N scheduler threads (see the top of this file); one per process, made
// before any fiber and kept for all runs (work_stealing's registry of
// schedulers is process-wide and set up once).
class FiberPool {
    int n_;
    std::vector<std::thread> ts_;
    boost::fibers::mutex mtx_;
    boost::fibers::condition_variable cv_;
    bool done_ = false;

public:
    explicit FiberPool(int n) : n_(n) {
        if (n_ < 2) return;
        // work_stealing's constructor waits until all n_ threads have made
        // theirs (a barrier), so the others are started first.
        using boost::fibers::algo::work_stealing;
        for (int i = 1; i < n_; i++)
            ts_.emplace_back([this] {
                boost::fibers::use_scheduling_algorithm<work_stealing>(n_);
                std::unique_lock<boost::fibers::mutex> lk(mtx_);
                cv_.wait(lk, [this] { return done_; });
            });
        boost::fibers::use_scheduling_algorithm<work_stealing>(n_);
    }
    ~FiberPool() {
        if (ts_.empty()) return;
        {
            std::unique_lock<boost::fibers::mutex> lk(mtx_);
            done_ = true;
        }
        cv_.notify_all();
        for (auto &t : ts_) t.join();
    }
    FiberPool(const FiberPool &) = delete;
    FiberPool &operator=(const FiberPool &) = delete;
};

// fn() run as a fiber, joined; returns its result.
template <class Fn>
long long peer_in_fiber(Fn &fn) {
    long long r = 0;
    boost::fibers::fiber f([&] { r = fn(); });
    f.join();
    return r;
}

// Warm up once, then time `reps` runs of fn() (each in a fiber); every
// run's result must equal `expect`. Returns the per-run times in ms.
template <class Fn>
std::vector<double> peer_time(const char *name, int reps, long long expect, Fn fn) {
    auto run = [&fn] { return peer_in_fiber(fn); };
    return peer_time_runs(name, "boost-fiber", reps, expect, run);
}

// One BENCH line; ops divides the median into ns_per_op.
inline void peer_report(const char *name, int workers, long param, std::vector<double> ms,
                        double ops, long long result) {
    double median = peer_median(ms);
    size_t m = ms.size();
    std::printf("BENCH name=%s impl=boost-fiber workers=%d param=%ld reps=%zu median_ms=%.3f "
                "min_ms=%.3f ns_per_op=%.2f result=%lld\n",
                name, workers, param, m, median, ms[0], median * 1e6 / ops, result);
    std::fflush(stdout);
}

// The sleep of task i in the sleeps workload, in microseconds: uniform in
// 0..=100,000, from splitmix64, the sequence the Go, Tokio and asyncio
// peers use.
inline long long peer_sleep_micros(unsigned long long i) {
    unsigned long long z = (i + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return static_cast<long long>(z % 100001);
}
