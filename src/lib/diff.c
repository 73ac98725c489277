/* diff.c - hp_diff(): what grew between a snapshot of one run and a
 * snapshot of another (or of the same run at another time).
 *
 * Trace indexes differ between runs of one program, so stacks are matched
 * by their frames: each frame becomes (file name id, line), with file names
 * interned across both .hpm files, and each stack is a key in a sequence
 * table. Stacks get ids in the order first seen (the base snapshot's
 * entries, then the new one's), which with a stable sort makes the output
 * deterministic. */
#include "error.h"
#include "grow.h"
#include "intern.h"
#include "paths.h"
#include "pprof.h"
#include "sink.h"
#include "view.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name, *ext;
} formats[] = {
    [HP_DIFF_TEXT] = {"text", ".diff.txt"},
    [HP_DIFF_JSON] = {"json", ".diff.json"},
    [HP_DIFF_COLLAPSED] = {"collapsed", ".diff.collapsed"},
    [HP_DIFF_PPROF] = {"pprof", ".diff.pb.gz"},
};
#define NFORMATS (sizeof formats / sizeof *formats)

const char *hp_diff_format_name(hp_diff_format format)
{
    return (unsigned)format < NFORMATS ? formats[format].name : NULL;
}

int hp_diff_format_parse(const char *name, hp_diff_format *format)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (!strcmp(name, formats[i].name)) {
            *format = (hp_diff_format)i;
            return HP_OK;
        }
    return hp_fail(HP_EINVAL, "unknown diff format '%s' (text, json, collapsed, pprof)", name);
}

int hp_diff_options_init(hp_diff_options *opts, unsigned version)
{
    if (version != HP_DIFF_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_diff_options version %u is not %u", version,
                       HP_DIFF_OPTIONS_VERSION);
    *opts = (hp_diff_options)HP_DIFF_OPTIONS_INIT;
    return HP_OK;
}

int hp_threshold_parse(const char *text, hp_threshold *th)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*text && !errno && isfinite(v) && v >= 0 && end != text) {
        if (!strcmp(end, "%")) {
            *th = (hp_threshold){HP_THRESHOLD_PERCENT, v};
            return HP_OK;
        }
        static const struct {
            const char *suffix;
            double scale;
        } units[] = {{"", 1}, {"KiB", 1024.0}, {"MiB", 1048576.0}, {"GiB", 1073741824.0}};
        for (size_t i = 0; i < sizeof units / sizeof *units; i++)
            if (!strcmp(end, units[i].suffix) && v * units[i].scale < 9.2e18) {
                *th = (hp_threshold){HP_THRESHOLD_BYTES, floor(v * units[i].scale)};
                return HP_OK;
            }
    }
    return hp_fail(HP_EINVAL, "invalid threshold '%s' (BYTES, with KiB, MiB or GiB, or PERCENT%%)",
                   text);
}

/* ---- matching ------------------------------------------------------------ */

/* The key of OTHER: no stack of real frames packs to it. */
static const uint64_t OTHER_KEY = UINT64_MAX;

typedef struct stack {
    int64_t before, after;
    uint8_t in_base, in_new;
    uint8_t side;    /* the run whose frames describe it: 0 base, 1 new */
    uint32_t trace;  /* in that run; 0: OTHER */
} stack;

typedef struct differ {
    hp_run run[2];
    hp_view view[2];
    hp_stacks stacks[2];
    hp_strtab names;             /* file names of both runs */
    uint32_t *gid[2];            /* per run: file id -> names id + 1 (0: unknown) */
    size_t ngid[2];
    hp_seqtab keys;              /* stacks */
    stack *st;
    size_t st_cap;
    size_t *order;               /* stack ids, largest change first */
    uint64_t *key;               /* scratch */
    size_t key_cap;
    const hp_diff_options *o;
    hp_diff_summary sum;
    int64_t limit;               /* the threshold in bytes, when there is one */
} differ;

static int oom(void) { return hp_fail(HP_ENOMEM, "out of memory comparing snapshots"); }

static int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t change(const stack *s) { return sat_sub(s->after, s->before); }

