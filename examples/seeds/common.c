/* common.c - see common.h. */
#include "common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double g_scale = 1.0;
static const char *g_prog = "seed";
static const char *g_extra = "";

void seed_opts_init(seed_opts *o)
{
    o->scale = 1.0;
    o->workers = 0;
    o->seed = 0;
    o->n = 5;
    o->max_delay = 5.0;
    o->file = "example.txt";
}

static void usage(FILE *f, const char *extra)
{
    fprintf(f, "usage: %s [-s SCALE] [-w WORKERS]", g_prog);
    if (strchr(extra, 'S'))
        fprintf(f, " [-S SEED]");
    if (strchr(extra, 'n'))
        fprintf(f, " [-n N]");
    if (strchr(extra, 'm'))
        fprintf(f, " [-m MAX_DELAY]");
    if (strchr(extra, 'f'))
        fprintf(f, " [-f FILE]");
    fprintf(f, "\n  -s SCALE      real seconds per second of the seed program (> 0, default 1)\n"
               "  -w WORKERS    worker threads, 0 = one per CPU (default 0, at most %d)\n",
            BRAID_MAX_WORKERS);
    if (strchr(extra, 'S'))
        fprintf(f, "  -S SEED       seed of the random delays (default 0: braid's fixed seed)\n");
    if (strchr(extra, 'n'))
        fprintf(f, "  -n N          number of tasks (0 .. 10000)\n");
    if (strchr(extra, 'm'))
        fprintf(f, "  -m MAX_DELAY  largest random delay, in seed seconds (0 .. 1000000)\n");
    if (strchr(extra, 'f'))
        fprintf(f, "  -f FILE       the file to write and read (default example.txt)\n");
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
static _Noreturn void vbad(const char *extra, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    usage(stderr, extra);
    exit(2);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static _Noreturn void bad(const char *extra, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vbad(extra, fmt, ap);
}

/* A whole-string number, or exit 2. */
static double parse_double(const char *extra, const char *s, double lo, double hi, const char *what)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(v) || v < lo || v > hi)
        bad(extra, "bad %s '%s'", what, s);
    return v;
}

static unsigned long long parse_ull(const char *extra, const char *s, unsigned long long hi,
                                    const char *what)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9') /* strtoull would take "-1" and " 1" */
        bad(extra, "bad %s '%s'", what, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno != 0 || v > hi)
        bad(extra, "bad %s '%s'", what, s);
    return v;
}

_Noreturn void seed_bad_arg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vbad(g_extra, fmt, ap);
}

void seed_parse(int argc, char **argv, const char *extra, seed_opts *o)
{
    g_extra = extra;
    if (argc > 0 && argv[0] != NULL && argv[0][0] != '\0') {
        const char *slash = strrchr(argv[0], '/');
        g_prog = slash != NULL ? slash + 1 : argv[0];
    }
    char spec[32] = ":hs:w:"; /* leading ':': we report errors ourselves */
    for (const char *p = extra; *p != '\0'; p++) {
        if (strchr("Snmf", *p) == NULL || strlen(spec) + 2 >= sizeof spec)
            abort(); /* a mistake in the program, not in its arguments */
        char opt[3] = {*p, ':', '\0'};
        strcat(spec, opt);
    }
    int c;
    opterr = 0;
    while ((c = getopt(argc, argv, spec)) != -1) {
        switch (c) {
        case 's':
            o->scale = parse_double(extra, optarg, 0.0, 1e6, "scale");
            if (o->scale <= 0.0)
                bad(extra, "bad scale '%s': it must be above 0", optarg);
            break;
        case 'w':
            o->workers = (unsigned)parse_ull(extra, optarg, BRAID_MAX_WORKERS, "worker count");
            break;
        case 'S':
            o->seed = (uint64_t)parse_ull(extra, optarg, UINT64_MAX, "seed");
            break;
        case 'n':
            o->n = (long)parse_ull(extra, optarg, 10000, "task count");
            break;
        case 'm':
            o->max_delay = parse_double(extra, optarg, 0.0, 1e6, "max delay");
            break;
        case 'f':
            if (optarg[0] == '\0')
                bad(extra, "empty file name after -f");
            o->file = optarg;
            break;
        case 'h':
            usage(stdout, extra);
            exit(0);
        case ':': {
            char opt[3] = {'-', (char)optopt, '\0'};
            bad(extra, "option %s needs a value", opt);
        }
        default: {
            char opt[3] = {'-', (char)optopt, '\0'};
            bad(extra, "unknown option %s", opt);
        }
        }
    }
    if (optind < argc)
        bad(extra, "unexpected argument '%s'", argv[optind]);
    g_scale = o->scale;
    setvbuf(stdout, NULL, _IOLBF, 0);
}

