/* omp_spawn: OpenMP-tasks peer of braid's spawn-all benchmark
 * (perf/spawn.c), same shape.
 *
 * One thread creates N (default 1,000,000) tasks with `#pragma omp task`,
 * each storing the empty body i & 1 into its slot, then waits for all with
 * `taskwait` and sums the slots. ns_per_op is per task; result N/2. (Both
 * runtimes throttle: past a queue limit a new task runs at once in the
 * creating thread; that is left as shipped.)
 */
#include "omp_common.h"

static long long *out;

static long long spawn_all(long n)
{
    for (long i = 0; i < n; i++) {
#pragma omp task firstprivate(i)
        out[i] = i & 1;
    }
#pragma omp taskwait
    long long sum = 0;
    for (long i = 0; i < n; i++)
        sum += out[i];
    return sum;
}

int main(int argc, char **argv)
{
    peer_args a;
    peer_parse(argc, argv, &a, 1000000);
    out = malloc((size_t)(a.n ? a.n : 1) * sizeof *out);
    if (out == NULL)
        return 1;
    peer_bench("spawn-all", &a, (double)a.n, a.n / 2, spawn_all);
    free(out);
    return 0;
}
