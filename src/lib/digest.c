/* digest.c - HPC.make: the parallel digester.
 *
 * The .hpd is processed in waves of up to T chunks (T threads), each chunk a
 * byte range of the mapped file:
 *
 *   A  parallel  Each chunk finds its first event by speculative
 *                resynchronisation (the first offset from which a run of
 *                events is valid; the wave's first chunk starts exactly where
 *                the last wave ended) and decodes its events into compact
 *                arrays: local time, trace, scaled signed size.
 *   B  serial    The chain is verified: chunk i must start exactly where chunk
 *                i-1's decoding stopped, else chunk i is decoded again from
 *                there (the sequential fallback). The chunks' durations are
 *                prefix-summed into their global start times.
 *   C1 parallel  Each chunk sums its sizes per trace (sparse totals).
 *   C2 parallel  A chunk that crosses snapshot boundaries loads the live state
 *                at its start (global state + totals of the chunks before it)
 *                and emits the snapshots at the boundaries it crosses, already
 *                sorted, cut and encoded.
 *   D  serial    Records are handed to the writer in chunk order; the writer
 *                compresses frames in parallel. The global state advances by
 *                every chunk's totals.
 *
 * Snapshot k holds every event at relative time <= k*I, and is emitted just
 * before the first event later than k*I (runs of identical snapshots are
 * emitted once with a repeat count); the last one, ceil(R/I), at the end. The
 * result depends on nothing but the input and the parameters: not on T, nor
 * on the chunk size. Memory: T chunk buffers and T live states, never the
 * number of events or snapshots x traces. */
#include "error.h"
#include "event.h"
#include "hpc_format.h"
#include "hpcwrite.h"
#include "hpm_internal.h"
#include "livestate.h"
#include "mapfile.h"
#include "parallel.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define MAX_SNAPSHOTS (1ull << 32)
#define OUT_PAUSE_BYTES (32u << 20) /* a chunk pauses its emission past this */
#define MIN_CHUNK (64u << 10)
/* Every wave ends in serial work (verification, the global order, the
 * hand-off to the writer), so fewer, larger chunks are faster; their decoded
 * events (about 3 bytes per .hpd byte) are what memory holds. A wave holds
 * at most WAVE_BUDGET of .hpd, each chunk between 4 and 16 MiB. */
#define WAVE_BUDGET (48u << 20)
#define MAX_CHUNK_FEW (16u << 20)
#define MAX_CHUNK_MANY (4u << 20)

typedef struct record {
    size_t off, len;
    uint64_t repeat;
} record;

typedef struct chunk {
    size_t start, end;      /* decode the events that start in [start, end) */
    size_t actual_end;      /* where decoding stopped */

    uint64_t *t;            /* local time after each event, microseconds */
    uint32_t *tr;
    int64_t *dl;
    size_t n, cap;
    uint64_t duration;
    uint32_t max_trace;

    int err_reason;         /* strict: the invalid event that stopped it */
    size_t err_off;
    size_t trunc_bytes;     /* a partial final event */
    uint32_t bound_used;    /* the trace bound it was decoded with */
    hp_skip *skips;         /* salvage */
    size_t nskips, skips_cap;

    uint32_t *tot_tr;       /* C1: sparse totals */
    int64_t *tot_dl;
    size_t ntot;

    uint64_t t0;            /* global time at the chunk's start */
    size_t pos;             /* C2: next event to apply */
    uint64_t next_k, next_boundary;
    int emitting, finished;
    uint8_t *out;           /* C2: encoded records */
    size_t out_len, out_cap;
    record *recs;
    size_t nrecs, recs_cap;
    uint64_t neg_snapshots;
    int oom;
} chunk;

typedef struct engine {
    const hp_map *map;
    const hp_scale *scale;
    const char *path;         /* of the .hpd, for messages */
    uint32_t ntraces;
    uint32_t bound;           /* highest valid trace index known so far */
    uint64_t interval_us;
    double precision;
    const hp_make_options *o;
    int threads;
    size_t chunk_bytes;
    chunk *chunks;
    hp_live_state *states;
    hp_live_state global;     /* the state after every wave so far, sorted */
    uint64_t time;            /* global time of the last event so far */
    size_t pos;               /* byte offset of the next wave */
    size_t end;               /* digest the events that start before this */
    hp_hpc_writer *w;
    hp_make_report *rep;
} engine;