void seed_rt_opts(const seed_opts *o, braid_rt_opts *ro)
{
    braid_rt_opts_init(ro);
    ro->workers = o->workers;
    ro->seed = o->seed;
}

int64_t seed_ns(double seconds)
{
    return (int64_t)(seconds * g_scale * 1e9);
}

int seed_sleep(double seconds)
{
    return braid_sleep(seed_ns(seconds));
}

double seed_seconds(int64_t ns)
{
    return (double)ns / 1e9;
}

void seed_format_float(char *buf, size_t len, double x)
{
    if (!isfinite(x)) {
        snprintf(buf, len, isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf"));
        return;
    }
    /* The fewest significant digits that read back as x. */
    char e[40];
    int digits;
    for (digits = 1; digits < 17; digits++) {
        snprintf(e, sizeof e, "%.*e", digits - 1, x);
        if (strtod(e, NULL) == x)
            break;
    }
    snprintf(e, sizeof e, "%.*e", digits - 1, x); /* [-]d.ddde[+-]XX */
    char *p = e;
    const char *sign = "";
    if (*p == '-') {
        sign = "-";
        p++;
    }
    char *mark = strchr(p, 'e');
    int exp10 = atoi(mark + 1);
    if (exp10 < -4 || exp10 >= 16) { /* Python switches to 1e-05, 1e+16 */
        snprintf(buf, len, "%s%s", sign, p);
        return;
    }
    char d[20]; /* the digits alone */
    size_t nd = 0;
    for (const char *q = p; q < mark; q++)
        if (*q != '.')
            d[nd++] = *q;
    d[nd] = '\0';
    int point = exp10 + 1; /* digits before the decimal point */
    char out[48];
    size_t k = 0;
    if (point <= 0) { /* 0.000ddd */
        out[k++] = '0';
        out[k++] = '.';
        for (int i = 0; i < -point; i++)
            out[k++] = '0';
        for (size_t i = 0; i < nd; i++)
            out[k++] = d[i];
    } else { /* ddd.ddd, or ddd00.0 */
        for (int i = 0; i < point; i++)
            out[k++] = (size_t)i < nd ? d[i] : '0';
        out[k++] = '.';
        if ((size_t)point >= nd)
            out[k++] = '0';
        for (size_t i = (size_t)point; i < nd; i++)
            out[k++] = d[i];
    }
    out[k] = '\0';
    snprintf(buf, len, "%s%s", sign, out);
}

void seed_print_float(double x)
{
    char buf[40];
    seed_format_float(buf, sizeof buf, x);
    printf("%s\n", buf);
}

void seed_print_float_list(const double *v, size_t n)
{
    char buf[40];
    flockfile(stdout); /* one line, whatever other threads print */
    putchar('[');
    for (size_t i = 0; i < n; i++) {
        seed_format_float(buf, sizeof buf, v[i]);
        printf("%s%s", i ? ", " : "", buf);
    }
    printf("]\n");
    funlockfile(stdout);
}

int seed_exit(const char *what, int status)
{
    if (status == 0)
        return 0;
    /* strerror, not braid_strerror: that one names only braid's own codes
     * and says "error (a negative errno)" for the rest (-ENOENT, -EIO...). */
    fprintf(stderr, "%s: %s: %s\n", g_prog, what, status < 0 ? strerror(-status) : "bad status");
    return 1;
}
