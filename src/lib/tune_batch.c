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

static int cmp_larger(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a < b) - (a > b);
}

int hp_tune_batch(const hp_batch *b, double interval, double precision, int max_threads,
                  uint64_t slice_bytes, hp_batch_tuning *out)
{
    memset(out, 0, sizeof *out);
    size_t n = hp_batch_count(b), big = n, ok = 0;
    /* the largest profile that can be read: the one whose scaling decides
     * the batch (entries that failed to expand take no part) */
    for (size_t i = 0; i < n; i++)
        if (!hp_batch_error(b, i)) {
            ok++;
            if (big == n || hp_batch_input_bytes(b, i) > hp_batch_input_bytes(b, big))
                big = i;
        }
    if (ok == 0)
        return hp_fail(HP_EINVAL, "no profiles to tune for");
    int cores = hp_thread_count(max_threads);
    hp_tune_options topts = HP_TUNE_OPTIONS_INIT;
    topts.max_threads = cores;
    topts.slice_bytes = slice_bytes;
    size_t np;
    int best;
    HP_TRY(hp_tune_ex(hp_batch_filebase(b, big), interval, precision, &topts, out->points,
                      sizeof out->points / sizeof *out->points, &np, &best));
    out->sample = big;
    out->npoints = np;
    hp_cost_model m;
    hp_cost_model_default(&m);
    const hp_tune_point *first = &out->points[0].point;
    if (np > 0 && first->bytes > 0 && first->seconds > 0)
        m.s_per_byte = first->seconds / (double)first->bytes;
    if (np > 1) { /* Karp-Flatt at the most threads measured */
        const hp_tune_point *last = &out->points[np - 1].point;
        double p = last->threads, s = last->speedup > 0 ? last->speedup : 1;
        double e = (1 / s - 1 / p) / (1 - 1 / p);
        m.serial = e < 0 ? 0 : e > 1 ? 1 : e;
    }
    uint64_t *sizes = malloc(ok * sizeof *sizes);
    if (!sizes)
        return hp_fail(HP_ENOMEM, "out of memory");
    n = 0;
    for (size_t i = 0; i < hp_batch_count(b); i++)
        if (!hp_batch_error(b, i))
            sizes[n++] = hp_batch_input_bytes(b, i);
    qsort(sizes, n, sizeof *sizes, cmp_larger); /* largest first, as the batch runs */
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