static int engine_alloc_states(engine *e);

/* ---- A: decoding ---------------------------------------------------------- */

static int grow_events(chunk *c)
{
    size_t cap = c->cap ? c->cap * 2 : 4096;
    uint64_t *t = realloc(c->t, cap * sizeof *t);
    if (t)
        c->t = t;
    uint32_t *tr = t ? realloc(c->tr, cap * sizeof *tr) : NULL;
    if (tr)
        c->tr = tr;
    int64_t *dl = tr ? realloc(c->dl, cap * sizeof *dl) : NULL;
    if (!dl)
        return -1;
    c->dl = dl;
    c->cap = cap;
    return 0;
}

static int add_skip(chunk *c, hp_skip s)
{
    if (c->nskips == c->skips_cap) {
        size_t cap = c->skips_cap ? 2 * c->skips_cap : 16;
        hp_skip *p = realloc(c->skips, cap * sizeof *p);
        if (!p)
            return -1;
        c->skips = p;
        c->skips_cap = cap;
    }
    c->skips[c->nskips++] = s;
    return 0;
}

/* Decodes the events that start in [start, end) into the chunk. */
static void decode_chunk(const engine *e, chunk *c, size_t start, size_t end, uint32_t bound)
{
    const uint8_t *data = e->map->data, *dend = data + e->map->size;
    size_t size = e->map->size, off = start;
    uint64_t t = 0;
    uint32_t max_trace = 0;
    size_t n = 0;
    c->start = start;
    c->bound_used = bound;
    c->err_reason = 0;
    c->trunc_bytes = 0;
    c->nskips = 0;
    c->oom = 0;
    while (off < end) {
        hp_raw_event ev;
        int len = hp_event_decode(data + off, dend, bound, &ev);
        if (len > 0) {
            if (n == c->cap && grow_events(c) < 0) {
                c->oom = 1;
                break;
            }
            uint64_t adv = hp_event_advance_us(&ev);
            t = hp_time_add(t, adv);
            uint32_t trace = ev.word & HP_EV_TRACE_MASK;
            int64_t scaled = hp_scale_apply(e->scale, ev.size);
            max_trace = trace > max_trace ? trace : max_trace;
            c->t[n] = t;
            c->tr[n] = trace;
            c->dl[n] = (ev.word & HP_EV_FREE) ? -scaled : scaled;
            n++;
            off += (size_t)len;
        } else if (len == 0) {
            c->trunc_bytes = size - off;
            off = size;
        } else if (!e->o->salvage) {
            c->err_reason = -len;
            c->err_off = off;
            break;
        } else {
            size_t next = hp_resync(data, size, off + 1, bound);
            if (add_skip(c, (hp_skip){off, next - off, -len}) < 0) {
                c->oom = 1;
                break;
            }
            off = next;
        }
    }
    c->n = n;
    c->duration = t;
    c->max_trace = max_trace;
    c->actual_end = off;
}

/* ---- the trace count, concurrently with the first wave -------------------- */

typedef struct counter {
    const hp_hpm *hpm;
    uint32_t count;
    int rc;
    char msg[1024];
} counter;

static void *count_main(void *arg)
{
    counter *c = arg;
    c->rc = hp_hpm_count_traces_readonly(c->hpm, &c->count);
    if (c->rc < 0)
        snprintf(c->msg, sizeof c->msg, "%s", hp_last_error());
    return NULL;
}

/* ---- C: totals and emission ----------------------------------------------- */