static int global_name(differ *d, int side, uint32_t file_id, uint32_t *out)
{
    if (file_id >= d->ngid[side]) {
        size_t old = d->ngid[side];
        if (hp_grow(&d->gid[side], &d->ngid[side], (size_t)file_id + 1, sizeof **d->gid, 64) < 0)
            return oom();
        memset(d->gid[side] + old, 0, (d->ngid[side] - old) * sizeof **d->gid);
    }
    if (!d->gid[side][file_id]) {
        const char *name = hp_hpm_file_name(d->run[side].hpm, file_id);
        uint32_t id;
        if (!name)
            name = "";
        if (hp_strtab_add(&d->names, name, strlen(name), &id) < 0)
            return oom();
        d->gid[side][file_id] = id + 1;
    }
    *out = d->gid[side][file_id] - 1;
    return HP_OK;
}

/* Adds one snapshot's entries to the stacks. */
static int match(differ *d, int side)
{
    const hp_view *v = &d->view[side];
    for (size_t i = 0; i < v->n; i++) {
        const hp_frame *f = NULL;
        size_t depth = 0;
        const uint64_t *key = &OTHER_KEY;
        size_t len = 1;
        if (v->e[i].trace) {
            hp_stacks_get(&d->stacks[side], v->e[i].trace, &f, &depth);
            if (hp_grow(&d->key, &d->key_cap, depth ? depth : 1, sizeof *d->key, 64) < 0)
                return oom();
            for (size_t j = 0; j < depth; j++) {
                uint32_t g = 0;
                HP_TRY(global_name(d, side, f[j].file_id, &g));
                d->key[j] = (uint64_t)g << 32 | f[j].lineno;
            }
            key = d->key;
            len = depth;
        }
        uint32_t id;
        int added = hp_seqtab_add(&d->keys, key, len, &id);
        if (added < 0 || hp_grow(&d->st, &d->st_cap, (size_t)id + 1, sizeof *d->st, 256) < 0)
            return oom();
        stack *s = &d->st[id];
        if (added)
            *s = (stack){.side = (uint8_t)side, .trace = v->e[i].trace};
        if (side == 0) {
            s->before = (int64_t)((uint64_t)s->before + (uint64_t)v->e[i].bytes);
            s->in_base = 1;
        } else {
            s->after = (int64_t)((uint64_t)s->after + (uint64_t)v->e[i].bytes);
            s->in_new = 1;
        }
    }
    return HP_OK;
}

static int is_other(const stack *s) { return s->trace == 0; }

