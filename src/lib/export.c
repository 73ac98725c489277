/* export.c - hp_export(): snapshots as pprof, collapsed stacks, speedscope,
 * JSON or CSV.
 *
 * Two phases: the snapshots are read and every trace they name is resolved
 * in one pass over the .hpm (an unknown trace fails here, before any
 * output exists); then the output is written through a sink. A speedscope
 * series reads each of its snapshots again in the second phase rather than
 * keeping them all. */
#include "error.h"
#include "grow.h"
#include "hpm_internal.h"
#include "intern.h"
#include "paths.h"
#include "pprof.h"
#include "sink.h"
#include "view.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name, *ext;
} formats[] = {
    [HP_EXPORT_PPROF] = {"pprof", "pb.gz"},
    [HP_EXPORT_COLLAPSED] = {"collapsed", "collapsed"},
    [HP_EXPORT_SPEEDSCOPE] = {"speedscope", "speedscope.json"},
    [HP_EXPORT_JSON] = {"json", "json"},
    [HP_EXPORT_CSV] = {"csv", "csv"},
};
#define NFORMATS (sizeof formats / sizeof *formats)

const char *hp_export_format_name(hp_export_format format)
{
    return (unsigned)format < NFORMATS ? formats[format].name : NULL;
}

const char *hp_export_extension(hp_export_format format)
{
    return (unsigned)format < NFORMATS ? formats[format].ext : NULL;
}

int hp_export_format_parse(const char *name, hp_export_format *format)
{
    for (size_t i = 0; i < NFORMATS; i++)
        if (!strcmp(name, formats[i].name)) {
            *format = (hp_export_format)i;
            return HP_OK;
        }
    return hp_fail(HP_EINVAL, "unknown export format '%s' (pprof, collapsed, speedscope, json, csv)",
                   name);
}

int hp_export_options_init(hp_export_options *opts, unsigned version)
{
    if (version != HP_EXPORT_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_export_options version %u is not %u", version,
                       HP_EXPORT_OPTIONS_VERSION);
    *opts = (hp_export_options)HP_EXPORT_OPTIONS_INIT;
    return HP_OK;
}

/* ---- what every format shares -------------------------------------------- */

typedef struct exporter {
    hp_run run;
    hp_stacks stacks;
    hp_view first;     /* the (first) snapshot, kept */
    size_t *ks;        /* the snapshots exported */
    size_t nks;
    int any_other;     /* some snapshot has OTHER bytes */
    const hp_export_options *o;
} exporter;

/* A frame as "file:line". */
static void put_frame(hp_sink *s, hp_hpm *hpm, const hp_frame *f)
{
    const char *name = hp_hpm_file_name(hpm, f->file_id);
    hp_sink_str(s, name ? name : "");
    hp_sink_put(s, ":", 1);
    hp_sink_u64(s, f->lineno);
}

static double share(int64_t bytes, int64_t total)
{
    return total ? (double)bytes / (double)total : 0.0;
}

/* ---- collapsed ----------------------------------------------------------- */

/* heapprof's Reader.flameGraph(): entries in stored order, frames joined by
 * ';' outermost first, the size as a signed integer; trace 0 summed into
 * one OTHER line, last, when positive. */
static void write_collapsed(exporter *x, hp_sink *s)
{
    const hp_view *v = &x->first;
    for (size_t i = 0; i < v->n; i++) {
        const hp_frame *f;
        size_t depth;
        if (v->e[i].trace == 0 || hp_stacks_get(&x->stacks, v->e[i].trace, &f, &depth) != HP_OK)
            continue;
        for (size_t j = 0; j < depth; j++) {
            if (j)
                hp_sink_put(s, ";", 1);
            put_frame(s, x->run.hpm, &f[j]);
        }
        hp_sink_put(s, " ", 1);
        hp_sink_i64(s, v->e[i].bytes);
        hp_sink_put(s, "\n", 1);
    }
    if (v->other > 0) {
        hp_sink_str(s, "OTHER ");
        hp_sink_i64(s, v->other);
        hp_sink_put(s, "\n", 1);
    }
}

/* ---- json and csv -------------------------------------------------------- */

