/* view.c - runs, snapshots and stacks for the exporters (see view.h), and
 * which snapshot a time, "peak" or "last" names (hp_at_parse, hp_hpc_find). */
#include "view.h"

#include "error.h"
#include "grow.h"
#include "hpc_internal.h"
#include "hpm_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- which snapshot ------------------------------------------------------ */

int hp_at_parse(const char *text, hp_at *at)
{
    if (!strcmp(text, "peak")) {
        *at = (hp_at){.kind = HP_AT_PEAK};
        return HP_OK;
    }
    if (!strcmp(text, "last")) {
        *at = (hp_at){.kind = HP_AT_LAST};
        return HP_OK;
    }
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (!*text || isspace((unsigned char)*text) || *end || errno || !isfinite(v) || v < 0)
        return hp_fail(HP_EINVAL, "invalid time '%s' (seconds >= 0, peak or last)", text);
    *at = (hp_at){.kind = HP_AT_TIME, .seconds = v};
    return HP_OK;
}

int hp_hpc_find(hp_hpc *hpc, const hp_at *at, size_t *k)
{
    size_t n = hp_hpc_length(hpc);
    double iv = hp_hpc_time_interval(hpc);
    if (n == 0)
        return hp_fail(HP_ERANGE, "%s: the digest has no snapshots", hp_hpc_map(hpc)->path);
    switch (at->kind) {
    case HP_AT_LAST:
        *k = n - 1;
        return HP_OK;
    case HP_AT_TIME: {
        double kk = at->seconds / iv + 1e-9; /* 0.3 / 0.1 is 2.9999999999999996 */
        if (!(at->seconds >= 0) || !(kk < (double)n))
            return hp_fail(HP_ERANGE, "%s: no snapshot at %g s (the digest covers 0 to %g s)",
                           hp_hpc_map(hpc)->path, at->seconds, (double)(n - 1) * iv);
        *k = (size_t)kk;
        return HP_OK;
    }
    case HP_AT_PEAK: {
        size_t best = 0;
        int64_t peak = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t total;
            HP_TRY(hp_hpc_total_usage(hpc, i, &total));
            if (i == 0 || total > peak) {
                peak = total;
                best = i;
            }
        }
        *k = best;
        return HP_OK;
    }
    }
    return hp_fail(HP_EINVAL, "invalid snapshot choice %d", (int)at->kind);
}

/* ---- runs ---------------------------------------------------------------- */

int hp_run_open(hp_run *r, const char *filebase)
{
    memset(r, 0, sizeof *r);
    r->filebase = strdup(filebase);
    if (!r->filebase)
        return hp_fail(HP_ENOMEM, "out of memory");
    int rc = hp_hpc_open(&r->hpc, filebase);
    if (rc == HP_OK)
        rc = hp_hpm_open(&r->hpm, filebase);
    if (rc < 0) {
        hp_run_close(r);
        return rc;
    }
    r->interval_ms = (uint64_t)llround(hp_hpc_time_interval(r->hpc) * 1000.0);
    r->inputs[0] = hp_hpc_map(r->hpc);
    r->inputs[1] = hp_hpm_map(r->hpm);
    hp_hpc_initial_timespec(r->hpc, &r->sec, &r->nsec);
    return HP_OK;
}

void hp_run_close(hp_run *r)
{
    hp_hpm_close(r->hpm);
    hp_hpc_close(r->hpc);
    free(r->filebase);
    memset(r, 0, sizeof *r);
}

const char *hp_run_hpc_path(const hp_run *r) { return hp_hpc_map(r->hpc)->path; }

int hp_run_find(hp_run *r, const hp_at *at, size_t *k) { return hp_hpc_find(r->hpc, at, k); }

