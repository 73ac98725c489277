/* digest.c - `heapprof digest`: HPC.make for one or more profiles. */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int cancel_flag;
static volatile sig_atomic_t cancel_signal;

static void on_signal(int sig)
{
    cancel_flag = 1;
    cancel_signal = sig;
}

static const char usage_line[] =
    "[-i SECONDS] [-p PRECISION] [-j THREADS] [--jobs N] [--format v1|v2] [--level N]\n"
    "                       [-o OUTPUT] [-r] [--skip-up-to-date] [--keep-going] [--report FILE]\n"
    "                       [--shard K/N] [--salvage] [-q] [-v] PROFILE...";

static const char help_text[] =
    "Digests FILEBASE.hpm + FILEBASE.hpd into FILEBASE.hpc: the live bytes per\n"
    "stack trace at every interval, in parallel. A PROFILE is a filebase, a\n"
    "NAME.hpm/.hpd/.hpc path, or a directory (every filebase in it with both files).\n\n"
    "  -i, --interval SECONDS  time between snapshots (default 60; at least 0.001)\n"
    "  -p, --precision P       fold the smallest entries, up to P of the total, into\n"
    "                          the 'other' entry (default 0.01; 0 keeps everything)\n"
    "  -j, --threads N         threads in all (default: OMP_NUM_THREADS, else every core)\n"
    "      --jobs N            profiles digested at once (default: automatic, from the\n"
    "                          sizes: many small -> side by side, few big -> threads)\n"
    "  -r, --recursive         directories: also their subdirectories\n"
    "      --skip-up-to-date   skip a profile whose .hpc is newer than its .hpm and .hpd\n"
    "                          and was made with the same -i, -p and --format (v2 only)\n"
    "      --keep-going        report a failed profile and go on (exit 1 at the end);\n"
    "                          without it, no profile is started after a failure\n"
    "      --report FILE       one JSON object per profile and a summary line ('-':\n"
    "                          standard output)\n"
    "      --shard K/N         only shard K (0..N-1) of N of the profiles, balanced by\n"
    "                          size, for job arrays (see scripts/slurm-digest.sh)\n"
    "      --format v1|v2      v2 (default): zstd seekable; v1: heapprof 1.0's format\n"
    "      --level N           zstd level for v2 (default 5)\n"
    "  -o, --output PATH       output file (only with one FILEBASE)\n"
    "      --salvage           digest the valid events of a damaged .hpd\n"
    "      --override-sampling every allocation was recorded (heapprof 1.0 on 64-bit\n"
    "                          Linux ignores its sampling rates): scale factors of 1\n"
    "      --chunk-bytes N     .hpd bytes per work chunk (default: automatic)\n"
    "  -q, --quiet             no progress bar\n"
    "  -v, --verbose           per-phase timings, throughput, compression ratio\n\n"
    "The output appears atomically: on an error or interruption no file is left\n"
    "behind and an existing .hpc is untouched. Profiles are digested largest first.\n";

typedef struct progress_state {
    const char *name;
    struct timespec start;
} progress_state;

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void show_progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_state *p = ctx;
    double el = since(&p->start), rate = el > 0 ? (double)done / el : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    int width = 30, fill = total ? (int)((double)done / (double)total * width) : width;
    fprintf(stderr, "\r%s [%.*s%*s] %5.1f%% %8.1f MB/s ETA %4.0fs", p->name, fill,
            "##############################", width - fill, "",
            total ? 100.0 * (double)done / (double)total : 100.0, rate / 1e6, eta);
    fflush(stderr);
}

static void report_skip(void *ctx, const hp_skip *s)
{
    cli_warn("%s.hpd: offset %" PRIu64 ": skipped %" PRIu64 " bytes of damaged events (%s)",
             (const char *)ctx, s->offset, s->length, hp_damage_reason_str(s->reason));
}

enum {
    OPT_FORMAT = 256, OPT_LEVEL, OPT_SALVAGE, OPT_OVERRIDE, OPT_CHUNK, OPT_JOBS, OPT_SKIP,
    OPT_KEEP, OPT_REPORT, OPT_SHARD
};

/* The single-profile path: a progress bar in bytes and -v's phase report. */
static int digest_one(const char *fb, double interval, double precision, hp_make_options *o,
                      int show, int verbose, hp_make_report *r)
{
    progress_state ps = {fb, {0, 0}};
    clock_gettime(CLOCK_MONOTONIC, &ps.start);
    o->report = r;
    o->progress = show ? show_progress : NULL;
    o->progress_ctx = &ps;
    o->on_skip = report_skip;
    o->skip_ctx = (void *)fb;
    int rc = hp_hpc_make_ex(fb, interval, precision, o);
    if (show)
        fputc('\n', stderr);
    if (rc == HP_OK)
        cli_digest_done(fb, r, verbose);
    return rc;
}