static int write_table(exporter *x, hp_sink *s, int json)
{
    const hp_view *v = &x->first;
    hp_hpm *hpm = x->run.hpm;
    if (json) {
        hp_sink_str(s, "{\"filebase\": ");
        hp_sink_json(s, x->run.filebase);
        hp_sink_printf(s, ", \"snapshot\": %zu, \"relative_time\": ", v->k);
        hp_sink_ms(s, v->ms);
        hp_sink_printf(s, ", \"time_nanos\": %" PRId64 ", \"total\": %" PRId64
                          ", \"entries\": [",
                       hp_run_time_nanos(&x->run, v->k), v->total);
    } else {
        hp_sink_str(s, "trace,bytes,share,file,line,source\n");
    }
    for (size_t i = 0; i < v->n; i++) {
        const hp_frame *f = NULL;
        size_t depth = 0;
        if (v->e[i].trace)
            hp_stacks_get(&x->stacks, v->e[i].trace, &f, &depth);
        const hp_frame *inner = depth ? &f[depth - 1] : NULL;
        const char *file = inner ? hp_hpm_file_name(hpm, inner->file_id) : NULL;
        const char *src = "";
        if (inner)
            HP_TRY(hp_hpm_source_line(hpm, inner->file_id, inner->lineno, &src));
        if (json) {
            hp_sink_printf(s, "%s\n  {\"trace\": %" PRIu32 ", \"bytes\": %" PRId64 ", \"share\": %.6f",
                           i ? "," : "", v->e[i].trace, v->e[i].bytes, share(v->e[i].bytes, v->total));
            if (inner) {
                hp_sink_str(s, ", \"file\": ");
                hp_sink_json(s, file ? file : "");
                hp_sink_printf(s, ", \"line\": %" PRIu32 ", \"source\": ", inner->lineno);
                hp_sink_json(s, src);
            } else {
                hp_sink_str(s, ", \"file\": null, \"line\": null, \"source\": null");
            }
            hp_sink_str(s, "}");
        } else {
            hp_sink_printf(s, "%" PRIu32 ",%" PRId64 ",%.6f,", v->e[i].trace, v->e[i].bytes,
                           share(v->e[i].bytes, v->total));
            if (inner) {
                hp_sink_csv(s, file ? file : "");
                hp_sink_printf(s, ",%" PRIu32 ",", inner->lineno);
                hp_sink_csv(s, src);
            } else {
                hp_sink_str(s, ",,");
            }
            hp_sink_str(s, "\n");
        }
    }
    if (json)
        hp_sink_str(s, v->n ? "\n]}\n" : "]}\n");
    return HP_OK;
}

/* ---- pprof --------------------------------------------------------------- */

static int write_pprof(exporter *x, hp_sink *s)
{
    const hp_view *v = &x->first;
    hp_pprof *p;
    HP_TRY(hp_pprof_new(&p, "inuse_space"));
    hp_pprof_files files = {0};
    uint64_t *locs = NULL;
    size_t cap = 0;
    int rc = HP_OK;
    char comment[256], t[HP_MS_BUF];
    snprintf(comment, sizeof comment, "heapprof-c %s: %s snapshot %zu at %s s", hp_version(),
             x->run.filebase, v->k, hp_format_ms(t, v->ms));
    hp_pprof_time(p, hp_run_time_nanos(&x->run, v->k));
    rc = hp_pprof_comment(p, comment);
    for (size_t i = 0; i < v->n && rc == HP_OK; i++) {
        const hp_frame *f;
        size_t depth;
        if (v->e[i].trace == 0 || hp_stacks_get(&x->stacks, v->e[i].trace, &f, &depth) != HP_OK)
            continue;
        if ((rc = hp_pprof_stack(p, &files, x->run.hpm, f, depth, &locs, &cap)) == HP_OK)
            rc = hp_pprof_sample(p, locs, depth, v->e[i].bytes);
    }
    if (rc == HP_OK && v->other != 0) {
        uint64_t other;
        if ((rc = hp_pprof_other(p, &other)) == HP_OK)
            rc = hp_pprof_sample(p, &other, 1, v->other);
    }
    if (rc == HP_OK)
        rc = hp_pprof_write(p, s);
    free(locs);
    free(files.index);
    hp_pprof_free(p);
    return rc;
}

/* ---- speedscope ---------------------------------------------------------- */

/* The frame table: one frame per (file, line) in the order the resolved
 * stacks first name them, then OTHER. */
typedef struct frame_table {
    hp_seqtab keys;
    uint32_t other;
} frame_table;

static uint64_t frame_key(const hp_frame *f) { return (uint64_t)f->file_id << 32 | f->lineno; }

