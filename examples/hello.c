/* hello.c - the smallest braid program: a main coroutine that spawns a
 * task, awaits it, and prints its result. */
#include <braid.h>
#include <stdio.h>

static int64_t square(void *arg)
{
    int64_t x = (int64_t)(intptr_t)arg;
    return x * x;
}

static int64_t main_task(void *arg)
{
    (void)arg;
    braid_task *t;
    int err = braid_spawn(&t, square, (void *)(intptr_t)7);
    if (err != 0)
        return err;
    int64_t v = 0;
    err = braid_await(t, &v);
    braid_task_release(t);
    if (err != 0)
        return err;
    printf("hello from worker %d: 7 * 7 = %lld\n", braid_worker_id(), (long long)v);
    return 0;
}

int main(void)
{
    int err = braid_run(main_task, NULL, NULL, NULL);
    if (err != 0) {
        fprintf(stderr, "hello: %s\n", braid_strerror(err));
        return 1;
    }
    return 0;
}
