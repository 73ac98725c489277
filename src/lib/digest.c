/* digest.c - HPC.make: the parallel digester.
 *
 * The .hpd is processed in waves of up to T chunks (T threads), each chunk a
 * byte range of the mapped file. A wave runs the phases of docs/DESIGN.md:
 *
 *   resync   parallel  each chunk but the wave's first finds its first event
 *                      by speculative resynchronisation: the first offset
 *                      from which a run of events is valid (the wave's first
 *                      chunk starts exactly where the last wave ended)
 *   decode   parallel  each chunk decodes its events into compact arrays:
 *                      local time, trace, scaled signed size
 *   settle   serial    the chain is verified: chunk i must start exactly
 *                      where chunk i-1's decoding stopped, else it is decoded
 *                      again from there (the sequential fallback); damage is
 *                      reported in file order; the chunks' durations are
 *                      prefix-summed into their global start times
 *   totals   parallel  each chunk sums its sizes per trace (sparse)
 *   emit     parallel  a chunk that crosses snapshot boundaries loads the
 *                      live state at its start (global state + totals of the
 *                      chunks before it) and emits the snapshots at the
 *                      boundaries it crosses, already ranked, cut and encoded
 *   write    serial    records go to the writer in chunk order (the writer
 *                      compresses v2 frames in parallel: compress); the
 *                      global state advances by every chunk's totals
 *
 * Snapshot k holds every event at relative time <= k*I, and is emitted just
 * before the first event later than k*I (runs of identical snapshots are
 * emitted once with a repeat count); the last one, ceil(R/I), at the end. The
 * result depends on nothing but the input and the parameters: not on T, nor
 * on the chunk size. Memory: T chunk buffers and T live states, never the
 * number of events or snapshots x traces. */
#include "clock.h"
#include "error.h"
#include "grow.h"
#include "hpc_format.h"
#include "hpcwrite.h"
#include "hpd_event.h"
#include "hpm_internal.h"
#include "livestate.h"
#include "mapfile.h"
#include "parallel.h"
#include "paths.h"
#include "seekable.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define OUT_PAUSE_BYTES (32u << 20) /* a chunk pauses its emission past this */
#define MIN_CHUNK (64u << 10)
/* Every wave ends in serial work (settle, the global order, the hand-off to
 * the writer), so fewer, larger chunks are faster; their decoded events
 * (about 3 bytes per .hpd byte) are what memory holds. A wave holds at most
 * WAVE_BUDGET of .hpd, each chunk between 4 and 16 MiB. */
#define WAVE_BUDGET (48u << 20)
#define MAX_CHUNK_FEW (16u << 20)
#define MAX_CHUNK_MANY (4u << 20)

/* ---- a chunk, by the phase that owns each part ---------------------------- */

/* decode: the chunk's events, and where decoding stopped and why. */
typedef struct decoded {
    size_t start, end;      /* decode the events that start in [start, end) */
    size_t actual_end;      /* where decoding stopped */
    uint64_t *t;            /* local time after each event, microseconds */
    uint32_t *tr;
    int64_t *dl;
    size_t n, cap;
    uint64_t duration;
    uint32_t max_trace;
    uint32_t bound_used;    /* the trace bound it was decoded with */
    int err_reason;         /* strict: the invalid event that stopped it */
    size_t err_off;
    size_t trunc_bytes;     /* a partial final event */
    hp_skip *skips;         /* salvage */
    size_t nskips, skips_cap;
} decoded;

/* totals: the chunk's sums per trace, sparse. */
typedef struct totals {
    uint32_t *tr;
    int64_t *dl;
    size_t n;
} totals;

/* One encoded record and how many snapshots in a row it stands for. */
typedef struct record {
    size_t off, len;
    uint64_t repeat;
} record;

