/* switch.c - the cost of a context switch, two ways on one worker:
 *   braid:  two tasks ping-pong with braid_yield (a yield is: save, go to
 *           the worker loop, pick the next task from the yield queue,
 *           restore): ns per yield;
 *   ctx:    two bare contexts ping-pong with braid__ctx_swap, the floor:
 *           ns per swap.
 * -n is the number of yields per task (default 1,000,000).
 */
#include <braid.h>

#include "bench.h"
#include "ctx.h"

static int64_t yielder(void *arg)
{
    long n = (long)(intptr_t)arg;
    for (long i = 0; i < n; i++)
        braid_yield();
    return 0;
}

static int64_t pingpong(void *arg)
{
    braid_task *a, *b;
    braid_spawn(&a, yielder, arg);
    braid_spawn(&b, yielder, arg);
    braid_await(a, NULL);
    braid_await(b, NULL);
    braid_task_release(a);
    braid_task_release(b);
    return 0;
}

static braid__ctx main_ctx, co_ctx;
static long swaps_left;

static void co_entry(void *arg)
{
    (void)arg;
    for (;;)
        braid__ctx_swap(&co_ctx, &main_ctx);
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse(argc, argv, &a, 1000000);
    braid_rt *rt = bench_rt(1);
    double ms[64];
    int reps = a.reps > 64 ? 64 : a.reps;
    int64_t r = 0;
    bench_time(rt, pingpong, (void *)(intptr_t)a.n, reps, ms, &r);
    braid_rt_free(rt);
    bench_report("switch", "braid-yield", 1, a.n, ms, reps, 2.0 * (double)a.n, 0);

    static char stack[64 * 1024] __attribute__((aligned(16)));
    braid__ctx_make(&co_ctx, stack, sizeof stack, co_entry, NULL);
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now_ms();
        for (swaps_left = a.n; swaps_left > 0; swaps_left--)
            braid__ctx_swap(&main_ctx, &co_ctx);
        ms[i] = bench_now_ms() - t0;
    }
    bench_report("switch", "ctx-swap", 1, a.n, ms, reps, 2.0 * (double)a.n, 0);
    return 0;
}
