/* pprof.c - profile.proto with protobuf-c, gzip with zlib (see pprof.h). */
#include "pprof.h"

#include "error.h"
#include "grow.h"
#include "hpm_internal.h"
#include "intern.h"
#include "profile.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* The key of the OTHER location: no (file, line) packs to it. */
#define OTHER_KEY UINT64_MAX

typedef struct function {
    int64_t name, file;
    uint32_t line;
} function;

struct hp_pprof {
    hp_strtab strings;
    hp_seqtab keys;         /* (file << 32 | line) or OTHER_KEY: function/location id - 1 */
    function *functions;
    size_t functions_cap;
    uint64_t *locs;         /* every sample's locations, back to back */
    size_t nlocs, locs_cap;
    size_t *start;          /* sample i: locs[start[i] .. start[i + 1]) */
    size_t start_cap;
    int64_t *values;
    size_t nsamples, values_cap;
    int64_t *comments;
    size_t ncomments, comments_cap;
    int64_t type, bytes, space, python;
    int64_t time_nanos;
    char *name;             /* scratch for function names */
    size_t name_cap;
};

static int oom(void) { return hp_fail(HP_ENOMEM, "out of memory building a pprof profile"); }

int hp_pprof_string(hp_pprof *p, const char *s, int64_t *index)
{
    uint32_t id;
    if (hp_strtab_add(&p->strings, s, strlen(s), &id) < 0)
        return oom();
    *index = id;
    return HP_OK;
}

int hp_pprof_new(hp_pprof **out, const char *type)
{
    hp_pprof *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return oom();
    int64_t empty;
    int rc;
    if ((rc = hp_pprof_string(p, "", &empty)) < 0 || (rc = hp_pprof_string(p, type, &p->type)) < 0 ||
        (rc = hp_pprof_string(p, "bytes", &p->bytes)) < 0 ||
        (rc = hp_pprof_string(p, "space", &p->space)) < 0 ||
        (rc = hp_pprof_string(p, "python", &p->python)) < 0 ||
        hp_grow(&p->start, &p->start_cap, 1, sizeof *p->start, 256) < 0) {
        hp_pprof_free(p);
        return rc < 0 ? rc : oom();
    }
    p->start[0] = 0;
    *out = p;
    return HP_OK;
}

void hp_pprof_free(hp_pprof *p)
{
    if (!p)
        return;
    hp_strtab_free(&p->strings);
    hp_seqtab_free(&p->keys);
    free(p->functions);
    free(p->locs);
    free(p->start);
    free(p->values);
    free(p->comments);
    free(p->name);
    free(p);
}

static int add_function(hp_pprof *p, uint64_t key, int64_t name, int64_t file, uint32_t line,
                        uint64_t *id)
{
    uint32_t k;
    int added = hp_seqtab_add(&p->keys, &key, 1, &k);
    if (added < 0 || hp_grow(&p->functions, &p->functions_cap, (size_t)k + 1,
                             sizeof *p->functions, 256) < 0)
        return oom();
    if (added)
        p->functions[k] = (function){name, file, line};
    *id = (uint64_t)k + 1;
    return HP_OK;
}

int hp_pprof_find_location(const hp_pprof *p, int64_t file, uint32_t line, uint64_t *id)
{
    uint64_t key = (uint64_t)file << 32 | line;
    uint32_t k;
    if (!hp_seqtab_find(&p->keys, &key, 1, &k))
        return 0;
    *id = (uint64_t)k + 1;
    return 1;
}

int hp_pprof_location(hp_pprof *p, int64_t file, uint32_t line, const char *source, uint64_t *id)
{
    uint64_t key = (uint64_t)file << 32 | line;
    if (hp_pprof_find_location(p, file, line, id))
        return HP_OK;
    const char *fname = p->strings.str[file];
    size_t need = strlen(fname) + strlen(source) + 16;
    if (hp_grow(&p->name, &p->name_cap, need, 1, 256) < 0)
        return oom();
    snprintf(p->name, need, *source ? "%s:%" PRIu32 " %s" : "%s:%" PRIu32 "%s", fname, line, source);
    int64_t name = 0;
    HP_TRY(hp_pprof_string(p, p->name, &name));
    return add_function(p, key, name, file, line, id);
}

