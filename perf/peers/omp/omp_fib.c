/* omp_fib: OpenMP-tasks peer of braid's fib benchmark (perf/fib.c), same
 * shape.
 *
 * fib(N) (default 30) where every call with n >= 2 creates BOTH children
 * with `#pragma omp task` and waits for both with `taskwait`; no cutoff in
 * the code (the runtimes' own throttling -- libgomp runs a task at once when
 * more than 64 per thread are queued -- stays as shipped). ns_per_op is per
 * task: 2*fib(N+1)-2 of them.
 */
#include "omp_common.h"

static long long fib(long n)
{
    if (n < 2)
        return n;
    long long x, y;
#pragma omp task shared(x)
    x = fib(n - 1);
#pragma omp task shared(y)
    y = fib(n - 2);
#pragma omp taskwait
    return x + y;
}

int main(int argc, char **argv)
{
    peer_args a;
    peer_parse(argc, argv, &a, 30);
    long long f0 = 0, f1 = 1; /* fib(k), fib(k+1) */
    for (long k = 0; k < a.n; k++) {
        long long t = f0 + f1;
        f0 = f1;
        f1 = t;
    }
    peer_bench("fib", &a, 2.0 * (double)f1 - 2.0, f0, fib);
    return 0;
}