/* emit: where the chunk's emission stands, and what it produced. */
typedef struct emission {
    uint64_t t0;            /* global time at the chunk's start (settle) */
    size_t pos;             /* next event to apply */
    uint64_t next_k, next_boundary;
    int finished;
    uint8_t *out;           /* encoded records */
    size_t out_len, out_cap;
    record *recs;
    size_t nrecs, recs_cap;
    uint64_t neg_snapshots;
} emission;

typedef struct chunk {
    decoded d;
    totals tot;
    emission em;
    int oom;                /* any phase ran out of memory */
} chunk;

/* ---- the trace count, concurrently with the first wave -------------------- */

/* Validating trace indexes needs the number of traces, a scan of the whole
 * .hpm; it runs on its own thread while wave 1 decodes with no bound, and
 * settle re-checks what wave 1 decoded once the count is known. */
typedef struct counter {
    const hp_hpm *hpm;
    pthread_t thread;
    int running;
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

static int counter_start(counter *c, const hp_hpm *hpm)
{
    *c = (counter){.hpm = hpm};
    if (pthread_create(&c->thread, NULL, count_main, c) != 0)
        return hp_fail(HP_EIO, "cannot start a thread");
    c->running = 1;
    return HP_OK;
}

/* Waits for the count, if it is still running. */
static void counter_stop(counter *c)
{
    if (c->running)
        pthread_join(c->thread, NULL);
    c->running = 0;
}

/* Waits for the count, if it is still running, and sets *count from it;
 * returns its outcome. Leaves *count alone on a counter that never started
 * or was joined before. */
static int counter_join(counter *c, uint32_t *count)
{
    if (!c->running)
        return HP_OK;
    counter_stop(c);
    if (c->rc < 0)
        return hp_fail(c->rc, "%s", c->msg);
    *count = c->count;
    return HP_OK;
}

/* ---- the engine ------------------------------------------------------------ */

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
    counter count;            /* the trace count, until settle joins it */
    uint64_t time;            /* global time of the last event so far */
    size_t pos;               /* byte offset of the next wave */
    size_t end;               /* digest the events that start before this */
    hp_hpc_writer *w;
    hp_make_report *rep;
} engine;

static int oom(const engine *e) { return hp_fail(HP_ENOMEM, "%s: out of memory", e->path); }

/* ---- resync and decode ----------------------------------------------------- */

/* Makes room for `need` events in each of the three arrays. */
static int grow_events(decoded *d, size_t need)
{
    size_t cap_t = d->cap, cap_tr = d->cap, cap_dl = d->cap;
    if (hp_grow(&d->t, &cap_t, need, sizeof *d->t, 4096) < 0 ||
        hp_grow(&d->tr, &cap_tr, need, sizeof *d->tr, 4096) < 0 ||
        hp_grow(&d->dl, &cap_dl, need, sizeof *d->dl, 4096) < 0)
        return -1;
    d->cap = cap_t;
    return 0;
}

/* Decodes the events that start in [start, end) into the chunk. */
static void decode_range(const engine *e, chunk *c, size_t start, size_t end, uint32_t bound)
{
    decoded *d = &c->d;
    const uint8_t *data = e->map->data, *dend = data + e->map->size;
    size_t size = e->map->size, off = start;
    uint64_t t = 0;
    uint32_t max_trace = 0;
    size_t n = 0;
    d->start = start;
    d->bound_used = bound;
    d->err_reason = 0;
    d->trunc_bytes = 0;
    d->nskips = 0;
    c->oom = 0;
    while (off < end) {
        hp_raw_event ev;
        int len = hp_event_decode(data + off, dend, bound, &ev);
        if (len > 0) {
            if (n == d->cap && grow_events(d, n + 1) < 0) {
                c->oom = 1;
                break;
            }
            uint64_t adv = hp_event_advance_us(&ev);
            t = hp_time_add(t, adv);
            uint32_t trace = ev.word & HP_EV_TRACE_MASK;
            int64_t scaled = hp_scale_apply(e->scale, ev.size);
            max_trace = trace > max_trace ? trace : max_trace;
            d->t[n] = t;
            d->tr[n] = trace;
            d->dl[n] = (ev.word & HP_EV_FREE) ? -scaled : scaled;
            n++;
            off += (size_t)len;
        } else if (len == 0) {
            d->trunc_bytes = size - off;
            off = size;
        } else if (!e->o->salvage) {
            d->err_reason = -len;
            d->err_off = off;
            break;
        } else {
            size_t next = hp_resync(data, size, off + 1, bound);
            if (hp_grow(&d->skips, &d->skips_cap, d->nskips + 1, sizeof *d->skips, 16) < 0) {
                c->oom = 1;
                break;
            }
            d->skips[d->nskips++] =
                (hp_skip){.path = e->path, .offset = off, .length = next - off, .reason = -len};
            off = next;
        }
    }
    d->n = n;
    d->duration = t;
    d->max_trace = max_trace;
    d->actual_end = off;
}

