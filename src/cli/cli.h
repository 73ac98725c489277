/* cli.h - what the commands of the `heapprof` CLI, and heapprof-mpi, share.
 *
 * The CLI is built on include/heapprof.h alone (it is compiled with
 * -Iinclude only). Exit status: 0 success, 1 a data or I/O error, 2 a usage
 * error. Every error is one line on stderr: "heapprof: <message>". */
#ifndef HP_CLI_H
#define HP_CLI_H

#include "heapprof.h"

#include <stdint.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_USAGE = 2, EXIT_OVER = 3 /* diff --fail-over */ };

int cmd_info(int argc, char **argv);
int cmd_traces(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_digest(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_diff(int argc, char **argv);

/* ---- export, timeline, diff (export.c) ------------------------------------ */

/* A snapshot option of `cmd` (`opt` is its name for messages): seconds,
 * peak or last. Returns -1 when valid, else the exit status. */
int cli_opt_at(const char *cmd, const char *opt, const char *s, hp_at *at);

/* ---- messages (util.c) ------------------------------------------------------ */

/* The name messages begin with: "heapprof", or "heapprof-mpi". */
extern const char *cli_progname;

/* Prints "<cli_progname>: <formatted>" on stderr; returns `status`. */
int cli_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports the library's last error; returns EXIT_DATA (or EXIT_USAGE for
 * HP_EINVAL). */
int cli_lib_error(int rc);

/* Prints a warning line on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The hp_skip_fn of every command that reads a .hpd with --salvage: one
 * warning line per skipped stretch. */
void cli_skip_warning(void *ctx, const hp_skip *skip);

/* After a digest: warnings for what it skipped or left out, and with
 * `verbose` its report (hp_print_report). */
void cli_digest_done(const char *fb, const hp_make_report *r, int verbose);

/* Whether the .hpm's stored sampling looks ineffective (see docs/FORMATS.md,
 * "Sampling that did not happen"): the least-sampled range holds most
 * events. Counts are events per range, ranges+1 of them. */
int cli_sampling_suspicious(const hp_range *ranges, size_t n, const uint64_t *counts);

/* Warns when a digest no longer reflects its profile (hp_hpc_is_stale): the
 * open `hpc` at `path`, or (hpc NULL) the file at `path` opened here. */
void cli_warn_stale(hp_hpc *hpc, const char *path, const char *filebase);

/* The same for FILEBASE.hpc, before a command that reads it. */
void cli_warn_stale_filebase(const char *filebase);

/* Monotonic seconds, for progress and durations. */
double cli_now(void);

/* ---- options (options.c) ----------------------------------------------------- */

/* Strict number parsing; return 0 or -1. */
int cli_parse_double(const char *s, double *out);
int cli_parse_u64(const char *s, uint64_t *out);
int cli_parse_int(const char *s, int lo, int hi, int *out);

/* A digest interval (seconds, HP_MIN_INTERVAL to HP_MAX_INTERVAL) and
 * precision ([0, 1)), with the usage error of `cmd` when invalid: return -1
 * when valid, else the exit status. */
int cli_opt_interval(const char *cmd, const char *s, double *out);
int cli_opt_precision(const char *cmd, const char *s, double *out);

/* Standard handling of arguments that do not fit the command: returns the
 * exit status to use. */
int cli_usage_error(const char *cmd, const char *usage);

/* How the user named the option getopt_long() just returned as `c` (an
 * unknown one '?', one missing its value ':', or a known one the command
 * does not take), for messages: "--name" (a known one by its long name), or "-x". */
struct option;
const char *cli_option_name(int c, const struct option *longopts, char *const *argv, char *buf,
                            size_t n);

/* The usage error for such an option of `cmd`; returns EXIT_USAGE. */
int cli_bad_option(const char *cmd, int c, const struct option *longopts, char *const *argv);

/* ---- the digest options, shared by `digest` and heapprof-mpi (digest_opts.c) */

typedef struct cli_digest_opts {
    hp_make_options make;
    hp_batch_options batch;    /* interval, precision, jobs, skip_up_to_date,
                                  keep_going; batch.make points at make */
    int recursive, quiet, verbose, force;
    unsigned shard_k, shard_n; /* shard_n == 0: no sharding */
    const char *report;        /* JSON lines, or NULL */
    char **profiles;           /* what to digest, from the command line */
    int nprofiles;
} cli_digest_opts;

/* Options only `digest` takes (heapprof-mpi refuses them). */
#define CLI_DIGEST_LOCAL 1u

/* Parses the options of `cmd` (argv[0] is the command; messages begin with
 * "cmd: ", or with nothing when cmd is NULL), with CLI_DIGEST_LOCAL for
 * `digest`'s own. --help prints "usage: <usage>" and `help`. Returns -1 to
 * go on, else the exit status. */
int cli_digest_parse(const char *cmd, int argc, char **argv, unsigned flags, const char *usage,
                     const char *help, cli_digest_opts *o);

/* The batch the options name: the profiles expanded, then the shard kept
 * (or all of them, largest first). Returns -1 and sets *out, else the exit
 * status after printing the error. */
int cli_digest_expand(const char *cmd, const cli_digest_opts *o, hp_batch **out);

/* ---- the JSON lines of --report (report.c) ---------------------------------- */

typedef struct cli_report cli_report;

/* Opens the report at `path` ("-": standard output, streamed line by line;
 * a file appears whole at cli_report_close()). A path that is one of the
 * batch's inputs or digests (`b` may be NULL) is refused. Returns -1 and
 * sets *out, else the exit status after printing the error. */
int cli_report_open(cli_report **out, const char *path, const hp_batch *b);

/* A profile's line, and the summary line. A write error is remembered and
 * told by cli_report_close(). */
void cli_report_result(cli_report *r, const hp_batch_result *res);
void cli_report_summary(cli_report *r, size_t profiles, const hp_batch_summary *s);

/* Finishes the report (commits a file); frees it. Returns EXIT_OK, or
 * EXIT_DATA after printing the error. Accepts NULL. */
int cli_report_close(cli_report *r);

#endif
