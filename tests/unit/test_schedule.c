/* schedule.c: the batch scheduler's plan and the cost model, replayed on
 * 16, 64 and 128 cores (a 2-core machine cannot show what they do). */
#include "testutil.h"

#include "schedule.h"

#include <math.h>
#include <stdlib.h>

/* The engine of issue 13's 16-core measurements: 1.07 GB in 3.61 s on one
 * thread; its serial fraction then (0.156) and the one aimed at (0.02). */
static hp_cost_model model(double serial)
{
    hp_cost_model m;
    hp_cost_model_default(&m);
    m.s_per_byte = 3.61 / 1.07e9;
    m.serial = serial;
    m.fixed_s = 0.005;
    return m;
}

typedef struct mix {
    const char *name;
    uint64_t sizes[128];
    size_t n;
} mix;

static mix mixes[3];

static void make_mixes(void)
{
    mix *a = &mixes[0], *b = &mixes[1], *c = &mixes[2];
    *a = (mix){.name = "one huge + 31 small", .n = 32};
    a->sizes[0] = 1070000000u;
    for (size_t i = 1; i < 32; i++)
        a->sizes[i] = 30000000u;
    *b = (mix){.name = "32 equal", .n = 32};
    for (size_t i = 0; i < 32; i++)
        b->sizes[i] = 300000000u;
    *c = (mix){.name = "4 big + 100 tiny", .n = 104};
    for (size_t i = 0; i < 104; i++)
        c->sizes[i] = i < 4 ? 1000000000u : 1000000u;
}

/* Every mix, on 16, 64 and 128 cores, for both engines: the scheduler ends
 * within 15% of the model's estimate of the best schedule, and never more
 * than 10% after the best fixed --jobs. */
static void makespans(void **state)
{
    (void)state;
    make_mixes();
    const int cores[] = {16, 64, 128};
    const double serial[] = {0.156, 0.02};
    for (size_t s = 0; s < 2; s++) {
        hp_cost_model m = model(serial[s]);
        for (size_t c = 0; c < 3; c++)
            for (size_t k = 0; k < 3; k++) {
                const mix *x = &mixes[k];
                double sched = hp_sched_simulate(&m, cores[c], x->sizes, x->n, 0, 0);
                double bound = hp_sched_model_bound(&m, cores[c], x->sizes, x->n);
                double best = 1e30;
                for (int j = 1; j <= cores[c]; j++) {
                    double t = hp_sched_simulate(&m, cores[c], x->sizes, x->n, 0, j);
                    best = t < best ? t : best;
                }
                if (getenv("HP_SCHED_VERBOSE"))
                    print_message("%-20s %3d cores, serial %.3f: %.3f s, model bound %.3f, best "
                                  "--jobs %.3f, issue's bound %.3f\n",
                                  x->name, cores[c], serial[s], sched, bound, best,
                                  hp_sched_lower_bound(&m, cores[c], x->sizes, x->n));
                assert_true(sched >= 0.95 * bound); /* an estimate, not a strict bound */
                assert_true(sched <= 1.15 * bound);
                assert_true(sched <= 1.10 * best);
                assert_true(bound >= hp_sched_lower_bound(&m, cores[c], x->sizes, x->n) * (1 - 1e-9));
            }
    }
}

/* The first plan of a batch: the huge profile gets most of the cores, the
 * small ones the rest, one each; nothing idles. */
static void first_plan(void **state)
{
    (void)state;
    make_mixes();
    hp_cost_model m = model(0.156);
    int start[64];
    size_t nstart;
    hp_sched_plan(&m, 16, NULL, 0, mixes[0].sizes, mixes[0].n, start, &nstart);
    int total = 0;
    for (size_t i = 0; i < nstart; i++)
        total += start[i];
    assert_int_equal(total, 16);
    assert_true(start[0] >= 8 && start[0] <= 14);
    for (size_t i = 1; i < nstart; i++)
        assert_int_equal(start[i], 1);
    /* equal profiles: one thread each, as many as the cores */
    hp_sched_plan(&m, 16, NULL, 0, mixes[1].sizes, mixes[1].n, start, &nstart);
    assert_int_equal(nstart, 16);
    for (size_t i = 0; i < nstart; i++)
        assert_int_equal(start[i], 1);
}

