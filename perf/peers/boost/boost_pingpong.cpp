// boost_pingpong: Boost.Fiber peer of braid's pingpong benchmark
// (perf/pingpong.c).
//
// Two fibers pass a counter back and forth over two
// boost::fibers::buffered_channel<long long>(2), N (default 1,000,000) round
// trips (ping + pong = one round trip). A buffered_channel of capacity 2
// holds one value (its ring keeps a slot free; capacity must be a power of
// two >= 2), the capacity-1 channels of braid's pingpong. ns_per_op is per
// round trip; result is N.
#include "boost_common.hpp"

using chan = boost::fibers::buffered_channel<long long>;

static long long pingpong(long n) {
    chan ping(2), pong(2);
    boost::fibers::fiber ponger([&] {
        long long v;
        while (ping.pop(v) == boost::fibers::channel_op_status::success) pong.push(v + 1);
    });
    long long v = 0;
    for (long i = 0; i < n; i++) {
        ping.push(v);
        pong.pop(v);
    }
    ping.close();
    ponger.join();
    return v;
}

int main(int argc, char **argv) {
    PeerArgs a = peer_parse(argc, argv, 1000000);
    long n = a.n;
    PeerGuard guard("pingpong", a.threads, a.n);
    FiberPool pool(a.threads);
    auto ms = peer_time("pingpong", a.reps, n, [n] { return pingpong(n); });
    peer_report("pingpong", a.threads, a.n, ms, static_cast<double>(n), n);
    return 0;
}
