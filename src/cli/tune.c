/* tune.c - `heapprof tune`: a thread count from measurements (hp_tune). */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_line[] =
    "[--max-threads N] [--slice-bytes N] [-i SECONDS] [-p PRECISION] FILEBASE";

static const char help_text[] =
    "Digests the first slice of FILEBASE.hpd (default 256 MiB) with 1, 2, 4, ...\n"
    "threads into a scratch file, prints the throughput, speedup and parallel\n"
    "efficiency of each, and recommends the fewest threads that reach 90% of the\n"
    "best throughput (spare cores digest other profiles better: digest --jobs).\n\n"
    "  --max-threads N    the most threads to try (default: every core)\n"
    "  --slice-bytes N    .hpd bytes to digest per run (default 268435456; 0: all)\n"
    "  -i, -p             interval and precision, as for digest (default 60, 0.01)\n";

enum { OPT_MAX = 256, OPT_SLICE };

int cmd_tune(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {"max-threads", required_argument, NULL, OPT_MAX},
                                             {"slice-bytes", required_argument, NULL, OPT_SLICE},
                                             {"interval", required_argument, NULL, 'i'},
                                             {"precision", required_argument, NULL, 'p'},
                                             {NULL, 0, NULL, 0}};
    int max_threads = omp_get_num_procs();
    uint64_t slice = 256ull << 20;
    double interval = 60, precision = 0.01;
    opterr = 0;
    int c, st;
    while ((c = getopt_long(argc, argv, ":hi:p:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            printf("usage: heapprof tune %s\n\n%s", usage_line, help_text);
            return EXIT_OK;
        case OPT_MAX:
            if (cli_parse_int(optarg, 1, HP_MAX_THREADS, &max_threads) < 0)
                return cli_error(EXIT_USAGE, "tune: invalid --max-threads '%s' (1..%d)", optarg,
                                 HP_MAX_THREADS);
            break;
        case OPT_SLICE:
            if (cli_parse_u64(optarg, &slice) < 0)
                return cli_error(EXIT_USAGE, "tune: invalid --slice-bytes '%s'", optarg);
            break;
        case 'i':
            if ((st = cli_opt_interval("tune", optarg, &interval)) >= 0)
                return st;
            break;
        case 'p':
            if ((st = cli_opt_precision("tune", optarg, &precision)) >= 0)
                return st;
            break;
        default:
            return cli_bad_option("tune", c, longopts, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("tune", "one FILEBASE expected");
    char *fb = hp_filebase_of(argv[optind]);
    if (!fb)
        return cli_error(EXIT_DATA, "out of memory");
    hp_tune_point pts[16];
    size_t n;
    int best;
    int rc = hp_tune(fb, interval, precision, max_threads, slice, pts, 16, &n, &best);
    if (rc < 0) {
        free(fb);
        return cli_lib_error(rc);
    }
    printf("%s: %" PRIu64 " bytes of .hpd per run\n", fb, n ? pts[0].bytes : 0);
    printf("threads  seconds      MB/s  speedup  efficiency\n");
    for (size_t i = 0; i < n; i++)
        printf("%7d %8.3f %9.1f %8.2f %10.0f%%\n", pts[i].threads, pts[i].seconds, pts[i].mb_per_s,
               pts[i].speedup, 100 * pts[i].efficiency);
    printf("recommended: -j %d\n", best);
    free(fb);
    return EXIT_OK;
}
