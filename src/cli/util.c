#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_error(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("heapprof: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("heapprof: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_lib_error(int rc)
{
    const char *msg = hp_last_error();
    return cli_error(rc == HP_EINVAL ? EXIT_USAGE : EXIT_DATA, "%s", *msg ? msg : hp_strerror(rc));
}

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

int cli_sampling_suspicious(const hp_range *ranges, size_t n, const uint64_t *counts)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= n; i++)
        total += counts[i];
    for (size_t i = 0; i < n; i++)
        /* a range sampled at under 1% should hold few of the events; when it
         * holds most, every allocation was recorded */
        if (ranges[i].probability > 0 && ranges[i].probability < 0.01 && total >= 100 &&
            counts[i] * 2 > total)
            return 1;
    return 0;
}

int cli_opt_interval(const char *cmd, const char *s, double *out)
{
    if (cli_parse_double(s, out) < 0 || *out < 0.001 || *out > 1e9)
        return cli_error(EXIT_USAGE, "%s: invalid interval '%s' (seconds, 0.001 to 1e9)", cmd, s);
    return -1;
}

int cli_opt_precision(const char *cmd, const char *s, double *out)
{
    if (cli_parse_double(s, out) < 0 || *out < 0 || *out >= 1)
        return cli_error(EXIT_USAGE, "%s: invalid precision '%s' (must be in [0, 1))", cmd, s);
    return -1;
}
