/* digest.c - `heapprof digest`: HPC.make for one profile or many, through
 * the library's batch runner (hp_batch_run), with a progress line, the
 * warnings and -v report of each digest, and the JSON --report. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int cancel_flag;
static volatile sig_atomic_t cancel_signal;

static void on_signal(int sig)
{
    cancel_flag = 1;
    cancel_signal = sig;
}

static const char usage_line[] =
    "heapprof digest [-i SECONDS] [-p PRECISION] [-T THREADS] [--jobs N] [--format v1|v2]\n"
    "                       [--level N] [-o OUTPUT | -c] [-r] [--skip-up-to-date] [--keep-going]\n"
    "                       [--report FILE] [--shard K/N] [--salvage] [-q] [-v] PROFILE...";

static const char help_text[] =
    "Digests FILEBASE.hpm + FILEBASE.hpd into FILEBASE.hpc: the live bytes per\n"
    "stack trace at every interval, in parallel. A PROFILE is a filebase, a\n"
    "NAME.hpm/.hpd/.hpc path, or a directory (every filebase in it with both files).\n\n"
    "  -i, --interval SECONDS  time between snapshots (default 60; at least 0.001)\n"
    "  -p, --precision P       fold the smallest entries, up to P of the total, into\n"
    "                          the 'other' entry (default 0.01; 0 keeps everything)\n"
    "  -T, --threads N         threads in all (default: OMP_NUM_THREADS, else every core;\n"
    "                          at most 4 per core); -j N is the same\n"
    "      --jobs N            profiles digested at once (default: automatic, from the\n"
    "                          sizes: many small -> side by side, few big -> threads)\n"
    "  -r, --recursive         directories: also their subdirectories\n"
    "      --skip-up-to-date   skip a profile whose v2 .hpc records the same -i, -p,\n"
    "                          --override-sampling and --salvage and the current size\n"
    "                          and modification time of its .hpm and .hpd\n"
    "      --keep-going        report a failed profile and go on (exit 1 at the end);\n"
    "                          without it, no profile is started after a failure\n"
    "      --report FILE       one JSON object per profile and a summary line ('-':\n"
    "                          standard output)\n"
    "      --shard K/N         only shard K (0..N-1) of N of the profiles, balanced by\n"
    "                          size, for job arrays (see scripts/slurm-digest.sh)\n"
    "      --format v1|v2      v2 (default): zstd seekable; v1: heapprof 1.0's format\n"
    "      --level N           zstd level for v2 (default: chosen per frame)\n"
    "  -o, --output PATH       output file (only with one FILEBASE; '-': standard output)\n"
    "  -c, --stdout            write the digest to standard output (as -o -)\n"
    "  -f, --force             with -c, write to standard output even if it is a terminal\n"
    "      --salvage           digest the valid events of a damaged .hpd\n"
    "      --override-sampling every allocation was recorded (heapprof 1.0 on 64-bit\n"
    "                          Linux ignores its sampling rates): scale factors of 1\n"
    "      --chunk-bytes N     .hpd bytes per work chunk (default: automatic)\n"
    "  -q, --quiet             no progress bar\n"
    "  -v, --verbose           per-phase timings, throughput, compression ratio\n\n"
    "The output appears atomically and is synced to disk: on an error or\n"
    "interruption no file is left behind and an existing .hpc is untouched; an\n"
    "existing .hpc is replaced without -f (it is derived data) but an input never\n"
    "is. A --report FILE appears whole at the end, the old one untouched till then.\n"
    "Profiles are digested largest first; one that fails (damaged, missing, not a\n"
    "regular file, shrinking while read) fails alone.\n";

/* What the progress line and the results need while the batch runs. The
 * runner calls back one call at a time, so nothing here needs a lock. */
typedef struct run_state {
    const cli_digest_opts *o;
    const hp_batch *b;
    cli_report *report;
    int show;                  /* a progress line on the terminal */
    double start, last_shown;
    uint64_t total_bytes;      /* .hpm + .hpd of every profile */
    uint64_t finished_bytes;   /* of the profiles done */
    double *partial;           /* per profile: its share done, 0..1 */
    size_t finished;
} run_state;

static void clear_line(const run_state *s)
{
    if (s->show)
        fputs("\r\033[K", stderr);
}

/* One profile: a bar in bytes. Several: profiles done and bytes across the
 * running ones. */
static void show_progress(run_state *s, int force)
{
    double now = cli_now(), el = now - s->start;
    if (!s->show || (!force && now - s->last_shown < 0.1))
        return;
    s->last_shown = now;
    size_t n = hp_batch_count(s->b);
    double done = (double)s->finished_bytes;
    for (size_t i = 0; i < n; i++)
        done += s->partial[i] * (double)hp_batch_input_bytes(s->b, i);
    double total = (double)s->total_bytes, rate = el > 0 ? done / el : 0;
    double eta = rate > 0 ? (total - done) / rate : 0;
    clear_line(s);
    if (n == 1) {
        int width = 30, fill = total > 0 ? (int)(done / total * width) : width;
        fprintf(stderr, "%s [%.*s%*s] %5.1f%% %8.1f MB/s ETA %4.0fs", hp_batch_filebase(s->b, 0),
                fill, "##############################", width - fill, "",
                total > 0 ? 100.0 * done / total : 100.0, rate / 1e6, eta);
    } else {
        fprintf(stderr, "[%zu/%zu profiles] %.1f of %.1f MB, %.1f MB/s, ETA %.0fs", s->finished, n,
                done / 1e6, total / 1e6, rate / 1e6, eta);
    }
    fflush(stderr);
}

