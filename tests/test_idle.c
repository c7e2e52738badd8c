/* test_idle.c - an idle runtime burns no CPU: its workers park on futexes
 * and make no system calls until work arrives. */
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"

static double process_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3 +
           (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
}

Test(idle, parked_workers_use_no_cpu, .timeout = 20)
{
    braid_rt *rt = rt_make(4);
    int64_t r = 0;
    cr_assert_eq(braid_rt_block_on(rt, ret_arg, ARG(3), &r), 0); /* wake them all once */
    cr_assert_eq(r, 3);
    usleep(50 * 1000); /* let them park */
    double cpu0 = process_cpu_ms(), t0 = now_ms();
    usleep(500 * 1000);
    double cpu = process_cpu_ms() - cpu0, wall = now_ms() - t0;
    cr_log_info("idle: %.2f ms CPU over %.0f ms wall with 4 workers", cpu, wall);
    /* Polling or spinning would cost hundreds of ms here; allow 2 %. */
    cr_assert_lt(cpu, 0.02 * wall, "idle runtime used %.1f ms CPU in %.0f ms", cpu, wall);
    /* And it still wakes up for new work. */
    cr_assert_eq(braid_rt_block_on(rt, ret_arg, ARG(5), &r), 0);
    cr_assert_eq(r, 5);
    rt_done(rt);
}
