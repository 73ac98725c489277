/* main.c - `heapprof COMMAND ...`: dispatch, --help and --version. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct command {
    const char *name;
    int (*run)(int, char **);
    const char *summary;
} commands[] = {
    {"info", cmd_info, "summarize a profile (start, sampling, traces, events, digest)"},
    {"traces", cmd_traces, "print stack traces with file:line and source text"},
    {"events", cmd_events, "print events as tab-separated values"},
    {"check", cmd_check, "validate the .hpm and .hpd end to end"},
    {"snapshot", cmd_snapshot, "print the digest's snapshot at a time"},
    {"digest", cmd_digest, "digest .hpm + .hpd into .hpc (parallel; many profiles)"},
    {"tune", cmd_tune, "measure thread counts on a profile and recommend -j"},
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
    fprintf(f, "\n`heapprof COMMAND --help` describes a command.\n"
               "exit status: 0 success, 1 data or I/O error, 2 usage error,\n"
               "3 (diff) growth over its --fail-over threshold\n");
}

/* The library maps its inputs. If one shrinks while it is read (another
 * program truncates it), touching the vanished pages raises SIGBUS: report
 * that as the data error it is. Nothing partial exists: outputs are
 * unnamed until committed. */
static void on_sigbus(int sig)
{
    static const char msg[] =
        "heapprof: an input file shrank while it was being read (SIGBUS); nothing was written\n";
    (void)sig;
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    _exit(EXIT_DATA);
}

int main(int argc, char **argv)
{
    signal(SIGBUS, on_sigbus);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("heapprof-c %s\n", hp_version());
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    return cli_error(EXIT_USAGE, "unknown command '%s' (see heapprof --help)", argv[1]);
}
