/* options.c - strict parsing of numbers and of the digest parameters. */
#include "cli.h"

#include <getopt.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int cli_usage_error(const char *cmd, const char *usage)
{
    return cli_error(EXIT_USAGE, "%s: invalid usage; %s (see heapprof %s --help)", cmd, usage, cmd);
}

int cli_opt_interval(const char *cmd, const char *s, double *out)
{
    if (cli_parse_double(s, out) < 0 || *out < HP_MIN_INTERVAL || *out > HP_MAX_INTERVAL)
        return cli_error(EXIT_USAGE, "%s: invalid interval '%s' (seconds, %g to %g)", cmd, s,
                         HP_MIN_INTERVAL, HP_MAX_INTERVAL);
    return -1;
}

int cli_opt_precision(const char *cmd, const char *s, double *out)
{
    if (cli_parse_double(s, out) < 0 || *out < 0 || *out >= 1)
        return cli_error(EXIT_USAGE, "%s: invalid precision '%s' (must be in [0, 1))", cmd, s);
    return -1;
}

const char *cli_option_name(int c, const struct option *longopts, char *const *argv, char *buf,
                            size_t n)
{
    const char *last = optind > 0 ? argv[optind - 1] : "";
    if (c == '?' || c == ':') { /* unknown, or missing its value */
        if (!strncmp(last, "--", 2))
            snprintf(buf, n, "%.*s", (int)strcspn(last, "="), last);
        else if (optopt > 0 && optopt < 128)
            snprintf(buf, n, "-%c", optopt);
        else
            snprintf(buf, n, "%s", last);
        return buf;
    }
    const char *lname = NULL;
    for (const struct option *o = longopts; o->name; o++)
        if (o->val == c)
            lname = o->name;
    if (lname)
        snprintf(buf, n, "--%s", lname);
    else
        snprintf(buf, n, "-%c", c);
    return buf;
}

int cli_bad_option(const char *cmd, int c, const struct option *longopts, char *const *argv)
{
    char name[128];
    cli_option_name(c, longopts, argv, name, sizeof name);
    if (c == ':')
        return cli_error(EXIT_USAGE, "%s: option '%s' needs a value (see heapprof %s --help)", cmd,
                         name, cmd);
    if (c == '?')
        return cli_error(EXIT_USAGE, "%s: unknown option '%s' (see heapprof %s --help)", cmd, name,
                         cmd);
    return cli_error(EXIT_USAGE, "%s: option '%s' is not taken by this command (see heapprof %s --help)",
                     cmd, name, cmd);
}
