/* digest_opts.c - the options of `heapprof digest` and heapprof-mpi, parsed
 * by one function so that both take the same flags with the same defaults
 * (heapprof's: 60 s, precision 0.01), and the profiles they name, expanded
 * by one function. */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_FORMAT = 256, OPT_LEVEL, OPT_SALVAGE, OPT_OVERRIDE, OPT_CHUNK, OPT_JOBS, OPT_SKIP,
    OPT_KEEP, OPT_REPORT, OPT_SHARD, OPT_VERSION
};

/* "K/N" with 0 <= K < N; returns 0 or -1. */
static int parse_shard(const char *s, unsigned *k, unsigned *n)
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

/* A usage error of `cmd` (NULL: the program itself). With `see`, the
 * message ends by pointing at the help. */
static int usage_fail(const char *cmd, int see, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int usage_fail(const char *cmd, int see, const char *fmt, ...)
{
    char msg[512], help[128] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (see)
        snprintf(help, sizeof help, " (see %s%s%s --help)", cli_progname, cmd ? " " : "",
                 cmd ? cmd : "");
    return cli_error(EXIT_USAGE, "%s%s%s%s", cmd ? cmd : "", cmd ? ": " : "", msg, help);
}

/* Whether option `c` is `digest`'s alone. */
static int is_local(int c) { return c == 'o' || c == 'c' || c == 'f' || c == OPT_JOBS; }

int cli_digest_parse(const char *cmd, int argc, char **argv, unsigned flags, const char *usage,
                     const char *help, cli_digest_opts *o)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"interval", required_argument, NULL, 'i'},
        {"precision", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 'T'},
        {"stdout", no_argument, NULL, 'c'},
        {"force", no_argument, NULL, 'f'},
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
    *o = (cli_digest_opts){.make = HP_MAKE_OPTIONS_INIT, .batch = HP_BATCH_OPTIONS_INIT};
    o->batch.make = &o->make;
    uint64_t chunk = 0;
    opterr = 0;
    optind = 1;
    int c, st;
    char name[128];
    while ((c = getopt_long(argc, argv, ":hi:p:j:T:o:cfqvr", longopts, NULL)) != -1) {
        if (is_local(c) && !(flags & CLI_DIGEST_LOCAL))
            return usage_fail(cmd, 1, "option '%s' is not taken here",
                              cli_option_name(c, longopts, argv, name, sizeof name));
        switch (c) {
        case 'h':
            printf("usage: %s\n\n%s", usage, help);
            return EXIT_OK;
        case OPT_VERSION:
            printf("%s (heapprof-c) %s\n", cli_progname, hp_version());
            return EXIT_OK;
        case 'i':
            if ((st = cli_opt_interval(cmd ? cmd : cli_progname, optarg, &o->batch.interval)) >= 0)
                return st;
            break;
        case 'p':
            if ((st = cli_opt_precision(cmd ? cmd : cli_progname, optarg, &o->batch.precision)) >= 0)
                return st;
            break;
        case 'j': /* the old name of -T */
        case 'T':
            if (cli_parse_int(optarg, 1, HP_MAX_THREADS, &o->make.threads) < 0)
                return usage_fail(cmd, 0, "invalid thread count '%s' (1..%d)", optarg,
                                  HP_MAX_THREADS);
            break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "v1"))
                o->make.format = HP_FORMAT_V1;
            else if (!strcmp(optarg, "v2"))
                o->make.format = HP_FORMAT_V2;
            else
                return usage_fail(cmd, 0, "invalid format '%s' (v1 or v2)", optarg);
            break;
        case OPT_LEVEL:
            if (cli_parse_int(optarg, -131072, 22, &o->make.level) < 0 || o->make.level == 0)
                return usage_fail(cmd, 0, "invalid zstd level '%s'", optarg);
            break;
        case 'o': o->make.output = optarg; break;
        case 'c': o->make.output = "-"; break;
        case 'f': o->force = 1; break;
        case OPT_SALVAGE: o->make.salvage = 1; break;
        case OPT_OVERRIDE: o->make.override_sampling = 1; break;
        case OPT_CHUNK:
            if (cli_parse_u64(optarg, &chunk) < 0 || chunk < 16 || chunk > (1ull << 30))
                return usage_fail(cmd, 0, "invalid --chunk-bytes '%s' (16..2^30)", optarg);
            o->make.chunk_bytes = (size_t)chunk;
            break;
        case 'q': o->quiet = 1; break;
        case 'v': o->verbose = 1; break;
        case 'r': o->recursive = 1; break;
        case OPT_JOBS:
            if (cli_parse_int(optarg, 1, HP_MAX_THREADS, &o->batch.jobs) < 0)
                return usage_fail(cmd, 0, "invalid --jobs '%s' (1..%d)", optarg, HP_MAX_THREADS);
            break;
        case OPT_SKIP: o->batch.skip_up_to_date = 1; break;
        case OPT_KEEP: o->batch.keep_going = 1; break;
        case OPT_REPORT: o->report = optarg; break;
        case OPT_SHARD:
            if (parse_shard(optarg, &o->shard_k, &o->shard_n) < 0)
                return usage_fail(cmd, 0, "invalid --shard '%s' (K/N, 0 <= K < N)", optarg);
            break;
        case ':':
            return usage_fail(cmd, 1, "option '%s' needs a value",
                              cli_option_name(c, longopts, argv, name, sizeof name));
        default:
            return usage_fail(cmd, 1, "unknown option '%s'",
                              cli_option_name(c, longopts, argv, name, sizeof name));
        }
    }
    if (optind >= argc)
        return usage_fail(cmd, 1, "invalid usage; no FILEBASE given");
    if (o->make.output && argc - optind > 1)
        return usage_fail(cmd, 1, "invalid usage; %s takes one FILEBASE",
                          strcmp(o->make.output, "-") ? "-o" : "-c");
    if (o->make.output && !strcmp(o->make.output, "-") && isatty(STDOUT_FILENO) && !o->force)
        return usage_fail(cmd, 0, "%s",
                          "standard output is a terminal: not writing a binary digest there "
                          "(redirect it, or -f to force)");
    o->profiles = argv + optind;
    o->nprofiles = argc - optind;
    return -1;
}

int cli_digest_expand(const char *cmd, const cli_digest_opts *o, hp_batch **out)
{
    hp_batch *b;
    if (hp_batch_new(&b) < 0)
        return cli_lib_error(HP_ENOMEM);
    for (int i = 0; i < o->nprofiles; i++) {
        if (hp_batch_add(b, o->profiles[i], o->recursive) < 0) {
            hp_batch_free(b);
            return cli_lib_error(HP_EIO);
        }
    }
    size_t n = hp_batch_count(b);
    if (n == 0) {
        hp_batch_free(b);
        return cli_error(EXIT_DATA, "%s%sno profiles (a .hpm with its .hpd) found", cmd ? cmd : "",
                         cmd ? ": " : "");
    }
    if (o->make.output && n > 1) {
        hp_batch_free(b);
        return cli_error(EXIT_USAGE, "%s%s-o takes one FILEBASE (%zu profiles given)", cmd ? cmd : "",
                         cmd ? ": " : "", n);
    }
    if (o->shard_n)
        hp_batch_shard(b, o->shard_k, o->shard_n);
    else
        hp_batch_sort(b);
    *out = b;
    return -1;
}