static int write_speedscope(exporter *x, hp_sink *s)
{
    hp_hpm *hpm = x->run.hpm;
    frame_table ft = {0};
    uint32_t id;
    int rc = HP_OK;
    for (size_t i = 0; i < x->stacks.nframes; i++) {
        uint64_t key = frame_key(&x->stacks.frames[i]);
        if (hp_seqtab_add(&ft.keys, &key, 1, &id) < 0) {
            rc = hp_fail(HP_ENOMEM, "out of memory");
            goto out;
        }
    }
    ft.other = (uint32_t)ft.keys.n;
    hp_sink_str(s, "{\"$schema\": \"https://www.speedscope.app/file-format-schema.json\",\n"
                   " \"exporter\": ");
    char who[64];
    snprintf(who, sizeof who, "heapprof-c %s", hp_version());
    hp_sink_json(s, who);
    hp_sink_str(s, ",\n \"name\": ");
    hp_sink_json(s, x->run.filebase);
    hp_sink_str(s, ",\n \"activeProfileIndex\": 0,\n \"shared\": {\"frames\": [");
    for (size_t i = 0; i < ft.keys.n; i++) {
        size_t n;
        uint64_t key = *hp_seqtab_key(&ft.keys, (uint32_t)i, &n);
        uint32_t file_id = (uint32_t)(key >> 32), line = (uint32_t)key;
        const char *file = hp_hpm_file_name(hpm, file_id), *src;
        if ((rc = hp_hpm_source_line(hpm, file_id, line, &src)) < 0)
            goto out;
        hp_sink_str(s, i ? ",\n  {\"name\": " : "\n  {\"name\": ");
        /* the name: "file:line" and the source text, as pprof's functions */
        size_t need = strlen(file ? file : "") + strlen(src) + 16;
        char *name = malloc(need);
        if (!name) {
            rc = hp_fail(HP_ENOMEM, "out of memory");
            goto out;
        }
        snprintf(name, need, *src ? "%s:%" PRIu32 " %s" : "%s:%" PRIu32 "%s", file ? file : "",
                 line, src);
        hp_sink_json(s, name);
        free(name);
        hp_sink_str(s, ", \"file\": ");
        hp_sink_json(s, file ? file : "");
        hp_sink_printf(s, ", \"line\": %" PRIu32 "}", line);
    }
    if (x->any_other)
        hp_sink_str(s, ft.keys.n ? ",\n  {\"name\": \"OTHER\"}" : "\n  {\"name\": \"OTHER\"}");
    hp_sink_str(s, "]},\n \"profiles\": [");
    for (size_t q = 0; q < x->nks && rc == HP_OK; q++) {
        hp_view again = {0}, *v = &x->first;
        if (q > 0) {
            if ((rc = hp_view_read(&again, &x->run, x->ks[q])) < 0)
                break;
            v = &again;
        }
        int64_t sum = 0;
        for (size_t i = 0; i < v->n; i++)
            if (v->e[i].trace && v->e[i].bytes > 0)
                sum += v->e[i].bytes;
        if (v->other > 0)
            sum += v->other;
        hp_sink_str(s, q ? ",\n  {\"type\": \"sampled\", \"name\": " : "\n  {\"type\": \"sampled\", \"name\": ");
        char pname[96], t[HP_MS_BUF];
        snprintf(pname, sizeof pname, "snapshot %zu at %s s", v->k, hp_format_ms(t, v->ms));
        hp_sink_json(s, pname);
        hp_sink_printf(s, ", \"unit\": \"bytes\", \"startValue\": 0, \"endValue\": %" PRId64
                          ",\n   \"samples\": [",
                       sum);
        int first = 1;
        for (size_t i = 0; i < v->n; i++) {
            const hp_frame *f;
            size_t depth;
            if (!v->e[i].trace || v->e[i].bytes <= 0 ||
                hp_stacks_get(&x->stacks, v->e[i].trace, &f, &depth) != HP_OK)
                continue;
            hp_sink_str(s, first ? "[" : ", [");
            first = 0;
            for (size_t j = 0; j < depth; j++) {
                uint64_t key = frame_key(&f[j]);
                hp_seqtab_find(&ft.keys, &key, 1, &id);
                if (j)
                    hp_sink_put(s, ",", 1);
                hp_sink_u64(s, id);
            }
            hp_sink_str(s, "]");
        }
        if (v->other > 0)
            hp_sink_printf(s, first ? "[%" PRIu32 "]" : ", [%" PRIu32 "]", ft.other);
        hp_sink_str(s, "],\n   \"weights\": [");
        first = 1;
        for (size_t i = 0; i < v->n; i++) {
            const hp_frame *f;
            size_t depth;
            if (!v->e[i].trace || v->e[i].bytes <= 0 ||
                hp_stacks_get(&x->stacks, v->e[i].trace, &f, &depth) != HP_OK)
                continue;
            if (!first)
                hp_sink_put(s, ", ", 2);
            hp_sink_i64(s, v->e[i].bytes);
            first = 0;
        }
        if (v->other > 0)
            hp_sink_printf(s, first ? "%" PRId64 : ", %" PRId64, v->other);
        hp_sink_str(s, "]}");
        hp_view_free(&again);
    }
    hp_sink_str(s, "\n ]}\n");
out:
    hp_seqtab_free(&ft.keys);
    return rc;
}