int hp_pprof_stack(hp_pprof *p, hp_pprof_files *files, hp_hpm *hpm, const hp_frame *frames,
                   size_t depth, uint64_t **locs, size_t *cap)
{
    if (hp_grow(locs, cap, depth ? depth : 1, sizeof **locs, 64) < 0)
        return oom();
    for (size_t i = 0; i < depth; i++) {
        const hp_frame *f = &frames[depth - 1 - i]; /* leaf first */
        if (f->file_id >= files->n) {
            size_t n = files->n;
            if (hp_grow(&files->index, &files->n, (size_t)f->file_id + 1, sizeof *files->index, 64) < 0)
                return oom();
            memset(files->index + n, 0, (files->n - n) * sizeof *files->index);
        }
        if (!files->index[f->file_id]) {
            const char *name = hp_hpm_file_name(hpm, f->file_id);
            HP_TRY(hp_pprof_string(p, name ? name : "", &files->index[f->file_id]));
        }
        int64_t file = files->index[f->file_id];
        if (!hp_pprof_find_location(p, file, f->lineno, &(*locs)[i])) {
            const char *src;
            HP_TRY(hp_hpm_source_line(hpm, f->file_id, f->lineno, &src));
            HP_TRY(hp_pprof_location(p, file, f->lineno, src, &(*locs)[i]));
        }
    }
    return HP_OK;
}

int hp_pprof_other(hp_pprof *p, uint64_t *id)
{
    uint64_t key = OTHER_KEY;
    uint32_t k;
    if (hp_seqtab_find(&p->keys, &key, 1, &k)) {
        *id = (uint64_t)k + 1;
        return HP_OK;
    }
    int64_t name = 0;
    HP_TRY(hp_pprof_string(p, "OTHER", &name));
    return add_function(p, key, name, 0, 0, id);
}

int hp_pprof_sample(hp_pprof *p, const uint64_t *locations, size_t n, int64_t value)
{
    if (hp_grow(&p->locs, &p->locs_cap, p->nlocs + n, sizeof *p->locs, 1024) < 0 ||
        hp_grow(&p->start, &p->start_cap, p->nsamples + 2, sizeof *p->start, 256) < 0 ||
        hp_grow(&p->values, &p->values_cap, p->nsamples + 1, sizeof *p->values, 256) < 0)
        return oom();
    if (n)
        memcpy(p->locs + p->nlocs, locations, n * sizeof *locations);
    p->nlocs += n;
    p->values[p->nsamples] = value;
    p->start[++p->nsamples] = p->nlocs;
    return HP_OK;
}

size_t hp_pprof_samples(const hp_pprof *p) { return p->nsamples; }

void hp_pprof_time(hp_pprof *p, int64_t time_nanos) { p->time_nanos = time_nanos; }

int hp_pprof_comment(hp_pprof *p, const char *text)
{
    int64_t s = 0;
    HP_TRY(hp_pprof_string(p, text, &s));
    if (hp_grow(&p->comments, &p->comments_cap, p->ncomments + 1, sizeof *p->comments, 8) < 0)
        return oom();
    p->comments[p->ncomments++] = s;
    return HP_OK;
}

/* ---- packing: protobuf-c writes into zlib, zlib into the sink ------------ */

typedef struct gz_buffer {
    ProtobufCBuffer base; /* first: protobuf-c calls base.append */
    z_stream z;
    hp_sink *sink;
    int rc;
    uint8_t out[64 << 10];
} gz_buffer;

static void deflate_some(gz_buffer *g, int flush)
{
    int zr;
    do {
        g->z.next_out = g->out;
        g->z.avail_out = sizeof g->out;
        zr = deflate(&g->z, flush);
        if (zr == Z_STREAM_ERROR) {
            g->rc = hp_fail(HP_EIO, "%s: zlib deflate failed", g->sink->name);
            return;
        }
        hp_sink_put(g->sink, g->out, sizeof g->out - g->z.avail_out);
    } while (g->z.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
}

static void gz_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
    gz_buffer *g = (gz_buffer *)buffer;
    while (len > 0 && g->rc == HP_OK) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        g->z.next_in = (Bytef *)(uintptr_t)data; /* zlib does not write its input */
        g->z.avail_in = n;
        deflate_some(g, Z_NO_FLUSH);
        data += n;
        len -= n;
    }
}

