/* schedsim.c - the batch scheduler replayed under the cost model on 16, 64
 * and 128 cores, for the mixes of issue 14 (docs/PERFORMANCE.md, "Mixed
 * batches"): what the scheduler, the best fixed --jobs and the old
 * median-based plan would take, against the lower bounds.
 *
 *   usage: schedsim [SECONDS_PER_GB SERIAL_FRACTION FIXED_SECONDS]
 *
 * The defaults are the 16-core engine of issue 13's measurements (1.07 GB
 * in 3.61 s on one thread); make bench passes what it measured. */
#include "schedule.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct mix {
    const char *name;
    uint64_t sizes[128];
    size_t n;
} mix;

/* The plan before the scheduler: the median profile's size decided the
 * threads of every profile (one per 64 MiB), the rest ran side by side. */
static int median_jobs(const mix *x, int cores)
{
    uint64_t median = x->sizes[x->n / 2]; /* sizes are largest first */
    uint64_t want = median / (64ull << 20) + 1;
    int per = want > (uint64_t)cores ? cores : (int)want;
    int jobs = cores / per;
    return jobs > (int)x->n ? (int)x->n : jobs;
}

int main(int argc, char **argv)
{
    hp_cost_model m;
    hp_cost_model_default(&m);
    m.s_per_byte = 3.61 / 1.07e9;
    m.serial = 0.156;
    m.fixed_s = 0.005;
    if (argc == 4) {
        m.s_per_byte = atof(argv[1]) / 1e9;
        m.serial = atof(argv[2]);
        m.fixed_s = atof(argv[3]);
    }
    mix mixes[3] = {{.name = "1 x 1.07 GB + 31 x 30 MB", .n = 32},
                    {.name = "32 x 300 MB", .n = 32},
                    {.name = "4 x 1 GB + 100 x 1 MB", .n = 104}};
    mixes[0].sizes[0] = 1070000000u;
    for (size_t i = 1; i < 32; i++)
        mixes[0].sizes[i] = 30000000u;
    for (size_t i = 0; i < 32; i++)
        mixes[1].sizes[i] = 300000000u;
    for (size_t i = 0; i < 104; i++)
        mixes[2].sizes[i] = i < 4 ? 1000000000u : 1000000u;
    printf("model: %.3f s per GB on one thread, serial fraction %.3f, %.3f s per profile\n",
           m.s_per_byte * 1e9, m.serial, m.fixed_s);
    printf("%-26s %5s %8s %8s %9s %9s %13s %11s\n", "mix", "cores", "bound", "best", "scheduler",
           "x bound", "best --jobs", "median plan");
    const int cores[] = {16, 64, 128};
    for (size_t c = 0; c < 3; c++)
        for (size_t k = 0; k < 3; k++) {
            const mix *x = &mixes[k];
            double bound = hp_sched_lower_bound(&m, cores[c], x->sizes, x->n);
            double best = hp_sched_model_bound(&m, cores[c], x->sizes, x->n);
            double sched = hp_sched_simulate(&m, cores[c], x->sizes, x->n, 0, 0);
            double fixed = -1;
            int fixed_jobs = 0;
            for (int j = 1; j <= cores[c]; j++) {
                double t = hp_sched_simulate(&m, cores[c], x->sizes, x->n, 0, j);
                if (fixed < 0 || t < fixed) {
                    fixed = t;
                    fixed_jobs = j;
                }
            }
            double median = hp_sched_simulate(&m, cores[c], x->sizes, x->n, 0, median_jobs(x, cores[c]));
            printf("%-26s %5d %7.3fs %7.3fs %8.3fs %8.2fx %6.3fs (%2d) %10.3fs\n", x->name, cores[c],
                   bound, best, sched, sched / bound, fixed, fixed_jobs, median);
        }
    return 0;
}
