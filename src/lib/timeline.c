/* timeline.c - hp_timeline(): one row per snapshot, the total, the traces
 * with the highest peaks, and the rest as "other".
 *
 * The traces to show are known only once every snapshot has been seen, so
 * the digest is read twice: the first pass ranks the traces by their peak
 * (one number per trace index), the second writes the rows, adding each
 * entry to its column or to "other". Memory is the per-trace array and the
 * N columns; no snapshot is kept. */
#include "error.h"
#include "grow.h"
#include "paths.h"
#include "sink.h"
#include "view.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int hp_timeline_options_init(hp_timeline_options *opts, unsigned version)
{
    if (version != HP_TIMELINE_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_timeline_options version %u is not %u", version,
                       HP_TIMELINE_OPTIONS_VERSION);
    *opts = (hp_timeline_options)HP_TIMELINE_OPTIONS_INIT;
    return HP_OK;
}

/* A trace never seen, in the per-trace array. */
#define ABSENT INT64_MIN

typedef struct ranked {
    uint32_t trace;
    int64_t peak;
} ranked;

/* Highest peak first; ties by trace index. */
static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->peak != y->peak)
        return x->peak > y->peak ? -1 : 1;
    return x->trace < y->trace ? -1 : x->trace > y->trace;
}

typedef struct timeline {
    hp_run run;
    int64_t *slot;     /* per trace index: the peak in pass 1, then the column or -1 */
    size_t nslot;
    ranked *top;       /* the columns' traces */
    size_t ntop;
    char **label;
    hp_stacks stacks;
    int64_t *row;      /* the columns of one row */
} timeline;

/* Pass 1: every trace's peak. */
static int rank(timeline *t, size_t want)
{
    size_t n = hp_hpc_length(t->run.hpc), present = 0;
    for (size_t k = 0; k < n; k++) {
        hp_snapshot s;
        HP_TRY(hp_hpc_snapshot(t->run.hpc, k, &s));
        for (size_t i = 0; i < s.count; i++) {
            uint32_t tr = s.entries[i].traceindex;
            int64_t b = (int64_t)s.entries[i].bytes;
            if (tr == 0)
                continue;
            if (tr >= t->nslot) {
                size_t old = t->nslot;
                if (hp_grow(&t->slot, &t->nslot, (size_t)tr + 1, sizeof *t->slot, 1024) < 0)
                    return hp_fail(HP_ENOMEM, "out of memory");
                for (size_t j = old; j < t->nslot; j++)
                    t->slot[j] = ABSENT;
            }
            if (t->slot[tr] == ABSENT)
                present++;
            if (b > t->slot[tr])
                t->slot[tr] = b;
        }
    }
    ranked *all = malloc((present ? present : 1) * sizeof *all);
    if (!all)
        return hp_fail(HP_ENOMEM, "out of memory");
    size_t m = 0;
    for (size_t tr = 1; tr < t->nslot; tr++)
        if (t->slot[tr] != ABSENT)
            all[m++] = (ranked){(uint32_t)tr, t->slot[tr]};
    qsort(all, m, sizeof *all, cmp_ranked);
    t->ntop = m < want ? m : want;
    t->top = all; /* only the first ntop are used */
    for (size_t tr = 0; tr < t->nslot; tr++)
        t->slot[tr] = -1;
    for (size_t c = 0; c < t->ntop; c++)
        t->slot[t->top[c].trace] = (int64_t)c;
    return HP_OK;
}

/* Column labels: the innermost "file:line", with " #TRACE" where two
 * would be equal. */
static int make_labels(timeline *t)
{
    for (size_t c = 0; c < t->ntop; c++)
        HP_TRY(hp_stacks_want(&t->stacks, t->top[c].trace));
    HP_TRY(hp_stacks_resolve(&t->stacks, &t->run));
    t->label = calloc(t->ntop ? t->ntop : 1, sizeof *t->label);
    if (!t->label)
        return hp_fail(HP_ENOMEM, "out of memory");
    for (size_t c = 0; c < t->ntop; c++) {
        const hp_frame *f;
        size_t depth;
        hp_stacks_get(&t->stacks, t->top[c].trace, &f, &depth);
        const char *file = depth ? hp_hpm_file_name(t->run.hpm, f[depth - 1].file_id) : NULL;
        size_t need = (file ? strlen(file) : 0) + 32;
        if (!(t->label[c] = malloc(need)))
            return hp_fail(HP_ENOMEM, "out of memory");
        if (depth)
            snprintf(t->label[c], need, "%s:%" PRIu32, file ? file : "", f[depth - 1].lineno);
        else
            snprintf(t->label[c], need, "(no frames)");
    }
    /* N is small: compare every pair */
    int *dup = calloc(t->ntop ? t->ntop : 1, sizeof *dup);
    if (!dup)
        return hp_fail(HP_ENOMEM, "out of memory");
    for (size_t a = 0; a < t->ntop; a++)
        for (size_t b = a + 1; b < t->ntop; b++)
            if (!strcmp(t->label[a], t->label[b]))
                dup[a] = dup[b] = 1;
    int rc = HP_OK;
    for (size_t c = 0; c < t->ntop && rc == HP_OK; c++) {
        if (!dup[c] && strcmp(t->label[c], "(no frames)"))
            continue;
        size_t need = strlen(t->label[c]) + 16;
        char *l = realloc(t->label[c], need);
        if (!l) {
            rc = hp_fail(HP_ENOMEM, "out of memory");
            break;
        }
        size_t len = strlen(l);
        snprintf(l + len, need - len, " #%" PRIu32, t->top[c].trace);
        t->label[c] = l;
    }
    free(dup);
    return rc;
}

