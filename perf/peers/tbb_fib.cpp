// tbb_fib: oneTBB peer of braid's fib benchmark.
//
// Measures per-task spawn/join overhead: fib(N) where every call with n >= 2
// spawns both children as tasks (tbb::task_group: run, run, wait) and awaits
// both -- the same shape as braid's fib, with no serial cutoff. Every call
// counts as a task, so fib(N) runs 2*fib(N+1)-1 tasks. A plain recursive
// fib in the same binary is the serial baseline (impl=serial-c++).
#include "peer_common.hpp"

#include <tbb/task_group.h>

static long long fib_tbb(int n) {
    if (n < 2) return n;
    long long a = 0, b = 0;
    tbb::task_group g;
    g.run([&] { a = fib_tbb(n - 1); });
    g.run([&] { b = fib_tbb(n - 2); });
    g.wait();
    return a + b;
}

// noinline + volatile input keep the compiler from folding the baseline away.
__attribute__((noinline)) static long long fib_serial(int n) {
    if (n < 2) return n;
    return fib_serial(n - 1) + fib_serial(n - 2);
}

int main(int argc, char **argv) {
    PeerArgs a = peer_parse(argc, argv, 30);
    if (a.n > 60) peer_usage(argv[0]);
    const int n = static_cast<int>(a.n);

    long long f0 = 0, f1 = 1;  // f0 = fib(k), f1 = fib(k+1)
    for (int k = 0; k < n; k++) { long long t = f0 + f1; f0 = f1; f1 = t; }
    const long long expect = f0, tasks = 2 * f1 - 1;

    {
        PeerLimit lim(a.threads);
        peer_bench("fib", "tbb", a.threads, a.n, a.reps, tasks, expect,
                   [&] { return lim.arena.execute([&] { return fib_tbb(n); }); });
    }
    volatile int vn = n;
    peer_bench("fib", "serial-c++", 1, a.n, a.reps, tasks, expect,
               [&] { return fib_serial(vn); });
    return 0;
}
