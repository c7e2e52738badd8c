/* cancel.c - a ten-second task cancelled after one second: it sees the
 * cancellation, reports it and passes it on; its awaiter catches it.
 *
 * Mirrors seed 003 ("Cancelling Tasks"):
 *
 *     async def long_running_task():
 *         try:
 *             await asyncio.sleep(10)
 *         except asyncio.CancelledError:
 *             print("Task was cancelled")
 *             raise
 *
 *     async def main():
 *         task = asyncio.create_task(long_running_task())
 *         await asyncio.sleep(1)
 *         task.cancel()
 *         try:
 *             await task
 *         except asyncio.CancelledError:
 *             print("Caught task cancellation")
 *
 *     asyncio.run(main())
 *
 * CancelledError is -ECANCELED: the sleeping task's braid_sleep returns it
 * as soon as braid_cancel is called, and returning it again is `raise`.
 * After one second prints "Task was cancelled" then
 * "Caught task cancellation"; the whole takes one second, not ten.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>

static int64_t long_running_task(void *arg)
{
    (void)arg;
    int err = seed_sleep(10);
    if (err == -ECANCELED) { /* except asyncio.CancelledError: */
        printf("Task was cancelled\n");
        return err; /* raise */
    }
    return err;
}

static int64_t main_coro(void *arg)
{
    (void)arg;
    braid_task *task;
    int err = braid_spawn(&task, long_running_task, NULL);
    if (err != 0)
        return err;
    err = seed_sleep(1);
    if (err == 0) {
        braid_cancel(task);            /* task.cancel() */
        err = braid_await(task, NULL); /* try: await task */
        if (err == -ECANCELED) {       /* except asyncio.CancelledError: */
            printf("Caught task cancellation\n");
            err = 0;
        }
    }
    braid_task_release(task);
    return err;
}

int main(int argc, char **argv)
{
    seed_opts o;
    seed_opts_init(&o);
    seed_parse(argc, argv, "", &o);
    braid_rt_opts ro;
    seed_rt_opts(&o, &ro);
    return seed_exit("asyncio.run(main())", braid_run(main_coro, NULL, &ro, NULL));
}
