/* timeline.c - hp_timeline(): one row per snapshot, the total, the traces
 * with the highest peaks, and the rest as "other".
 *
 * The columns are known only once every snapshot has been seen, so the
 * digest is read twice, each time in blocks of consecutive snapshots on
 * several threads (each with its own reader):
 *
 *   rank   each block keeps its own N best traces by peak in a small heap;
 *          the blocks' lists, merged, give the N best overall (a trace of
 *          the overall N is among the N best of the block where it peaks).
 *          A digest heapprof-c wrote stores entries by bytes descending, so
 *          once a block's heap is full, the rest of a snapshot, below the
 *          heap's lowest peak, can change nothing and is not decoded: a
 *          trace that belongs in the heap is never skipped at its peak.
 *   rows   each block adds every entry of its snapshots to its column or
 *          to "other" (read with a cursor, no copy); blocks are written in
 *          order, a few at a time.
 *
 * Memory is O(N) per block and thread plus one column index per trace index
 * up to the highest shown: never snapshots x traces. */
#include "error.h"
#include "grow.h"
#include "hpc_internal.h"
#include "intern.h"
#include "parallel.h"
#include "paths.h"
#include "sink.h"
#include "view.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

int hp_timeline_options_init(hp_timeline_options *opts, unsigned version)
{
    if (version != HP_TIMELINE_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_timeline_options version %u is not %u", version,
                       HP_TIMELINE_OPTIONS_VERSION);
    *opts = (hp_timeline_options)HP_TIMELINE_OPTIONS_INIT;
    return HP_OK;
}

typedef struct ranked {
    uint32_t trace;
    uint32_t id;    /* the worker's own number for the trace (rank pass) */
    int64_t peak;
} ranked;

/* Ranked lower: a lower peak, or the same peak and a higher trace index. */
static int below(ranked a, ranked b)
{
    return a.peak < b.peak || (a.peak == b.peak && a.trace > b.trace);
}

/* Highest peak first; ties by trace index. */
static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    return below(*x, *y) ? 1 : below(*y, *x) ? -1 : 0;
}

/* Snapshots per block: enough that a heap fills early in each. */
#define BLOCK 64

/* What one thread works with. */
typedef struct worker {
    hp_hpc *hpc;        /* its own reader */
    hp_seqtab ids;      /* rank: trace -> id in this block */
    int64_t *peak;      /* per id */
    uint32_t *pos;      /* per id: place in the heap + 1, or 0 */
    size_t cap, poscap;
    ranked *heap;       /* the block's best, lowest ranked at the root */
    size_t nheap;
} worker;

/* A block's outcome. */
typedef struct block {
    int rc;
    char *error;        /* the message when rc < 0 */
    ranked *top;        /* rank: the block's best */
    size_t ntop;
} block;

typedef struct timeline {
    hp_run run;
    size_t want;        /* N */
    int sorted;         /* entries are stored by bytes descending */
    int threads;
    worker *w;
    block *b;
    size_t nblocks;
    ranked *top;        /* the columns, best first */
    size_t ntop;
    int32_t *col;       /* per trace index: its column, or -1 */
    size_t ncol;
    char **label;
    hp_stacks stacks;
    int64_t *rows;      /* rows pass: per block of a wave, BLOCK rows of
                           total, the columns, other */
    size_t wave;        /* the first block of the wave being computed */
} timeline;

static void block_fail(block *b, int rc)
{
    b->rc = rc;
    b->error = strdup(hp_last_error());
}

/* ---- rank ------------------------------------------------------------------ */

static void heap_set(worker *w, size_t i, ranked r)
{
    w->heap[i] = r;
    w->pos[r.id] = (uint32_t)i + 1;
}

static void sift_down(worker *w, size_t i)
{
    ranked r = w->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->nheap)
            break;
        if (c + 1 < w->nheap && below(w->heap[c + 1], w->heap[c]))
            c++;
        if (!below(w->heap[c], r))
            break;
        heap_set(w, i, w->heap[c]);
        i = c;
    }
    heap_set(w, i, r);
}

