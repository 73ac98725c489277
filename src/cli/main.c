/* main.c - `heapprof COMMAND ...`: dispatch, help, --version, and the checks
 * every command shares: standard output really written, a shrinking input
 * an error and not a crash. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct command {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} commands[] = {
    {"info", cmd_info, "summarize a profile (start, sampling, traces, events, digest) or a .hpc"},
    {"traces", cmd_traces, "print stack traces with file:line and source text"},
    {"events", cmd_events, "print events as tab-separated values"},
    {"check", cmd_check, "validate the .hpm and .hpd end to end"},
    {"snapshot", cmd_snapshot, "print the digest's snapshot at a time"},
    {"digest", cmd_digest, "digest .hpm + .hpd into .hpc (parallel; many profiles)"},
    {"tune", cmd_tune, "measure thread counts on a profile and recommend -T"},
    {"export", cmd_export, "export a snapshot: pprof, collapsed, speedscope, json, csv"},
    {"timeline", cmd_timeline, "one row per snapshot: total and the top traces (csv, json)"},
    {"diff", cmd_diff, "compare two snapshots stack by stack; --fail-over for CI"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: heapprof COMMAND [OPTIONS] FILEBASE...\n\n"
               "heapprof-c %s: inspect and digest heapprof heap profiles.\n"
               "A FILEBASE is NAME for NAME.hpm + NAME.hpd (+ NAME.hpc); NAME.hpm,\n"
               "NAME.hpd or NAME.hpc are accepted too.\n\ncommands:\n",
            hp_version());
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`heapprof help COMMAND` (or `heapprof COMMAND --help`) describes a command.\n"
               "exit status: 0 success, 1 data or I/O error, 2 usage error,\n"
               "3 (diff) growth over its --fail-over threshold\n");
}

static const struct command *find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(name, commands[i].name))
            return &commands[i];
    return NULL;
}

/* Whatever the command printed must have reached its destination: a full
 * disk or a closed pipe on standard output is an error, as in zstd. */
static int close_stdout(int status)
{
    int failed = fflush(stdout) != 0 || ferror(stdout);
    int err = errno;
    if (fclose(stdout) != 0 && !failed) {
        failed = 1;
        err = errno;
    }
    if (failed && status == EXIT_OK)
        return cli_error(EXIT_DATA, "standard output: write failed: %s", strerror(err));
    return status;
}

int main(int argc, char **argv)
{
    /* an input truncated under a digest fails that digest, not the process */
    hp_guard_sigbus();
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || (!strcmp(cmd, "help") && argc == 2)) {
        usage(stdout);
        return close_stdout(EXIT_OK);
    }
    if (!strcmp(cmd, "help")) { /* heapprof help COMMAND: its --help */
        const struct command *c = find(argv[2]);
        if (!c)
            return cli_error(EXIT_USAGE, "no command '%s' (see heapprof --help)", argv[2]);
        char *help_argv[] = {argv[2], "--help", NULL};
        return close_stdout(c->run(2, help_argv));
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("heapprof-c %s\n", hp_version());
        return close_stdout(EXIT_OK);
    }
    const struct command *c = find(cmd);
    if (!c)
        return cli_error(EXIT_USAGE, "unknown command '%s' (see heapprof --help)", cmd);
    return close_stdout(c->run(argc - 1, argv + 1));
}