static int cmp_order_ctx_sort(const stack *st, size_t a, size_t b)
{
    int64_t ca = change(&st[a]), cb = change(&st[b]);
    uint64_t ma = ca < 0 ? 0 - (uint64_t)ca : (uint64_t)ca;
    uint64_t mb = cb < 0 ? 0 - (uint64_t)cb : (uint64_t)cb;
    if (ma != mb)
        return ma > mb ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* A merge sort: stable, and no global state for qsort's comparison. */
static void sort_order(const stack *st, size_t *a, size_t *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_order(st, a, tmp, h);
    sort_order(st, a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp_order_ctx_sort(st, a[i], a[j]) <= 0 ? a[i++] : a[j++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

static int summarize(differ *d)
{
    size_t n = d->keys.n;
    hp_diff_summary *m = &d->sum;
    m->base_snapshot = d->view[0].k;
    m->new_snapshot = d->view[1].k;
    m->base_time = (double)d->view[0].ms / 1000.0;
    m->new_time = (double)d->view[1].ms / 1000.0;
    m->base_total = d->view[0].total;
    m->new_total = d->view[1].total;
    for (size_t i = 0; i < n; i++) {
        const stack *s = &d->st[i];
        int64_t c = change(s);
        if (is_other(s))
            continue;
        if (c != 0)
            m->changed++;
        if (s->in_base && s->in_new)
            m->matched++;
        else if (s->in_base)
            m->base_only++;
        else
            m->new_only++;
        if (c > m->max_growth)
            m->max_growth = c;
    }
    const hp_threshold *th = &d->o->fail_over;
    if (th->kind != HP_THRESHOLD_NONE) {
        double lim = th->kind == HP_THRESHOLD_BYTES
                         ? th->value
                         : (m->base_total > 0 ? floor((double)m->base_total * th->value / 100.0) : 0);
        d->limit = lim >= 9.2e18 ? INT64_MAX : (int64_t)lim;
        m->over = sat_sub(m->new_total, m->base_total) > d->limit || m->max_growth > d->limit;
    }
    d->order = malloc((n ? n : 1) * sizeof *d->order);
    size_t *tmp = malloc((n ? n : 1) * sizeof *tmp);
    if (!d->order || !tmp) {
        free(tmp);
        return oom();
    }
    for (size_t i = 0; i < n; i++)
        d->order[i] = i;
    sort_order(d->st, d->order, tmp, n);
    free(tmp);
    return HP_OK;
}

/* ---- writing ------------------------------------------------------------- */

static const hp_frame *frames_of(differ *d, const stack *s, size_t *depth)
{
    const hp_frame *f = NULL;
    *depth = 0;
    if (s->trace)
        hp_stacks_get(&d->stacks[s->side], s->trace, &f, depth);
    return f;
}

static void put_frame(hp_sink *o, differ *d, int side, const hp_frame *f)
{
    const char *name = hp_hpm_file_name(d->run[side].hpm, f->file_id);
    hp_sink_str(o, name ? name : "");
    hp_sink_printf(o, ":%" PRIu32, f->lineno);
}

static void put_signed(hp_sink *o, int64_t v)
{
    if (v > 0)
        hp_sink_put(o, "+", 1);
    hp_sink_i64(o, v);
}

static void write_side(hp_sink *o, differ *d, int side, int json)
{
    const hp_view *v = &d->view[side];
    if (json) {
        hp_sink_str(o, "{\"filebase\": ");
        hp_sink_json(o, d->run[side].filebase);
        hp_sink_printf(o, ", \"snapshot\": %zu, \"relative_time\": ", v->k);
        hp_sink_ms(o, v->ms);
        hp_sink_printf(o, ", \"total\": %" PRId64 "}", v->total);
        return;
    }
    hp_sink_printf(o, "%-9s ", side ? "new" : "base");
    hp_sink_str(o, d->run[side].filebase);
    hp_sink_printf(o, ": snapshot %zu at ", v->k);
    hp_sink_ms(o, v->ms);
    hp_sink_printf(o, " s, %" PRId64 " bytes\n", v->total);
}

static void write_text(differ *d, hp_sink *o)
{
    const hp_diff_summary *m = &d->sum;
    int64_t tc = sat_sub(m->new_total, m->base_total);
    write_side(o, d, 0, 0);
    write_side(o, d, 1, 0);
    hp_sink_str(o, "change    ");
    put_signed(o, tc);
    if (m->base_total > 0)
        hp_sink_printf(o, " bytes (%+.2f%%)\n", 100.0 * (double)tc / (double)m->base_total);
    else
        hp_sink_str(o, " bytes\n");
    hp_sink_printf(o, "stacks    %zu matched, %zu only in base, %zu only in new; %zu changed\n",
                   m->matched, m->base_only, m->new_only, m->changed);
    const hp_threshold *th = &d->o->fail_over;
    if (th->kind != HP_THRESHOLD_NONE) {
        hp_sink_str(o, "threshold ");
        if (th->kind == HP_THRESHOLD_PERCENT)
            hp_sink_printf(o, "%g%% of the base total, ", th->value);
        hp_sink_printf(o, "%" PRId64 " bytes: ", d->limit);
        if (!m->over)
            hp_sink_str(o, "not passed\n");
        else if (tc > d->limit)
            hp_sink_str(o, "PASSED by the total\n");
        else
            hp_sink_str(o, "PASSED by a stack\n");
    }
    hp_sink_printf(o, "\n%14s %14s %14s  %s\n", "before", "after", "change", "innermost frame");
    size_t shown = 0, top = d->o->top, listed = 0;
    for (size_t i = 0; i < d->keys.n; i++)
        listed += change(&d->st[i]) != 0;
    for (size_t i = 0; i < d->keys.n && (!top || shown < top); i++) {
        const stack *s = &d->st[d->order[i]];
        int64_t c = change(s);
        if (c == 0)
            continue; /* sorted by |change|: the rest are 0 too */
        char col[3][24];
        snprintf(col[0], sizeof col[0], s->in_base ? "%" PRId64 : "-", s->before);
        snprintf(col[1], sizeof col[1], s->in_new ? "%" PRId64 : "-", s->after);
        snprintf(col[2], sizeof col[2], c > 0 ? "+%" PRId64 : "%" PRId64, c);
        hp_sink_printf(o, "%14s %14s %14s  ", col[0], col[1], col[2]);
        size_t depth;
        const hp_frame *f = frames_of(d, s, &depth);
        if (is_other(s))
            hp_sink_str(o, "OTHER");
        else if (depth)
            put_frame(o, d, s->side, &f[depth - 1]);
        else
            hp_sink_str(o, "(no frames)");
        if (!is_other(s) && !s->in_base)
            hp_sink_str(o, "  (new)");
        else if (!is_other(s) && !s->in_new)
            hp_sink_str(o, "  (gone)");
        hp_sink_str(o, "\n");
        shown++;
    }
    if (shown < listed)
        hp_sink_printf(o, "(%zu more lines: --top)\n", listed - shown);
}

static void write_json(differ *d, hp_sink *o)
{
    const hp_diff_summary *m = &d->sum;
    hp_sink_str(o, "{\"base\": ");
    write_side(o, d, 0, 1);
    hp_sink_str(o, ",\n \"new\": ");
    write_side(o, d, 1, 1);
    hp_sink_printf(o, ",\n \"change\": %" PRId64 ", \"matched\": %zu, \"base_only\": %zu, "
                      "\"new_only\": %zu, \"changed\": %zu, \"max_growth\": %" PRId64,
                   sat_sub(m->new_total, m->base_total), m->matched, m->base_only, m->new_only,
                   m->changed, m->max_growth);
    const hp_threshold *th = &d->o->fail_over;
    if (th->kind == HP_THRESHOLD_NONE)
        hp_sink_str(o, ",\n \"threshold\": null");
    else
        hp_sink_printf(o, ",\n \"threshold\": {\"kind\": \"%s\", \"value\": %.17g, \"bytes\": %" PRId64 "}",
                       th->kind == HP_THRESHOLD_PERCENT ? "percent" : "bytes", th->value, d->limit);
    hp_sink_printf(o, ", \"over\": %s,\n \"stacks\": [", m->over ? "true" : "false");
    for (size_t i = 0; i < d->keys.n; i++) {
        const stack *s = &d->st[d->order[i]];
        size_t depth;
        const hp_frame *f = frames_of(d, s, &depth);
        hp_sink_str(o, i ? ",\n  {\"frames\": [" : "\n  {\"frames\": [");
        for (size_t j = 0; j < depth; j++) {
            /* "file:line" as one JSON string */
            const char *name = hp_hpm_file_name(d->run[s->side].hpm, f[j].file_id);
            size_t need = strlen(name ? name : "") + 16;
            char *fr = malloc(need);
            if (!fr) {
                if (o->rc == HP_OK)
                    o->rc = oom();
                return;
            }
            snprintf(fr, need, "%s:%" PRIu32, name ? name : "", f[j].lineno);
            if (j)
                hp_sink_str(o, ", ");
            hp_sink_json(o, fr);
            free(fr);
        }
        const char *status = is_other(s) ? "other" : s->in_base && s->in_new ? "matched"
                                                   : s->in_base             ? "base_only"
                                                                            : "new_only";
        hp_sink_printf(o, "], \"before\": %" PRId64 ", \"after\": %" PRId64 ", \"change\": %" PRId64
                          ", \"status\": \"%s\"}",
                       s->before, s->after, change(s), status);
    }
    hp_sink_str(o, d->keys.n ? "\n ]}\n" : "]}\n");
}

/* flamegraph.pl's difference input (difffolded.pl): "STACK BEFORE AFTER". */
static void write_collapsed(differ *d, hp_sink *o)
{
    for (size_t i = 0; i < d->keys.n; i++) {
        const stack *s = &d->st[d->order[i]];
        size_t depth;
        const hp_frame *f = frames_of(d, s, &depth);
        if (is_other(s))
            hp_sink_str(o, "OTHER");
        for (size_t j = 0; j < depth; j++) {
            if (j)
                hp_sink_put(o, ";", 1);
            put_frame(o, d, s->side, &f[j]);
        }
        hp_sink_printf(o, " %" PRId64 " %" PRId64 "\n", s->before, s->after);
    }
}

static int write_pprof(differ *d, hp_sink *o)
{
    hp_pprof *p;
    HP_TRY(hp_pprof_new(&p, "inuse_space"));
    hp_pprof_files files[2] = {{0}, {0}};
    uint64_t *locs = NULL;
    size_t cap = 0;
    char comment[512];
    snprintf(comment, sizeof comment,
             "heapprof-c %s diff: %s snapshot %zu minus %s snapshot %zu", hp_version(),
             d->run[1].filebase, d->view[1].k, d->run[0].filebase, d->view[0].k);
    hp_pprof_time(p, hp_run_time_nanos(&d->run[1], d->view[1].k));
    int rc = hp_pprof_comment(p, comment);
    for (size_t i = 0; i < d->keys.n && rc == HP_OK; i++) {
        const stack *s = &d->st[d->order[i]];
        int64_t c = change(s);
        if (c == 0)
            continue;
        if (is_other(s)) {
            uint64_t other;
            if ((rc = hp_pprof_other(p, &other)) == HP_OK)
                rc = hp_pprof_sample(p, &other, 1, c);
            continue;
        }
        size_t depth;
        const hp_frame *f = frames_of(d, s, &depth);
        if ((rc = hp_pprof_stack(p, &files[s->side], d->run[s->side].hpm, f, depth, &locs, &cap)) ==
            HP_OK)
            rc = hp_pprof_sample(p, locs, depth, c);
    }
    if (rc == HP_OK)
        rc = hp_pprof_write(p, o);
    free(locs);
    free(files[0].index);
    free(files[1].index);
    hp_pprof_free(p);
    return rc;
}

/* ---- the entry point ----------------------------------------------------- */

static int prepare(differ *d, const char *base, const char *newfb)
{
    const char *fb[2] = {base, newfb};
    const hp_at *at[2] = {&d->o->base_at, &d->o->new_at};
    for (int side = 0; side < 2; side++) {
        size_t k;
        HP_TRY(hp_run_open(&d->run[side], fb[side]));
        HP_TRY(hp_run_find(&d->run[side], at[side], &k));
        HP_TRY(hp_view_read(&d->view[side], &d->run[side], k));
        HP_TRY(hp_stacks_want_view(&d->stacks[side], &d->view[side]));
        HP_TRY(hp_stacks_resolve(&d->stacks[side], &d->run[side]));
    }
    HP_TRY(match(d, 0));
    HP_TRY(match(d, 1));
    return summarize(d);
}

int hp_diff(const char *base, const char *new_filebase, const hp_diff_options *opts)
{
    hp_diff_options defaults = HP_DIFF_OPTIONS_INIT;
    const hp_diff_options *o = opts ? opts : &defaults;
    if (o->version != HP_DIFF_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_diff_options version %u is not %u", o->version,
                       HP_DIFF_OPTIONS_VERSION);
    if (!hp_diff_format_name(o->format))
        return hp_fail(HP_EINVAL, "unknown diff format %d", (int)o->format);
    if (o->fail_over.kind != HP_THRESHOLD_NONE &&
        (o->fail_over.kind != HP_THRESHOLD_BYTES && o->fail_over.kind != HP_THRESHOLD_PERCENT))
        return hp_fail(HP_EINVAL, "unknown threshold kind %d", (int)o->fail_over.kind);
    if (o->fail_over.kind != HP_THRESHOLD_NONE && !(o->fail_over.value >= 0))
        return hp_fail(HP_EINVAL, "invalid threshold %g", o->fail_over.value);
    differ d = {.o = o};
    char *path = NULL;
    hp_sink s;
    int rc = prepare(&d, base, new_filebase);
    if (rc == HP_OK && !o->stream && !o->output &&
        !(path = hp_path_join(new_filebase, formats[o->format].ext)))
        rc = oom();
    const hp_map *inputs[4] = {d.run[0].inputs[0], d.run[0].inputs[1], d.run[1].inputs[0],
                               d.run[1].inputs[1]};
    if (rc == HP_OK && (rc = hp_sink_open(&s, path ? path : o->output, o->stream, inputs, 4)) == HP_OK) {
        switch (o->format) {
        case HP_DIFF_TEXT: write_text(&d, &s); break;
        case HP_DIFF_JSON: write_json(&d, &s); break;
        case HP_DIFF_COLLAPSED: write_collapsed(&d, &s); break;
        case HP_DIFF_PPROF: rc = write_pprof(&d, &s); break;
        }
        if (rc < 0)
            hp_sink_abort(&s);
        else
            rc = hp_sink_close(&s);
    }
    if (rc == HP_OK && o->summary)
        *o->summary = d.sum;
    if (rc == HP_OK && d.sum.over)
        rc = HP_OVER_LIMIT;
    free(path);
    free(d.order);
    free(d.key);
    free(d.st);
    free(d.gid[0]);
    free(d.gid[1]);
    hp_seqtab_free(&d.keys);
    hp_strtab_free(&d.names);
    for (int side = 0; side < 2; side++) {
        hp_stacks_free(&d.stacks[side]);
        hp_view_free(&d.view[side]);
        hp_run_close(&d.run[side]);
    }
    return rc;
}
