/* embed.c - a host program with threads of its own hands requests to braid.
 *
 * The host has 4 request threads (think: an existing server's pool). Each
 * hands its requests to one shared braid runtime with braid_rt_spawn and
 * waits for the answer with braid_join and a deadline; inside braid each
 * request fans out to 3 coroutines that "call a backend" (a sleep stands
 * for the I/O) concurrently. Worker hooks set up a thread-local of the
 * host, and the runtime is shut down within a deadline at the end.
 */
#include <braid.h>
#include <pthread.h>
#include <stdio.h>

static _Thread_local int host_tls = -1; /* what a host sets up per thread */

static void on_worker_start(unsigned worker, void *arg)
{
    (void)arg;
    host_tls = (int)worker; /* e.g. a logger or an allocator arena */
}

static int64_t backend_call(void *arg)
{
    braid_sleep(10 * BRAID_MSEC); /* stands for a network round trip */
    return (int64_t)(intptr_t)arg * 10 + (host_tls >= 0);
}

static int64_t handle_request(void *arg) /* runs in braid */
{
    braid_task *calls[3];
    int64_t sum = 0;
    for (int i = 0; i < 3; i++)
        if (braid_spawn(&calls[i], backend_call, arg) != 0)
            return -1;
    for (int i = 0; i < 3; i++) { /* the 3 calls overlap: ~10 ms, not 30 */
        int64_t v = 0;
        if (braid_await(calls[i], &v) == 0)
            sum += v;
        braid_task_release(calls[i]);
    }
    return sum;
}

static braid_rt *rt;

static void *host_thread(void *arg) /* a thread braid does not own */
{
    long id = (long)(intptr_t)arg, ok = 0;
    for (int r = 0; r < 25; r++) {
        braid_task *t;
        int64_t answer = 0;
        if (braid_rt_spawn(rt, &t, handle_request, (void *)(intptr_t)r) != 0)
            break;
        if (braid_join(t, &answer, braid_now() + BRAID_SEC) == 0 && answer == 30 * r + 3)
            ok++;
        braid_task_release(t);
    }
    printf("host thread %ld: %ld of 25 requests answered\n", id, ok);
    return (void *)(intptr_t)ok;
}

int main(void)
{
    braid_rt_opts o;
    braid_rt_opts_init(&o);
    o.on_worker_start = on_worker_start;
    if (braid_rt_new(&rt, &o) != 0)
        return 1;
    pthread_t th[4];
    int64_t t0 = braid_now();
    for (long i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, host_thread, (void *)(intptr_t)i);
    long ok = 0;
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        ok += (long)(intptr_t)r;
    }
    printf("%ld requests in %.0f ms\n", ok, (double)(braid_now() - t0) / 1e6);
    size_t running = 0;
    if (braid_rt_shutdown(rt, braid_now() + BRAID_SEC, &running, 1) != 0)
        fprintf(stderr, "%zu tasks still running\n", running);
    braid_rt_free(rt);
    return ok == 100 ? 0 : 1;
}
