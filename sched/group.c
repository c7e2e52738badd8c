/* group.c - structured task groups (asyncio.TaskGroup).
 *
 * A group owns a handle to every task spawned into it. braid_group_wait
 * (leaving the `async with` block) awaits all of them in completion order;
 * the first failure cancels every sibling, and every task's status stays
 * readable afterwards (the group "reports every error"). Tasks may spawn
 * more tasks into the group while it waits: the wait covers them too.
 * A group is used by one coroutine at a time for waiting; spawning into it
 * is safe from its tasks (a lock guards the task list).
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

struct braid_group {
    pthread_mutex_t m;
    braid_task **tasks;
    int *status;       /* per task, -EINPROGRESS until it is awaited */
    size_t n, cap;
    int first_error;   /* the first failure seen (0: none) */
    bool cancelling;   /* a failure (or a cancel of the waiter) hit */
};

int braid_group_new(braid_group **out)
{
    if (out == NULL)
        return -EINVAL;
    braid_group *g = braid__calloc(1, sizeof *g);
    if (g == NULL)
        return -ENOMEM;
    pthread_mutex_init(&g->m, NULL);
    *out = g;
    return 0;
}

int braid_group_spawn(braid_group *g, braid_task **out, braid_fn fn, void *arg)
{
    if (out != NULL)
        *out = NULL;
    if (g == NULL || fn == NULL)
        return -EINVAL;
    pthread_mutex_lock(&g->m);
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        braid_task **t = braid__realloc(g->tasks, cap * sizeof *t);
        int *s = t ? braid__realloc(g->status, cap * sizeof *s) : NULL;
        if (t != NULL)
            g->tasks = t;
        if (s == NULL) {
            pthread_mutex_unlock(&g->m);
            return -ENOMEM;
        }
        g->status = s;
        g->cap = cap;
    }
    braid_task *t;
    int err = braid_spawn(&t, fn, arg);
    if (err == 0) {
        if (g->cancelling) /* the group is failing: new members start cancelled */
            braid_cancel(t);
        g->tasks[g->n] = t;
        g->status[g->n] = -EINPROGRESS;
        g->n++;
        if (out != NULL)
            *out = t; /* borrowed: the group holds the reference */
    }
    pthread_mutex_unlock(&g->m);
    return err;
}

static void cancel_rest(braid_group *g)
{
    pthread_mutex_lock(&g->m);
    g->cancelling = true;
    for (size_t i = 0; i < g->n; i++)
        if (g->status[i] == -EINPROGRESS)
            braid_cancel(g->tasks[i]);
    pthread_mutex_unlock(&g->m);
}

int braid_group_wait(braid_group *g)
{
    if (g == NULL)
        return -EINVAL;
    braid__worker *w = braid__worker_current();
    if (w == NULL || w->cur == NULL)
        return -EPERM;
    int self_cancelled = 0;
    size_t done = 0;
    for (;;) {
        /* Snapshot the members not yet awaited (more may be added). */
        pthread_mutex_lock(&g->m);
        size_t n = g->n;
        size_t k = 0;
        braid_task **batch = braid__malloc((n - done + 1) * sizeof *batch);
        size_t *idx = braid__malloc((n - done + 1) * sizeof *idx);
        if (batch == NULL || idx == NULL) {
            pthread_mutex_unlock(&g->m);
            braid__free(batch);
            braid__free(idx);
            return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
            if (g->status[i] == -EINPROGRESS) {
                batch[k] = g->tasks[i];
                idx[k++] = i;
            }
        pthread_mutex_unlock(&g->m);
        if (k == 0) {
            braid__free(batch);
            braid__free(idx);
            break;
        }
        braid_waitset *ws;
        int err = braid_waitset_new(&ws, batch, k);
        for (size_t got = 0; err == 0 && got < k; got++) {
            size_t j;
            err = braid_waitset_next(ws, BRAID_FOREVER, &j);
            if (err == -ECANCELED) { /* the waiter was cancelled: cancel all, keep waiting */
                self_cancelled = 1;
                cancel_rest(g);
                err = 0;
                got--;
                continue;
            }
            if (err != 0)
                break;
            int st = braid__status_of(batch[j], NULL);
            pthread_mutex_lock(&g->m);
            g->status[idx[j]] = st;
            bool first = st != 0 && st != -ECANCELED && g->first_error == 0;
            if (first)
                g->first_error = st;
            pthread_mutex_unlock(&g->m);
            done++;
            if (first)
                cancel_rest(g); /* the first failure cancels the siblings */
        }
        braid_waitset_free(ws);
        braid__free(batch);
        braid__free(idx);
        if (err != 0)
            return err;
    }
    if (self_cancelled)
        return -ECANCELED;
    return g->first_error;
}

size_t braid_group_size(braid_group *g)
{
    if (g == NULL)
        return 0;
    pthread_mutex_lock(&g->m);
    size_t n = g->n;
    pthread_mutex_unlock(&g->m);
    return n;
}

int braid_group_status(braid_group *g, size_t i, braid_task **task)
{
    if (g == NULL)
        return -EINVAL;
    pthread_mutex_lock(&g->m);
    int st = i < g->n ? g->status[i] : -ERANGE;
    if (task != NULL)
        *task = i < g->n ? g->tasks[i] : NULL;
    pthread_mutex_unlock(&g->m);
    return st;
}

void braid_group_free(braid_group *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->n; i++) {
        if (g->status[i] == -EINPROGRESS) /* never waited: cancel, do not leak */
            braid_cancel(g->tasks[i]);
        braid_task_release(g->tasks[i]);
    }
    braid__free(g->tasks);
    braid__free(g->status);
    pthread_mutex_destroy(&g->m);
    braid__free(g);
}