static int chunk_totals(chunk *c, hp_live_state *st)
{
    for (size_t i = 0; i < c->n; i++) {
        uint32_t tr = c->tr[i];
        st->acc[tr] = hp_wrap_add(st->acc[tr], c->dl[i]);
        if (!st->dirty[tr]) {
            st->dirty[tr] = 1;
            st->dirty_list[st->ndirty++] = tr;
        }
    }
    free(c->tot_tr);
    free(c->tot_dl);
    c->ntot = st->ndirty;
    c->tot_tr = malloc((c->ntot + 1) * sizeof *c->tot_tr);
    c->tot_dl = malloc((c->ntot + 1) * sizeof *c->tot_dl);
    for (size_t i = 0; i < st->ndirty; i++) {
        uint32_t tr = st->dirty_list[i];
        if (c->tot_tr) {
            c->tot_tr[i] = tr;
            c->tot_dl[i] = st->acc[tr];
        }
        st->acc[tr] = 0;
        st->dirty[tr] = 0;
    }
    st->ndirty = 0;
    return c->tot_tr && c->tot_dl ? 0 : -1;
}

static void apply_totals(hp_live_state *st, const chunk *c)
{
    for (size_t i = 0; i < c->ntot; i++)
        hp_live_add(st, c->tot_tr[i], c->tot_dl[i]);
}

static uint64_t boundary_of(uint64_t k, uint64_t interval_us)
{
    return k > UINT64_MAX / interval_us ? UINT64_MAX : k * interval_us;
}

/* Emits `repeat` copies of the state's snapshot into the chunk's output. */
static int emit(const engine *e, chunk *c, hp_live_state *st, uint64_t repeat)
{
    if (c->nrecs == c->recs_cap) {
        size_t cap = c->recs_cap ? 2 * c->recs_cap : 64;
        record *r = realloc(c->recs, cap * sizeof *r);
        if (!r)
            return -1;
        c->recs = r;
        c->recs_cap = cap;
    }
    size_t before = c->out_len;
    if (hp_live_encode(st, e->precision, &c->out, &c->out_len, &c->out_cap) < 0)
        return -1;
    c->recs[c->nrecs++] = (record){before, c->out_len - before, repeat};
    if (st->nneg > 0)
        c->neg_snapshots += repeat;
    return 0;
}

/* Applies the chunk's events from c->pos, emitting each boundary it passes;
 * returns early (to be resumed) once its output passes OUT_PAUSE_BYTES.
 * Events after the chunk's last boundary are not applied: no snapshot of
 * this chunk holds them, and the global state gets them from the totals. */
static void emit_run(const engine *e, chunk *c, hp_live_state *st)
{
    uint64_t I = e->interval_us, t_last = c->t0 + c->t[c->n - 1];
    for (; c->pos < c->n && c->next_boundary < t_last; c->pos++) {
        uint64_t t = c->t0 + c->t[c->pos];
        if (t > c->next_boundary) {
            uint64_t last_k = (t - 1) / I; /* every k with k*I < t */
            if (emit(e, c, st, last_k - c->next_k + 1) < 0) {
                c->oom = 1;
                break;
            }
            c->next_k = last_k + 1;
            c->next_boundary = boundary_of(c->next_k, I);
            if (c->out_len > OUT_PAUSE_BYTES)
                return;
        }
        hp_live_add(st, c->tr[c->pos], c->dl[c->pos]);
    }
    c->finished = 1;
}

/* ---- the waves -------------------------------------------------------------- */

static int fail_event(const engine *e, size_t off, int reason)
{
    return hp_fail(HP_EFORMAT, "%s: offset %zu: invalid event: %s", e->path, off,
                   hp_damage_reason_str(reason));
}

static int oom(const engine *e) { return hp_fail(HP_ENOMEM, "%s: out of memory", e->path); }

