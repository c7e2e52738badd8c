// boost_sleeps: Boost.Fiber peer of braid's sleeps benchmark (perf/sleeps.c),
// the same four lines.
//
// N (default 100,000) fibers at once, fiber i doing
// boost::this_fiber::sleep_until(start + peer_sleep_micros(i)) (uniform
// 0..100 ms, the sequence of the other peers), all joined; median_ms is the
// wall time until all are done. Then, per run: sleeps-lateness, the mean
// lateness (woken - due) in ms (ns_per_op: the same in ns), and
// sleeps-lateness-p99, its 99th percentile. Last, sleeps-rss: N fibers all
// waiting on one condition variable at once, RSS growth divided by N
// (fiber, stack pages, everything). Boost.Fiber's schedulers cannot be made
// afresh in one process, so that is measured first, before any timed run.
#include "boost_common.hpp"

using clk = std::chrono::steady_clock;

int main(int argc, char **argv) {
    PeerArgs a = peer_parse(argc, argv, 100000);
    const long n = a.n;
    std::vector<long long> late(static_cast<size_t>(n));
    std::vector<boost::fibers::fiber> fs(static_cast<size_t>(n));
    PeerGuard guard("sleeps", a.threads, a.n);
    FiberPool pool(a.threads);

    // Memory: N fibers all suspended at once on a condition variable.
    std::atomic<long> waiting{0};
    long rss_growth = 0;
    {
        boost::fibers::mutex m;
        boost::fibers::condition_variable cv;
        bool open = false;
        auto hold_all = [&]() -> long long {
            long before = peer_rss_kib();
            for (long i = 0; i < n; i++)
                fs[i] = boost::fibers::fiber([&] {
                    std::unique_lock<boost::fibers::mutex> lk(m);
                    waiting.fetch_add(1, std::memory_order_relaxed);
                    cv.wait(lk, [&] { return open; });
                });
            while (waiting.load(std::memory_order_relaxed) < n) boost::this_fiber::yield();
            rss_growth = peer_rss_kib() - before;
            {
                std::unique_lock<boost::fibers::mutex> lk(m);
                open = true;
            }
            cv.notify_all();
            for (long i = 0; i < n; i++) fs[i].join();
            return 0;
        };
        peer_in_fiber(hold_all);
    }

    std::vector<long long> micros(static_cast<size_t>(n));
    for (long i = 0; i < n; i++) micros[i] = peer_sleep_micros(static_cast<unsigned long long>(i));
    std::vector<double> late_mean, late_p99;
    int run = -1;
    auto ms = peer_time("sleeps", a.reps, n, [&]() -> long long {
        std::atomic<long> done{0};
        for (long i = 0; i < n; i++)
            fs[i] = boost::fibers::fiber([&, i] {
                auto due = clk::now() + std::chrono::microseconds(micros[i]);
                boost::this_fiber::sleep_until(due);
                late[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now() - due).count();
                done.fetch_add(1, std::memory_order_relaxed);
            });
        for (long i = 0; i < n; i++) fs[i].join();
        if (run++ >= 0) {  // not the warm-up
            double sum = 0;
            for (long long l : late) sum += static_cast<double>(l);
            late_mean.push_back(sum / static_cast<double>(n) / 1e6);
            std::sort(late.begin(), late.end());
            late_p99.push_back(static_cast<double>(late[static_cast<size_t>(n * 0.99)]) / 1e6);
        }
        return done.load();
    });
    peer_report("sleeps", a.threads, n, ms, static_cast<double>(n), n);
    peer_report("sleeps-lateness", a.threads, n, late_mean, 1, n);
    peer_report("sleeps-lateness-p99", a.threads, n, late_p99, 1, n);
    double per = static_cast<double>(rss_growth) * 1024.0 / static_cast<double>(n);
    std::printf("BENCH name=sleeps-rss impl=boost-fiber workers=%d param=%ld reps=1 median_ms=0 "
                "min_ms=0 ns_per_op=0 result=%.0f bytes_per_sleeper=%.0f\n",
                a.threads, n, per, per);
    return 0;
}
