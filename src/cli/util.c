/* util.c - messages and small helpers every command uses. */
#include "cli.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

const char *cli_progname = "heapprof";

/* Prints one message line on stderr. File names can hold anything: control
 * characters are shown escaped, so that a message stays one line. */
static void message(const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void message(const char *prefix, const char *fmt, va_list ap)
{
    char buf[8192];
    vsnprintf(buf, sizeof buf, fmt, ap);
    fprintf(stderr, "%s: %s", cli_progname, prefix);
    for (const unsigned char *p = (const unsigned char *)buf; *p; p++) {
        if (*p == '\n')
            fputs("\\n", stderr);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
    fputc('\n', stderr);
}

int cli_error(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message("", fmt, ap);
    va_end(ap);
    return status;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    message("warning: ", fmt, ap);
    va_end(ap);
}

int cli_lib_error(int rc)
{
    const char *msg = hp_last_error();
    return cli_error(rc == HP_EINVAL ? EXIT_USAGE : EXIT_DATA, "%s", *msg ? msg : hp_strerror(rc));
}

void cli_skip_warning(void *ctx, const hp_skip *s)
{
    (void)ctx;
    cli_warn("%s: offset %" PRIu64 ": skipped %" PRIu64 " bytes of damaged events (%s)", s->path,
             s->offset, s->length, hp_damage_reason_str(s->reason));
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

int cli_sampling_suspicious(const hp_range *ranges, size_t n, const uint64_t *counts)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= n; i++)
        total += counts[i];
    for (size_t i = 0; i < n; i++)
        /* a range sampled at under 1% should hold few of the events; when it
         * holds most, every allocation was recorded */
        if (ranges[i].probability > 0 && ranges[i].probability < 0.01 && total >= 100 &&
            counts[i] * 2 > total)
            return 1;
    return 0;
}

void cli_warn_stale(hp_hpc *hpc, const char *path, const char *filebase)
{
    hp_hpc *own = NULL;
    if (!hpc && hp_hpc_open_path(&own, path) < 0)
        return; /* the command itself will say what is wrong with it */
    if (hp_hpc_is_stale(hpc ? hpc : own, filebase))
        cli_warn("%s: made from other inputs than %s.hpm and .hpd as they are now: digest again",
                 path, filebase);
    hp_hpc_close(own);
}

void cli_warn_stale_filebase(const char *filebase)
{
    char path[8192];
    snprintf(path, sizeof path, "%s.hpc", filebase);
    cli_warn_stale(NULL, path, filebase);
}

double cli_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
