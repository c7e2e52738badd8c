// boost_spawn: Boost.Fiber peer of braid's spawn-all benchmark
// (perf/spawn.c), same shape.
//
// Start N (default 1,000,000) fibers, each computing the empty body i & 1
// into its slot, then join them all in spawn order and sum the slots.
// ns_per_op is per fiber; result is the sum (N/2).
#include "boost_common.hpp"

int main(int argc, char **argv) {
    PeerArgs a = peer_parse(argc, argv, 1000000);
    const long n = a.n;
    std::vector<long long> out(static_cast<size_t>(n));
    std::vector<boost::fibers::fiber> fs(static_cast<size_t>(n));
    PeerGuard guard("spawn-all", a.threads, a.n);
    FiberPool pool(a.threads);
    auto ms = peer_time("spawn-all", a.reps, n / 2, [&] {
        for (long i = 0; i < n; i++)
            fs[i] = boost::fibers::fiber([&out, i] { out[i] = i & 1; });
        long long sum = 0;
        for (long i = 0; i < n; i++) {
            fs[i].join();
            sum += out[i];
        }
        return sum;
    });
    peer_report("spawn-all", a.threads, a.n, ms, static_cast<double>(n), n / 2);
    return 0;
}
