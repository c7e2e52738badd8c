/* skeletons.c - the four program outlines of seed 004, whose bodies are
 * only comments, each run as the seed shows it.
 *
 * Mirrors seed 004 ("Executing an Async Program with asyncio", "Running
 * Concurrent Coroutines", "Creating asyncio Tasks", "Async and Await
 * Syntax"; the first two appear twice):
 *
 *     async def main():                  # 1
 *         # code here
 *     asyncio.run(main())
 *
 *     async def coroutine1(): ...        # 2
 *     async def coroutine2(): ...
 *     async def main():
 *         await asyncio.gather(coroutine1(), coroutine2())
 *     asyncio.run(main())
 *
 *     async def my_task(): ...           # 3
 *     async def main():
 *         task = asyncio.create_task(my_task())
 *         await task
 *     asyncio.run(main())
 *
 *     async def async_function():        # 4
 *         result = await some_coroutine()
 *         return result
 *
 * (In Python, a body that is only a comment does not even compile; the
 * C bodies do nothing.) The fourth has no asyncio.run; it runs here as the
 * main coroutine. Each outline is one braid_run, as each is one
 * asyncio.run. Prints nothing; ends at once with status 0.
 */
#include "common.h"

/* 1: asyncio.run(main()) */
static int64_t empty_main(void *arg)
{
    (void)arg;
    /* code here */
    return 0;
}

/* 2: await asyncio.gather(coroutine1(), coroutine2()) */
static int64_t coroutine1(void *arg)
{
    (void)arg; /* Coroutine 1 code */
    return 0;
}

static int64_t coroutine2(void *arg)
{
    (void)arg; /* Coroutine 2 code */
    return 0;
}

static int64_t gather_main(void *arg)
{
    (void)arg;
    braid_task *tasks[2] = {NULL, NULL};
    int err = braid_spawn(&tasks[0], coroutine1, NULL);
    if (err == 0)
        err = braid_spawn(&tasks[1], coroutine2, NULL);
    if (err == 0)
        err = braid_gather(tasks, 2, NULL, NULL, 0);
    braid_task_release(tasks[0]);
    braid_task_release(tasks[1]);
    return err;
}

/* 3: task = asyncio.create_task(my_task()); await task */
static int64_t my_task(void *arg)
{
    (void)arg; /* Task code */
    return 0;
}

static int64_t task_main(void *arg)
{
    (void)arg;
    braid_task *task;
    int err = braid_spawn(&task, my_task, NULL);
    if (err != 0)
        return err;
    err = braid_await(task, NULL);
    braid_task_release(task);
    return err;
}

/* 4: result = await some_coroutine(); return result */
static int64_t some_coroutine(void *arg)
{
    (void)arg;
    return 0;
}

static int64_t async_function(void *arg)
{
    int64_t result = some_coroutine(arg); /* await some_coroutine(): a call */
    return result;
}

int main(int argc, char **argv)
{
    seed_opts o;
    seed_opts_init(&o);
    seed_parse(argc, argv, "", &o);
    braid_rt_opts ro;
    seed_rt_opts(&o, &ro);
    static const struct {
        const char *name;
        braid_fn fn;
    } outlines[] = {
        {"asyncio.run(main()) [empty main]", empty_main},
        {"asyncio.run(main()) [gather]", gather_main},
        {"asyncio.run(main()) [create_task]", task_main},
        {"async_function()", async_function},
    };
    for (size_t i = 0; i < sizeof outlines / sizeof outlines[0]; i++) {
        int err = braid_run(outlines[i].fn, NULL, &ro, NULL);
        if (err != 0)
            return seed_exit(outlines[i].name, err);
    }
    return 0;
}
