/* error_caught.c - a coroutine raises after one second; its awaiter
 * catches the error and prints its message.
 *
 * Mirrors seed 003 ("Exception Handling in Coroutines"):
 *
 *     async def faulty_coroutine():
 *         await asyncio.sleep(1)
 *         raise ValueError("An error occurred!")
 *
 *     async def main():
 *         try:
 *             await faulty_coroutine()
 *         except ValueError as e:
 *             print(f"Caught an exception: {e}")
 *
 *     asyncio.run(main())
 *
 * Raising is returning a negative errno: ValueError becomes -EINVAL, and
 * braid_fail attaches the message to the failing task. Here
 * faulty_coroutine runs as a task of its own, so that the error crosses
 * from one task to its awaiter (braid_await returns the task's status,
 * braid_task_message its message). After one second prints
 * "Caught an exception: An error occurred!" and ends with status 0: the
 * error was handled.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>

static int64_t faulty_coroutine(void *arg)
{
    (void)arg;
    int err = seed_sleep(1);
    if (err != 0)
        return err;
    return braid_fail(-EINVAL, "An error occurred!"); /* raise ValueError(...) */
}

static int64_t main_coro(void *arg)
{
    (void)arg;
    braid_task *t;
    int err = braid_spawn(&t, faulty_coroutine, NULL);
    if (err != 0)
        return err;
    err = braid_await(t, NULL); /* try: await faulty_coroutine() */
    if (err == -EINVAL) {       /* except ValueError as e: */
        const char *e = braid_task_message(t);
        printf("Caught an exception: %s\n", e != NULL ? e : braid_strerror(err));
        err = 0;
    }
    braid_task_release(t);
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
