// boost_fib: Boost.Fiber peer of braid's fib benchmark (perf/fib.c), same
// shape.
//
// fib(N) (default 30) where every call with n >= 2 starts BOTH children as
// fibers (boost::fibers::fiber, default launch policy: post) and joins both;
// no serial cutoff. ns_per_op is per spawned fiber: 2*fib(N+1)-2 of them.
//
// Memory: a fiber holds its 128 KiB stack until joined, and the scheduler's
// ready queues are FIFO, so the tree unfolds breadth-first: at the peak
// most of the 2.7M fibers of fib(30) are alive at once (about 11 KB resident
// each). Past the memory limit of PeerGuard (boost_common.hpp) the program
// prints its BENCH line with status=oom and exits 3; perf/compare shows OOM.
#include "boost_common.hpp"

static long long fib(long n) {
    if (n < 2) return n;
    long long x = 0, y = 0;
    boost::fibers::fiber a([&x, n] { x = fib(n - 1); });
    boost::fibers::fiber b([&y, n] { y = fib(n - 2); });
    b.join();
    a.join();
    return x + y;
}

int main(int argc, char **argv) {
    PeerArgs a = peer_parse(argc, argv, 30);
    long long f0 = 0, f1 = 1;  // fib(k), fib(k+1)
    for (long k = 0; k < a.n; k++) {
        long long t = f0 + f1;
        f0 = f1;
        f1 = t;
    }
    PeerGuard guard("fib", a.threads, a.n);
    FiberPool pool(a.threads);
    long n = a.n;
    auto ms = peer_time("fib", a.reps, f0, [n] { return fib(n); });
    peer_report("fib", a.threads, a.n, ms, static_cast<double>(2 * f1 - 2), f0);
    return 0;
}