/* resync, for chunk i+1: its start is the first offset from which a run of
 * events is valid. */
static void resync_chunk(void *arg, int i, int worker)
{
    engine *e = arg;
    (void)worker;
    decoded *d = &e->chunks[i + 1].d;
    d->start = hp_resync_run(e->map->data, e->map->size, d->start, e->bound, HP_SPLIT_RUN);
}

static void decode_chunk(void *arg, int i, int worker)
{
    engine *e = arg;
    (void)worker;
    chunk *c = &e->chunks[i];
    decode_range(e, c, c->d.start, c->d.end > c->d.start ? c->d.end : c->d.start, e->bound);
}

/* ---- settle ----------------------------------------------------------------- */

/* Takes a chunk's salvage skips, truncation and events into the report. */
static void account_chunk(engine *e, const decoded *d)
{
    for (size_t s = 0; s < d->nskips; s++) {
        if (e->rep->skips++ == 0)
            e->rep->first_skip_offset = d->skips[s].offset;
        e->rep->skipped_bytes += d->skips[s].length;
        if (e->o->on_skip)
            e->o->on_skip(e->o->skip_ctx, &d->skips[s]);
    }
    e->rep->truncated_bytes += d->trunc_bytes;
    e->rep->events += d->n;
}

/* Verifies the chain, settles the trace bound, places the chunks in time. */
static int settle(engine *e, int nch)
{
    uint32_t count = e->ntraces;
    HP_TRY(counter_join(&e->count, &count)); /* the count ran beside wave 1 */
    e->ntraces = e->bound = count;
    uint64_t t0 = e->time;
    for (int i = 0; i < nch; i++) {
        chunk *c = &e->chunks[i];
        decoded *d = &c->d;
        size_t expect = i == 0 ? e->pos : e->chunks[i - 1].d.actual_end;
        int redo = d->start != expect;
        if (redo)
            e->rep->resyncs_failed++;
        /* decoded before the trace count was known: an event past the
         * bound, a partial final event whose trace word already is, or an
         * invalid event (whose reason the trace check, made first, may
         * change) must be found again with the real bound, so that the
         * error is the sequential reader's whatever the threads */
        int unbounded = d->bound_used > e->bound;
        if (redo || d->max_trace > e->bound ||
            (unbounded && (d->trunc_bytes || d->err_reason)))
            decode_range(e, c, expect, d->end > expect ? d->end : expect, e->bound);
        if (c->oom)
            return oom(e);
        if (d->err_reason)
            return hp_fail_event(e->map, d->err_off, d->err_reason);
        account_chunk(e, d);
        c->em.t0 = t0;
        t0 = hp_time_add(t0, d->duration);
    }
    /* ceil(R/I) + 1 snapshots so far; one limit for the writer and every
     * reader, checked before the wave's snapshots are made */
    if (t0 / e->interval_us + 2 > HP_MAX_SNAPSHOTS)
        return hp_fail(HP_ELIMIT,
                       "%s: offset %zu: the profile spans %.0f s, over %u snapshots at this "
                       "interval (a damaged stream? try --salvage, or an interval of at least "
                       "%.3f s)",
                       e->path, e->chunks[nch - 1].d.actual_end, (double)t0 * 1e-6,
                       HP_MAX_SNAPSHOTS,
                       (double)(t0 / (HP_MAX_SNAPSHOTS - 2) / 1000 + 1) / 1000.0);
    return HP_OK;
}

