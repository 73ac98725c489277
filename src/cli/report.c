/* report.c - the JSON lines of `--report`: one object per profile as it
 * finishes (and one per profile never started), then a summary line.
 * Shared by `digest` and heapprof-mpi.
 *
 * A report file appears whole (written through hp_output: complete under
 * its name at the end, or the old one untouched, even after kill -9); "-"
 * streams the lines to standard output as profiles finish. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cli_report {
    const char *path;
    hp_output *out;   /* a file, or NULL for standard output */
    int failed;       /* a write failed: told at the end */
    char why[1024];   /* the first failure's message */
};

static void fail(cli_report *r, const char *why)
{
    if (!r->failed)
        snprintf(r->why, sizeof r->why, "%s", why);
    r->failed = 1;
}

/* The length of the valid UTF-8 sequence at p, or 0 if there is none. */
static size_t utf8_len(const unsigned char *p)
{
    size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3
                                : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0 || (n == 2 && p[0] < 0xc2) || (n == 4 && p[0] > 0xf4))
        return 0; /* a stray continuation byte, an overlong or too large lead */
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
        (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
        return 0; /* overlong, a surrogate, or beyond U+10FFFF */
    return n;
}

/* A JSON string: quotes, backslashes and control characters escaped; a
 * byte that is not UTF-8 (file names are bytes) becomes U+FFFD, so that the
 * report stays valid JSON. */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_len(p);
        if (n == 0) {
            fputs("\\ufffd", f);
            p++;
            continue;
        }
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fwrite(p, 1, n, f);
        p += n;
    }
    fputc('"', f);
}

static const char *status_name(int status)
{
    return status < 0 ? "failed" : status == HP_SKIPPED ? "skipped"
                                 : status == HP_NOT_RUN ? "not_run" : "ok";
}

int cli_report_open(cli_report **out, const char *path, const hp_batch *b)
{
    cli_report *r = calloc(1, sizeof *r);
    if (!r)
        return cli_error(EXIT_DATA, "out of memory");
    r->path = path;
    if (strcmp(path, "-")) {
        int ours = b ? hp_batch_has_file(b, path) : 0;
        if (ours != 0) {
            free(r);
            return ours < 0 ? cli_lib_error(ours)
                            : cli_error(EXIT_USAGE, "%s: refusing to write the report over a "
                                                    "profile's input or digest", path);
        }
        if (hp_output_open(&r->out, path) < 0) {
            free(r);
            return cli_lib_error(HP_EIO);
        }
    }
    *out = r;
    return -1;
}

/* Writes one line built by `emit`. */
static void write_line(cli_report *r, void (*emit)(FILE *, const void *, size_t), const void *arg,
                       size_t n)
{
    char *line = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&line, &len);
    if (!m) {
        fail(r, "out of memory");
        return;
    }
    emit(m, arg, n);
    if (fclose(m) != 0)
        fail(r, "out of memory");
    else if (r->out && hp_output_write(r->out, line, len) < 0)
        fail(r, hp_last_error());
    else if (!r->out && (fwrite(line, 1, len, stdout) != len || fflush(stdout) != 0))
        fail(r, "standard output: write failed");
    free(line);
}

static void emit_result(FILE *f, const void *arg, size_t unused)
{
    const hp_batch_result *r = arg;
    (void)unused;
    fputs("{\"filebase\": ", f);
    json_str(f, r->filebase);
    fprintf(f, ", \"status\": \"%s\", \"error\": ", status_name(r->status));
    json_str(f, r->error);
    fprintf(f,
            ", \"input_bytes\": %" PRIu64 ", \"events\": %" PRIu64 ", \"snapshots\": %" PRIu64
            ", \"output_bytes\": %" PRIu64 ", \"seconds\": %.3f, \"mb_per_s\": %.1f, \"threads\": %d}\n",
            r->input_bytes, r->events, r->snapshots, r->output_bytes, r->seconds,
            r->seconds > 0 && r->status == HP_OK ? (double)r->input_bytes / r->seconds / 1e6 : 0.0,
            r->threads);
}

static void emit_summary(FILE *f, const void *arg, size_t profiles)
{
    const hp_batch_summary *s = arg;
    fprintf(f,
            "{\"summary\": true, \"profiles\": %zu, \"digested\": %zu, \"skipped\": %zu, "
            "\"failed\": %zu, \"not_run\": %zu, \"input_bytes\": %" PRIu64
            ", \"digested_bytes\": %" PRIu64 ", \"output_bytes\": %" PRIu64 ", \"events\": %" PRIu64
            ", \"seconds\": %.3f, \"mb_per_s\": %.1f, \"jobs\": %d, \"threads_per_job\": %d}\n",
            profiles, s->digested, s->skipped, s->failed, s->not_run, s->input_bytes,
            s->digested_bytes, s->output_bytes, s->events, s->seconds,
            s->seconds > 0 ? (double)s->digested_bytes / s->seconds / 1e6 : 0.0, s->jobs,
            s->threads_per_job);
}

void cli_report_result(cli_report *r, const hp_batch_result *res)
{
    write_line(r, emit_result, res, 0);
}

void cli_report_summary(cli_report *r, size_t profiles, const hp_batch_summary *s)
{
    write_line(r, emit_summary, s, profiles);
}

int cli_report_close(cli_report *r)
{
    if (!r)
        return EXIT_OK;
    int status = EXIT_OK;
    if (r->failed) {
        hp_output_abort(r->out);
        status = cli_error(EXIT_DATA, "%s", r->why);
    } else if (r->out && hp_output_commit(r->out) < 0) {
        status = cli_lib_error(HP_EIO);
    }
    free(r);
    return status;
}
