/* tune_batch.c - advice for a batch: the cost model measured on its largest
 * profile, then the batch replayed under it, with the scheduler and with
 * every fixed --jobs, so that a user sees whether any setting beats the
 * automatic one (docs/DESIGN.md, "The batch scheduler"). */
#include "error.h"
#include "schedule.h"

#include <stdlib.h>
#include <string.h>

/* How much better than the scheduler a fixed --jobs must be to be advised. */
#define ADVISE_MARGIN 0.10

int hp_tune_batch(const hp_batch *b, double interval, double precision, int max_threads,
                  uint64_t slice_bytes, hp_batch_tuning *out)
{
    memset(out, 0, sizeof *out);
    size_t n = hp_batch_count(b);
    if (n == 0)
        return hp_fail(HP_EINVAL, "no profiles to tune for");
    int cores = hp_thread_count(max_threads);
    /* the largest profile: the one whose scaling decides the batch */
    size_t big = 0;
    for (size_t i = 1; i < n; i++)
        if (hp_batch_input_bytes(b, i) > hp_batch_input_bytes(b, big))
            big = i;
    hp_tune_point pts[16];
    size_t np;
    int best;
    HP_TRY(hp_tune(hp_batch_filebase(b, big), interval, precision, cores, slice_bytes, pts, 16, &np,
                   &best));
    hp_cost_model m;
    hp_cost_model_default(&m);
    if (np > 0 && pts[0].bytes > 0 && pts[0].seconds > 0)
        m.s_per_byte = pts[0].seconds / (double)pts[0].bytes;
    if (np > 1) { /* Karp-Flatt at the most threads measured */
        const hp_tune_point *last = &pts[np - 1];
        double p = last->threads, s = last->speedup > 0 ? last->speedup : 1;
        double e = (1 / s - 1 / p) / (1 - 1 / p);
        m.serial = e < 0 ? 0 : e > 1 ? 1 : e;
    }
    uint64_t *sizes = malloc(n * sizeof *sizes);
    if (!sizes)
        return hp_fail(HP_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        sizes[i] = hp_batch_input_bytes(b, i);
    for (size_t i = 1; i < n; i++) /* largest first, as the batch runs */
        for (size_t j = i; j > 0 && sizes[j - 1] < sizes[j]; j--) {
            uint64_t t = sizes[j];
            sizes[j] = sizes[j - 1];
            sizes[j - 1] = t;
        }
    out->cores = cores;
    out->s_per_byte = m.s_per_byte;
    out->serial = m.serial;
    out->automatic_s = hp_sched_simulate(&m, cores, sizes, n, 0, 0);
    out->best_jobs_s = -1;
    for (int j = 1; j <= cores; j++) {
        double t = hp_sched_simulate(&m, cores, sizes, n, 0, j);
        if (out->best_jobs_s < 0 || t < out->best_jobs_s) {
            out->best_jobs_s = t;
            out->best_jobs = j;
        }
    }
    out->advise_jobs = out->best_jobs_s < (1 - ADVISE_MARGIN) * out->automatic_s;
    free(sizes);
    return out->automatic_s < 0 || out->best_jobs_s < 0 ? hp_fail(HP_ENOMEM, "out of memory")
                                                        : HP_OK;
}