/* ---- totals ------------------------------------------------------------------ */

/* Sums the chunk's sizes per trace into its sparse totals; `st` is scratch
 * (its acc, dirty and dirty_list), left clean. */
static int chunk_totals(chunk *c, hp_live_state *st)
{
    const decoded *d = &c->d;
    totals *tot = &c->tot;
    for (size_t i = 0; i < d->n; i++) {
        uint32_t tr = d->tr[i];
        st->acc[tr] = hp_wrap_add(st->acc[tr], d->dl[i]);
        if (!st->dirty[tr]) {
            st->dirty[tr] = 1;
            st->dirty_list[st->ndirty++] = tr;
        }
    }
    free(tot->tr);
    free(tot->dl);
    tot->n = st->ndirty;
    tot->tr = malloc((tot->n + 1) * sizeof *tot->tr);
    tot->dl = malloc((tot->n + 1) * sizeof *tot->dl);
    for (size_t i = 0; i < st->ndirty; i++) {
        uint32_t tr = st->dirty_list[i];
        if (tot->tr && tot->dl) {
            tot->tr[i] = tr;
            tot->dl[i] = st->acc[tr];
        }
        st->acc[tr] = 0;
        st->dirty[tr] = 0;
    }
    st->ndirty = 0;
    return tot->tr && tot->dl ? 0 : -1;
}

static void totals_chunk(void *arg, int i, int worker)
{
    engine *e = arg;
    (void)worker;
    if (chunk_totals(&e->chunks[i], &e->states[i]) < 0)
        e->chunks[i].oom = 1;
}

static void apply_totals(hp_live_state *st, const totals *tot)
{
    for (size_t i = 0; i < tot->n; i++)
        hp_live_add(st, tot->tr[i], tot->dl[i]);
}

/* ---- emit ------------------------------------------------------------------- */

static uint64_t boundary_of(uint64_t k, uint64_t interval_us)
{
    return k > UINT64_MAX / interval_us ? UINT64_MAX : k * interval_us;
}

/* Emits `repeat` copies of the state's snapshot into the chunk's output:
 * the cutoff decides the entries, the snapshot record encodes them. */
static int emit(const engine *e, emission *em, hp_live_state *st, uint64_t repeat)
{
    if (hp_grow(&em->recs, &em->recs_cap, em->nrecs + 1, sizeof *em->recs, 64) < 0)
        return -1;
    hp_cut cut;
    hp_live_cut(st, e->precision, &cut);
    if (hp_grow(&em->out, &em->out_cap, em->out_len + hp_snapshot_record_bound(cut.nkept + 1), 1,
                65536) < 0)
        return -1;
    size_t len = hp_snapshot_record_encode(em->out + em->out_len, cut.kept, cut.nkept, cut.other);
    em->recs[em->nrecs++] = (record){.off = em->out_len, .len = len, .repeat = repeat};
    em->out_len += len;
    if (st->nneg > 0)
        em->neg_snapshots += repeat;
    return 0;
}

/* Applies the chunk's events from em->pos, emitting each boundary it
 * passes; returns early (to be resumed) once its output passes
 * OUT_PAUSE_BYTES. Events after the chunk's last boundary are not applied:
 * no snapshot of this chunk holds them, and the global state gets them from
 * the totals. */
