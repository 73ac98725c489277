/* export.c - the commands that turn a digest into something to look at:
 * export (pprof, collapsed, speedscope, json, csv), timeline and diff.
 * Each parses its options and calls one library function (hp_export,
 * hp_timeline, hp_diff). */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_opt_at(const char *cmd, const char *opt, const char *s, hp_at *at)
{
    if (hp_at_parse(s, at) < 0)
        return cli_error(EXIT_USAGE, "%s: invalid %s '%s' (seconds >= 0, peak or last)", cmd, opt, s);
    return -1;
}

/* Where the output goes: -o FILE; -c or -o - for standard output (written
 * by the library once complete, like every output), which is also the
 * default of timeline and diff; else the library's default name. A binary
 * format goes to a terminal only with -f, as digest -c does. */
static int pick_output(const char *cmd, const char *o, int to_stdout_by_default, int binary,
                       int force, const char **path)
{
    *path = o ? o : to_stdout_by_default ? "-" : NULL;
    if (*path && !strcmp(*path, "-") && binary && !force && isatty(STDOUT_FILENO))
        return cli_error(EXIT_USAGE,
                         "%s: standard output is a terminal: not writing a gzip-compressed profile "
                         "there (redirect it, or -f to force)",
                         cmd);
    return -1;
}

enum { OPT_FROM = 256, OPT_TO, OPT_EVERY, OPT_BASE_AT, OPT_NEW_AT, OPT_FAIL_OVER, OPT_FORMAT };

/* ---- export ----------------------------------------------------------------- */

static const char export_usage[] =
    "FILEBASE [--at T] [--format pprof|collapsed|speedscope|json|csv] "
    "[--from T1 --to T2 [--every K]] [-o FILE | -c [-f]]";

static const char export_help[] =
    "Exports a snapshot of FILEBASE.hpc, with its stacks from FILEBASE.hpm.\n"
    "  --at T        the snapshot: seconds (rounded down to a snapshot), peak (the\n"
    "                highest total, the first on ties) or last; default peak\n"
    "  --format F    pprof (default): gzip-compressed profile.proto, inuse_space in\n"
    "                  bytes, for go tool pprof, speedscope, Perfetto, Pyroscope;\n"
    "                collapsed: \"file:line;...;file:line BYTES\" lines, as heapprof's\n"
    "                  Reader.flameGraph(), for flamegraph.pl, inferno, speedscope;\n"
    "                speedscope: speedscope's JSON format;\n"
    "                json, csv: the entries with their share and innermost frame\n"
    "  --from T1 --to T2 [--every K]\n"
    "                speedscope: one profile per snapshot from T1 to T2 (every K-th)\n"
    "  -o FILE       the output; default FILEBASE.pb.gz, .collapsed,\n"
    "                .speedscope.json, .json or .csv (never one of the inputs)\n"
    "  -c            standard output (as -o -); a pprof profile goes to a\n"
    "                terminal only with -f\n"
    "The output appears whole or not at all. Exit status: 0 written, 1 a data or\n"
    "I/O error, 2 a usage error.\n";

int cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},         {"at", required_argument, NULL, 't'},
        {"format", required_argument, NULL, OPT_FORMAT}, {"output", required_argument, NULL, 'o'},
        {"from", required_argument, NULL, OPT_FROM}, {"to", required_argument, NULL, OPT_TO},
        {"every", required_argument, NULL, OPT_EVERY}, {"stdout", no_argument, NULL, 'c'},
        {"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    hp_export_options o = HP_EXPORT_OPTIONS_INIT;
    const char *out = NULL;
    int has_at = 0, has_from = 0, has_to = 0, has_every = 0, force = 0, c, rc;
    opterr = 0;
    o.to.kind = HP_AT_LAST;
    o.from = (hp_at){.kind = HP_AT_TIME, .seconds = 0};
    while ((c = getopt_long(argc, argv, ":ht:o:cf", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: heapprof export %s\n\n%s", export_usage, export_help); return EXIT_OK;
        case 'c': out = "-"; break;
        case 'f': force = 1; break;
        case 't':
            if ((rc = cli_opt_at("export", "--at", optarg, &o.at)) >= 0)
                return rc;
            has_at = 1;
            break;
        case OPT_FORMAT:
            if (hp_export_format_parse(optarg, &o.format) < 0)
                return cli_error(EXIT_USAGE,
                                 "export: invalid --format '%s' (pprof, collapsed, speedscope, json, csv)",
                                 optarg);
            break;
        case 'o': out = optarg; break;
        case OPT_FROM:
            if ((rc = cli_opt_at("export", "--from", optarg, &o.from)) >= 0)
                return rc;
            has_from = 1;
            break;
        case OPT_TO:
            if ((rc = cli_opt_at("export", "--to", optarg, &o.to)) >= 0)
                return rc;
            has_to = 1;
            break;
        case OPT_EVERY: {
            int k;
            if (cli_parse_int(optarg, 1, 1 << 30, &k) < 0)
                return cli_error(EXIT_USAGE, "export: invalid --every '%s' (an integer >= 1)", optarg);
            o.every = (size_t)k;
            has_every = 1;
            break;
        }
        default: return cli_bad_option("export", c, longopts, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("export", export_usage);
    o.series = has_from || has_to;
    if (o.series && o.format != HP_EXPORT_SPEEDSCOPE)
        return cli_error(EXIT_USAGE, "export: --from and --to make a series: --format speedscope only");
    if (o.series && has_at)
        return cli_error(EXIT_USAGE, "export: --at and --from/--to exclude each other");
    if (has_every && !o.series)
        return cli_error(EXIT_USAGE, "export: --every goes with --from and --to");
    if ((rc = pick_output("export", out, 0, o.format == HP_EXPORT_PPROF, force, &o.output)) >= 0)
        return rc;
    char *fb = hp_filebase_of(argv[optind]);
    if (!fb)
        return cli_error(EXIT_DATA, "out of memory");
    cli_warn_stale_filebase(fb);
    rc = hp_export(fb, &o);
    free(fb);
    return rc < 0 ? cli_lib_error(rc) : EXIT_OK;
}

/* ---- timeline ----------------------------------------------------------------- */

static const char timeline_usage[] = "FILEBASE [--top N] [--format csv|json] [-T THREADS] [-o FILE | -c]";

static const char timeline_help[] =
    "One row per snapshot of FILEBASE.hpc: the relative time (seconds), the total\n"
    "bytes, the live bytes of the N traces with the highest peaks (columns labelled\n"
    "by their innermost file:line, \" #TRACE\" added where two are equal), and the\n"
    "rest as \"other\".\n"
    "  --top N       traces with a column (default 10)\n"
    "  --format F    csv (default) or json (with each column's trace and frames)\n"
    "  -T THREADS    read blocks of snapshots on this many threads (default\n"
    "                OMP_NUM_THREADS, else every core; -j is the old name)\n"
    "  -o FILE       the output; -c or -o - (the default): standard output\n";

int cmd_timeline(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},         {"top", required_argument, NULL, 'k'},
        {"format", required_argument, NULL, OPT_FORMAT}, {"output", required_argument, NULL, 'o'},
        {"threads", required_argument, NULL, 'T'}, {"stdout", no_argument, NULL, 'c'},
        {NULL, 0, NULL, 0}};
    hp_timeline_options o = HP_TIMELINE_OPTIONS_INIT;
    const char *out = NULL;
    int c, rc;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hk:o:cT:j:", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': /* the old name of -T, as in digest */
        case 'T':
            if (cli_parse_int(optarg, 1, HP_MAX_THREADS, &o.threads) < 0)
                return cli_error(EXIT_USAGE, "timeline: invalid thread count '%s' (1..%d)", optarg,
                                 HP_MAX_THREADS);
            break;
        case 'c': out = "-"; break;
        case 'h':
            printf("usage: heapprof timeline %s\n\n%s", timeline_usage, timeline_help);
            return EXIT_OK;
        case 'k': {
            int k;
            if (cli_parse_int(optarg, 0, 1 << 20, &k) < 0)
                return cli_error(EXIT_USAGE, "timeline: invalid --top '%s'", optarg);
            o.top = (size_t)k;
            break;
        }
        case OPT_FORMAT:
            if (!strcmp(optarg, "csv"))
                o.format = HP_TABLE_CSV;
            else if (!strcmp(optarg, "json"))
                o.format = HP_TABLE_JSON;
            else
                return cli_error(EXIT_USAGE, "timeline: invalid --format '%s' (csv, json)", optarg);
            break;
        case 'o': out = optarg; break;
        default: return cli_bad_option("timeline", c, longopts, argv);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("timeline", timeline_usage);
    if ((rc = pick_output("timeline", out, 1, 0, 0, &o.output)) >= 0)
        return rc;
    char *fb = hp_filebase_of(argv[optind]);
    if (!fb)
        return cli_error(EXIT_DATA, "out of memory");
    cli_warn_stale_filebase(fb);
    rc = hp_timeline(fb, &o);
    free(fb);
    return rc < 0 ? cli_lib_error(rc) : EXIT_OK;
}

/* ---- diff --------------------------------------------------------------------- */

static const char diff_usage[] =
    "BASE NEW [--at T | --base-at T1 --new-at T2] [--format text|json|collapsed|pprof] "
    "[--fail-over BYTES|PERCENT%] [--top N] [-o FILE | -c [-f]]";

static const char diff_help[] =
    "Compares a snapshot of BASE with one of NEW (filebases; give the same one\n"
    "twice to compare two times of one run). Stacks are matched by their frames\n"
    "(file:line list), not by trace index.\n"
    "  --at T              the snapshot of both: seconds, peak or last (default peak)\n"
    "  --base-at T1, --new-at T2   each one's snapshot\n"
    "  --format F          text (default): stacks by absolute change, with before,\n"
    "                        after, change and innermost frame;\n"
    "                      json: the summary and every stack, matched or not;\n"
    "                      collapsed: flamegraph.pl's differential input\n"
    "                        (\"STACK BEFORE AFTER\", for difffolded/flamegraph.pl);\n"
    "                      pprof: the change as inuse_space samples (negative where\n"
    "                        memory shrank), for go tool pprof\n"
    "  --fail-over LIMIT   exit 3 when the total or any one stack grew by more than\n"
    "                      LIMIT: BYTES (KiB, MiB, GiB allowed) or PERCENT% of the\n"
    "                      base snapshot's total\n"
    "  --top N             text: at most N stacks (default all that changed)\n"
    "  -o FILE             the output; -c or -o - (the default): standard output\n"
    "  -f                  write a pprof diff to a terminal all the same\n"
    "Exit status: 0 no regression, 1 a data or I/O error, 2 a usage error, 3 over\n"
    "the --fail-over threshold (the output is written).\n";

int cmd_diff(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"at", required_argument, NULL, 't'},
        {"base-at", required_argument, NULL, OPT_BASE_AT},
        {"new-at", required_argument, NULL, OPT_NEW_AT},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"fail-over", required_argument, NULL, OPT_FAIL_OVER},
        {"top", required_argument, NULL, 'k'},
        {"output", required_argument, NULL, 'o'},
        {"stdout", no_argument, NULL, 'c'},
        {"force", no_argument, NULL, 'f'},
        {NULL, 0, NULL, 0}};
    hp_diff_options o = HP_DIFF_OPTIONS_INIT;
    hp_diff_summary sum;
    const char *out = NULL;
    int has_at = 0, has_each = 0, force = 0, c, rc;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ht:k:o:cf", longopts, NULL)) != -1) {
        switch (c) {
        case 'h': printf("usage: heapprof diff %s\n\n%s", diff_usage, diff_help); return EXIT_OK;
        case 't':
            if ((rc = cli_opt_at("diff", "--at", optarg, &o.base_at)) >= 0)
                return rc;
            o.new_at = o.base_at;
            has_at = 1;
            break;
        case OPT_BASE_AT:
            if ((rc = cli_opt_at("diff", "--base-at", optarg, &o.base_at)) >= 0)
                return rc;
            has_each = 1;
            break;
        case OPT_NEW_AT:
            if ((rc = cli_opt_at("diff", "--new-at", optarg, &o.new_at)) >= 0)
                return rc;
            has_each = 1;
            break;
        case 'c': out = "-"; break;
        case 'f': force = 1; break;
        case OPT_FORMAT:
            if (hp_diff_format_parse(optarg, &o.format) < 0)
                return cli_error(EXIT_USAGE,
                                 "diff: invalid --format '%s' (text, json, collapsed, pprof)", optarg);
            break;
        case OPT_FAIL_OVER:
            if (hp_threshold_parse(optarg, &o.fail_over) < 0)
                return cli_error(EXIT_USAGE,
                                 "diff: invalid --fail-over '%s' (BYTES, KiB/MiB/GiB, or PERCENT%%)",
                                 optarg);
            break;
        case 'k': {
            int k;
            if (cli_parse_int(optarg, 1, 1 << 30, &k) < 0)
                return cli_error(EXIT_USAGE, "diff: invalid --top '%s'", optarg);
            o.top = (size_t)k;
            break;
        }
        case 'o': out = optarg; break;
        default: return cli_bad_option("diff", c, longopts, argv);
        }
    }
    if (optind + 2 != argc)
        return cli_usage_error("diff", diff_usage);
    if (has_at && has_each)
        return cli_error(EXIT_USAGE, "diff: --at and --base-at/--new-at exclude each other");
    if ((rc = pick_output("diff", out, 1, o.format == HP_DIFF_PPROF, force, &o.output)) >= 0)
        return rc;
    o.summary = &sum;
    char *base = hp_filebase_of(argv[optind]), *newfb = hp_filebase_of(argv[optind + 1]);
    if (!base || !newfb) {
        free(base);
        free(newfb);
        return cli_error(EXIT_DATA, "out of memory");
    }
    cli_warn_stale_filebase(base);
    if (strcmp(base, newfb))
        cli_warn_stale_filebase(newfb);
    rc = hp_diff(base, newfb, &o);
    if (rc == HP_OVER_LIMIT) {
        int64_t growth = sum.new_total - sum.base_total;
        cli_error(EXIT_OVER, "diff: %s grew past --fail-over: total %+" PRId64
                             " bytes, largest stack growth %+" PRId64 " bytes",
                  newfb, growth, sum.max_growth);
        rc = EXIT_OVER;
    } else {
        rc = rc < 0 ? cli_lib_error(rc) : EXIT_OK;
    }
    free(base);
    free(newfb);
    return rc;
}
