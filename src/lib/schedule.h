/* schedule.h - how a batch shares its threads between profiles while it
 * runs, and a model of digest cost to decide and to predict with.
 *
 * A digest may change its thread count at every wave (its output does not
 * depend on it), so the batch re-plans as profiles progress and finish.
 * A plan is the shortest span within which every profile, on the fewest
 * threads that end it in time, fits in the cores' thread-seconds (profiles
 * that one thread ends in time packed whole onto threads); running
 * profiles get those threads, queued ones start largest first with theirs,
 * and spare threads go to what ends last. So a huge profile gets the
 * threads that help it, smaller ones fill the rest, and no thread idles
 * while work remains (docs/DESIGN.md, "The batch scheduler").
 *
 * The same model replays a whole batch (hp_sched_simulate) for the unit
 * tests, `make bench` and `heapprof tune DIR`: a 2-core machine cannot show
 * what 16 or 128 cores do, a model can. */
#ifndef HP_SCHEDULE_H
#define HP_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

/* What a digest costs. The defaults (hp_cost_model_default) come from
 * `make bench`; docs/PERFORMANCE.md has the measurements. */
typedef struct hp_cost_model {
    double s_per_byte;       /* one thread's seconds per input byte */
    double serial;           /* the serial fraction of a digest (Amdahl) */
    double fixed_s;          /* seconds per profile that no thread shortens */
    uint64_t bytes_per_thread; /* less remaining work per thread than this
                                  cannot keep another thread busy */
} hp_cost_model;

void hp_cost_model_default(hp_cost_model *m);

/* The speed-up of one digest on n threads: Amdahl's law. */
double hp_sched_speedup(const hp_cost_model *m, int n);

/* Estimated seconds for `bytes` of digest on n threads (n >= 1). */
double hp_sched_seconds(const hp_cost_model *m, uint64_t bytes, int n);

/* The most threads that `bytes` of remaining work can use. */
int hp_sched_useful(const hp_cost_model *m, uint64_t bytes, int total);

/* A profile of a batch, as the scheduler sees it. */
typedef struct hp_sched_job {
    uint64_t remaining; /* bytes left */
    int threads;        /* in: what it has now (0 if not started); out: the plan */
} hp_sched_job;

/* Plans `total` threads over the running jobs run[0..nrun) (each keeps at
 * least one) and the queued ones queued[0..nq) (bytes, largest first, the
 * order they start in). Sets run[i].threads, and start[j] (>= 1) for the
 * first *nstart queued jobs, which start now. */
void hp_sched_plan(const hp_cost_model *m, int total, hp_sched_job *run, size_t nrun,
                   const uint64_t *queued, size_t nq, int *start, size_t *nstart);

/* Replays a batch of profiles of sizes[0..n) (bytes, largest first) on
 * `cores` threads under the model, re-planning whenever a digest ends a wave
 * of `wave_bytes` per thread (0: the engine's automatic chunks); returns the
 * makespan in seconds. With jobs > 0, plays a fixed plan instead: `jobs`
 * profiles at a time, cores / jobs threads each (the old --jobs). */
double hp_sched_simulate(const hp_cost_model *m, int cores, const uint64_t *sizes, size_t n,
                         uint64_t wave_bytes, int jobs);

/* The lower bound: the largest profile alone on every core, or all
 * the work spread perfectly over the cores (it ignores that threads added to
 * a digest do less than the first, so it may be out of reach). */
double hp_sched_lower_bound(const hp_cost_model *m, int cores, const uint64_t *sizes, size_t n);

/* The model's estimate of the best schedule, within reach of a perfect
 * scheduler: the shortest span in which every profile, on the fewest threads
 * that end it in time, fits in the cores' thread-seconds (threads changing
 * during a digest can do a few percent better). */
double hp_sched_model_bound(const hp_cost_model *m, int cores, const uint64_t *sizes, size_t n);

#endif
