/* heapprof-mpi - `heapprof digest` for a batch across the ranks of an MPI job.
 *
 *   mpirun -np N heapprof-mpi [-i SECONDS] [-p PRECISION] [-j THREADS]
 *          [--format v1|v2] [--level N] [-r] [--skip-up-to-date] [--keep-going]
 *          [--report FILE] [--salvage] PROFILE...
 *
 * Rank 0 expands the profiles (as `digest` does), hands them out largest
 * first to the other ranks as they become free, and writes the JSON-lines
 * report; every other rank digests what it is given with -j OpenMP threads
 * (default: OMP_NUM_THREADS, else every core of its node). With one rank,
 * rank 0 digests everything itself. Each .hpc is byte-identical to what
 * `heapprof digest` writes. Exit status: 0, or 1 if any profile failed, 2 on
 * a usage error. */
#include "cli.h"

#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_READY = 1, TAG_WORK, TAG_STOP };
enum { OPT_FORMAT = 256, OPT_LEVEL, OPT_SKIP, OPT_KEEP, OPT_REPORT, OPT_SALVAGE };

#define PATH_MAX_MPI 4096

/* A result as it travels from a worker to rank 0. */
typedef struct wire_result {
    int status, threads;
    uint64_t input_bytes, events, snapshots, output_bytes;
    double seconds;
    char filebase[PATH_MAX_MPI];
    char error[1024];
} wire_result;

typedef struct job {
    double interval, precision;
    hp_make_options make;
    int recursive, skip, keep_going;
    const char *report;
} job;

static const char usage_text[] =
    "usage: mpirun -np N heapprof-mpi [-i SECONDS] [-p PRECISION] [-j THREADS]\n"
    "       [--format v1|v2] [--level N] [-r] [--skip-up-to-date] [--keep-going]\n"
    "       [--report FILE] [--salvage] PROFILE...\n\n"
    "Digests a batch across an MPI job: rank 0 hands out the profiles, largest\n"
    "first; the other ranks digest them with -j threads each. The options mean\n"
    "what they mean for `heapprof digest` (see heapprof digest --help).\n";