/* Phase B: verify the chain, settle the trace bound, place chunks in time. */
static int settle(engine *e, int nch, counter *cnt, pthread_t *count_thread)
{
    if (count_thread) { /* the count ran beside phase A */
        pthread_join(*count_thread, NULL);
        if (cnt->rc < 0)
            return hp_fail(cnt->rc, "%s", cnt->msg);
        e->ntraces = e->bound = cnt->count;
    }
    uint64_t t0 = e->time;
    for (int i = 0; i < nch; i++) {
        chunk *c = &e->chunks[i];
        size_t expect = i == 0 ? e->pos : e->chunks[i - 1].actual_end;
        int redo = c->start != expect;
        if (redo)
            e->rep->resyncs_failed++;
        /* decoded before the trace count was known: an event past the
         * bound, or a partial final event whose trace word already is,
         * must be found again with the real bound */
        if (redo || c->max_trace > e->bound || (c->trunc_bytes && c->bound_used > e->bound))
            decode_chunk(e, c, expect, c->end > expect ? c->end : expect, e->bound);
        if (c->oom)
            return oom(e);
        if (c->err_reason)
            return fail_event(e, c->err_off, c->err_reason);
        for (size_t s = 0; s < c->nskips; s++) {
            if (e->rep->skips++ == 0)
                e->rep->first_skip_offset = c->skips[s].offset;
            e->rep->skipped_bytes += c->skips[s].length;
            if (e->o->on_skip)
                e->o->on_skip(e->o->skip_ctx, &c->skips[s]);
        }
        e->rep->truncated_bytes += c->trunc_bytes;
        e->rep->events += c->n;
        c->t0 = t0;
        t0 = hp_time_add(t0, c->duration);
    }
    uint64_t snapshots = t0 / e->interval_us + 2;
    if (snapshots > MAX_SNAPSHOTS)
        return hp_fail(HP_ELIMIT,
                       "%s: offset %zu: the profile spans %.0f s, over %llu snapshots at this "
                       "interval (a damaged stream? try --salvage or a longer interval)",
                       e->path, e->chunks[nch - 1].actual_end, (double)t0 * 1e-6,
                       (unsigned long long)MAX_SNAPSHOTS);
    return HP_OK;
}

typedef struct emit_ctx {
    engine *e;
    int first; /* chunks before it are written */
} emit_ctx;

/* Phase C2 for one chunk: emission from where it paused. */
static void emit_chunk(void *arg, int i, int worker)
{
    emit_ctx *ctx = arg;
    (void)worker;
    engine *e = ctx->e;
    i += ctx->first;
    chunk *c = &e->chunks[i];
    hp_live_state *st = &e->states[i];
    if (c->finished || c->out_len > OUT_PAUSE_BYTES)
        return;
    if (c->pos == 0) { /* the state at the chunk's start, its order repaired */
        hp_live_copy(st, &e->global);
        for (int j = 0; j < i; j++)
            apply_totals(st, &e->chunks[j]);
    }
    emit_run(e, c, st);
}

/* Phase C2 and D: emission rounds, records written in chunk order. */
static int emit_and_write(engine *e, int nch)
{
    for (int i = 0; i < nch; i++) {
        chunk *c = &e->chunks[i];
        c->out_len = c->nrecs = 0;
        c->neg_snapshots = 0;
        c->pos = 0;
        c->next_k = (c->t0 + e->interval_us - 1) / e->interval_us;
        c->next_boundary = boundary_of(c->next_k, e->interval_us);
        c->emitting = c->n > 0 && c->t0 + c->t[c->n - 1] > c->next_boundary;
        c->finished = !c->emitting;
    }
    int flushed = 0; /* chunks [0, flushed) are written */
    while (flushed < nch) {
        double t0 = omp_get_wtime();
        emit_ctx ctx = {e, flushed};
        hp_parallel_for(nch - flushed, e->threads, emit_chunk, &ctx);
        double t1 = omp_get_wtime(), busy = hp_hpc_writer_busy(e->w);
        e->rep->t_reduce += t1 - t0;
        for (; flushed < nch; flushed++) {
            chunk *c = &e->chunks[flushed];
            if (c->oom)
                return oom(e);
            for (size_t r = 0; r < c->nrecs; r++)
                HP_TRY(hp_hpc_writer_add(e->w, c->out + c->recs[r].off, c->recs[r].len,
                                         c->recs[r].repeat));
            e->rep->negative_snapshots += c->neg_snapshots;
            c->out_len = c->nrecs = 0;
            c->neg_snapshots = 0;
            if (!c->finished)
                break;
        }
        /* the writer reports its own compress and write time at the end */
        e->rep->t_write += omp_get_wtime() - t1 - (hp_hpc_writer_busy(e->w) - busy);
        if (e->o->cancel && *e->o->cancel)
            return hp_fail(HP_ECANCELED, "%s: cancelled", e->path);
    }
    for (int i = 0; i < nch; i++)
        apply_totals(&e->global, &e->chunks[i]);
    hp_live_sort(&e->global); /* once a wave, so chunks copy a sorted state */
    return HP_OK;
}