static void emit_run(const engine *e, chunk *c, hp_live_state *st)
{
    const decoded *d = &c->d;
    emission *em = &c->em;
    uint64_t I = e->interval_us, t_last = em->t0 + d->t[d->n - 1];
    for (; em->pos < d->n && em->next_boundary < t_last; em->pos++) {
        uint64_t t = em->t0 + d->t[em->pos];
        if (t > em->next_boundary) {
            uint64_t last_k = (t - 1) / I; /* every k with k*I < t */
            if (emit(e, em, st, last_k - em->next_k + 1) < 0) {
                c->oom = 1;
                break;
            }
            em->next_k = last_k + 1;
            em->next_boundary = boundary_of(em->next_k, I);
            if (em->out_len > OUT_PAUSE_BYTES)
                return;
        }
        hp_live_add(st, d->tr[em->pos], d->dl[em->pos]);
    }
    em->finished = 1;
}

typedef struct emit_ctx {
    engine *e;
    int first; /* chunks before it are written */
} emit_ctx;

/* emit, for one chunk: from where it paused. */
static void emit_chunk(void *arg, int i, int worker)
{
    emit_ctx *ctx = arg;
    (void)worker;
    engine *e = ctx->e;
    i += ctx->first;
    chunk *c = &e->chunks[i];
    hp_live_state *st = &e->states[i];
    if (c->em.finished || c->em.out_len > OUT_PAUSE_BYTES)
        return;
    if (c->em.pos == 0) { /* the state at the chunk's start, its order repaired */
        hp_live_copy(st, &e->global);
        for (int j = 0; j < i; j++)
            apply_totals(st, &e->chunks[j].tot);
    }
    emit_run(e, c, st);
}

/* Before emission: the first boundary of each chunk. */
static void emit_begin(engine *e, int nch)
{
    for (int i = 0; i < nch; i++) {
        const decoded *d = &e->chunks[i].d;
        emission *em = &e->chunks[i].em;
        em->out_len = em->nrecs = 0;
        em->neg_snapshots = 0;
        em->pos = 0;
        em->next_k = (em->t0 + e->interval_us - 1) / e->interval_us;
        em->next_boundary = boundary_of(em->next_k, e->interval_us);
        em->finished = !(d->n > 0 && em->t0 + d->t[d->n - 1] > em->next_boundary);
    }
}

/* ---- write ------------------------------------------------------------------ */

/* Hands a chunk's records to the writer; returns 1 when the chunk is done,
 * 0 when it paused and will emit more. */
static int write_chunk(engine *e, chunk *c)
{
    emission *em = &c->em;
    if (c->oom)
        return oom(e);
    for (size_t r = 0; r < em->nrecs; r++)
        HP_TRY(hp_hpc_writer_add(e->w, em->out + em->recs[r].off, em->recs[r].len,
                                 em->recs[r].repeat));
    e->rep->negative_snapshots += em->neg_snapshots;
    em->out_len = em->nrecs = 0;
    em->neg_snapshots = 0;
    return em->finished;
}

/* emit and write: emission rounds, records written in chunk order; then the
 * global state takes the wave's totals. */
static int emit_and_write(engine *e, int nch)
{
    emit_begin(e, nch);
    int flushed = 0; /* chunks [0, flushed) are written */
    while (flushed < nch) {
        double t0 = hp_clock();
        emit_ctx ctx = {e, flushed};
        hp_parallel_for(nch - flushed, e->threads, emit_chunk, &ctx);
        double t1 = hp_clock(), busy = hp_hpc_writer_busy(e->w);
        e->rep->t_emit += t1 - t0;
        for (int done = 1; done && flushed < nch;) {
            done = write_chunk(e, &e->chunks[flushed]);
            HP_TRY(done);
            flushed += done;
        }
        /* the writer reports its own compress and write time at the end */
        e->rep->t_write += hp_clock() - t1 - (hp_hpc_writer_busy(e->w) - busy);
        if (e->o->cancel && *e->o->cancel)
            return hp_fail(HP_ECANCELED, "%s: cancelled", e->path);
    }
    for (int i = 0; i < nch; i++)
        apply_totals(&e->global, &e->chunks[i].tot);
    hp_live_sort(&e->global); /* once a wave, so chunks copy a sorted state */
    return HP_OK;
}

