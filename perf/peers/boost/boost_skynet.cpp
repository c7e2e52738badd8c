// boost_skynet: Boost.Fiber peer of braid's skynet benchmark (perf/skynet.c),
// same shape.
//
// A 10-ary tree of fibers with L leaves (default 1,000,000, depth 6): leaf i
// returns its index i; each parent starts its 10 children as fibers, joins
// them and sums them. Every node counts as a task (1,111,111 for 1M leaves);
// the expected sum is L*(L-1)/2 (499999500000).
#include "boost_common.hpp"

static long long skynet(long long num, long long size) {
    if (size == 1) return num;
    long long part[10];
    boost::fibers::fiber f[10];
    long long sub = size / 10;
    for (int i = 0; i < 10; i++)
        f[i] = boost::fibers::fiber([&part, i, num, sub] { part[i] = skynet(num + i * sub, sub); });
    long long sum = 0;
    for (int i = 9; i >= 0; i--) {
        f[i].join();
        sum += part[i];
    }
    return sum;
}

int main(int argc, char **argv) {
    PeerArgs a = peer_parse(argc, argv, 1000000);
    const long long tasks = peer_skynet_tasks(a.n, argv[0]);  // L must be 10^k
    const long long leaves = a.n, expect = leaves * (leaves - 1) / 2;
    PeerGuard guard("skynet", a.threads, a.n);
    FiberPool pool(a.threads);
    auto ms = peer_time("skynet", a.reps, expect, [leaves] { return skynet(0, leaves); });
    peer_report("skynet", a.threads, a.n, ms, static_cast<double>(tasks), expect);
    return 0;
}