/* ---- the entry point ----------------------------------------------------- */

/* Reads the snapshots to export and resolves their stacks. */
static int prepare(exporter *x)
{
    const hp_export_options *o = x->o;
    size_t from, to, every = o->every ? o->every : 1;
    if (o->series) {
        HP_TRY(hp_run_find(&x->run, &o->from, &from));
        HP_TRY(hp_run_find(&x->run, &o->to, &to));
        if (from > to)
            return hp_fail(HP_EINVAL, "%s: the series starts at snapshot %zu, after its end (%zu)",
                           hp_run_hpc_path(&x->run), from, to);
    } else {
        HP_TRY(hp_run_find(&x->run, &o->at, &from));
        to = from;
    }
    x->nks = (to - from) / every + 1;
    x->ks = malloc(x->nks * sizeof *x->ks);
    if (!x->ks)
        return hp_fail(HP_ENOMEM, "out of memory");
    size_t kept = 0; /* traces asked for after the last compaction */
    for (size_t q = 0; q < x->nks; q++) {
        x->ks[q] = from + q * every;
        hp_view v, *vp = q == 0 ? &x->first : &v;
        HP_TRY(hp_view_read(vp, &x->run, x->ks[q]));
        int rc = hp_stacks_want_view(&x->stacks, vp);
        x->any_other |= vp->other > 0;
        if (q > 0)
            hp_view_free(&v);
        HP_TRY(rc);
        /* a long series names the same traces again and again: keep the
         * list of traces asked for near the number of distinct ones */
        if (x->stacks.n > 2 * kept + (1u << 20)) {
            HP_TRY(hp_stacks_compact(&x->stacks));
            kept = x->stacks.n;
        }
    }
    return hp_stacks_resolve(&x->stacks, &x->run);
}

int hp_export(const char *filebase, const hp_export_options *opts)
{
    hp_export_options defaults = HP_EXPORT_OPTIONS_INIT;
    const hp_export_options *o = opts ? opts : &defaults;
    if (o->version != HP_EXPORT_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_export_options version %u is not %u", o->version,
                       HP_EXPORT_OPTIONS_VERSION);
    if (!hp_export_format_name(o->format))
        return hp_fail(HP_EINVAL, "unknown export format %d", (int)o->format);
    if (o->series && o->format != HP_EXPORT_SPEEDSCOPE)
        return hp_fail(HP_EINVAL, "a series of snapshots is exported as speedscope only");
    exporter x = {.o = o};
    hp_sink s;
    char *path = NULL;
    int rc = hp_run_open(&x.run, filebase);
    if (rc == HP_OK)
        rc = prepare(&x);
    if (rc == HP_OK && !o->stream && !o->output) {
        char ext[32];
        snprintf(ext, sizeof ext, ".%s", formats[o->format].ext);
        if (!(path = hp_path_join(filebase, ext)))
            rc = hp_fail(HP_ENOMEM, "out of memory");
    }
    if (rc == HP_OK)
        rc = hp_sink_open(&s, path ? path : o->output, o->stream, x.run.inputs, 2);
    if (rc == HP_OK) {
        switch (o->format) {
        case HP_EXPORT_PPROF: rc = write_pprof(&x, &s); break;
        case HP_EXPORT_COLLAPSED: write_collapsed(&x, &s); break;
        case HP_EXPORT_SPEEDSCOPE: rc = write_speedscope(&x, &s); break;
        case HP_EXPORT_JSON: rc = write_table(&x, &s, 1); break;
        case HP_EXPORT_CSV: rc = write_table(&x, &s, 0); break;
        }
        uint64_t written = s.written;
        if (rc < 0)
            hp_sink_abort(&s);
        else
            rc = hp_sink_close(&s);
        if (rc == HP_OK && o->info)
            *o->info = (hp_export_info){
                .snapshot = x.first.k,
                .snapshots = x.nks,
                .relative_time = (double)x.first.ms / 1000.0,
                .total = x.first.total,
                .entries = x.first.n,
                .bytes = written,
            };
    }
    free(path);
    free(x.ks);
    hp_view_free(&x.first);
    hp_stacks_free(&x.stacks);
    hp_run_close(&x.run);
    return rc;
}
