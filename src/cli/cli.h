/* cli.h - what the commands of the `heapprof` CLI share.
 *
 * Exit status: 0 success, 1 a data or I/O error, 2 a usage error. Every
 * error is one line on stderr: "heapprof: <message>". */
#ifndef HP_CLI_H
#define HP_CLI_H

#include "heapprof.h"

#include <stdio.h>

#include <stdint.h>

enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_USAGE = 2 };

/* Room for per-range counters: the library accepts at most 64 ranges. */
#define HP_MAX_RANGES_CLI 65

int cmd_info(int argc, char **argv);
int cmd_traces(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_digest(int argc, char **argv);
int cmd_tune(int argc, char **argv);

/* `digest` for many profiles (src/cli/batch.c). */
typedef struct cli_batch {
    double interval, precision;
    hp_make_options make;
    int recursive, jobs, skip_up_to_date, keep_going, show, verbose;
    unsigned shard_k, shard_n;   /* shard_n == 0: no sharding */
    const char *report;          /* JSON lines, or NULL */
    /* the single-profile digest, with its progress bar and -v report */
    int (*one)(const char *fb, double interval, double precision, hp_make_options *o, int show,
               int verbose, hp_make_report *r);
} cli_batch;
int cli_digest_batch(cli_batch *b, int nargs, char **args);

/* After a digest: warnings for what it skipped or left out, and with
 * `verbose` its report (hp_print_report). */
void cli_digest_done(const char *fb, const hp_make_report *r, int verbose);

/* The JSON lines of --report: one per profile, then the summary. */
void cli_json_result(FILE *f, const hp_batch_result *r);
void cli_json_summary(FILE *f, size_t profiles, const hp_batch_summary *s);

/* "K/N" with 0 <= K < N; returns 0 or -1. */
int cli_parse_shard(const char *s, unsigned *k, unsigned *n);

/* Prints "heapprof: <formatted>" on stderr; returns `status`. */
int cli_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports the library's last error; returns EXIT_DATA (or EXIT_USAGE for
 * HP_EINVAL). */
int cli_lib_error(int rc);

/* Prints a warning line on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));


/* Strict number parsing; return 0 or -1. */
int cli_parse_double(const char *s, double *out);
int cli_parse_u64(const char *s, uint64_t *out);
int cli_parse_int(const char *s, int lo, int hi, int *out);

/* A digest interval (seconds, at least 0.001) and precision ([0, 1)), with
 * the usage error of `cmd` when invalid: return -1 when valid, else the
 * exit status. */
int cli_opt_interval(const char *cmd, const char *s, double *out);
int cli_opt_precision(const char *cmd, const char *s, double *out);

/* Standard handling of a getopt_long result that is not an option of the
 * command: returns the exit status to use, or -1 to go on. */
int cli_usage_error(const char *cmd, const char *usage);

/* Whether the .hpm's stored sampling looks ineffective (see docs/FORMATS.md,
 * "Sampling that did not happen"): the least-sampled range holds most
 * events. Counts are events per range, ranges+1 of them. */
int cli_sampling_suspicious(const hp_range *ranges, size_t n, const uint64_t *counts);

#endif
