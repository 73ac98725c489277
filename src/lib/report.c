/* report.c - a digest's report in words: what `digest -v` prints. */
#include "heapprof.h"

#include <stdio.h>

void hp_print_report(FILE *f, const char *filebase, const hp_make_report *r)
{
    double mb = (double)r->hpd_bytes / 1e6, t = r->t_total > 0 ? r->t_total : 1e-9;
    fprintf(f, "%s: %llu events, %.1f MB in %.3f s (%.1f MB/s, %.3g events/s, %.3g s of profile/s)\n",
            filebase, (unsigned long long)r->events, mb, r->t_total, mb / t, (double)r->events / t,
            r->profile_seconds / t);
    fprintf(f,
            "  phases: resync %.3f s, decode %.3f s, settle %.3f s, totals %.3f s, emit %.3f s, "
            "compress %.3f s, write %.3f s; %d threads, %llu failed resyncs\n",
            r->t_resync, r->t_decode, r->t_settle, r->t_totals, r->t_emit, r->t_compress,
            r->t_write, r->threads, (unsigned long long)r->resyncs_failed);
    /* the phases overlap (docs/DESIGN.md): the tasks' seconds are work on
     * any thread, the serial ones a chain in file order */
    double tasks = r->t_resync + r->t_decode + r->t_emit + r->t_compress;
    double serial = r->t_settle + r->t_totals + r->t_write;
    fprintf(f, "  work: tasks %.3f s (resync, decode, emit, compress), serial %.3f s (settle, "
               "totals, write); %.0f%% of %d threads busy\n",
            tasks, serial, 100 * (tasks + serial) / (t * (r->threads > 0 ? r->threads : 1)),
            r->threads);
    fprintf(f, "  %llu snapshots, %llu bytes written (v1 stream %llu bytes, ratio %.2f)\n",
            (unsigned long long)r->snapshots, (unsigned long long)r->output_bytes,
            (unsigned long long)r->v1_bytes,
            r->output_bytes ? (double)r->v1_bytes / (double)r->output_bytes : 0.0);
}
