/* tune.c - `heapprof tune`: a thread count from measurements (hp_tune_ex), or
 * advice for a batch (hp_tune_batch). */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage_line[] =
    "[--max-threads N] [--slice-bytes N] [-i SECONDS] [-p PRECISION] [-r] FILEBASE|DIR...";

static const char help_text[] =
    "Digests the first slice of FILEBASE.hpd (default 256 MiB) with 1, 2, 4, ...\n"
    "threads into a scratch file, each count until its last 3 runs agree within\n"
    "5% (at most 9 runs; else it is marked noisy), prints the throughput, speedup\n"
    "and parallel efficiency of each, and recommends, among the counts the cores\n"
    "run at once with at least 50% efficiency, the fewest that reach 90% of the\n"
    "best throughput (spare cores digest other profiles better: digest --jobs).\n\n"
    "Given a directory or several profiles, tunes the batch instead: measures the\n"
    "largest profile as above, replays the whole batch under that cost model with\n"
    "the automatic scheduler and with every fixed --jobs, and says whether any\n"
    "--jobs beats the scheduler by more than 10% (if none does, use none).\n\n"
    "  --max-threads N    the most threads to try (default: every core)\n"
    "  --slice-bytes N    .hpd bytes to digest per run (default 268435456; 0: all)\n"
    "  -i, -p             interval and precision, as for digest (default 60, 0.01)\n"
    "  -r, --recursive    look for profiles in subdirectories too\n";

enum { OPT_MAX = 256, OPT_SLICE };

/* The measured points, and the fastest of them. */
static void print_samples(const hp_tune_sample *pts, size_t n, int cores)
{
    printf("threads  seconds      MB/s  speedup  efficiency  runs  spread\n");
    size_t fastest = 0;
    for (size_t i = 0; i < n; i++) {
        const hp_tune_point *p = &pts[i].point;
        printf("%7d %8.3f %9.1f %8.2f %10.0f%% %5d %6.1f%%%s\n", p->threads, p->seconds,
               p->mb_per_s, p->speedup, 100 * p->efficiency, pts[i].runs, 100 * pts[i].spread,
               pts[i].noisy ? "  noisy: the machine is busy, these figures vary" : "");
        if (p->mb_per_s > pts[fastest].point.mb_per_s)
            fastest = i;
    }
    if (n)
        printf("fastest: -j %d (%.1f MB/s, %.0f%% efficiency)%s\n", pts[fastest].point.threads,
               pts[fastest].point.mb_per_s, 100 * pts[fastest].point.efficiency,
               pts[fastest].point.threads > cores ? ", more threads than cores" : "");
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* One profile: the thread count to give it (hp_tune_ex). */
static int tune_one(const char *path, double interval, double precision, int max_threads,
                    uint64_t slice)
{
    char *fb = hp_filebase_of(path);
    if (!fb)
        return cli_error(EXIT_DATA, "out of memory");
    hp_tune_sample pts[16];
    size_t n;
    int best;
    hp_tune_options topts = HP_TUNE_OPTIONS_INIT;
    topts.max_threads = max_threads;
    topts.slice_bytes = slice;
    int rc = hp_tune_ex(fb, interval, precision, &topts, pts, 16, &n, &best);
    if (rc < 0) {
        free(fb);
        return cli_lib_error(rc);
    }
    int cores = omp_get_num_procs();
    printf("%s: %" PRIu64 " bytes of .hpd per run, %d cores; each count run until its last 3 "
           "runs agree within 5%%\n",
           fb, n ? pts[0].point.bytes : 0, cores);
    print_samples(pts, n, cores);
    printf("recommended: -j %d (the fewest threads within 90%% of the best throughput, among "
           "those with at least 50%% efficiency and no more than the %d cores)\n",
           best, cores);
    free(fb);
    return EXIT_OK;
}

/* A batch: the largest profile measured, the batch replayed under the model
 * (hp_tune_batch), and --jobs advised only where it beats the scheduler. */
static int tune_batch(char **paths, int npaths, int recursive, double interval, double precision,
                      int max_threads, uint64_t slice)
{
    hp_batch *b;
    int rc = hp_batch_new(&b);
    if (rc < 0)
        return cli_lib_error(rc);
    for (int i = 0; i < npaths && rc >= 0; i++)
        rc = hp_batch_add(b, paths[i], recursive);
    if (rc < 0) {
        hp_batch_free(b);
        return cli_lib_error(rc);
    }
    size_t n = hp_batch_count(b), usable = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (hp_batch_error(b, i)) {
            cli_warn("tune: %s (left out)", hp_batch_error(b, i));
            continue;
        }
        usable++;
        bytes += hp_batch_input_bytes(b, i);
    }
    if (usable == 0) {
        hp_batch_free(b);
        return cli_error(EXIT_DATA, "tune: no profiles (a .hpm with its .hpd) found");
    }
    hp_batch_tuning t;
    if ((rc = hp_tune_batch(b, interval, precision, max_threads, slice, &t)) < 0) {
        hp_batch_free(b);
        return cli_lib_error(rc);
    }
    printf("batch: %zu profiles, %" PRIu64 " bytes of .hpd; measured on the largest, %s\n", usable,
           bytes, hp_batch_filebase(b, t.sample));
    print_samples(t.points, t.npoints, omp_get_num_procs());
    printf("model: %.3f s per GB on one thread, serial fraction %.3f, %d threads in all\n",
           t.s_per_byte * 1e9, t.serial, t.cores);
    printf("predicted: %.3f s with the automatic scheduler, %.3f s with the best fixed --jobs %d\n",
           t.automatic_s, t.best_jobs_s, t.best_jobs);
    if (t.advise_jobs)
        printf("recommended: --jobs %d -j %d (%.0f%% faster than the automatic scheduler)\n",
               t.best_jobs, t.cores, 100 * (1 - t.best_jobs_s / t.automatic_s));
    else
        printf("recommended: -j %d and no --jobs (no fixed --jobs is more than 10%% faster "
               "than the automatic scheduler)\n",
               t.cores);
    hp_batch_free(b);
    return EXIT_OK;
}

int cmd_tune(int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, NULL, 'h'},
                                             {"max-threads", required_argument, NULL, OPT_MAX},
                                             {"slice-bytes", required_argument, NULL, OPT_SLICE},
                                             {"interval", required_argument, NULL, 'i'},
                                             {"precision", required_argument, NULL, 'p'},
                                             {"recursive", no_argument, NULL, 'r'},
                                             {NULL, 0, NULL, 0}};
    int max_threads = omp_get_num_procs();
    uint64_t slice = 256ull << 20;
    double interval = 60, precision = 0.01;
    int recursive = 0;
    opterr = 0;
    int c, st;
    while ((c = getopt_long(argc, argv, ":hi:p:r", longopts, NULL)) != -1) {
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
        case 'r':
            recursive = 1;
            break;
        default:
            return cli_bad_option("tune", c, longopts, argv);
        }
    }
    if (optind == argc)
        return cli_usage_error("tune", "a FILEBASE or a DIR expected");
    if (optind + 1 == argc && !recursive && !is_dir(argv[optind]))
        return tune_one(argv[optind], interval, precision, max_threads, slice);
    return tune_batch(argv + optind, argc - optind, recursive, interval, precision, max_threads,
                      slice);
}