int64_t hp_run_time_nanos(const hp_run *r, size_t k)
{
    /* in 128 bits, then saturated: a damaged header may claim any start */
    unsigned __int128 t = (unsigned __int128)r->sec * 1000000000u + r->nsec +
                          (unsigned __int128)k * r->interval_ms * 1000000u;
    return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

/* ---- snapshots ----------------------------------------------------------- */

int hp_view_read(hp_view *v, hp_run *r, size_t k)
{
    hp_snapshot s;
    memset(v, 0, sizeof *v);
    HP_TRY(hp_hpc_snapshot(r->hpc, k, &s));
    v->k = k;
    v->ms = (uint64_t)k * r->interval_ms;
    if (s.count) {
        v->e = malloc(s.count * sizeof *v->e);
        if (!v->e)
            return hp_fail(HP_ENOMEM, "out of memory reading snapshot %zu", k);
    }
    uint64_t total = 0, other = 0; /* wrapping sums: the same as signed ones */
    for (size_t i = 0; i < s.count; i++) {
        v->e[i] = (hp_view_entry){s.entries[i].traceindex, (int64_t)s.entries[i].bytes};
        total += s.entries[i].bytes;
        if (s.entries[i].traceindex == 0)
            other += s.entries[i].bytes;
    }
    v->n = s.count;
    v->total = (int64_t)total;
    v->other = (int64_t)other;
    return HP_OK;
}

void hp_view_free(hp_view *v)
{
    free(v->e);
    memset(v, 0, sizeof *v);
}

/* ---- stacks -------------------------------------------------------------- */

int hp_stacks_want(hp_stacks *s, uint32_t trace)
{
    if (trace == 0)
        return HP_OK;
    if (hp_grow(&s->trace, &s->cap, s->n + 1, sizeof *s->trace, 256) < 0)
        return hp_fail(HP_ENOMEM, "out of memory");
    s->trace[s->n++] = trace;
    s->resolved = 0;
    return HP_OK;
}

int hp_stacks_want_view(hp_stacks *s, const hp_view *v)
{
    for (size_t i = 0; i < v->n; i++)
        HP_TRY(hp_stacks_want(s, v->e[i].trace));
    return HP_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct collect {
    hp_stacks *s;
    size_t next;  /* trace[next] is the next one expected */
} collect;

static int on_trace(void *ctx, uint32_t index, const hp_frame *frames, size_t depth)
{
    collect *c = ctx;
    hp_stacks *s = c->s;
    if (hp_grow(&s->frames, &s->frames_cap, s->nframes + depth, sizeof *s->frames, 256) < 0)
        return hp_fail(HP_ENOMEM, "out of memory reading traces");
    if (depth)
        memcpy(s->frames + s->nframes, frames, depth * sizeof *frames);
    /* the visit comes in ascending order, as trace[] is, skipping none */
    if (c->next >= s->n || s->trace[c->next] != index)
        return hp_fail(HP_EINVAL, "trace %u visited out of order", index);
    s->nframes += depth;
    s->start[++c->next] = s->nframes;
    return HP_OK;
}

int hp_stacks_compact(hp_stacks *s)
{
    if (s->n)
        qsort(s->trace, s->n, sizeof *s->trace, cmp_u32);
    size_t m = 0;
    for (size_t i = 0; i < s->n; i++)
        if (m == 0 || s->trace[i] != s->trace[m - 1])
            s->trace[m++] = s->trace[i];
    s->n = m;
    return HP_OK;
}

int hp_stacks_resolve(hp_stacks *s, hp_run *r)
{
    hp_stacks_compact(s);
    size_t m = s->n;
    free(s->start);
    s->start = calloc(m + 1, sizeof *s->start);
    if (!s->start)
        return hp_fail(HP_ENOMEM, "out of memory");
    s->nframes = 0;
    if (m == 0) {
        s->resolved = 1;
        return HP_OK;
    }
    collect c = {s, 0};
    uint32_t last;
    HP_TRY(hp_hpm_visit_traces(r->hpm, s->trace, m, on_trace, &c, &last));
    if (c.next < m) {
        uint32_t missing = s->trace[c.next];
        return hp_fail(HP_ERANGE,
                       "%s: trace %u is not in %s, which has %u traces (a digest of another "
                       "profile?)",
                       hp_run_hpc_path(r), missing, hp_hpm_map(r->hpm)->path, last);
    }
    s->resolved = 1;
    return HP_OK;
}

int hp_stacks_get(const hp_stacks *s, uint32_t trace, const hp_frame **frames, size_t *depth)
{
    size_t lo = 0, hi = s->resolved ? s->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->trace[mid] < trace)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == (s->resolved ? s->n : 0) || s->trace[lo] != trace) {
        *frames = NULL;
        *depth = 0;
        return HP_NO_TRACE;
    }
    *depth = s->start[lo + 1] - s->start[lo];
    *frames = *depth ? s->frames + s->start[lo] : NULL;
    return HP_OK;
}

void hp_stacks_free(hp_stacks *s)
{
    free(s->trace);
    free(s->start);
    free(s->frames);
    memset(s, 0, sizeof *s);
}
