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
    "[-i SECONDS] [-p PRECISION] [-j THREADS] [--format v1|v2] [--level N] [-o OUTPUT] "
    "[--salvage] [-q] [-v] FILEBASE...";

static const char help_text[] =
    "Digests FILEBASE.hpm + FILEBASE.hpd into FILEBASE.hpc: the live bytes per\n"
    "stack trace at every interval, in parallel.\n\n"
    "  -i, --interval SECONDS  time between snapshots (default 60; at least 0.001)\n"
    "  -p, --precision P       fold the smallest entries, up to P of the total, into\n"
    "                          the 'other' entry (default 0.01; 0 keeps everything)\n"
    "  -j, --threads N         threads (default: OMP_NUM_THREADS, else every core)\n"
    "      --format v1|v2      v2 (default): zstd seekable; v1: heapprof 1.0's format\n"
    "      --level N           zstd level for v2 (default 3)\n"
    "  -o, --output PATH       output file (only with one FILEBASE)\n"
    "      --salvage           digest the valid events of a damaged .hpd\n"
    "      --override-sampling every allocation was recorded (heapprof 1.0 on 64-bit\n"
    "                          Linux ignores its sampling rates): scale factors of 1\n"
    "      --chunk-bytes N     .hpd bytes per work chunk (default: automatic)\n"
    "  -q, --quiet             no progress bar\n"
    "  -v, --verbose           per-phase timings, throughput, compression ratio\n\n"
    "The output appears atomically: on an error or interruption no file is left\n"
    "behind and an existing .hpc is untouched.\n";

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

enum { OPT_FORMAT = 256, OPT_LEVEL, OPT_SALVAGE, OPT_OVERRIDE, OPT_CHUNK };

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
        {NULL, 0, NULL, 0}};
    double interval = 60, precision = 0.01;
    int quiet = 0, verbose = 0;
    uint64_t chunk = 0;
    hp_make_options o;
    hp_make_options_init(&o);
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hi:p:j:o:qv", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            printf("usage: heapprof digest %s\n\n%s", usage_line, help_text);
            return EXIT_OK;
        case 'i':
            if (cli_parse_double(optarg, &interval) < 0 || interval < 0.001)
                return cli_error(EXIT_USAGE, "digest: invalid interval '%s' (seconds, at least 0.001)", optarg);
            break;
        case 'p':
            if (cli_parse_double(optarg, &precision) < 0 || precision < 0 || precision >= 1)
                return cli_error(EXIT_USAGE, "digest: invalid precision '%s' (must be in [0, 1))", optarg);
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
    int status = EXIT_OK;
    for (int i = optind; i < argc && status == EXIT_OK; i++) {
        char *fb = cli_filebase(argv[i]);
        if (!fb)
            return cli_error(EXIT_DATA, "out of memory");
        progress_state ps = {fb, {0, 0}};
        clock_gettime(CLOCK_MONOTONIC, &ps.start);
        hp_make_report r;
        o.report = &r;
        o.progress = show ? show_progress : NULL;
        o.progress_ctx = &ps;
        o.on_skip = report_skip;
        o.skip_ctx = fb;
        int rc = hp_hpc_make_ex(fb, interval, precision, &o);
        if (show)
            fputc('\n', stderr);
        if (rc < 0) {
            status = cli_lib_error(rc);
        } else {
            if (r.skips)
                cli_warn("%s.hpd: salvaged: skipped %" PRIu64 " damaged stretches (%" PRIu64
                         " bytes), the first at offset %" PRIu64,
                         fb, r.skips, r.skipped_bytes, r.first_skip_offset);
            if (r.truncated_bytes)
                cli_warn("%s.hpd: partial final event (%" PRIu64 " bytes) ignored", fb,
                         r.truncated_bytes);
            if (r.negative_snapshots)
                cli_warn("%s: %" PRIu64 " snapshots left out traces with negative live bytes",
                         fb, r.negative_snapshots);
            if (verbose)
                hp_print_report(stderr, fb, &r);
        }
        free(fb);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (cancel_signal)
        return 128 + cancel_signal;
    return status;
}
