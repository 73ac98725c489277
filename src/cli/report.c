/* report.c - the JSON lines of `--report`: one object per profile as it
 * finishes, then a summary line. Shared by `digest` and heapprof-mpi. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>

/* A JSON string: quotes, backslashes and control characters escaped. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void cli_json_result(FILE *f, const hp_batch_result *r)
{
    fputs("{\"filebase\": ", f);
    json_str(f, r->filebase);
    fprintf(f, ", \"status\": \"%s\", \"error\": ",
            r->status < 0 ? "failed" : r->status == HP_SKIPPED ? "skipped" : "ok");
    json_str(f, r->error);
    fprintf(f,
            ", \"input_bytes\": %" PRIu64 ", \"events\": %" PRIu64 ", \"snapshots\": %" PRIu64
            ", \"output_bytes\": %" PRIu64 ", \"seconds\": %.3f, \"mb_per_s\": %.1f, \"threads\": %d}\n",
            r->input_bytes, r->events, r->snapshots, r->output_bytes, r->seconds,
            r->seconds > 0 && r->status == 0 ? (double)r->input_bytes / r->seconds / 1e6 : 0.0,
            r->threads);
    fflush(f);
}

void cli_json_summary(FILE *f, size_t profiles, const hp_batch_summary *s)
{
    fprintf(f,
            "{\"summary\": true, \"profiles\": %zu, \"digested\": %zu, \"skipped\": %zu, "
            "\"failed\": %zu, \"not_run\": %zu, \"input_bytes\": %" PRIu64
            ", \"output_bytes\": %" PRIu64 ", \"events\": %" PRIu64
            ", \"seconds\": %.3f, \"mb_per_s\": %.1f, \"jobs\": %d, \"threads_per_job\": %d}\n",
            profiles, s->digested, s->skipped, s->failed, s->not_run, s->input_bytes,
            s->output_bytes, s->events, s->seconds,
            s->seconds > 0 ? (double)s->input_bytes / s->seconds / 1e6 : 0.0, s->jobs,
            s->threads_per_job);
    fflush(f);
}
