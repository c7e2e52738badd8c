/* file_io.c - write a file, then read it back and print it, each step a
 * coroutine awaited in turn.
 *
 * Mirrors seed 003 ("Reading and Writing Files Asynchronously"):
 *
 *     async def read_file(file_path):
 *         async with aiofiles.open(file_path, mode='r') as file:
 *             contents = await file.read()
 *             print(contents)
 *
 *     async def write_file(file_path, content):
 *         async with aiofiles.open(file_path, mode='w') as file:
 *             await file.write(content)
 *
 *     async def main():
 *         await write_file('example.txt', 'Hello, asyncio!')
 *         await read_file('example.txt')
 *
 *     asyncio.run(main())
 *
 * braid has no asynchronous file I/O (aiofiles runs each call on a thread
 * pool; braid offers no thread pool and no async read/write), so the two
 * coroutines use plain stdio: each call blocks its worker thread while it
 * runs, which a small local file makes harmless. -f FILE picks the file
 * (default example.txt, as in the seed). Prints "Hello, asyncio!"; the file
 * holds exactly that text, without a newline.
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* async def write_file(file_path, content): awaited directly by main, so
 * a plain call (it could suspend: it runs on main's coroutine stack). */
static int write_file(const char *file_path, const char *content)
{
    FILE *file = fopen(file_path, "w");
    if (file == NULL)
        return braid_fail(-errno, "open %s: %s", file_path, strerror(errno));
    size_t len = strlen(content);
    int ok = fwrite(content, 1, len, file) == len;
    ok &= fclose(file) == 0;
    return ok ? 0 : braid_fail(-EIO, "write %s", file_path);
}

/* async def read_file(file_path) */
static int read_file(const char *file_path)
{
    FILE *file = fopen(file_path, "r");
    if (file == NULL)
        return braid_fail(-errno, "open %s: %s", file_path, strerror(errno));
    char contents[4096];
    size_t len = fread(contents, 1, sizeof contents - 1, file);
    int failed = ferror(file);
    fclose(file);
    if (failed)
        return braid_fail(-EIO, "read %s", file_path);
    contents[len] = '\0';
    printf("%s\n", contents); /* print(contents) */
    return 0;
}

static int64_t main_coro(void *arg)
{
    const seed_opts *o = arg;
    const char *path = o->file;
    int err = write_file(path, "Hello, asyncio!"); /* await write_file('example.txt', ...) */
    if (err == 0)
        err = read_file(path); /* await read_file('example.txt') */
    if (err != 0) {
        const char *msg = braid_task_message(braid_self()); /* what braid_fail recorded */
        fprintf(stderr, "%s\n", msg != NULL ? msg : strerror(-err));
    }
    return err;
}

int main(int argc, char **argv)
{
    seed_opts o;
    seed_opts_init(&o);
    seed_parse(argc, argv, "f", &o);
    braid_rt_opts ro;
    seed_rt_opts(&o, &ro);
    return seed_exit("asyncio.run(main())", braid_run(main_coro, &o, &ro, NULL));
}
