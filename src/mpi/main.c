/* heapprof-mpi - `heapprof digest` for a batch across the ranks of an MPI job.
 *
 *   mpirun -np N heapprof-mpi [digest's options but -o and --jobs] PROFILE...
 *
 * Rank 0 expands the profiles (as `digest` does, --shard included), hands
 * them out largest first to the other ranks as they become free, and writes
 * the JSON-lines report; every other rank digests what it is given with -T
 * threads (default: OMP_NUM_THREADS, else every core of its node),
 * each profile as a batch of one through the library's runner, as `digest`
 * does. With one rank, rank 0 digests everything itself. Each .hpc is
 * byte-identical to what `heapprof digest` writes. Exit status: 0, or 1 if
 * any profile failed, 2 on a usage error. */
#include "cli.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_READY = 1, TAG_WORK, TAG_STOP };

#define PATH_MAX_MPI 4096

/* "no result yet": a worker's first READY carries none */
#define NO_RESULT 100

/* A result as it travels from a worker to rank 0. */
typedef struct wire_result {
    int status, threads;
    uint64_t input_bytes, events, snapshots, output_bytes;
    double seconds;
    char filebase[PATH_MAX_MPI];
    char error[1024];
} wire_result;

static const char usage_text[] =
    "mpirun -np N heapprof-mpi [-i SECONDS] [-p PRECISION] [-j THREADS]\n"
    "       [--format v1|v2] [--level N] [-r] [--skip-up-to-date] [--keep-going]\n"
    "       [--report FILE] [--shard K/N] [--salvage] [--override-sampling] PROFILE...";

static const char help_text[] =
    "Digests a batch across an MPI job: rank 0 hands out the profiles, largest\n"
    "first; the other ranks digest them with -j threads each. The options mean\n"
    "what they mean for `heapprof digest` (see heapprof digest --help); -o and\n"
    "--jobs are not taken.\n";

static void to_wire(const hp_batch_result *r, wire_result *w)
{
    *w = (wire_result){
        .status = r->status,
        .threads = r->threads,
        .input_bytes = r->input_bytes,
        .events = r->events,
        .snapshots = r->snapshots,
        .output_bytes = r->output_bytes,
        .seconds = r->seconds,
    };
    snprintf(w->filebase, sizeof w->filebase, "%s", r->filebase);
    snprintf(w->error, sizeof w->error, "%s", r->error);
}

static void keep_result(void *ctx, const hp_batch_result *r, size_t done, size_t total)
{
    (void)done;
    (void)total;
    to_wire(r, ctx);
}

/* Digests one profile on this rank: a batch of one, through the runner. */
static void digest_one(const cli_digest_opts *o, const char *fb, wire_result *w)
{
    hp_batch *b;
    *w = (wire_result){.status = HP_ENOMEM};
    snprintf(w->filebase, sizeof w->filebase, "%s", fb);
    snprintf(w->error, sizeof w->error, "%s: out of memory", fb);
    if (hp_batch_new(&b) < 0)
        return;
    if (hp_batch_add(b, fb, 0) < 0) {
        w->status = HP_EIO;
        snprintf(w->error, sizeof w->error, "%s", hp_last_error());
    } else {
        hp_batch_options bo = o->batch;
        bo.on_result = keep_result;
        bo.ctx = w;
        hp_batch_run(b, &bo, NULL);
    }
    hp_batch_free(b);
}

/* Rank 0's bookkeeping of one result. */
static void account(cli_report *report, const wire_result *w, hp_batch_summary *s)
{
    hp_batch_result r = {
        .filebase = w->filebase,
        .status = w->status,
        .error = w->error,
        .input_bytes = w->input_bytes,
        .events = w->events,
        .snapshots = w->snapshots,
        .output_bytes = w->output_bytes,
        .seconds = w->seconds,
        .threads = w->threads,
    };
    if (w->status < 0)
        cli_error(EXIT_DATA, "%s", w->error);
    hp_batch_summary_add(s, &r);
    if (report)
        cli_report_result(report, &r);
}