/* ---- the waves -------------------------------------------------------------- */

static int alloc_states(engine *e)
{
    e->states = calloc((size_t)e->threads, sizeof *e->states);
    if (!e->states || hp_live_init(&e->global, e->ntraces) < 0)
        return oom(e);
    for (int i = 0; i < e->threads; i++)
        if (hp_live_init(&e->states[i], e->ntraces) < 0)
            return oom(e);
    return HP_OK;
}

/* One wave: up to T chunks from e->pos, through every phase. */
static int run_wave(engine *e)
{
    size_t size = e->end;
    int nch = 0;
    for (size_t off = e->pos; nch < e->threads && off < size; off += e->chunk_bytes, nch++) {
        e->chunks[nch].d.start = off;
        e->chunks[nch].d.end = size - off > e->chunk_bytes ? off + e->chunk_bytes : size;
    }
    double t0 = hp_clock();
    hp_parallel_for(nch - 1, e->threads, resync_chunk, e);
    double t1 = hp_clock();
    hp_parallel_for(nch, e->threads, decode_chunk, e);
    double t2 = hp_clock();
    HP_TRY(settle(e, nch));
    if (!e->states) /* the trace count is known from here on */
        HP_TRY(alloc_states(e));
    double t3 = hp_clock();
    hp_parallel_for(nch, e->threads, totals_chunk, e);
    for (int i = 0; i < nch; i++)
        if (e->chunks[i].oom)
            return oom(e);
    double t4 = hp_clock();
    e->rep->t_resync += t1 - t0;
    e->rep->t_decode += t2 - t1;
    e->rep->t_settle += t3 - t2;
    e->rep->t_totals += t4 - t3;
    HP_TRY(emit_and_write(e, nch));
    const chunk *last = &e->chunks[nch - 1];
    e->time = last->em.t0 + last->d.duration;
    /* the mapped pages of this wave are done with: keep RSS to a window */
    hp_map_dontneed(e->map, e->pos, last->d.actual_end - e->pos);
    e->pos = last->d.actual_end;
    return hp_map_check(e->map); /* it did not shrink under this wave */
}

/* The last snapshot, ceil(R/I): every event. */
static int emit_final(engine *e)
{
    emission *em = &e->chunks[0].em;
    hp_live_state *st = &e->states[0];
    hp_live_copy(st, &e->global);
    em->out_len = em->nrecs = 0;
    em->neg_snapshots = 0;
    if (emit(e, em, st, 1) < 0)
        return oom(e);
    e->rep->negative_snapshots += em->neg_snapshots;
    return hp_hpc_writer_add(e->w, em->out, em->out_len, 1);
}

static void progress(const engine *e)
{
    if (e->o->progress)
        e->o->progress(e->o->progress_ctx, e->pos, e->end);
}

/* Runs every wave, then the last snapshot. */
static int engine_run(engine *e, hp_hpm *hpm)
{
    if (e->o->salvage) {
        /* salvage resynchronises on the trace bound: know it first */
        HP_TRY(hp_hpm_count_traces_readonly(hpm, &e->ntraces));
        e->bound = e->ntraces;
    } else {
        e->bound = HP_EV_TRACE_MASK; /* until the count, which runs beside wave 1 */
        HP_TRY(counter_start(&e->count, hpm));
    }
    while (e->pos < e->end) {
        if (e->o->cancel && *e->o->cancel)
            return hp_fail(HP_ECANCELED, "%s: cancelled", e->path);
        HP_TRY(run_wave(e));
        progress(e);
    }
    uint32_t count = e->ntraces;
    HP_TRY(counter_join(&e->count, &count)); /* an empty .hpd never settled */
    e->ntraces = e->bound = count;
    if (!e->states)
        HP_TRY(alloc_states(e));
    return emit_final(e);
}

