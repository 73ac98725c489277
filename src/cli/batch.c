/* batch.c - `heapprof digest` over many profiles: expansion, shards, the
 * JSON report and the batch progress line. The work itself is the library's
 * hp_batch_run(). */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_parse_shard(const char *s, unsigned *k, unsigned *n)
{
    const char *slash = strchr(s, '/');
    uint64_t a, b;
    if (!slash || slash == s)
        return -1;
    char head[32];
    size_t len = (size_t)(slash - s);
    if (len >= sizeof head)
        return -1;
    memcpy(head, s, len);
    head[len] = '\0';
    if (cli_parse_u64(head, &a) < 0 || cli_parse_u64(slash + 1, &b) < 0 || b == 0 || a >= b ||
        b > 1000000)
        return -1;
    *k = (unsigned)a;
    *n = (unsigned)b;
    return 0;
}

/* Prints the warnings of a finished digest and, with `verbose`, its report. */
void cli_digest_done(const char *fb, const hp_make_report *r, int verbose)
{
    if (r->skips)
        cli_warn("%s.hpd: salvaged: skipped %" PRIu64 " damaged stretches (%" PRIu64
                 " bytes), the first at offset %" PRIu64,
                 fb, r->skips, r->skipped_bytes, r->first_skip_offset);
    if (r->truncated_bytes)
        cli_warn("%s.hpd: partial final event (%" PRIu64 " bytes) ignored", fb, r->truncated_bytes);
    if (r->negative_snapshots)
        cli_warn("%s: %" PRIu64 " snapshots left out traces with negative live bytes", fb,
                 r->negative_snapshots);
    if (verbose)
        hp_print_report(stderr, fb, r);
}

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
    static const char *names[] = {"ok", "skipped"};
    fputs("{\"filebase\": ", f);
    json_str(f, r->filebase);
    fprintf(f, ", \"status\": \"%s\", \"error\": ", r->status < 0 ? "failed" : names[r->status]);
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

typedef struct batch_ctx {
    const cli_batch *b;
    FILE *report;
    uint64_t total_bytes, done_bytes;
    struct timespec start;
} batch_ctx;

static void on_result(void *arg, const hp_batch_result *r, size_t done, size_t total)
{
    batch_ctx *c = arg;
    c->done_bytes += r->input_bytes;
    if (c->b->show)
        fputc('\r', stderr);
    if (r->status < 0)
        fprintf(stderr, "heapprof: %s\n", r->error);
    else if (r->report) /* the same warnings and -v report as a single digest */
        cli_digest_done(r->filebase, r->report, c->b->verbose);
    else if (c->b->verbose)
        fprintf(stderr, "%s: up to date, skipped\n", r->filebase);
    if (c->report)
        cli_json_result(c->report, r);
    if (c->b->show) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double el = (double)(t.tv_sec - c->start.tv_sec) + (double)(t.tv_nsec - c->start.tv_nsec) * 1e-9;
        double rate = el > 0 ? (double)c->done_bytes / el : 0;
        fprintf(stderr, "[%zu/%zu profiles] %.1f of %.1f MB, %.1f MB/s, ETA %.0fs   ", done, total,
                (double)c->done_bytes / 1e6, (double)c->total_bytes / 1e6, rate / 1e6,
                rate > 0 ? (double)(c->total_bytes - c->done_bytes) / rate : 0.0);
        fflush(stderr);
    }
}

/* One profile: the single digest path, with its byte-level progress. */
static int run_single(cli_batch *b, const char *fb, uint64_t bytes, FILE *report)
{
    hp_batch_result r = {fb, 0, "", bytes, 0, 0, 0, 0, b->make.threads, NULL};
    hp_batch_summary s = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = HP_OK;
    if (b->skip_up_to_date &&
        hp_hpc_is_up_to_date(fb, NULL, b->interval, b->precision, b->make.format)) {
        r.status = 1;
        s.skipped = 1;
        if (b->verbose)
            fprintf(stderr, "%s: up to date, skipped\n", fb);
    } else {
        hp_make_report rep;
        rc = b->one(fb, b->interval, b->precision, &b->make, b->show, b->verbose, &rep);
        r.status = rc < 0 ? rc : 0;
        r.error = rc < 0 ? hp_last_error() : "";
        if (rc == HP_OK) {
            r.events = rep.events;
            r.snapshots = rep.snapshots;
            r.output_bytes = rep.output_bytes;
            r.threads = rep.threads;
            s.digested = 1;
            s.events = rep.events;
            s.output_bytes = rep.output_bytes;
        } else {
            s.failed = 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r.seconds = s.seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    s.input_bytes = bytes;
    s.jobs = 1;
    s.threads_per_job = r.threads;
    if (report) {
        cli_json_result(report, &r);
        cli_json_summary(report, 1, &s);
    }
    return rc < 0 ? cli_lib_error(rc) : EXIT_OK;
}

int cli_digest_batch(cli_batch *b, int nargs, char **args)
{
    hp_batch *batch;
    if (hp_batch_new(&batch) < 0)
        return cli_lib_error(HP_ENOMEM);
    for (int i = 0; i < nargs; i++) {
        if (hp_batch_add(batch, args[i], b->recursive) < 0) {
            hp_batch_free(batch);
            return cli_lib_error(HP_EIO);
        }
    }
    if (hp_batch_count(batch) == 0) {
        hp_batch_free(batch);
        return cli_error(EXIT_DATA, "digest: no profiles (a .hpm with its .hpd) found");
    }
    if (b->shard_n)
        hp_batch_shard(batch, b->shard_k, b->shard_n);
    else
        hp_batch_sort(batch);

    FILE *report = NULL;
    if (b->report) {
        report = strcmp(b->report, "-") ? fopen(b->report, "w") : stdout;
        if (!report) {
            hp_batch_free(batch);
            return cli_error(EXIT_DATA, "%s: cannot create: %s", b->report, strerror(errno));
        }
    }
    int status;
    size_t n = hp_batch_count(batch);
    if (n == 1) {
        status = run_single(b, hp_batch_filebase(batch, 0), hp_batch_input_bytes(batch, 0), report);
    } else {
        batch_ctx ctx = {b, report, 0, 0, {0, 0}};
        for (size_t i = 0; i < n; i++)
            ctx.total_bytes += hp_batch_input_bytes(batch, i);
        clock_gettime(CLOCK_MONOTONIC, &ctx.start);
        hp_batch_options o = {b->interval, b->precision, b->make, b->jobs, b->skip_up_to_date,
                              b->keep_going, on_result, &ctx};
        hp_batch_summary s;
        int rc = hp_batch_run(batch, &o, &s);
        if (b->show)
            fputc('\n', stderr);
        if (report)
            cli_json_summary(report, n, &s);
        if (b->verbose || rc < 0)
            fprintf(stderr,
                    "heapprof: %zu profiles: %zu digested, %zu up to date, %zu failed, %zu not run"
                    " (%d at once, %d threads each, %.1f s)\n",
                    n, s.digested, s.skipped, s.failed, s.not_run, s.jobs, s.threads_per_job,
                    s.seconds);
        status = rc == HP_OK ? EXIT_OK : rc == HP_EINVAL ? EXIT_USAGE : EXIT_DATA;
    }
    if (report && report != stdout && fclose(report) != 0)
        status = cli_error(EXIT_DATA, "%s: write failed", b->report);
    hp_batch_free(batch);
    return status;
}
