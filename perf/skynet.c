/* skynet.c - the skynet benchmark: a 10-ary tree of tasks with N leaves
 * (default 1,000,000: 1,111,111 tasks); leaf i returns i, every parent
 * spawns its ten children, awaits them and returns their sum. Beside it the
 * serial twin (plain recursion). Same shape as perf/peers/tbb_skynet.cpp.
 */
#include <braid.h>

#include "bench.h"

static int64_t skynet(void *arg)
{
    /* arg packs (num << 24) | size, sizes are powers of ten <= 10^7 */
    uint64_t v = (uint64_t)(uintptr_t)arg;
    int64_t num = (int64_t)(v >> 24), size = (int64_t)(v & 0xffffff);
    if (size == 1)
        return num;
    braid_task *t[10];
    int64_t sub = size / 10;
    for (int i = 0; i < 10; i++) {
        uint64_t a = ((uint64_t)(num + i * sub) << 24) | (uint64_t)sub;
        if (braid_spawn(&t[i], skynet, (void *)(uintptr_t)a) != 0)
            abort();
    }
    int64_t sum = 0;
    for (int i = 9; i >= 0; i--) {
        int64_t r = 0;
        if (braid_await(t[i], &r) != 0)
            abort();
        sum += r;
        braid_task_release(t[i]);
    }
    return sum;
}

static __attribute__((noinline)) int64_t skynet_serial(int64_t num, int64_t size)
{
    if (size == 1)
        return num;
    int64_t sum = 0, sub = size / 10;
    for (int i = 0; i < 10; i++)
        sum += skynet_serial(num + i * sub, sub);
    return sum;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse(argc, argv, &a, 1000000);
    long leaves = a.n, tasks = 0;
    for (long s = leaves; s >= 1; s /= 10)
        tasks += leaves / s;
    braid_rt *rt = bench_rt(a.workers);
    unsigned nw = (unsigned)braid_rt_workers(rt);
    void *root = (void *)(uintptr_t)(uint64_t)leaves;
    int64_t r = 0;
    double ms[64];
    int reps = a.reps > 64 ? 64 : a.reps;
    bench_time(rt, skynet, root, reps, ms, &r);
    braid_rt_free(rt);
    int64_t expect = (int64_t)leaves * (leaves - 1) / 2;
    if (r != expect) {
        fprintf(stderr, "skynet: wrong result %lld\n", (long long)r);
        return 1;
    }
    bench_report("skynet", "braid", nw, leaves, ms, reps, (double)tasks, (long long)r);
    volatile int64_t vl = leaves;
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now_ms();
        r = skynet_serial(0, vl);
        ms[i] = bench_now_ms() - t0;
    }
    bench_report("skynet", "serial-c", 1, leaves, ms, reps, (double)tasks, (long long)r);
    return 0;
}