int hp_pprof_write(hp_pprof *p, hp_sink *s)
{
    size_t nf = p->keys.n, ns = p->nsamples;
    int rc = HP_OK;
    Perftools__Profiles__Profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
    Perftools__Profiles__ValueType st = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    Perftools__Profiles__ValueType pt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    Perftools__Profiles__ValueType *stp = &st;
    /* one mapping, already symbolized: pprof then looks for no binary */
    Perftools__Profiles__Mapping map = PERFTOOLS__PROFILES__MAPPING__INIT;
    Perftools__Profiles__Mapping *mapp = &map;
    Perftools__Profiles__Sample *samples = calloc(ns ? ns : 1, sizeof *samples);
    Perftools__Profiles__Sample **sp = calloc(ns ? ns : 1, sizeof *sp);
    Perftools__Profiles__Function *funcs = calloc(nf ? nf : 1, sizeof *funcs);
    Perftools__Profiles__Function **fp = calloc(nf ? nf : 1, sizeof *fp);
    Perftools__Profiles__Location *locs = calloc(nf ? nf : 1, sizeof *locs);
    Perftools__Profiles__Location **lp = calloc(nf ? nf : 1, sizeof *lp);
    Perftools__Profiles__Line *lines = calloc(nf ? nf : 1, sizeof *lines);
    Perftools__Profiles__Line **linep = calloc(nf ? nf : 1, sizeof *linep);
    gz_buffer *g = calloc(1, sizeof *g);
    if (!samples || !sp || !funcs || !fp || !locs || !lp || !lines || !linep || !g) {
        rc = oom();
        goto out;
    }
    st.type = p->type;
    st.unit = p->bytes;
    pt.type = p->space;
    pt.unit = p->bytes;
    for (size_t i = 0; i < ns; i++) {
        perftools__profiles__sample__init(&samples[i]);
        samples[i].n_location_id = p->start[i + 1] - p->start[i];
        samples[i].location_id = p->locs + p->start[i];
        samples[i].n_value = 1;
        samples[i].value = p->values + i;
        sp[i] = &samples[i];
    }
    for (size_t i = 0; i < nf; i++) {
        const function *f = &p->functions[i];
        perftools__profiles__function__init(&funcs[i]);
        funcs[i].id = i + 1;
        funcs[i].name = f->name;
        /* no system name: pprof "demangles" a function whose name equals
         * its system name, cutting (...) and <...> out of it, which would
         * maim source text and names such as "<frozen importlib._bootstrap>" */
        funcs[i].system_name = 0;
        funcs[i].filename = f->file;
        funcs[i].start_line = f->line;
        fp[i] = &funcs[i];
        perftools__profiles__line__init(&lines[i]);
        lines[i].function_id = i + 1;
        lines[i].line = f->line;
        linep[i] = &lines[i];
        perftools__profiles__location__init(&locs[i]);
        locs[i].id = i + 1;
        locs[i].mapping_id = 1;
        locs[i].n_line = 1;
        locs[i].line = &linep[i];
        lp[i] = &locs[i];
    }
    prof.n_sample_type = 1;
    prof.sample_type = &stp;
    prof.n_sample = ns;
    prof.sample = sp;
    map.id = 1;
    map.filename = p->python;
    map.has_functions = map.has_filenames = map.has_line_numbers = 1;
    prof.n_mapping = 1;
    prof.mapping = &mapp;
    prof.n_location = nf;
    prof.location = lp;
    prof.n_function = nf;
    prof.function = fp;
    prof.n_string_table = p->strings.n;
    prof.string_table = p->strings.str;
    prof.time_nanos = p->time_nanos;
    prof.period_type = &pt;
    prof.n_comment = p->ncomments;
    prof.comment = p->comments;
    prof.default_sample_type = p->type;

    g->base.append = gz_append;
    g->sink = s;
    /* gzip wrapping (15 + 16); zlib's header then has time 0 and no name */
    /* level 1, as Go's runtime/pprof: the profile is small next to the
     * time a higher level costs on a million samples */
    if (deflateInit2(&g->z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        rc = oom();
        goto out;
    }
    protobuf_c_message_pack_to_buffer(&prof.base, &g->base);
    if (g->rc == HP_OK) {
        g->z.next_in = NULL;
        g->z.avail_in = 0;
        deflate_some(g, Z_FINISH);
    }
    deflateEnd(&g->z);
    rc = g->rc;
out:
    free(g);
    free(samples);
    free(sp);
    free(funcs);
    free(fp);
    free(locs);
    free(lp);
    free(lines);
    free(linep);
    return rc;
}