/* Phase A, speculation: chunk i+1 starts at the first offset from which a
 * run of events is valid. */
static void resync_chunk(void *arg, int i, int worker)
{
    engine *e = arg;
    (void)worker;
    chunk *c = &e->chunks[i + 1];
    c->start = hp_resync_run(e->map->data, e->map->size, c->start, e->bound, HP_SPLIT_RUN);
}

static void decode_chunk_at(void *arg, int i, int worker)
{
    engine *e = arg;
    (void)worker;
    chunk *c = &e->chunks[i];
    decode_chunk(e, c, c->start, c->end > c->start ? c->end : c->start, e->bound);
}

/* Phase C1 for one chunk. */
static void total_chunk(void *arg, int i, int worker)
{
    engine *e = arg;
    (void)worker;
    if (chunk_totals(&e->chunks[i], &e->states[i]) < 0)
        e->chunks[i].oom = 1;
}

static int run_wave(engine *e, counter *cnt, pthread_t *count_thread)
{
    size_t size = e->end;
    int nch = 0;
    for (size_t off = e->pos; nch < e->threads && off < size; off += e->chunk_bytes, nch++) {
        e->chunks[nch].start = off;
        e->chunks[nch].end = size - off > e->chunk_bytes ? off + e->chunk_bytes : size;
    }
    double t0 = omp_get_wtime();
    hp_parallel_for(nch - 1, e->threads, resync_chunk, e);
    double t1 = omp_get_wtime();
    hp_parallel_for(nch, e->threads, decode_chunk_at, e);
    double t2 = omp_get_wtime();
    HP_TRY(settle(e, nch, cnt, count_thread));
    if (!e->states) /* the trace count is known from here on */
        HP_TRY(engine_alloc_states(e));
    double t3 = omp_get_wtime();
    hp_parallel_for(nch, e->threads, total_chunk, e);
    for (int i = 0; i < nch; i++)
        if (e->chunks[i].oom)
            return oom(e);
    double t4 = omp_get_wtime();
    e->rep->t_split += (t1 - t0) + (t3 - t2);
    e->rep->t_bin += (t2 - t1) + (t4 - t3);
    HP_TRY(emit_and_write(e, nch));
    chunk *last = &e->chunks[nch - 1];
    e->time = last->t0 + last->duration;
    /* the mapped pages of this wave are done with: keep RSS to a window */
    hp_map_dontneed(e->map, e->pos, last->actual_end - e->pos);
    e->pos = last->actual_end;
    return HP_OK;
}

/* The last snapshot, ceil(R/I): every event. */
static int emit_final(engine *e)
{
    chunk *c = &e->chunks[0];
    hp_live_state *st = &e->states[0];
    hp_live_copy(st, &e->global);
    c->out_len = c->nrecs = 0;
    c->neg_snapshots = 0;
    if (emit(e, c, st, 1) < 0)
        return oom(e);
    e->rep->negative_snapshots += c->neg_snapshots;
    return hp_hpc_writer_add(e->w, c->out, c->out_len, 1);
}

/* ---- setup ------------------------------------------------------------------ */

static void engine_free(engine *e)
{
    for (int i = 0; i < e->threads && e->chunks; i++) {
        chunk *c = &e->chunks[i];
        free(c->t);
        free(c->tr);
        free(c->dl);
        free(c->skips);
        free(c->tot_tr);
        free(c->tot_dl);
        free(c->out);
        free(c->recs);
    }
    for (int i = 0; i < e->threads && e->states; i++)
        hp_live_free(&e->states[i]);
    free(e->chunks);
    free(e->states);
    hp_live_free(&e->global);
}

static int engine_alloc_states(engine *e)
{
    e->states = calloc((size_t)e->threads, sizeof *e->states);
    if (!e->states || hp_live_init(&e->global, e->ntraces) < 0)
        return oom(e);
    for (int i = 0; i < e->threads; i++)
        if (hp_live_init(&e->states[i], e->ntraces) < 0)
            return oom(e);
    return HP_OK;
}

