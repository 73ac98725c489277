/* tune.c - choosing a thread count from measurements on the user's data.
 *
 * The first slice of the .hpd is digested with 1, 2, 4, ... threads into
 * /dev/null (the digest is written to an unnamed temporary and copied
 * there, so nothing is left behind whatever stops the process). A shared
 * machine makes single runs lie, so each point is run until its last runs
 * agree (or it is marked noisy), and the median counts. The recommendation
 * weighs efficiency as well as throughput: the fewest threads that reach
 * 90% of the best throughput, among the counts that keep at least half of
 * each thread busy and that the cores can run at once. Past that point,
 * cores do more good digesting another profile (`digest --jobs`). */
#include "error.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hp_tune_options_init(hp_tune_options *opts, unsigned version)
{
    if (version == 0 || version > HP_TUNE_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_tune_options version %u is not supported", version);
    *opts = (hp_tune_options)HP_TUNE_OPTIONS_INIT;
    return HP_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One digest of the slice with t threads: its seconds and bytes. */
static int run_once(const char *filebase, double interval, double precision, int t,
                    uint64_t slice, double *secs, uint64_t *bytes)
{
    hp_make_options o = HP_MAKE_OPTIONS_INIT;
    hp_make_report rep = {0};
    o.threads = t;
    o.output = "/dev/null";
    o.report = &rep;
    o.limit_bytes = slice;
    int rc = hp_hpc_make_ex(filebase, interval, precision, &o);
    *secs = rep.t_total;
    *bytes = rep.hpd_bytes;
    return rc;
}

/* Runs one point until its last `min` runs lie within `tol` of their
 * median, or `max` runs were made. */
static int measure(const char *filebase, double interval, double precision, int t,
                   const hp_tune_options *o, hp_tune_sample *s)
{
    double runs[64], last[64];
    int n = 0;
    uint64_t bytes = 0;
    memset(s, 0, sizeof *s);
    s->noisy = 1;
    while (n < o->max_runs) {
        HP_TRY(run_once(filebase, interval, precision, t, o->slice_bytes, &runs[n], &bytes));
        n++;
        if (n < o->min_runs)
            continue;
        memcpy(last, runs + n - o->min_runs, (size_t)o->min_runs * sizeof *last);
        qsort(last, (size_t)o->min_runs, sizeof *last, cmp_double);
        double median = last[o->min_runs / 2];
        s->point.seconds = median;
        s->spread = median > 0 ? (last[o->min_runs - 1] - last[0]) / median : 0;
        if (s->spread <= o->tolerance) {
            s->noisy = 0;
            break;
        }
    }
    s->runs = n;
    s->point.threads = t;
    s->point.bytes = bytes;
    s->point.mb_per_s = s->point.seconds > 0 ? (double)bytes / s->point.seconds / 1e6 : 0;
    return HP_OK;
}

int hp_tune_ex(const char *filebase, double interval, double precision,
               const hp_tune_options *opts, hp_tune_sample *samples, size_t cap,
               size_t *nsamples, int *recommended)
{
    *nsamples = 0;
    *recommended = 1;
    hp_tune_options o = HP_TUNE_OPTIONS_INIT;
    if (opts) {
        if (opts->version == 0 || opts->version > HP_TUNE_OPTIONS_VERSION)
            return hp_fail(HP_EINVAL, "hp_tune_options version %u is not supported",
                           opts->version);
        o = *opts;
    }
    int cores = omp_get_num_procs();
    cores = cores < 1 ? 1 : cores;
    if (o.max_threads == 0)
        o.max_threads = cores;
    o.min_runs = o.min_runs > 0 ? o.min_runs : 3;
    o.max_runs = o.max_runs > 0 ? o.max_runs : 9;
    o.max_runs = o.max_runs < o.min_runs ? o.min_runs : o.max_runs > 64 ? 64 : o.max_runs;
    o.min_runs = o.min_runs > 64 ? 64 : o.min_runs;
    o.tolerance = o.tolerance > 0 ? o.tolerance : 0.05;
    o.min_efficiency = o.min_efficiency > 0 ? o.min_efficiency : 0.5;
    o.throughput_share = o.throughput_share > 0 ? o.throughput_share : 0.9;
    if (o.max_threads < 1 || o.max_threads > HP_MAX_THREADS || cap == 0)
        return hp_fail(HP_EINVAL, "invalid thread limit %d", o.max_threads);
    /* the page cache, the first run's page faults: once, untimed */
    double warm;
    uint64_t bytes;
    HP_TRY(run_once(filebase, interval, precision, 1, o.slice_bytes, &warm, &bytes));
    for (int t = 1; t <= o.max_threads && *nsamples < cap;
         t = t * 2 > o.max_threads && t < o.max_threads ? o.max_threads : t * 2) {
        hp_tune_sample *s = &samples[*nsamples];
        HP_TRY(measure(filebase, interval, precision, t, &o, s));
        (*nsamples)++;
        double one = samples[0].point.seconds;
        s->point.speedup = one > 0 && s->point.seconds > 0 ? one / s->point.seconds : 1;
        s->point.efficiency = s->point.speedup / t;
    }
    /* among what the cores run at once at a useful efficiency, the fewest
     * threads that come near the best of them */
    double best = 0;
    for (size_t i = 0; i < *nsamples; i++) {
        const hp_tune_point *p = &samples[i].point;
        if (p->threads <= cores && (p->threads == 1 || p->efficiency >= o.min_efficiency) &&
            p->mb_per_s > best)
            best = p->mb_per_s;
    }
    for (size_t i = 0; i < *nsamples; i++) {
        const hp_tune_point *p = &samples[i].point;
        if (p->threads <= cores && (p->threads == 1 || p->efficiency >= o.min_efficiency) &&
            p->mb_per_s >= o.throughput_share * best) {
            *recommended = p->threads;
            break;
        }
    }
    return HP_OK;
}

int hp_tune(const char *filebase, double interval, double precision, int max_threads,
            uint64_t slice_bytes, hp_tune_point *points, size_t cap, size_t *npoints,
            int *recommended)
{
    *npoints = 0;
    *recommended = 1;
    if (max_threads < 1 || max_threads > HP_MAX_THREADS || cap == 0)
        return hp_fail(HP_EINVAL, "invalid thread limit %d", max_threads);
    hp_tune_sample *s = calloc(cap, sizeof *s);
    if (!s)
        return hp_fail(HP_ENOMEM, "out of memory");
    hp_tune_options o = HP_TUNE_OPTIONS_INIT;
    o.max_threads = max_threads;
    o.slice_bytes = slice_bytes;
    int rc = hp_tune_ex(filebase, interval, precision, &o, s, cap, npoints, recommended);
    for (size_t i = 0; i < *npoints; i++)
        points[i] = s[i].point;
    free(s);
    return rc;
}
