/* inspect.c - the read-only commands: info, traces, events, check, snapshot. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* Parses "CMD [options] FILEBASE [more]" for the commands below. */
typedef struct args {
    char *filebase;
    int salvage;
    uint64_t limit;
    int has_limit;
    hp_at at;
    int has_at;
    int top;
} args;

enum { OPT_SALVAGE = 256 };

static int parse_args(const char *cmd, const char *usage, const char *help, int argc, char **argv,
                      const char *allowed, args *a, int *first_extra)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'}, {"salvage", no_argument, NULL, OPT_SALVAGE},
        {"limit", required_argument, NULL, 'n'}, {"at", required_argument, NULL, 't'},
        {"top", required_argument, NULL, 'k'}, {NULL, 0, NULL, 0}};
    memset(a, 0, sizeof *a);
    a->top = 10;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":hn:t:k:", longopts, NULL)) != -1) {
        if (c == 'h') {
            printf("usage: heapprof %s %s\n\n%s", cmd, usage, help);
            return EXIT_OK;
        }
        if (c == '?' || c == ':' || !strchr(allowed, c == OPT_SALVAGE ? 's' : c))
            return cli_bad_option(cmd, c, longopts, argv);
        switch (c) {
        case OPT_SALVAGE: a->salvage = 1; break;
        case 'n':
            if (cli_parse_u64(optarg, &a->limit) < 0)
                return cli_error(EXIT_USAGE, "%s: invalid --limit '%s'", cmd, optarg);
            a->has_limit = 1;
            break;
        case 't': {
            int rc = cli_opt_at(cmd, "--at", optarg, &a->at);
            if (rc >= 0)
                return rc;
            a->has_at = 1;
            break;
        }
        case 'k':
            if (cli_parse_int(optarg, 0, 1 << 30, &a->top) < 0)
                return cli_error(EXIT_USAGE, "%s: invalid --top '%s'", cmd, optarg);
            break;
        }
    }
    if (optind >= argc || (!first_extra && optind + 1 < argc))
        return cli_usage_error(cmd, usage);
    a->filebase = hp_filebase_of(argv[optind]);
    if (!a->filebase)
        return cli_error(EXIT_DATA, "out of memory");
    if (first_extra)
        *first_extra = optind + 1;
    return -1;
}

static void truncation_warning(const char *filebase, const hp_hpd_stats *st)
{
    if (st->truncated_bytes)
        cli_warn("%s.hpd: offset %" PRIu64 ": partial final event (%" PRIu64 " bytes) ignored",
                 filebase, st->bytes - st->truncated_bytes, st->truncated_bytes);
}

/* Which sampling range an event size falls into (n = beyond every range). */
static size_t range_of(const hp_range *r, size_t n, int64_t size)
{
    uint64_t mag = size < 0 ? 0 - (uint64_t)size : (uint64_t)size;
    for (size_t i = 0; i < n; i++)
        if (mag < r[i].max_bytes)
            return i;
    return n;
}

/* Reads every event; fills stats and events per sampling range. */
static int scan_events(const char *filebase, hp_hpm *hpm, int salvage, hp_hpd_stats *st,
                       uint64_t *per_range, uint64_t *trace0)
{
    size_t nr;
    const hp_range *r = hp_hpm_sampling_ranges(hpm, &nr);
    hp_read_options ro = HP_READ_OPTIONS_INIT;
    ro.salvage = salvage;
    ro.on_skip = cli_skip_warning;
    hp_hpd *hpd;
    int rc = hp_hpd_open(&hpd, filebase, hpm, &ro);
    if (rc < 0)
        return rc;
    hp_event ev;
    while ((rc = hp_hpd_next(hpd, &ev)) == HP_OK) {
        per_range[range_of(r, nr, ev.size)]++;
        *trace0 += ev.traceindex == 0;
    }
    hp_hpd_get_stats(hpd, st);
    hp_hpd_close(hpd);
    return rc < 0 ? rc : HP_OK;
}

static void print_time(const char *label, uint64_t sec, uint64_t nsec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    char buf[64] = "?";
    if (gmtime_r(&t, &tm))
        strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    printf("%-12s %s.%09" PRIu64 "Z (epoch %" PRIu64 ".%09" PRIu64 ")\n", label, buf, nsec, sec, nsec);
}

