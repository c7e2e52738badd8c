/* pingpong.c - two coroutines pass a value back and forth N times over two
 * channels of capacity 1 (the notify/channel ping-pong of perf/peers):
 * ns per round trip. -n N (default 1,000,000), -t workers.
 */
#include <braid.h>

#include "bench.h"

typedef struct {
    braid_chan *ping, *pong;
    long n;
} pp;

static int64_t ponger(void *arg)
{
    pp *p = arg;
    intptr_t v;
    for (long i = 0; i < p->n; i++) {
        if (braid_chan_recv(p->ping, &v) != 0 || braid_chan_send(p->pong, v + 1) != 0)
            return -1;
    }
    return 0;
}

static int64_t run(void *arg)
{
    pp *p = arg;
    braid_task *t;
    if (braid_spawn(&t, ponger, p) != 0)
        return -1;
    intptr_t v = 0;
    for (long i = 0; i < p->n; i++) {
        if (braid_chan_send(p->ping, v) != 0 || braid_chan_recv(p->pong, &v) != 0)
            return -1;
    }
    braid_await(t, NULL);
    braid_task_release(t);
    return v;
}

int main(int argc, char **argv)
{
    bench_args a;
    bench_parse(argc, argv, &a, 1000000);
    pp p = {.n = a.n};
    if (braid_chan_new(&p.ping, 1) != 0 || braid_chan_new(&p.pong, 1) != 0)
        return 1;
    braid_rt *rt = bench_rt(a.workers);
    unsigned nw = (unsigned)braid_rt_workers(rt);
    double ms[64];
    int reps = a.reps > 64 ? 64 : a.reps;
    int64_t r = 0;
    bench_time(rt, run, &p, reps, ms, &r);
    braid_rt_free(rt);
    if (r != a.n)
        return 1;
    bench_report("pingpong", "braid", nw, a.n, ms, reps, (double)a.n, (long long)r);
    braid_chan_free(p.ping);
    braid_chan_free(p.pong);
    return 0;
}