/* A running profile always keeps a thread; one left alone gets all it can
 * use; a small remainder cannot use more threads than it has chunks. */
static void running_plans(void **state)
{
    (void)state;
    hp_cost_model m = model(0.02);
    hp_sched_job run[3] = {{.remaining = 1000000000u, .threads = 2},
                           {.remaining = 1u << 20, .threads = 5},
                           {.remaining = 50000000u, .threads = 1}};
    int start[4];
    size_t nstart;
    hp_sched_plan(&m, 16, run, 3, NULL, 0, start, &nstart);
    assert_int_equal(nstart, 0);
    assert_int_equal(run[1].threads, 1); /* 1 MiB: one chunk */
    assert_true(run[0].threads > run[2].threads);
    assert_true(run[0].threads + run[1].threads + run[2].threads <= 16);
    hp_sched_job alone = {.remaining = 1000000000u, .threads = 1};
    hp_sched_plan(&m, 16, &alone, 1, NULL, 0, start, &nstart);
    assert_int_equal(alone.threads, 16);
    hp_sched_job tiny = {.remaining = 100, .threads = 3};
    hp_sched_plan(&m, 16, &tiny, 1, NULL, 0, start, &nstart);
    assert_int_equal(tiny.threads, 1);
}

static void model_basics(void **state)
{
    (void)state;
    hp_cost_model m = model(0.1);
    assert_true(hp_sched_speedup(&m, 1) == 1.0);
    assert_true(hp_sched_speedup(&m, 10) < 10 && hp_sched_speedup(&m, 10) > 5);
    assert_true(hp_sched_seconds(&m, 1070000000u, 1) > 3.6 && hp_sched_seconds(&m, 1070000000u, 1) < 3.62);
    assert_int_equal(hp_sched_useful(&m, 0, 16), 1);
    assert_int_equal(hp_sched_useful(&m, 9u << 20, 16), 3);
    assert_int_equal(hp_sched_useful(&m, 1ull << 40, 16), 16);
}

static uint64_t next_rand(uint64_t *x) /* xorshift64 */
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static int cmp_larger(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a < b) - (a > b);
}

/* Batches of random sizes (1 KB to 3 GB, log-uniform), core counts and cost
 * models: the scheduler stays near the model's bound and never loses more
 * than 10% to the best fixed --jobs, whatever the shape. */
static void random_batches(void **state)
{
    (void)state;
    uint64_t seed = 42;
    const int cores[] = {2, 4, 8, 16, 32, 64};
    int trials = tu_under_tsan() ? 8 : 40; /* no threads here: TSan adds nothing */
    for (int trial = 0; trial < trials; trial++) {
        hp_cost_model m;
        hp_cost_model_default(&m);
        m.serial = (double)(next_rand(&seed) % 300) / 1000;
        m.s_per_byte = (double)(2 + next_rand(&seed) % 25) / 1e9;
        m.fixed_s = (double)(next_rand(&seed) % 50) / 1000;
        uint64_t sizes[48];
        size_t n = 1 + next_rand(&seed) % 48;
        for (size_t i = 0; i < n; i++)
            sizes[i] = (uint64_t)exp(7 + (double)(next_rand(&seed) % 1000) / 1000 * 15);
        qsort(sizes, n, sizeof *sizes, cmp_larger);
        int c = cores[next_rand(&seed) % 6];
        double sched = hp_sched_simulate(&m, c, sizes, n, 0, 0);
        double best = 1e30;
        for (int j = 1; j <= c; j++) {
            double t = hp_sched_simulate(&m, c, sizes, n, 0, j);
            best = t < best ? t : best;
        }
        double bound = hp_sched_model_bound(&m, c, sizes, n);
        if (sched > 1.10 * best || sched > 1.15 * bound)
            print_message("trial %d: %zu profiles, %d cores, serial %.3f: %.3f s, best --jobs %.3f, "
                          "model bound %.3f\n", trial, n, c, m.serial, sched, best, bound);
        assert_true(sched <= 1.10 * best);
        assert_true(sched <= 1.15 * bound);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_basics),
        cmocka_unit_test(first_plan),
        cmocka_unit_test(running_plans),
        cmocka_unit_test(makespans),
        cmocka_unit_test(random_batches),
    };
    return cmocka_run_group_tests_name("schedule", tests, NULL, NULL);
}
