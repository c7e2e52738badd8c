/* trace.c - record and write the per-worker event log (see trace.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "futex.h"
#include "internal.h"

void braid__trace_emit(braid__worker *w, uint32_t kind, uint64_t a, uint32_t b)
{
    braid__tracebuf *t = w->trace;
    if (t->n == t->cap) {
        t->dropped++;
        return;
    }
    t->ev[t->n++] = (braid__tev){braid__clock_ns(), a, kind, b};
}

static double us(braid_rt *rt, int64_t ts)
{
    return (double)(ts - rt->trace_t0) / 1000.0;
}

/* After the workers stopped: nobody writes the buffers any more. */
int braid__trace_write(braid_rt *rt)
{
    FILE *f = fopen(rt->trace_path, "w");
    if (f == NULL)
        return -errno;
    fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
    fprintf(f, "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"braid\"}}");
    uint64_t flow = 0, dropped = 0;
    for (unsigned i = 0; i < rt->nworkers; i++) {
        braid__worker *w = rt->workers[i];
        fprintf(f, ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"name\":\"thread_name\","
                   "\"args\":{\"name\":\"braid-w%u\"}}",
                i, i);
        braid__tracebuf *t = w->trace;
        if (t == NULL)
            continue;
        dropped += t->dropped;
        int depth = 0;
        for (size_t k = 0; k < t->n; k++) {
            braid__tev *e = &t->ev[k];
            double ts = us(rt, e->ts);
            switch (e->kind) {
            case TEV_BEGIN:
                depth++;
                fprintf(f, ",\n{\"ph\":\"B\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"name\":\"task\","
                           "\"args\":{\"task\":\"0x%" PRIx64 "\"}}",
                        i, ts, e->a);
                break;
            case TEV_END:
                if (depth == 0)
                    break; /* its begin was dropped or before the log */
                depth--;
                fprintf(f, ",\n{\"ph\":\"E\",\"pid\":1,\"tid\":%u,\"ts\":%.3f}", i, ts);
                break;
            case TEV_PARK:
                depth++;
                fprintf(f, ",\n{\"ph\":\"B\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"name\":\"park\"}", i,
                        ts);
                break;
            case TEV_UNPARK:
                if (depth == 0)
                    break;
                depth--;
                fprintf(f, ",\n{\"ph\":\"E\",\"pid\":1,\"tid\":%u,\"ts\":%.3f}", i, ts);
                break;
            case TEV_STEAL:
                /* A steal is an arrow from the victim's lane to the thief's:
                 * an instant on each lane joined by a flow pair. */
                flow++;
                fprintf(f,
                        ",\n{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,"
                        "\"name\":\"stolen\",\"args\":{\"by\":%u,\"entries\":%" PRIu64 "}}"
                        ",\n{\"ph\":\"s\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"name\":\"steal\","
                        "\"cat\":\"steal\",\"id\":%" PRIu64 "}"
                        ",\n{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,"
                        "\"name\":\"steal\",\"args\":{\"from\":%u,\"entries\":%" PRIu64 "}}"
                        ",\n{\"ph\":\"f\",\"bp\":\"e\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,"
                        "\"name\":\"steal\",\"cat\":\"steal\",\"id\":%" PRIu64 "}",
                        e->b, ts, i, e->a, e->b, ts, flow, i, ts, e->b, e->a, i, ts, flow);
                break;
            case TEV_SPAWN:
                fprintf(f,
                        ",\n{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,"
                        "\"name\":\"spawn\",\"args\":{\"task\":\"0x%" PRIx64 "\"}}",
                        i, ts, e->a);
                break;
            case TEV_IOWAIT:
                fprintf(f,
                        ",\n{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,"
                        "\"name\":\"io wait\",\"args\":{\"fd\":%" PRIu64 ",\"events\":\"%s\"}}",
                        i, ts, e->a,
                        e->b == 1 ? "read" : e->b == 4 ? "write" : "read+write");
                break;
            case TEV_TIMERS:
                fprintf(f,
                        ",\n{\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,"
                        "\"name\":\"timers\",\"args\":{\"fired\":%" PRIu64 "}}",
                        i, ts, e->a);
                break;
            default:
                break;
            }
        }
        /* Close what is still open at the end of the log. */
        double end = us(rt, braid__clock_ns());
        while (depth-- > 0)
            fprintf(f, ",\n{\"ph\":\"E\",\"pid\":1,\"tid\":%u,\"ts\":%.3f}", i, end);
    }
    fprintf(f, "\n],\"otherData\":{\"dropped_events\":%" PRIu64 "}}\n", dropped);
    int err = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && err == 0)
        err = -EIO;
    return err;
}