static void on_progress(void *ctx, size_t index, uint64_t done, uint64_t total)
{
    run_state *s = ctx;
    s->partial[index] = total ? (double)done / (double)total : 1.0;
    show_progress(s, 0);
}

static void on_result(void *ctx, const hp_batch_result *r, size_t done, size_t total)
{
    run_state *s = ctx;
    (void)total;
    s->finished = done;
    s->finished_bytes += r->input_bytes;
    s->partial[r->index] = 0;
    clear_line(s);
    if (r->status < 0)
        cli_error(EXIT_DATA, "%s", r->error);
    else if (r->report) /* the same warnings and -v report for every profile */
        cli_digest_done(r->filebase, r->report, s->o->verbose);
    else if (s->o->verbose && r->status == HP_SKIPPED)
        fprintf(stderr, "%s: up to date, skipped\n", r->filebase);
    if (s->report)
        cli_report_result(s->report, r);
    show_progress(s, 1);
}

/* A thread count past what the cores can use is capped (hp_thread_count):
 * say so, whether it came from -T or OMP_NUM_THREADS. */
static void warn_thread_cap(int threads)
{
    const char *env = getenv("OMP_NUM_THREADS");
    int want = threads;
    if (!want && env && cli_parse_int(env, 1, 1 << 30, &want) < 0)
        want = 0;
    if (want > hp_thread_count(want))
        cli_warn("%d threads asked for%s: using %d (at most %d per core)", want,
                 threads ? "" : " (OMP_NUM_THREADS)", hp_thread_count(want), HP_THREADS_PER_CORE);
}

/* Runs the batch; returns the exit status. */
static int run(const cli_digest_opts *o, hp_batch *b, cli_report *report)
{
    size_t n = hp_batch_count(b);
    run_state s = {
        .o = o,
        .b = b,
        .report = report,
        .show = !o->quiet && isatty(STDERR_FILENO),
        .start = cli_now(),
        .partial = calloc(n, sizeof *s.partial),
    };
    if (!s.partial)
        return cli_error(EXIT_DATA, "out of memory");
    for (size_t i = 0; i < n; i++)
        s.total_bytes += hp_batch_input_bytes(b, i);
    hp_batch_options bo = o->batch;
    bo.on_result = on_result;
    bo.on_progress = on_progress;
    bo.ctx = &s;
    hp_batch_summary sum;
    int rc = hp_batch_run(b, &bo, &sum);
    if (s.show)
        fputc('\n', stderr);
    free(s.partial);
    if (report)
        cli_report_summary(report, n, &sum);
    if (rc < 0 && sum.failed + sum.digested + sum.skipped + sum.not_run == 0)
        return cli_lib_error(rc); /* refused before any profile: the options */
    if (n > 1 && (o->verbose || rc < 0)) {
        char plan[64];
        if (sum.threads_per_job)
            snprintf(plan, sizeof plan, "%d at once, %d threads each", sum.jobs, sum.threads_per_job);
        else
            snprintf(plan, sizeof plan, "up to %d at once, threads shared as they ran", sum.jobs);
        fprintf(stderr,
                "heapprof: %zu profiles: %zu digested, %zu up to date, %zu failed, %zu not run"
                " (%s, %.1f s)\n",
                n, sum.digested, sum.skipped, sum.failed, sum.not_run, plan, sum.seconds);
    }
    /* a lone profile refused for what was asked (an output that is an
     * input) is a usage error; any other failure is a data error */
    return rc == HP_OK ? EXIT_OK : n == 1 && rc == HP_EINVAL ? EXIT_USAGE : EXIT_DATA;
}

int cmd_digest(int argc, char **argv)
{
    cli_digest_opts o;
    int st = cli_digest_parse("digest", argc, argv, CLI_DIGEST_LOCAL, usage_line, help_text, &o);
    if (st >= 0)
        return st;
    hp_batch *b;
    if ((st = cli_digest_expand("digest", &o, &b)) >= 0)
        return st;
    cli_report *report = NULL;
    if (o.report && (st = cli_report_open(&report, o.report, b)) >= 0) {
        hp_batch_free(b);
        return st;
    }
    warn_thread_cap(o.make.threads);
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    signal(SIGXFSZ, SIG_IGN); /* a file size limit is a write error, not death */
    o.make.on_skip = cli_skip_warning;
    o.make.cancel = &cancel_flag;
    int status = run(&o, b, report);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    int rst = cli_report_close(report);
    status = status == EXIT_OK ? rst : status;
    hp_batch_free(b);
    if (cancel_signal)
        return 128 + cancel_signal;
    return status;
}