static size_t auto_chunk(size_t size, int threads)
{
    size_t cap = WAVE_BUDGET / (size_t)threads;
    cap = cap > MAX_CHUNK_FEW ? MAX_CHUNK_FEW : cap < MAX_CHUNK_MANY ? MAX_CHUNK_MANY : cap;
    size_t c = size / (size_t)threads + 1;
    return c < MIN_CHUNK ? MIN_CHUNK : c > cap ? cap : c;
}

static void progress(const engine *e)
{
    if (e->o->progress)
        e->o->progress(e->o->progress_ctx, e->pos, e->end);
}

/* Digests an opened profile into the writer. */
static int digest(engine *e, hp_hpm *hpm)
{
    counter cnt = {hpm, 0, 0, {0}};
    pthread_t thread, *count_thread = NULL;
    if (e->o->salvage) {
        /* salvage resynchronises on the trace bound: know it first */
        HP_TRY(hp_hpm_count_traces_readonly(hpm, &e->ntraces));
        e->bound = e->ntraces;
    } else {
        e->bound = HP_EV_TRACE_MASK; /* until the count, which runs beside wave 1 */
        if (pthread_create(&thread, NULL, count_main, &cnt) != 0)
            return hp_fail(HP_EIO, "cannot start a thread");
        count_thread = &thread;
    }
    while (e->pos < e->end) {
        if (e->o->cancel && *e->o->cancel) {
            if (count_thread)
                pthread_join(*count_thread, NULL);
            return hp_fail(HP_ECANCELED, "%s: cancelled", e->path);
        }
        int rc = run_wave(e, &cnt, count_thread); /* joins the count in phase B */
        count_thread = NULL;
        HP_TRY(rc);
        progress(e);
    }
    if (count_thread) { /* an empty .hpd */
        pthread_join(*count_thread, NULL);
        if (cnt.rc < 0)
            return hp_fail(cnt.rc, "%s", cnt.msg);
        e->ntraces = e->bound = cnt.count;
    }
    if (!e->states)
        HP_TRY(engine_alloc_states(e));
    return emit_final(e);
}

static int check_params(double time_interval, double precision, const hp_make_options *o,
                        uint64_t *interval_ms)
{
    if (!isfinite(time_interval) || time_interval < 0.001 || time_interval > 1e9)
        return hp_fail(HP_EINVAL, "invalid interval %g s (must be at least 0.001 s)", time_interval);
    if (!isfinite(precision) || precision < 0 || precision >= 1)
        return hp_fail(HP_EINVAL, "invalid precision %g (must be in [0, 1))", precision);
    if (o->threads < 0 || o->threads > 4096)
        return hp_fail(HP_EINVAL, "invalid thread count %d", o->threads);
    if (o->format != HP_FORMAT_V1 && o->format != HP_FORMAT_V2)
        return hp_fail(HP_EINVAL, "invalid output format %d", (int)o->format);
    if (o->level != 0 && (o->level < ZSTD_minCLevel() || o->level > ZSTD_maxCLevel()))
        return hp_fail(HP_EINVAL, "invalid zstd level %d (%d..%d)", o->level, ZSTD_minCLevel(),
                       ZSTD_maxCLevel());
    if (o->frame_bytes > HP_MAX_FRAME_CONTENT / 2)
        return hp_fail(HP_EINVAL, "invalid frame size %zu", o->frame_bytes);
    *interval_ms = hp_interval_ms(time_interval);
    return HP_OK;
}

void hp_make_options_init(hp_make_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->format = HP_FORMAT_V2;
    opts->level = HP_DEFAULT_LEVEL;
}