static void print_sampling(const hp_hpm *hpm)
{
    size_t n;
    const hp_range *r = hp_hpm_sampling_ranges(hpm, &n);
    uint64_t lo = 0;
    for (size_t i = 0; i < n; i++) {
        printf("%-12s [%" PRIu64 ", %" PRIu64 ") bytes: p = %.6g", i ? "" : "sampling", lo,
               r[i].max_bytes, r[i].probability);
        if (r[i].probability == 0)
            printf(" (never recorded)\n");
        else
            printf(" (scale %.6g)\n", 1.0 / r[i].probability);
        lo = r[i].max_bytes;
    }
    printf("%-12s >= %" PRIu64 " bytes: every allocation\n", n ? "" : "sampling", lo);
}

/* A snapshot's total (summed modulo 2^64, as the library does) and how many
 * of its entries are negative: heapprof 1.0's own digests store its wrapped
 * 32-bit counters that way. */
static size_t snapshot_total(const hp_snapshot *s, int64_t *total)
{
    uint64_t sum = 0;
    size_t negative = 0;
    for (size_t i = 0; i < s->count; i++) {
        sum += (uint64_t)s->entries[i].bytes;
        negative += s->entries[i].bytes < 0;
    }
    *total = sum <= (uint64_t)INT64_MAX ? (int64_t)sum : -(int64_t)(~sum) - 1;
    return negative;
}

/* Warns when a digest is not of the profile beside it: made from other
 * inputs, or naming traces the .hpm does not have (ntraces 0: unknown). */
static void digest_warnings(hp_hpc *hpc, const char *path, const char *filebase, uint32_t ntraces,
                            uint32_t max_trace)
{
    if (filebase)
        cli_warn_stale(hpc, path, filebase);
    if (ntraces && max_trace > ntraces)
        cli_warn("%s: names trace %" PRIu32 " but %s.hpm has %" PRIu32
                 " traces: a digest of another profile?",
                 path, max_trace, filebase, ntraces);
}

/* The digest's summary lines. Returns EXIT_OK, or EXIT_DATA after the
 * error when the .hpc cannot be read; `filebase` (may be NULL) and
 * `ntraces` (0: unknown) are the profile beside it, for the warnings. */
static int print_digest(const char *path, const char *filebase, uint32_t ntraces)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        printf("%-12s none (%s does not exist)\n", "digest", path);
        return EXIT_OK;
    }
    hp_hpc *hpc;
    if (hp_hpc_open_path(&hpc, path) < 0)
        return cli_lib_error(HP_EFORMAT);
    int64_t peak = 0, total;
    size_t peak_k = 0, negative = 0;
    uint32_t max_trace = 0;
    for (size_t k = 0; k < hp_hpc_length(hpc); k++) {
        hp_snapshot s;
        if (hp_hpc_snapshot(hpc, k, &s) < 0) {
            hp_hpc_close(hpc);
            return cli_lib_error(HP_EFORMAT);
        }
        for (size_t i = 0; i < s.count; i++)
            max_trace = s.entries[i].traceindex > max_trace ? s.entries[i].traceindex : max_trace;
        negative += snapshot_total(&s, &total) > 0;
        if (k == 0 || total > peak) {
            peak = total;
            peak_k = k;
        }
    }
    printf("%-12s %s: format v%d, interval %g s, %zu snapshots, %lld bytes on disk\n", "digest", path,
           hp_hpc_format(hpc), hp_hpc_time_interval(hpc), hp_hpc_length(hpc), (long long)st.st_size);
    hp_digest_params p;
    if (hp_hpc_recorded_params(hpc, &p) == HP_OK)
        printf("%-12s interval %" PRIu64 " ms, precision %g%s%s; from %" PRIu64 " + %" PRIu64
               " bytes of .hpm + .hpd\n",
               "made with", p.interval_ms, p.precision, p.override_sampling ? ", override-sampling" : "",
               p.salvage ? ", salvage" : "", p.hpm_size, p.hpd_size);
    if (hp_hpc_length(hpc) == 0)
        printf("%-12s none (no snapshots: heapprof 1.0 writes none for a run shorter than its "
               "interval)\n", "peak usage");
    else
        printf("%-12s %" PRId64 " bytes at %g s (snapshot %zu)\n", "peak usage", peak,
               (double)peak_k * hp_hpc_time_interval(hpc), peak_k);
    if (negative)
        printf("%-12s %zu snapshots hold negative entries (heapprof 1.0's 32-bit counters "
               "wrapped: their sizes are wrong)\n", "negative", negative);
    digest_warnings(hpc, path, filebase, ntraces, max_trace);
    hp_hpc_close(hpc);
    return EXIT_OK;
}