static void worker(const cli_digest_opts *o)
{
    wire_result *w = calloc(1, sizeof *w);
    char fb[PATH_MAX_MPI];
    w->status = NO_RESULT;
    for (;;) {
        MPI_Send(w, sizeof *w, MPI_BYTE, 0, TAG_READY, MPI_COMM_WORLD);
        MPI_Status st;
        int any;
        MPI_Recv(&any, 1, MPI_INT, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
        if (st.MPI_TAG == TAG_STOP)
            break;
        MPI_Recv(fb, sizeof fb, MPI_CHAR, 0, TAG_WORK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        digest_one(o, fb, w);
    }
    free(w);
}

static int coordinator(const cli_digest_opts *o, int nranks)
{
    /* on any setup error the workers still get their STOP below */
    hp_batch *b = NULL;
    int failed_setup = cli_digest_expand(NULL, o, &b);
    failed_setup = failed_setup < 0 ? 0 : failed_setup;
    size_t n = failed_setup ? 0 : hp_batch_count(b);
    cli_report *report = NULL;
    if (!failed_setup && o->report) {
        int st = cli_report_open(&report, o->report, b);
        failed_setup = st >= 0 ? st : 0;
    }
    hp_batch_summary s = {.jobs = nranks > 1 ? nranks - 1 : 1, .threads_per_job = o->make.threads};
    double t0 = MPI_Wtime();
    size_t next = 0; /* profiles [0, next) are handed out */
    int stop = failed_setup != 0;
    wire_result *w = calloc(1, sizeof *w);
    if (nranks == 1) {
        for (; !stop && next < n; next++) {
            digest_one(o, hp_batch_filebase(b, next), w);
            account(report, w, &s);
            stop = w->status < 0 && !o->batch.keep_going;
        }
    } else {
        /* every worker asks once more than it is given: answer each */
        for (int stopped = 0; stopped < nranks - 1;) {
            MPI_Status st;
            MPI_Recv(w, sizeof *w, MPI_BYTE, MPI_ANY_SOURCE, TAG_READY, MPI_COMM_WORLD, &st);
            if (w->status != NO_RESULT) {
                account(report, w, &s);
                stop |= w->status < 0 && !o->batch.keep_going;
            }
            int any = 1;
            if (!stop && next < n) {
                const char *fb = hp_batch_filebase(b, next++);
                MPI_Send(&any, 1, MPI_INT, st.MPI_SOURCE, TAG_WORK, MPI_COMM_WORLD);
                MPI_Send(fb, (int)strlen(fb) + 1, MPI_CHAR, st.MPI_SOURCE, TAG_WORK, MPI_COMM_WORLD);
            } else {
                MPI_Send(&any, 1, MPI_INT, st.MPI_SOURCE, TAG_STOP, MPI_COMM_WORLD);
                stopped++;
            }
        }
    }
    /* the profiles never handed out are listed too */
    for (size_t i = next; i < n; i++) {
        hp_batch_result r = {.index = i,
                             .filebase = hp_batch_filebase(b, i),
                             .status = HP_NOT_RUN,
                             .error = "",
                             .input_bytes = hp_batch_input_bytes(b, i)};
        to_wire(&r, w);
        account(report, w, &s);
    }
    free(w);
    s.seconds = MPI_Wtime() - t0;
    if (report)
        cli_report_summary(report, n, &s);
    int rst = cli_report_close(report);
    hp_batch_free(b);
    if (failed_setup)
        return failed_setup;
    return s.failed ? EXIT_DATA : rst;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, nranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    cli_progname = "heapprof-mpi";
    if (rank != 0) { /* one voice: rank 0 reports for everyone */
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            MPI_Abort(MPI_COMM_WORLD, EXIT_DATA);
    }
    cli_digest_opts o;
    int status = cli_digest_parse(NULL, argc, argv, 0, usage_text, help_text, &o);
    if (status >= 0) { /* --help, --version or a usage error: every rank ends */
        MPI_Finalize();
        return status;
    }
    if (rank == 0)
        status = coordinator(&o, nranks);
    else
        worker(&o);
    /* rank 0's status is the job's */
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return status;
}