static void sift_up(worker *w, size_t i)
{
    ranked r = w->heap[i];
    while (i > 0 && below(r, w->heap[(i - 1) / 2])) {
        heap_set(w, i, w->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(w, i, r);
}

/* A new peak for a trace: into the heap of the `want` best when it ranks. */
static void offer(worker *w, size_t want, ranked r)
{
    if (w->pos[r.id]) {
        w->heap[w->pos[r.id] - 1].peak = r.peak; /* it only rises: away from the root */
        sift_down(w, w->pos[r.id] - 1);
    } else if (w->nheap < want) {
        w->nheap++;
        heap_set(w, w->nheap - 1, r);
        sift_up(w, w->nheap - 1);
    } else if (below(w->heap[0], r)) {
        w->pos[w->heap[0].id] = 0;
        heap_set(w, 0, r);
        sift_down(w, 0);
    }
}

static int rank_snapshot(timeline *t, worker *w, size_t k)
{
    hp_record_cursor c;
    uint32_t tr;
    uint64_t b;
    const char *why;
    int rc;
    HP_TRY(hp_hpc_record(w->hpc, k, &c));
    while ((rc = hp_record_next(&c, &tr, &b, &why)) == 1) {
        int64_t v = (int64_t)b;
        if (t->sorted && w->nheap == t->want && v < w->heap[0].peak)
            return HP_OK; /* nothing below can rank */
        if (tr == 0)
            continue;
        uint64_t key = tr;
        uint32_t id;
        int added = hp_seqtab_add(&w->ids, &key, 1, &id);
        if (added < 0 || hp_grow(&w->peak, &w->cap, (size_t)id + 1, sizeof *w->peak, 256) < 0 ||
            hp_grow(&w->pos, &w->poscap, (size_t)id + 1, sizeof *w->pos, 256) < 0)
            return hp_fail(HP_ENOMEM, "out of memory");
        if (added) {
            w->peak[id] = INT64_MIN;
            w->pos[id] = 0;
        }
        if (v > w->peak[id]) {
            w->peak[id] = v;
            offer(w, t->want, (ranked){tr, id, v});
        }
    }
    return rc < 0 ? hp_hpc_record_fail(w->hpc, k, rc, why) : HP_OK;
}

static void rank_block(void *ctx, int i, int wi)
{
    timeline *t = ctx;
    worker *w = &t->w[wi];
    block *b = &t->b[i];
    size_t n = hp_hpc_length(w->hpc), first = (size_t)i * BLOCK;
    hp_seqtab_free(&w->ids);
    w->nheap = 0;
    for (size_t k = first; k < n && k < first + BLOCK; k++) {
        int rc = rank_snapshot(t, w, k);
        if (rc < 0) {
            block_fail(b, rc);
            return;
        }
    }
    if (w->nheap && !(b->top = malloc(w->nheap * sizeof *b->top))) {
        block_fail(b, hp_fail(HP_ENOMEM, "out of memory"));
        return;
    }
    memcpy(b->top, w->heap, w->nheap * sizeof *b->top);
    b->ntop = w->nheap;
}

static int by_trace(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->trace != y->trace)
        return x->trace < y->trace ? -1 : 1;
    return x->peak > y->peak ? -1 : x->peak < y->peak;
}

/* The first failed block's error, raised on this thread. */
static int blocks_failed(timeline *t, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (t->b[i].rc < 0)
            return hp_fail(t->b[i].rc, "%s", t->b[i].error ? t->b[i].error : "out of memory");
    return HP_OK;
}

static int rank(timeline *t)
{
    if (t->want == 0 || t->nblocks == 0)
        return HP_OK;
    hp_parallel_for((int)t->nblocks, t->threads, rank_block, t);
    HP_TRY(blocks_failed(t, 0, t->nblocks));
    size_t all = 0;
    for (size_t i = 0; i < t->nblocks; i++)
        all += t->b[i].ntop;
    ranked *m = malloc((all ? all : 1) * sizeof *m);
    if (!m)
        return hp_fail(HP_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < t->nblocks; i++) {
        memcpy(m + n, t->b[i].top, t->b[i].ntop * sizeof *m);
        n += t->b[i].ntop;
    }
    /* each trace once, with its highest peak, then the best first */
    qsort(m, n, sizeof *m, by_trace);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || m[i].trace != m[u - 1].trace)
            m[u++] = m[i];
    qsort(m, u, sizeof *m, cmp_ranked);
    t->top = m;
    t->ntop = u < t->want ? u : t->want;
    uint32_t hi = 0;
    for (size_t c = 0; c < t->ntop; c++)
        hi = t->top[c].trace > hi ? t->top[c].trace : hi;
    t->ncol = t->ntop ? (size_t)hi + 1 : 0;
    if (t->ncol && !(t->col = malloc(t->ncol * sizeof *t->col)))
        return hp_fail(HP_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->ncol; i++)
        t->col[i] = -1;
    for (size_t c = 0; c < t->ntop; c++)
        t->col[t->top[c].trace] = (int32_t)c;
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

/* ---- rows ------------------------------------------------------------------ */

/* Blocks per wave of the rows pass: the rows of a wave are kept until
 * written. */
#define WAVE_PER_THREAD 4

static void rows_block(void *ctx, int i, int wi)
{
    timeline *t = ctx;
    worker *w = &t->w[wi];
    size_t bi = t->wave + (size_t)i, width = t->ntop + 2;
    size_t n = hp_hpc_length(w->hpc), first = bi * BLOCK;
    int64_t *row = t->rows + (size_t)i * BLOCK * width;
    for (size_t k = first; k < n && k < first + BLOCK; k++, row += width) {
        hp_record_cursor c;
        uint32_t tr;
        uint64_t b, total = 0, shown = 0; /* wrapping sums, read as signed */
        const char *why;
        int rc = hp_hpc_record(w->hpc, k, &c);
        if (rc < 0) {
            block_fail(&t->b[bi], rc);
            return;
        }
        memset(row, 0, width * sizeof *row);
        while ((rc = hp_record_next(&c, &tr, &b, &why)) == 1) {
            total += b;
            if (tr < t->ncol && t->col[tr] >= 0) {
                row[1 + t->col[tr]] += (int64_t)b;
                shown += b;
            }
        }
        if (rc < 0) {
            block_fail(&t->b[bi], hp_hpc_record_fail(w->hpc, k, rc, why));
            return;
        }
        row[0] = (int64_t)total;
        row[width - 1] = (int64_t)(total - shown);
    }
}

static int write_rows(timeline *t, hp_sink *s, int json)
{
    size_t n = hp_hpc_length(t->run.hpc), width = t->ntop + 2;
    size_t per = (size_t)t->threads * WAVE_PER_THREAD;
    if (!(t->rows = malloc(per * BLOCK * width * sizeof *t->rows)))
        return hp_fail(HP_ENOMEM, "out of memory");
    for (t->wave = 0; t->wave < t->nblocks; t->wave += per) {
        size_t nb = t->nblocks - t->wave < per ? t->nblocks - t->wave : per;
        hp_parallel_for((int)nb, t->threads, rows_block, t);
        HP_TRY(blocks_failed(t, t->wave, t->wave + nb));
        for (size_t k = t->wave * BLOCK; k < n && k < (t->wave + nb) * BLOCK; k++) {
            const int64_t *row = t->rows + (k - t->wave * BLOCK) * width;
            hp_sink_str(s, json ? (k ? ",\n  [" : "\n  [") : "");
            hp_sink_ms(s, (uint64_t)k * t->run.interval_ms);
            for (size_t c = 0; c < width; c++) {
                hp_sink_put(s, json ? ", " : ",", json ? 2 : 1);
                hp_sink_i64(s, row[c]);
            }
            hp_sink_str(s, json ? "]" : "\n");
        }
        if (s->rc < 0)
            return s->rc;
    }
    if (json)
        hp_sink_str(s, n ? "\n ]}\n" : "]}\n");
    return HP_OK;
}

/* ---- the entry point ----------------------------------------------------------- */

static int start_workers(timeline *t, int threads)
{
    size_t n = hp_hpc_length(t->run.hpc);
    t->nblocks = (n + BLOCK - 1) / BLOCK;
    t->threads = threads > 0 ? threads : omp_get_max_threads();
    if (t->threads > HP_MAX_THREADS)
        t->threads = HP_MAX_THREADS;
    if ((size_t)t->threads > t->nblocks)
        t->threads = t->nblocks ? (int)t->nblocks : 1;
    hp_digest_params params;
    t->sorted = hp_hpc_recorded_params(t->run.hpc, &params) == HP_OK;
    t->w = calloc((size_t)t->threads, sizeof *t->w);
    t->b = calloc(t->nblocks ? t->nblocks : 1, sizeof *t->b);
    if (!t->w || !t->b)
        return hp_fail(HP_ENOMEM, "out of memory");
    for (int i = 0; i < t->threads; i++) {
        HP_TRY(hp_hpc_open_path(&t->w[i].hpc, hp_run_hpc_path(&t->run)));
        if (t->want && !(t->w[i].heap = malloc(t->want * sizeof *t->w[i].heap)))
            return hp_fail(HP_ENOMEM, "out of memory");
    }
    return HP_OK;
}

static void stop_workers(timeline *t)
{
    for (int i = 0; t->w && i < t->threads; i++) {
        hp_hpc_close(t->w[i].hpc);
        hp_seqtab_free(&t->w[i].ids);
        free(t->w[i].peak);
        free(t->w[i].pos);
        free(t->w[i].heap);
    }
    for (size_t i = 0; t->b && i < t->nblocks; i++) {
        free(t->b[i].top);
        free(t->b[i].error);
    }
    free(t->w);
    free(t->b);
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
    if (o->threads < 0 || o->threads > HP_MAX_THREADS)
        return hp_fail(HP_EINVAL, "invalid thread count %d", o->threads);
    int json = o->format == HP_TABLE_JSON;
    timeline t = {.want = o->top};
    char *path = NULL;
    hp_sink s;
    int rc = hp_run_open(&t.run, filebase);
    if (rc == HP_OK)
        rc = start_workers(&t, o->threads);
    if (rc == HP_OK)
        rc = rank(&t);
    if (rc == HP_OK)
        rc = make_labels(&t);
    if (rc == HP_OK && !o->stream && !o->output &&
        !(path = hp_path_join(filebase, json ? ".timeline.json" : ".timeline.csv")))
        rc = hp_fail(HP_ENOMEM, "out of memory");
    if (rc == HP_OK &&
        (rc = hp_sink_open(&s, path ? path : o->output, o->stream, t.run.inputs, 2)) == HP_OK) {
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
    free(t.rows);
    free(t.top);
    free(t.col);
    free(path);
    stop_workers(&t);
    hp_stacks_free(&t.stacks);
    hp_run_close(&t.run);
    return rc;
}
