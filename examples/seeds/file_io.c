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
 * aiofiles runs each file call on a thread pool so the event loop never
 * blocks; braid_file_open / _write / _read / _close do the same on the
 * runtime's blocking pool: the coroutine suspends while a pool thread does
 * the system call, and the worker runs other tasks meanwhile. -f FILE picks
 * the file (default example.txt, as in the seed). Prints "Hello, asyncio!";
 * the file holds exactly that text, without a newline.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

/* async def write_file(file_path, content): awaited directly by main, so
 * a plain call (it suspends on main's coroutine stack). */
static int write_file(const char *file_path, const char *content)
{
    int fd;
    int err = braid_file_open(file_path, O_WRONLY | O_CREAT | O_TRUNC, 0644, &fd);
    if (err != 0)
        return braid_fail(err, "open %s: %s", file_path, strerror(-err));
    size_t len = strlen(content);
    ssize_t n = braid_file_write(fd, content, len, -1); /* await file.write(content) */
    int cerr = braid_file_close(fd);
    if (n < 0)
        return braid_fail((int)n, "write %s: %s", file_path, strerror((int)-n));
    if ((size_t)n != len)
        return braid_fail(-EIO, "write %s: short write", file_path);
    return cerr != 0 ? braid_fail(cerr, "close %s: %s", file_path, strerror(-cerr)) : 0;
}

/* async def read_file(file_path) */
static int read_file(const char *file_path)
{
    int fd;
    int err = braid_file_open(file_path, O_RDONLY, 0, &fd);
    if (err != 0)
        return braid_fail(err, "open %s: %s", file_path, strerror(-err));
    char contents[4096];
    size_t len = 0;
    ssize_t n = 0;
    while (len < sizeof contents - 1 &&
           (n = braid_file_read(fd, contents + len, sizeof contents - 1 - len, -1)) > 0)
        len += (size_t)n; /* contents = await file.read() */
    braid_file_close(fd);
    if (n < 0)
        return braid_fail((int)n, "read %s: %s", file_path, strerror((int)-n));
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