/* `info` of a .hpc with no profile beside it, as `zstd -l` lists a file. */
static int info_digest_only(const char *path)
{
    hp_hpc *hpc;
    if (hp_hpc_open_path(&hpc, path) < 0)
        return cli_lib_error(HP_EFORMAT);
    uint64_t sec, nsec;
    hp_hpc_initial_timespec(hpc, &sec, &nsec);
    hp_hpc_close(hpc);
    printf("%-12s %s (no .hpm or .hpd beside it)\n", "digest of", path);
    print_time("start", sec, nsec);
    return print_digest(path, NULL, 0);
}

static int exists(const char *filebase, const char *ext)
{
    char path[8192];
    struct stat st;
    snprintf(path, sizeof path, "%s%s", filebase, ext);
    return stat(path, &st) == 0;
}

int cmd_info(int argc, char **argv)
{
    args a;
    int rc = parse_args("info", "FILEBASE [--salvage]",
                        "Summarizes a profile: start time, sampling ranges, traces, events,\n"
                        "duration, .hpd size and, when FILEBASE.hpc exists, its digest (with\n"
                        "a warning when it was made from other inputs). Given a .hpc with no\n"
                        ".hpm or .hpd beside it, summarizes the digest alone.\n"
                        "      --salvage   count the valid events of a damaged .hpd (each\n"
                        "                  damaged stretch is reported on stderr)\n",
                        argc, argv, "hs", &a, NULL);
    if (rc >= 0)
        return rc;
    char hpc_path[8192];
    snprintf(hpc_path, sizeof hpc_path, "%s.hpc", a.filebase);
    if (!exists(a.filebase, ".hpm") && !exists(a.filebase, ".hpd") && exists(a.filebase, ".hpc")) {
        rc = info_digest_only(hpc_path);
        free(a.filebase);
        return rc;
    }
    hp_hpm *hpm = NULL;
    uint32_t ntraces;
    uint64_t per_range[HP_MAX_RANGES + 1] = {0}, trace0 = 0;
    hp_hpd_stats st;
    if ((rc = hp_hpm_open(&hpm, a.filebase)) < 0 || (rc = hp_hpm_num_traces(hpm, &ntraces)) < 0 ||
        (rc = scan_events(a.filebase, hpm, a.salvage, &st, per_range, &trace0)) < 0) {
        rc = cli_lib_error(rc);
        goto out;
    }
    uint64_t sec, nsec;
    hp_hpm_initial_timespec(hpm, &sec, &nsec);
    printf("%-12s %s\n", "profile", a.filebase);
    print_time("start", sec, nsec);
    print_sampling(hpm);
    printf("%-12s %" PRIu32 "\n", "traces", ntraces);
    printf("%-12s %" PRIu64 " (%" PRIu64 " allocations, %" PRIu64 " frees)\n", "events", st.events,
           st.allocs, st.frees);
    printf("%-12s %.6f s\n", "duration", st.duration);
    printf("%-12s %" PRIu64 " bytes\n", "hpd size", st.bytes);
    if (st.skips)
        printf("%-12s %" PRIu64 " stretches skipped (%" PRIu64 " bytes), the first at offset %" PRIu64
               "\n",
               "damage", st.skips, st.skipped_bytes, st.first_skip_offset);
    rc = print_digest(hpc_path, a.filebase, ntraces);
    truncation_warning(a.filebase, &st);
    size_t nr;
    const hp_range *r = hp_hpm_sampling_ranges(hpm, &nr);
    if (cli_sampling_suspicious(r, nr, per_range))
        cli_warn("%s.hpm: the stored sampling rates look ineffective (most events are in a range "
                 "sampled at under 1%%): heapprof 1.0 on 64-bit Linux records every allocation; "
                 "digest with --override-sampling",
                 a.filebase);
out:
    hp_hpm_close(hpm);
    free(a.filebase);
    return rc;
}

