/* tune.c - choosing a thread count from measurements on the user's data.
 *
 * The first slice of the .hpd is digested with 1, 2, 4, ... threads into
 * /dev/null (the digest is written to an unnamed temporary and copied there,
 * so nothing is left behind whatever stops the process); the throughput of each run gives the speedup and the
 * parallel efficiency, and the recommendation is the fewest threads that
 * reach 90% of the best throughput: past that point, cores do more good
 * digesting another profile (`digest --jobs`). */
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hp_tune(const char *filebase, double interval, double precision, int max_threads,
            uint64_t slice_bytes, hp_tune_point *points, size_t cap, size_t *npoints,
            int *recommended)
{
    *npoints = 0;
    *recommended = 1;
    if (max_threads < 1 || max_threads > HP_MAX_THREADS || cap == 0)
        return hp_fail(HP_EINVAL, "invalid thread limit %d", max_threads);
    const char *out = "/dev/null";
    int rc = HP_OK;
    double best = 0;
    for (int t = 1; t <= max_threads && *npoints < cap; t = t * 2 > max_threads && t < max_threads ? max_threads : t * 2) {
        hp_make_options o = HP_MAKE_OPTIONS_INIT;
        hp_make_report rep = {0};
        o.threads = t;
        o.output = out;
        o.report = &rep;
        o.limit_bytes = slice_bytes;
        /* the first run also warms the page cache; measure the better of two */
        double secs = 0;
        for (int rep_i = 0; rep_i < 2 && rc == HP_OK; rep_i++) {
            rc = hp_hpc_make_ex(filebase, interval, precision, &o);
            if (rc == HP_OK && (rep_i == 0 || rep.t_total < secs))
                secs = rep.t_total;
        }
        if (rc < 0)
            break;
        hp_tune_point *p = &points[(*npoints)++];
        p->threads = t;
        p->bytes = rep.hpd_bytes;
        p->seconds = secs;
        p->mb_per_s = secs > 0 ? (double)rep.hpd_bytes / secs / 1e6 : 0;
        p->speedup = points[0].seconds > 0 && secs > 0 ? points[0].seconds / secs : 1;
        p->efficiency = p->speedup / t;
        best = p->mb_per_s > best ? p->mb_per_s : best;
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < *npoints; i++)
        if (points[i].mb_per_s >= 0.9 * best) {
            *recommended = points[i].threads;
            break;
        }
    return HP_OK;
}