/* ---- setup and teardown ------------------------------------------------------ */

static size_t auto_chunk(size_t size, int threads)
{
    size_t cap = WAVE_BUDGET / (size_t)threads;
    cap = cap > MAX_CHUNK_FEW ? MAX_CHUNK_FEW : cap < MAX_CHUNK_MANY ? MAX_CHUNK_MANY : cap;
    size_t c = size / (size_t)threads + 1;
    return c < MIN_CHUNK ? MIN_CHUNK : c > cap ? cap : c;
}

static int check_params(double time_interval, double precision, const hp_make_options *o,
                        uint64_t *interval_ms)
{
    if (o->version == 0 || o->version > HP_MAKE_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_make_options version %u is not supported", o->version);
    if (!isfinite(time_interval) || time_interval < HP_MIN_INTERVAL ||
        time_interval > HP_MAX_INTERVAL)
        return hp_fail(HP_EINVAL, "invalid interval %g s (must be at least %g s)", time_interval,
                       HP_MIN_INTERVAL);
    if (!isfinite(precision) || precision < 0 || precision >= 1)
        return hp_fail(HP_EINVAL, "invalid precision %g (must be in [0, 1))", precision);
    if (o->threads < 0 || o->threads > HP_MAX_THREADS)
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

/* What a digest opens and owns besides the engine. */
typedef struct inputs {
    hp_hpm *hpm;
    hp_map map;                  /* the .hpd */
    const hp_map *sources[2];    /* the .hpm's map and the .hpd's */
    char *out_path;
} inputs;

/* Opens the inputs and the writer, sizes the chunks. */
static int engine_setup(engine *e, inputs *in, const char *filebase, uint64_t interval_ms)
{
    const hp_make_options *o = e->o;
    char *hpd_path = hp_path_join(filebase, ".hpd");
    in->out_path = o->output ? strdup(o->output) : hp_path_join(filebase, ".hpc");
    int rc = hpd_path && in->out_path ? HP_OK : hp_fail(HP_ENOMEM, "out of memory");
    if (rc == HP_OK)
        rc = hp_hpm_open(&in->hpm, filebase);
    if (rc == HP_OK)
        rc = hp_map_open(&in->map, hpd_path);
    free(hpd_path);
    HP_TRY(rc);
    if (o->override_sampling)
        hp_hpm_override_sampling(in->hpm);
    e->map = &in->map;
    e->path = in->map.path;
    e->scale = hp_hpm_scale(in->hpm);
    e->end = o->limit_bytes && o->limit_bytes < in->map.size ? (size_t)o->limit_bytes
                                                             : in->map.size;
    e->chunk_bytes = o->chunk_bytes ? o->chunk_bytes : auto_chunk(e->end, e->threads);
    e->chunks = calloc((size_t)e->threads, sizeof *e->chunks);
    e->rep->hpd_bytes = e->end;
    if (!e->chunks)
        return hp_fail(HP_ENOMEM, "out of memory");
    uint64_t sec, nsec;
    hp_hpm_initial_timespec(in->hpm, &sec, &nsec);
    const hp_map *hpm_map = hp_hpm_map(in->hpm);
    in->sources[0] = hpm_map;
    in->sources[1] = &in->map;
    hp_writer_params wp = {
        .path = in->out_path,
        .inputs = in->sources,
        .ninputs = 2,
        .format = o->format,
        .level = o->level ? o->level : HP_DEFAULT_LEVEL,
        .frame_bytes = o->frame_bytes ? o->frame_bytes : (1u << 20),
        .threads = e->threads,
        .sec = sec,
        .nsec = nsec,
        .interval_ms = interval_ms,
        /* what --skip-up-to-date compares: the parameters, and the inputs
         * exactly as they were read */
        .record = {.interval_ms = interval_ms,
                   .precision = e->precision,
                   .override_sampling = o->override_sampling != 0,
                   .salvage = o->salvage != 0,
                   .has_inputs = 1,
                   .hpm_size = hpm_map->size,
                   .hpm_mtime_ns = hpm_map->mtime_ns,
                   .hpd_size = e->end,
                   .hpd_mtime_ns = in->map.mtime_ns},
    };
    return hp_hpc_writer_open(&e->w, &wp);
}

static void engine_teardown(engine *e, inputs *in)
{
    counter_stop(&e->count); /* after an early failure */
    hp_hpc_writer_abort(e->w);
    for (int i = 0; i < e->threads && e->chunks; i++) {
        chunk *c = &e->chunks[i];
        free(c->d.t);
        free(c->d.tr);
        free(c->d.dl);
        free(c->d.skips);
        free(c->tot.tr);
        free(c->tot.dl);
        free(c->em.out);
        free(c->em.recs);
    }
    for (int i = 0; i < e->threads && e->states; i++)
        hp_live_free(&e->states[i]);
    free(e->chunks);
    free(e->states);
    hp_live_free(&e->global);
    hp_map_close(&in->map);
    hp_hpm_close(in->hpm);
    free(in->out_path);
}

int hp_thread_count(int requested)
{
    int n = requested > 0 ? requested : omp_get_max_threads();
    long cap = (long)HP_THREADS_PER_CORE * omp_get_num_procs();
    cap = cap > HP_MAX_THREADS ? HP_MAX_THREADS : cap;
    return n > cap ? (int)cap : n < 1 ? 1 : n;
}

int hp_make_options_init(hp_make_options *opts, unsigned version)
{
    if (version == 0 || version > HP_MAKE_OPTIONS_VERSION)
        return hp_fail(HP_EINVAL, "hp_make_options version %u is not supported", version);
    *opts = (hp_make_options)HP_MAKE_OPTIONS_INIT;
    return HP_OK;
}

int hp_hpc_make_ex(const char *filebase, double time_interval, double precision,
                   const hp_make_options *opts)
{
    static const hp_make_options defaults = HP_MAKE_OPTIONS_INIT;
    hp_make_report local_report;
    if (!opts)
        opts = &defaults;
    uint64_t interval_ms = 0;
    HP_TRY(check_params(time_interval, precision, opts, &interval_ms));
    double start = hp_clock();

    engine e = {
        .o = opts,
        .rep = opts->report ? opts->report : &local_report,
        .precision = precision,
        .interval_us = interval_ms * 1000,
        .threads = hp_thread_count(opts->threads),
    };
    memset(e.rep, 0, sizeof *e.rep);
    e.rep->threads = e.threads;
    inputs in = {0};
    int rc = engine_setup(&e, &in, filebase, interval_ms);
    if (rc == HP_OK)
        rc = engine_run(&e, in.hpm);
    if (rc == HP_OK) /* nothing that shrank under the digest is committed */
        rc = hp_map_check(hp_hpm_map(in.hpm));
    if (rc == HP_OK)
        rc = hp_map_check(&in.map);
    if (rc == HP_OK) {
        rc = hp_hpc_writer_finish(e.w, e.rep);
        e.w = NULL;
    }
    e.rep->profile_seconds = (double)e.time * 1e-6;
    e.rep->t_total = hp_clock() - start;
    engine_teardown(&e, &in);
    return rc;
}

int hp_hpc_make(const char *filebase, double time_interval, double precision, int verbose)
{
    hp_make_options o = HP_MAKE_OPTIONS_INIT;
    hp_make_report r;
    o.report = &r;
    int rc = hp_hpc_make_ex(filebase, time_interval, precision, &o);
    if (rc == HP_OK && verbose)
        hp_print_report(stderr, filebase, &r);
    return rc;
}