int cmd_traces(int argc, char **argv)
{
    args a;
    int first;
    int rc = parse_args("traces", "FILEBASE [INDEX...]",
                        "Prints stack traces, outermost frame first, as file:line and the\n"
                        "stripped source line (empty when the source file cannot be read).\n"
                        "Without INDEX, every trace.\n",
                        argc, argv, "h", &a, &first);
    if (rc >= 0)
        return rc;
    hp_hpm *hpm = NULL;
    if ((rc = hp_hpm_open(&hpm, a.filebase)) < 0) {
        rc = cli_lib_error(rc);
        goto out;
    }
    uint32_t n;
    if (first >= argc && (rc = hp_hpm_num_traces(hpm, &n)) < 0) {
        rc = cli_lib_error(rc);
        goto out;
    }
    int count = first < argc ? argc - first : (int)n;
    rc = EXIT_OK;
    for (int i = 0; i < count; i++) {
        int idx;
        if (first < argc) {
            if (cli_parse_int(argv[first + i], 0, INT32_MAX, &idx) < 0) {
                rc = cli_error(EXIT_USAGE, "traces: invalid trace index '%s'", argv[first + i]);
                goto out;
            }
        } else {
            idx = i + 1;
        }
        const hp_source_frame *f;
        size_t depth;
        int r = hp_hpm_trace(hpm, (uint32_t)idx, &f, &depth);
        if (r < 0) {
            rc = cli_lib_error(r);
            goto out;
        }
        if (r == HP_NO_TRACE && idx != 0) { /* 0 means "no trace"; past the end is wrong */
            uint32_t n_all;
            rc = hp_hpm_num_traces(hpm, &n_all) < 0
                     ? cli_lib_error(HP_EFORMAT)
                     : cli_error(EXIT_DATA, "%s.hpm: no trace %d (it has %" PRIu32 " traces)",
                                 a.filebase, idx, n_all);
            goto out;
        }
        if (r == HP_NO_TRACE) {
            printf("trace %d: no trace\n", idx);
            continue;
        }
        printf("trace %d: %zu frames\n", idx, depth);
        for (size_t j = 0; j < depth; j++)
            printf("  %s:%" PRIu32 "\t%s\n", f[j].filename, f[j].lineno, f[j].line);
    }
out:
    hp_hpm_close(hpm);
    free(a.filebase);
    return rc;
}

int cmd_events(int argc, char **argv)
{
    args a;
    int rc = parse_args("events", "FILEBASE [--limit N] [--salvage]",
                        "Prints events as tab-separated values: absolute timestamp (seconds),\n"
                        "trace index, size (negative for a free), scale factor.\n"
                        "  -n, --limit N   stop after N events\n"
                        "      --salvage   skip damaged stretches (reported on stderr)\n",
                        argc, argv, "hns", &a, NULL);
    if (rc >= 0)
        return rc;
    hp_read_options ro = HP_READ_OPTIONS_INIT;
    ro.salvage = a.salvage;
    ro.on_skip = cli_skip_warning;
    hp_hpd *hpd = NULL;
    if ((rc = hp_hpd_open(&hpd, a.filebase, NULL, &ro)) < 0) {
        rc = cli_lib_error(rc);
        goto out;
    }
    hp_event ev;
    uint64_t n = 0;
    while ((!a.has_limit || n < a.limit) && (rc = hp_hpd_next(hpd, &ev)) == HP_OK) {
        printf("%.6f\t%" PRIu32 "\t%" PRId64 "\t%.10g\n", ev.timestamp, ev.traceindex, ev.size, ev.scale);
        if (++n % 65536 == 0 && ferror(stdout))
            break; /* a full disk or a closed pipe: main() says so */
    }
    if (rc < 0) {
        fflush(stdout);
        rc = cli_lib_error(rc);
        goto out;
    }
    hp_hpd_stats st;
    hp_hpd_get_stats(hpd, &st);
    truncation_warning(a.filebase, &st);
    rc = EXIT_OK;
out:
    hp_hpd_close(hpd);
    free(a.filebase);
    return rc;
}

int cmd_check(int argc, char **argv)
{
    args a;
    int rc = parse_args("check", "FILEBASE [--salvage]",
                        "Validates FILEBASE.hpm (header, every trace) and FILEBASE.hpd (every\n"
                        "event). Strict: stops at the first invalid event with its offset and\n"
                        "reason. --salvage: reports every damaged stretch and goes on.\n"
                        "Exit status 1 if anything is invalid.\n",
                        argc, argv, "hs", &a, NULL);
    if (rc >= 0)
        return rc;
    hp_hpm *hpm = NULL;
    uint32_t ntraces;
    uint64_t per_range[HP_MAX_RANGES + 1] = {0}, trace0 = 0;
    hp_hpd_stats st;
    if ((rc = hp_hpm_open(&hpm, a.filebase)) < 0 || (rc = hp_hpm_warm_raw_trace_cache(hpm)) < 0 ||
        (rc = hp_hpm_num_traces(hpm, &ntraces)) < 0 ||
        (rc = scan_events(a.filebase, hpm, a.salvage, &st, per_range, &trace0)) < 0) {
        rc = cli_lib_error(rc);
        goto out;
    }
    truncation_warning(a.filebase, &st);
    size_t nr;
    const hp_range *r = hp_hpm_sampling_ranges(hpm, &nr);
    if (cli_sampling_suspicious(r, nr, per_range))
        cli_warn("%s.hpm: the stored sampling rates look ineffective; digest with --override-sampling",
                 a.filebase);
    printf("%s: %s: %" PRIu32 " traces, %" PRIu64 " events (%" PRIu64 " allocations, %" PRIu64
           " frees), %" PRIu64 " negative deltas, %" PRIu64 " trace-0 events, %" PRIu64
           " damaged stretches (%" PRIu64 " bytes)\n",
           a.filebase, st.skips ? "INVALID" : "ok", ntraces, st.events, st.allocs, st.frees,
           st.negative_deltas, trace0, st.skips, st.skipped_bytes);
    rc = st.skips ? EXIT_DATA : EXIT_OK;
out:
    hp_hpm_close(hpm);
    free(a.filebase);
    return rc;
}