static void write_head(timeline *t, hp_sink *s, int json)
{
    if (!json) {
        hp_sink_str(s, "time,total");
        for (size_t c = 0; c < t->ntop; c++) {
            hp_sink_put(s, ",", 1);
            hp_sink_csv(s, t->label[c]);
        }
        hp_sink_str(s, ",other\n");
        return;
    }
    hp_sink_str(s, "{\"filebase\": ");
    hp_sink_json(s, t->run.filebase);
    hp_sink_str(s, ", \"interval\": ");
    hp_sink_ms(s, t->run.interval_ms);
    hp_sink_str(s, ",\n \"columns\": [\"time\", \"total\"");
    for (size_t c = 0; c < t->ntop; c++) {
        hp_sink_str(s, ", ");
        hp_sink_json(s, t->label[c]);
    }
    hp_sink_str(s, ", \"other\"],\n \"traces\": [");
    for (size_t c = 0; c < t->ntop; c++) {
        const hp_frame *f;
        size_t depth;
        hp_stacks_get(&t->stacks, t->top[c].trace, &f, &depth);
        hp_sink_printf(s, "%s\n  {\"trace\": %" PRIu32 ", \"peak\": %" PRId64 ", \"label\": ",
                       c ? "," : "", t->top[c].trace, t->top[c].peak);
        hp_sink_json(s, t->label[c]);
        hp_sink_str(s, ", \"frames\": [");
        for (size_t j = 0; j < depth; j++) {
            const char *file = hp_hpm_file_name(t->run.hpm, f[j].file_id);
            char *fr = malloc(strlen(file ? file : "") + 16);
            if (!fr) {
                if (s->rc == HP_OK)
                    s->rc = hp_fail(HP_ENOMEM, "out of memory");
                return;
            }
            sprintf(fr, "%s:%" PRIu32, file ? file : "", f[j].lineno);
            if (j)
                hp_sink_str(s, ", ");
            hp_sink_json(s, fr);
            free(fr);
        }
        hp_sink_str(s, "]}");
    }
    hp_sink_str(s, t->ntop ? "\n ],\n \"rows\": [" : "],\n \"rows\": [");
}

/* Pass 2: the rows. */
static int write_rows(timeline *t, hp_sink *s, int json)
{
    size_t n = hp_hpc_length(t->run.hpc);
    for (size_t k = 0; k < n; k++) {
        hp_snapshot snap;
        HP_TRY(hp_hpc_snapshot(t->run.hpc, k, &snap));
        uint64_t total = 0, shown = 0; /* wrapping sums, read as signed */
        memset(t->row, 0, (t->ntop ? t->ntop : 1) * sizeof *t->row);
        for (size_t i = 0; i < snap.count; i++) {
            uint32_t tr = snap.entries[i].traceindex;
            total += snap.entries[i].bytes;
            if (tr < t->nslot && t->slot[tr] >= 0) {
                t->row[t->slot[tr]] += (int64_t)snap.entries[i].bytes;
                shown += snap.entries[i].bytes;
            }
        }
        hp_sink_str(s, json ? (k ? ",\n  [" : "\n  [") : "");
        hp_sink_ms(s, (uint64_t)k * t->run.interval_ms);
        hp_sink_put(s, json ? ", " : ",", json ? 2 : 1);
        hp_sink_i64(s, (int64_t)total);
        for (size_t c = 0; c < t->ntop; c++) {
            hp_sink_put(s, json ? ", " : ",", json ? 2 : 1);
            hp_sink_i64(s, t->row[c]);
        }
        hp_sink_put(s, json ? ", " : ",", json ? 2 : 1);
        hp_sink_i64(s, (int64_t)(total - shown));
        hp_sink_str(s, json ? "]" : "\n");
        if (s->rc < 0)
            return s->rc;
    }
    if (json)
        hp_sink_str(s, n ? "\n ]}\n" : "]}\n");
    return HP_OK;
}

int hp_timeline(const char *filebase, const hp_timeline_options *opts)
{
    hp_timeline_options defaults = HP_TIMELINE_OPTIONS_INIT;
    const hp_timeline_options *o = opts ? opts : &defaults;
    if (o->version != HP_TIMELINE_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_timeline_options version %u is not %u", o->version,
                       HP_TIMELINE_OPTIONS_VERSION);
    if (o->format != HP_TABLE_CSV && o->format != HP_TABLE_JSON)
        return hp_fail(HP_EINVAL, "unknown timeline format %d", (int)o->format);
    int json = o->format == HP_TABLE_JSON;
    timeline t = {0};
    char *path = NULL;
    hp_sink s;
    int rc = hp_run_open(&t.run, filebase);
    if (rc == HP_OK)
        rc = rank(&t, o->top);
    if (rc == HP_OK)
        rc = make_labels(&t);
    if (rc == HP_OK && !(t.row = malloc((t.ntop ? t.ntop : 1) * sizeof *t.row)))
        rc = hp_fail(HP_ENOMEM, "out of memory");
    if (rc == HP_OK && !o->stream && !o->output &&
        !(path = hp_path_join(filebase, json ? ".timeline.json" : ".timeline.csv")))
        rc = hp_fail(HP_ENOMEM, "out of memory");
    if (rc == HP_OK && (rc = hp_sink_open(&s, path ? path : o->output, o->stream)) == HP_OK) {
        write_head(&t, &s, json);
        rc = write_rows(&t, &s, json);
        if (rc < 0)
            hp_sink_abort(&s);
        else
            rc = hp_sink_close(&s);
    }
    for (size_t c = 0; t.label && c < t.ntop; c++)
        free(t.label[c]);
    free(t.label);
    free(t.row);
    free(t.top);
    free(t.slot);
    free(path);
    hp_stacks_free(&t.stacks);
    hp_run_close(&t.run);
    return rc;
}