int hp_hpc_make_ex(const char *filebase, double time_interval, double precision,
                   const hp_make_options *opts)
{
    hp_make_options defaults;
    hp_make_report local_report;
    if (!opts) {
        hp_make_options_init(&defaults);
        opts = &defaults;
    }
    uint64_t interval_ms = 0;
    HP_TRY(check_params(time_interval, precision, opts, &interval_ms));
    double start = omp_get_wtime();

    engine e = {0};
    e.o = opts;
    e.rep = opts->report ? opts->report : &local_report;
    memset(e.rep, 0, sizeof *e.rep);
    e.precision = precision;
    e.interval_us = interval_ms * 1000;
    e.threads = opts->threads > 0 ? opts->threads : omp_get_max_threads();
    e.rep->threads = e.threads;

    hp_hpm *hpm = NULL;
    hp_map map = {0};
    char *hpd_path = hp_path_join(filebase, ".hpd");
    char *out_path = opts->output ? strdup(opts->output) : hp_path_join(filebase, ".hpc");
    int rc = hpd_path && out_path ? HP_OK : hp_fail(HP_ENOMEM, "out of memory");
    if (rc == HP_OK)
        rc = hp_hpm_open(&hpm, filebase);
    if (rc == HP_OK)
        rc = hp_map_open(&map, hpd_path);
    if (rc == HP_OK) {
        if (opts->override_sampling)
            hp_hpm_override_sampling(hpm);
        e.map = &map;
        e.path = map.path;
        e.scale = hp_hpm_scale(hpm);
        e.end = opts->limit_bytes && opts->limit_bytes < map.size ? (size_t)opts->limit_bytes
                                                                  : map.size;
        e.chunk_bytes = opts->chunk_bytes ? opts->chunk_bytes : auto_chunk(e.end, e.threads);
        e.chunks = calloc((size_t)e.threads, sizeof *e.chunks);
        e.rep->hpd_bytes = e.end;
        if (!e.chunks)
            rc = hp_fail(HP_ENOMEM, "out of memory");
    }
    if (rc == HP_OK) {
        uint64_t sec, nsec;
        hp_hpm_initial_timespec(hpm, &sec, &nsec);
        hp_writer_params wp = {out_path, opts->format, opts->level ? opts->level : HP_DEFAULT_LEVEL,
                               opts->frame_bytes ? opts->frame_bytes : (1u << 20),
                               e.threads, sec, nsec, interval_ms, precision};
        rc = hp_hpc_writer_open(&e.w, &wp);
    }
    if (rc == HP_OK)
        rc = digest(&e, hpm);
    if (rc == HP_OK) {
        rc = hp_hpc_writer_finish(e.w, e.rep);
        e.w = NULL;
    }
    hp_hpc_writer_abort(e.w);
    e.rep->profile_seconds = (double)e.time * 1e-6;
    e.rep->t_total = omp_get_wtime() - start;
    engine_free(&e);
    hp_map_close(&map);
    hp_hpm_close(hpm);
    free(hpd_path);
    free(out_path);
    return rc;
}

void hp_print_report(FILE *f, const char *filebase, const hp_make_report *r)
{
    double mb = (double)r->hpd_bytes / 1e6, t = r->t_total > 0 ? r->t_total : 1e-9;
    fprintf(f, "%s: %llu events, %.1f MB in %.3f s (%.1f MB/s, %.3g events/s, %.3g s of profile/s)\n",
            filebase, (unsigned long long)r->events, mb, r->t_total, mb / t, (double)r->events / t,
            r->profile_seconds / t);
    fprintf(f, "  phases: split %.3f s, bin %.3f s, reduce %.3f s, compress %.3f s, write %.3f s; "
               "%d threads, %llu failed resyncs\n",
            r->t_split, r->t_bin, r->t_reduce, r->t_compress, r->t_write, r->threads,
            (unsigned long long)r->resyncs_failed);
    fprintf(f, "  %llu snapshots, %llu bytes written (v1 stream %llu bytes, ratio %.2f)\n",
            (unsigned long long)r->snapshots, (unsigned long long)r->output_bytes,
            (unsigned long long)r->v1_bytes,
            r->output_bytes ? (double)r->v1_bytes / (double)r->output_bytes : 0.0);
}

int hp_hpc_make(const char *filebase, double time_interval, double precision, int verbose)
{
    hp_make_options o;
    hp_make_report r;
    hp_make_options_init(&o);
    o.report = &r;
    int rc = hp_hpc_make_ex(filebase, time_interval, precision, &o);
    if (rc == HP_OK && verbose)
        hp_print_report(stderr, filebase, &r);
    return rc;
}
