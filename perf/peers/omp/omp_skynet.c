/* omp_skynet: OpenMP-tasks peer of braid's skynet benchmark
 * (perf/skynet.c), same shape.
 *
 * A 10-ary tree of tasks with N leaves (default 1,000,000): leaf i returns
 * i; every parent creates its 10 children with `#pragma omp task`, waits
 * with `taskwait` and sums them. ns_per_op is per task, root included
 * (1,111,111 for 1M leaves); result N(N-1)/2.
 */
#include "omp_common.h"

static long long skynet(long long num, long long size)
{
    if (size == 1)
        return num;
    long long part[10], sub = size / 10, sum = 0;
    for (int i = 0; i < 10; i++) {
#pragma omp task shared(part)
        part[i] = skynet(num + i * sub, sub);
    }
#pragma omp taskwait
    for (int i = 0; i < 10; i++)
        sum += part[i];
    return sum;
}

static long long root(long n)
{
    return skynet(0, n);
}

int main(int argc, char **argv)
{
    peer_args a;
    peer_parse(argc, argv, &a, 1000000);
    long tasks = 0, s = 1;
    for (; s < a.n; s *= 10)
        tasks += s;
    if (a.n < 1 || s != a.n) {
        fprintf(stderr, "%s: -n (leaves) must be a power of 10\n", argv[0]);
        return 2;
    }
    tasks += s;
    peer_bench("skynet", &a, (double)tasks, (long long)a.n * (a.n - 1) / 2, root);
    return 0;
}