static int parse(int argc, char **argv, job *j)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},          {"interval", required_argument, NULL, 'i'},
        {"precision", required_argument, NULL, 'p'}, {"threads", required_argument, NULL, 'j'},
        {"format", required_argument, NULL, OPT_FORMAT}, {"level", required_argument, NULL, OPT_LEVEL},
        {"recursive", no_argument, NULL, 'r'},     {"skip-up-to-date", no_argument, NULL, OPT_SKIP},
        {"keep-going", no_argument, NULL, OPT_KEEP}, {"report", required_argument, NULL, OPT_REPORT},
        {"salvage", no_argument, NULL, OPT_SALVAGE}, {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    hp_make_options_init(&j->make);
    j->interval = 60;
    j->precision = 0.01;
    opterr = 0;
    int c, st;
    while ((c = getopt_long(argc, argv, "hi:p:j:r", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage_text, stdout); return EXIT_OK;
        case 'V': printf("heapprof-mpi (heapprof-c) %s\n", hp_version()); return EXIT_OK;
        case 'i':
            if ((st = cli_opt_interval("heapprof-mpi", optarg, &j->interval)) >= 0)
                return st;
            break;
        case 'p':
            if ((st = cli_opt_precision("heapprof-mpi", optarg, &j->precision)) >= 0)
                return st;
            break;
        case 'j':
            if (cli_parse_int(optarg, 1, 4096, &j->make.threads) < 0)
                return cli_error(EXIT_USAGE, "invalid thread count '%s'", optarg);
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "v1") && strcmp(optarg, "v2"))
                return cli_error(EXIT_USAGE, "invalid format '%s' (v1 or v2)", optarg);
            j->make.format = optarg[1] == '1' ? HP_FORMAT_V1 : HP_FORMAT_V2;
            break;
        case OPT_LEVEL:
            if (cli_parse_int(optarg, -131072, 22, &j->make.level) < 0 || j->make.level == 0)
                return cli_error(EXIT_USAGE, "invalid zstd level '%s'", optarg);
            break;
        case 'r': j->recursive = 1; break;
        case OPT_SKIP: j->skip = 1; break;
        case OPT_KEEP: j->keep_going = 1; break;
        case OPT_REPORT: j->report = optarg; break;
        case OPT_SALVAGE: j->make.salvage = 1; break;
        default: return cli_error(EXIT_USAGE, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_error(EXIT_USAGE, "no PROFILE given (see heapprof-mpi --help)");
    return -1;
}

/* Digests one profile on this rank. */
static void digest(const job *j, const char *fb, uint64_t bytes, wire_result *w)
{
    memset(w, 0, sizeof *w);
    snprintf(w->filebase, sizeof w->filebase, "%s", fb);
    w->input_bytes = bytes;
    w->threads = j->make.threads;
    double t0 = MPI_Wtime();
    if (j->skip && hp_hpc_is_up_to_date(fb, NULL, j->interval, j->precision, j->make.format)) {
        w->status = 1;
    } else {
        hp_make_options o = j->make;
        hp_make_report r;
        o.report = &r;
        w->status = hp_hpc_make_ex(fb, j->interval, j->precision, &o);
        if (w->status < 0) {
            snprintf(w->error, sizeof w->error, "%s", hp_last_error());
        } else {
            w->events = r.events;
            w->snapshots = r.snapshots;
            w->output_bytes = r.output_bytes;
            w->threads = r.threads;
        }
    }
    w->seconds = MPI_Wtime() - t0;
}

/* Rank 0's bookkeeping of one result. */
static void account(FILE *report, const wire_result *w, hp_batch_summary *s)
{
    hp_batch_result r = {w->filebase, w->status, w->error, w->input_bytes, w->events,
                         w->snapshots, w->output_bytes, w->seconds, w->threads, NULL};
    if (w->status < 0) {
        s->failed++;
        fprintf(stderr, "heapprof-mpi: %s\n", w->error);
    } else if (w->status == 1) {
        s->skipped++;
    } else {
        s->digested++;
        s->events += w->events;
        s->output_bytes += w->output_bytes;
    }
    s->input_bytes += w->input_bytes;
    if (report)
        cli_json_result(report, &r);
}

static void worker(const job *j)
{
    wire_result *w = calloc(1, sizeof *w);
    char fb[PATH_MAX_MPI];
    w->status = 2; /* "no result yet": the first READY carries none */
    for (;;) {
        MPI_Send(w, sizeof *w, MPI_BYTE, 0, TAG_READY, MPI_COMM_WORLD);
        MPI_Status st;
        uint64_t bytes;
        MPI_Recv(&bytes, 1, MPI_UINT64_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
        if (st.MPI_TAG == TAG_STOP)
            break;
        MPI_Recv(fb, sizeof fb, MPI_CHAR, 0, TAG_WORK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        digest(j, fb, bytes, w);
    }
    free(w);
}

static int coordinator(const job *j, int nranks, int nargs, char **args)
{
    /* on any setup error the workers still get their STOP below */
    hp_batch *b;
    int failed_setup = hp_batch_new(&b) < 0 ? cli_lib_error(HP_ENOMEM) : 0;
    for (int i = 0; i < nargs && !failed_setup; i++)
        if (hp_batch_add(b, args[i], j->recursive) < 0)
            failed_setup = cli_lib_error(HP_EIO);
    size_t n = failed_setup ? 0 : hp_batch_count(b);
    if (!failed_setup && n == 0)
        failed_setup = cli_error(EXIT_DATA, "no profiles (a .hpm with its .hpd) found");
    if (!failed_setup)
        hp_batch_sort(b);
    FILE *report = NULL;
    if (!failed_setup && j->report) {
        report = strcmp(j->report, "-") ? fopen(j->report, "w") : stdout;
        if (!report)
            failed_setup = cli_error(EXIT_DATA, "%s: cannot create", j->report);
    }
    hp_batch_summary s = {0};
    s.jobs = nranks > 1 ? nranks - 1 : 1;
    s.threads_per_job = j->make.threads;
    double t0 = MPI_Wtime();
    size_t next = 0, handed = 0;
    int stop = failed_setup != 0;
    wire_result *w = calloc(1, sizeof *w);
    if (nranks == 1) {
        for (; !stop && next < n; next++, handed++) {
            digest(j, hp_batch_filebase(b, next), hp_batch_input_bytes(b, next), w);
            account(report, w, &s);
            stop = w->status < 0 && !j->keep_going;
        }
    } else {
        /* every worker asks once more than it is given: answer each */
        for (int stopped = 0; stopped < nranks - 1;) {
            MPI_Status st;
            MPI_Recv(w, sizeof *w, MPI_BYTE, MPI_ANY_SOURCE, TAG_READY, MPI_COMM_WORLD, &st);
            if (w->status != 2) {
                account(report, w, &s);
                stop |= w->status < 0 && !j->keep_going;
            }
            if (!stop && next < n) {
                uint64_t bytes = hp_batch_input_bytes(b, next);
                const char *fb = hp_batch_filebase(b, next++);
                MPI_Send(&bytes, 1, MPI_UINT64_T, st.MPI_SOURCE, TAG_WORK, MPI_COMM_WORLD);
                MPI_Send(fb, (int)strlen(fb) + 1, MPI_CHAR, st.MPI_SOURCE, TAG_WORK, MPI_COMM_WORLD);
                handed++;
            } else {
                uint64_t none = 0;
                MPI_Send(&none, 1, MPI_UINT64_T, st.MPI_SOURCE, TAG_STOP, MPI_COMM_WORLD);
                stopped++;
            }
        }
    }
    free(w);
    s.not_run = n - handed;
    s.seconds = MPI_Wtime() - t0;
    if (report) {
        cli_json_summary(report, n, &s);
        if (report != stdout)
            fclose(report);
    }
    hp_batch_free(b);
    if (failed_setup)
        return failed_setup;
    return s.failed ? EXIT_DATA : EXIT_OK;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (rank != 0) { /* one voice: rank 0 reports for everyone */
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
    }
    job j = {0};
    int status = parse(argc, argv, &j);
    if (status >= 0) { /* --help, --version or a usage error: every rank ends */
        MPI_Finalize();
        return status;
    }
    if (rank == 0)
        status = coordinator(&j, nranks, argc - optind, argv + optind);
    else
        worker(&j);
    /* rank 0's status is the job's */
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return status;
}