int cmd_snapshot(int argc, char **argv)
{
    args a;
    int rc = parse_args("snapshot", "FILEBASE --at SECONDS|peak|last [--top N]",
                        "Prints a snapshot of the digest: at a relative time (rounded down to\n"
                        "a snapshot), the peak (the highest total, the first on ties) or the\n"
                        "last; the top N entries (default 10) with their innermost frame, and\n"
                        "the total.\n",
                        argc, argv, "htk", &a, NULL);
    if (rc >= 0)
        return rc;
    if (!a.has_at) {
        free(a.filebase);
        return cli_usage_error("snapshot", "--at SECONDS is required (or peak, last)");
    }
    hp_hpc *hpc = NULL;
    hp_hpm *hpm = NULL;
    if ((rc = hp_hpc_open(&hpc, a.filebase)) < 0) {
        rc = cli_lib_error(rc);
        goto out;
    }
    size_t k;
    hp_snapshot s;
    if ((rc = hp_hpc_find(hpc, &a.at, &k)) < 0 || (rc = hp_hpc_snapshot(hpc, k, &s)) < 0) {
        rc = cli_lib_error(rc);
        goto out;
    }
    int64_t total;
    size_t negative = snapshot_total(&s, &total);
    uint32_t ntraces = 0, max_trace = 0;
    for (size_t i = 0; i < s.count; i++)
        max_trace = s.entries[i].traceindex > max_trace ? s.entries[i].traceindex : max_trace;
    int frames = hp_hpm_open(&hpm, a.filebase);
    if (frames == HP_OK)
        frames = hp_hpm_num_traces(hpm, &ntraces);
    if (frames == HP_ENOMEM) { /* not for want of memory, though */
        rc = cli_lib_error(frames);
        goto out;
    } else if (frames < 0) {
        hp_hpm_close(hpm);
        hpm = NULL; /* frames are a nicety: the snapshot stands without them */
    } else if (max_trace > ntraces) { /* frames from the wrong .hpm would be lies */
        rc = cli_error(EXIT_DATA,
                       "%s.hpc: snapshot %zu names trace %" PRIu32 " but %s.hpm has %" PRIu32
                       " traces: the digest is not of this profile",
                       a.filebase, k, max_trace, a.filebase, ntraces);
        goto out;
    }
    char path[8192];
    snprintf(path, sizeof path, "%s.hpc", a.filebase);
    digest_warnings(hpc, path, hpm ? a.filebase : NULL, 0, 0);
    printf("snapshot %zu at %g s: %" PRId64 " bytes in %zu entries", k, s.relative_time, total,
           s.count);
    if (negative)
        printf(" (%zu negative: heapprof 1.0's 32-bit counters wrapped)", negative);
    printf("\n");
    /* copy: reading traces does not touch the hpc, but keep entries stable */
    for (size_t i = 0; i < s.count && i < (size_t)a.top; i++) {
        const hp_entry *e = &s.entries[i];
        const hp_frame *f;
        size_t depth = 0;
        char where[512] = "";
        int found = HP_NO_TRACE;
        if (hpm && e->traceindex)
            found = hp_hpm_raw_trace(hpm, e->traceindex, &f, &depth);
        if (found == HP_ENOMEM) {
            rc = cli_lib_error(found);
            goto out;
        }
        if (e->traceindex == 0)
            snprintf(where, sizeof where, "(other)");
        else if (found == HP_OK && depth > 0)
            snprintf(where, sizeof where, "%s:%" PRIu32, hp_hpm_file_name(hpm, f[depth - 1].file_id),
                     f[depth - 1].lineno);
        printf("%4zu %14" PRId64 " %6.2f%%  trace %-7" PRIu32 " %s\n", i + 1, e->bytes,
               total ? 100.0 * (double)e->bytes / (double)total : 0.0, e->traceindex, where);
    }
    rc = EXIT_OK;
out:
    hp_hpm_close(hpm);
    hp_hpc_close(hpc);
    free(a.filebase);
    return rc;
}