int cmd_digest(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"interval", required_argument, NULL, 'i'},
        {"precision", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 'j'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"output", required_argument, NULL, 'o'},
        {"salvage", no_argument, NULL, OPT_SALVAGE},
        {"override-sampling", no_argument, NULL, OPT_OVERRIDE},
        {"chunk-bytes", required_argument, NULL, OPT_CHUNK},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"jobs", required_argument, NULL, OPT_JOBS},
        {"recursive", no_argument, NULL, 'r'},
        {"skip-up-to-date", no_argument, NULL, OPT_SKIP},
        {"keep-going", no_argument, NULL, OPT_KEEP},
        {"report", required_argument, NULL, OPT_REPORT},
        {"shard", required_argument, NULL, OPT_SHARD},
        {NULL, 0, NULL, 0}};
    cli_batch batch = {0};
    double interval = 60, precision = 0.01;
    int quiet = 0, verbose = 0;
    uint64_t chunk = 0;
    hp_make_options o;
    hp_make_options_init(&o);
    opterr = 0;
    int c, st;
    while ((c = getopt_long(argc, argv, "hi:p:j:o:qvr", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            printf("usage: heapprof digest %s\n\n%s", usage_line, help_text);
            return EXIT_OK;
        case 'i':
            if ((st = cli_opt_interval("digest", optarg, &interval)) >= 0)
                return st;
            break;
        case 'p':
            if ((st = cli_opt_precision("digest", optarg, &precision)) >= 0)
                return st;
            break;
        case 'j':
            if (cli_parse_int(optarg, 1, 4096, &o.threads) < 0)
                return cli_error(EXIT_USAGE, "digest: invalid thread count '%s' (1..4096)", optarg);
            break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "v1"))
                o.format = HP_FORMAT_V1;
            else if (!strcmp(optarg, "v2"))
                o.format = HP_FORMAT_V2;
            else
                return cli_error(EXIT_USAGE, "digest: invalid format '%s' (v1 or v2)", optarg);
            break;
        case OPT_LEVEL:
            if (cli_parse_int(optarg, -131072, 22, &o.level) < 0 || o.level == 0)
                return cli_error(EXIT_USAGE, "digest: invalid zstd level '%s'", optarg);
            break;
        case 'o': o.output = optarg; break;
        case OPT_SALVAGE: o.salvage = 1; break;
        case OPT_OVERRIDE: o.override_sampling = 1; break;
        case OPT_CHUNK:
            if (cli_parse_u64(optarg, &chunk) < 0 || chunk < 16 || chunk > (1ull << 30))
                return cli_error(EXIT_USAGE, "digest: invalid --chunk-bytes '%s' (16..2^30)", optarg);
            o.chunk_bytes = (size_t)chunk;
            break;
        case 'q': quiet = 1; break;
        case 'v': verbose = 1; break;
        case 'r': batch.recursive = 1; break;
        case OPT_JOBS:
            if (cli_parse_int(optarg, 1, 4096, &batch.jobs) < 0)
                return cli_error(EXIT_USAGE, "digest: invalid --jobs '%s' (1..4096)", optarg);
            break;
        case OPT_SKIP: batch.skip_up_to_date = 1; break;
        case OPT_KEEP: batch.keep_going = 1; break;
        case OPT_REPORT: batch.report = optarg; break;
        case OPT_SHARD:
            if (cli_parse_shard(optarg, &batch.shard_k, &batch.shard_n) < 0)
                return cli_error(EXIT_USAGE, "digest: invalid --shard '%s' (K/N, 0 <= K < N)", optarg);
            break;
        default:
            return cli_error(EXIT_USAGE, "digest: unknown option '%s' (see heapprof digest --help)",
                             argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("digest", "no FILEBASE given");
    if (o.output && argc - optind > 1)
        return cli_usage_error("digest", "-o takes one FILEBASE");

    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    signal(SIGXFSZ, SIG_IGN); /* a file size limit is a write error, not death */
    o.cancel = &cancel_flag;
    int show = !quiet && isatty(STDERR_FILENO);
    int status;
    if (o.output) { /* one profile to a chosen path */
        char *fb = hp_filebase_of(argv[optind]);
        if (!fb)
            return cli_error(EXIT_DATA, "out of memory");
        hp_make_report r;
        int rc = digest_one(fb, interval, precision, &o, show, verbose, &r);
        status = rc < 0 ? cli_lib_error(rc) : EXIT_OK;
        free(fb);
    } else {
        batch.interval = interval;
        batch.precision = precision;
        batch.make = o;
        batch.show = show;
        batch.verbose = verbose;
        batch.one = digest_one;
        status = cli_digest_batch(&batch, argc - optind, argv + optind);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (cancel_signal)
        return 128 + cancel_signal;
    return status;
}
