// tbb_skynet: oneTBB peer of braid's skynet benchmark.
//
// Measures spawn/join throughput over a wide tree: a 10-ary tree of tasks
// with L leaves (default 1,000,000, depth 6). Leaf i returns its index i; each
// parent spawns its 10 children as tasks in a tbb::task_group, waits, and sums
// them -- the same shape as braid's skynet. Every node counts as a task
// (1,111,111 for 1M leaves); the expected sum is L*(L-1)/2 (499999500000).
#include "peer_common.hpp"

#include <tbb/task_group.h>

static long long skynet(long long num, long long size) {
    if (size == 1) return num;
    long long part[10];
    tbb::task_group g;
    for (int i = 0; i < 10; i++) {
        long long sub = size / 10;
        g.run([&part, i, num, sub] { part[i] = skynet(num + i * sub, sub); });
    }
    g.wait();
    long long sum = 0;
    for (long long p : part) sum += p;
    return sum;
}

int main(int argc, char **argv) {
    PeerArgs a = peer_parse(argc, argv, 1000000);
    const long long tasks = peer_skynet_tasks(a.n, argv[0]);  // L must be 10^k
    const long long leaves = a.n, expect = leaves * (leaves - 1) / 2;

    PeerLimit lim(a.threads);
    peer_bench("skynet", "tbb", a.threads, a.n, a.reps, tasks, expect,
               [&] { return lim.arena.execute([&] { return skynet(0, leaves); }); });
    return 0;
}
