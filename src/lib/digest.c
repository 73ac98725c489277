/* digest.c - HPC.make: the parallel digester.
 *
 * The .hpd is mapped and cut into chunks (byte ranges). Each chunk goes
 * through the phases of docs/DESIGN.md, as tasks of the shared pool
 * (parallel.h) or as the digest's serial work, with no barrier between
 * chunks: while one chunk emits its snapshots, later ones decode and
 * earlier frames compress.
 *
 *   resync   task    a chunk whose predecessor has not ended yet finds its
 *                    first event by speculative resynchronisation: the
 *                    first offset from which a run of events is valid
 *   decode   task    the chunk's events into compact arrays (local time,
 *                    trace, scaled signed size), and the sum of its sizes
 *                    per trace (its totals), in one pass over the bytes
 *   settle   serial  in file order: the chunk must start exactly where the
 *                    previous one stopped (else it is decoded again from
 *                    there: a failed resync); damage is reported in file
 *                    order; the chunk is placed in time; the snapshot limit
 *   totals   serial  in file order: a chunk with snapshot boundaries takes
 *                    a copy of the running state (every event before it),
 *                    which then adds the chunk's totals
 *   emit     task    the chunk applies its events to its copy and emits
 *                    each boundary it passes: the ranked order repaired,
 *                    the precision cutoff, the record encoded
 *   write    serial  in file order: the records go to the writer, which
 *                    cuts v2 frames; compressed frames are written in order
 *   compress task    each v2 frame, as soon as it is closed
 *
 * With one thread there are no totals and no copy: each chunk emits on the
 * running state itself, through to its end, and once the trace count is
 * known, nothing before it is left to settle and the running state is
 * free when its decode starts, a chunk is fused: decode
 * applies each event to the running state as it reads it and emits each
 * boundary it passes, so that its bytes are read once and no event array is
 * written (until its records fill: the rest then takes the arrays and the
 * emission task).
 *
 * With two threads the work is split as a pipeline instead of by chunks:
 * the chunks are decoded in file order, fused on a state of their own
 * (the lead), and at each boundary the values of the traces that changed
 * since the last one (or, where most did, the whole state) go into the
 * chunk's marks; its emission task sets them on the running state, in file
 * order, and emits. One thread decodes, the other emits and compresses:
 * no totals, no copy per chunk, and each event is read once, as with one
 * thread. Waves of one, two and more threads follow one another in a
 * batch; a chunk starts on the lead only when every chunk before it was
 * piped, or has emitted and left the running state whole (seed_lead):
 * else (the first chunk, decoded while the traces are counted, and a chunk
 * right after a wave of one thread) it goes on a copy, as with more
 * threads. The pipeline is chosen where emitting is at least half as much
 * work as decoding (a snapshot every second), and the cores are the
 * digest's own (new_wave); where snapshots are few, decoding is all the
 * work, and two threads share it better by chunks.
 *
 * The serial work is one task at a time, run by whichever thread finds it
 * ready; it is short per chunk (verifications, a copy of the live bytes,
 * the writer's bookkeeping) and overlaps the tasks of other chunks.
 *
 * Snapshot k holds every event at relative time <= k*I, and is emitted just
 * before the first event later than k*I (runs of identical snapshots are
 * emitted once with a repeat count); the last one, ceil(R/I), at the end.
 * The result depends on nothing but the input and the parameters: not on
 * the threads, their grants, nor the chunk size. Memory: per thread two
 * chunk buffers and a live state (and the lead, in a pipeline), never the
 * number of events or snapshots x traces; a piped chunk's values, copies
 * and marks grow with its events: 12 bytes an event or less, plus 16 a
 * boundary; at worst 40 (a profile of one trace whose every event starts a
 * snapshot), twice the event arrays' 20. */
#include "digest_internal.h"

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
/* Chunks: small with one thread, so that a chunk's event arrays are still
 * in the core's cache when it emits them; larger with more, where each
 * chunk also pays a copy of the running state and a full sort at its first
 * snapshot. */
#define CHUNK_ONE (1u << 20)
#define CHUNK_MANY (4u << 20)
#define MIN_EVENT 7 /* bytes: the word and three one-byte varints */
/* Two threads share the work as a pipeline (one decodes, one emits) rather
 * than by chunks, which cost each a copy of the state and its totals. */
#define PIPELINE_THREADS 2

/* ---- a chunk --------------------------------------------------------------------- */

/* decode: the chunk's events, and where decoding stopped and why. */
typedef struct decoded {
    size_t start, end;      /* decode the events that start in [start, end) */
    size_t actual_end;      /* where decoding stopped */
    uint64_t *t;            /* local time after each event, microseconds */
    uint32_t *tr;
    int64_t *dl;
    size_t n, cap;          /* events; room for them in all three arrays */
    size_t cap_t, cap_v;    /* room in t, and in tr and dl (a piped chunk's values) */
    uint64_t duration;
    uint32_t max_trace;
    uint32_t bound_used;    /* the trace bound it was decoded with */
    int err_reason;         /* strict: the invalid event that stopped it */
    size_t err_off;
    size_t trunc_bytes;     /* a partial final event */
    hp_skip *skips;         /* salvage */
    size_t nskips, skips_cap;
    uint64_t nbig;          /* sizes of HP_SCALE_SMALL or more */
    size_t napplied;        /* fused: events applied as decoded, not in the arrays */
    size_t nfirst;          /* fused: of them, the first of a trace since a snapshot */
    size_t ndelta;          /* piped: the traces' values in tr and dl (not events) */
} decoded;

/* A piped chunk's boundary: the values tr/dl[..end) set, or with
 * MARK_COPY, the whole state replaced by the chunk's next copy (its length,
 * then the live bytes of traces 0..length-1); then `repeat` snapshots (none
 * at the chunk's end, which only brings the state there). */
typedef struct mark {
    size_t end;
    uint64_t repeat; /* | MARK_COPY */
} mark;
#define MARK_COPY (1ull << 63) /* a count of snapshots never comes near */

/* One encoded record and how many snapshots in a row it stands for. */
typedef struct record {
    size_t off, len;
    uint64_t repeat;
} record;

/* emit: where the chunk's emission stands, and what it produced. */
typedef struct emission {
    uint64_t t0;            /* global time at the chunk's start (settle) */
    size_t pos;             /* next event (piped: value) to apply */
    size_t mark, copy;      /* piped: the next boundary mark, the next copy */
    uint64_t next_k, next_boundary;
    int started;
    int next_stage;         /* where the emission task left it */
    hp_recbuf *rb;          /* encoded records */
    record *recs;
    size_t nrecs, recs_cap;
    uint64_t neg_snapshots;
} emission;

enum stage {
    S_FREE,
    S_ASSIGNED,  /* to decode (and resync first unless exact) */
    S_DECODING,
    S_DECODED,   /* for settle */
    S_SETTLED,   /* to emit */
    S_EMITTING,
    S_PAUSED,    /* emitted 32 MiB of records: resumes once they are written */
    S_EMITTED,   /* for write */
};

typedef struct slot {
    int stage;
    uint64_t seq;           /* the chunk's number in file order */
    size_t nominal;         /* where its range starts */
    int exact;              /* d.start is where the previous chunk ended */
    int in_place;           /* emits on the running state (one thread) */
    int fusable;            /* in place, exact, the trace count known: it may fuse */
    int fused;              /* it applies and emits as it decodes (decode_range) */
    int pipeable;           /* exact, the trace count known, in a pipeline wave */
    int piped;              /* fused on the lead state; emits from its marks */
    int seed_lead;          /* piped: copies the running state to the lead first */
    int holds_run;          /* piped: its emission has the running state */
    mark *marks;
    size_t nmarks, marks_cap;
    int64_t *copies;        /* the marks' whole states, each after its length */
    size_t ncopies, copies_cap;
    int fast_scale;         /* a hint: sizes above the table are common */
    int sparse;             /* a hint: few events are a trace's first since a snapshot */
    uint32_t bound;         /* the trace bound to decode with */
    decoded d;
    int64_t *acc;           /* totals: sum per trace, and which traces */
    uint64_t *bits;
    uint32_t acc_max;       /* acc holds traces 0..acc_max */
    hp_live_state st;       /* the state at its start (a copy), for emission */
    emission em;
    int oom;
    double t_resync, t_decode, t_emit;
    double wall, cpu;       /* the decode task's seconds, and its thread's CPU seconds */
} slot;

/* ---- the trace count, concurrently with the first chunks -------------------------- */

/* Validating trace indexes needs the number of traces, a scan of the whole
 * .hpm; it runs on its own thread while the first chunks decode with a
 * looser bound (the .hpm's size), and settle re-checks what they decoded
 * once the count is known. */
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

/* ---- the engine ---------------------------------------------------------------------- */

/* A worker's sort arrays, lent to the state it emits. */
typedef struct scratch {
    hp_ranked *order, *tmp;
    size_t cap;
} scratch;

typedef struct engine {
    /* what the digest is */
    const hp_map *map;
    const hp_scale *scale;
    const char *path;           /* of the .hpd, for messages */
    uint64_t interval_us;
    double precision;
    const hp_make_options *o;
    hp_make_report *rep;
    size_t end;                 /* digest the events that start before this */
    size_t chunk_fixed;         /* opts->chunk_bytes, or 0: automatic */
    hp_hpc_writer *w;

    /* threads */
    hp_pool *pool;
    hp_group *g;
    int max_threads, threads;   /* the most, and this wave's grant */
    hp_grant_fn grant;
    void *grant_ctx;
    int wave_left;              /* chunks left to assign in this wave */
    size_t chunk_bytes;         /* this wave's */
    int heavy;                  /* tasks running (the serial work aside) */
    int serial_running;

    /* chunks */
    slot **slots;
    int nslots, want_slots;
    size_t slots_cap;
    uint64_t next_seq;          /* the next chunk to assign */
    size_t assign_pos;          /* where its range starts */
    uint64_t settle_seq, write_seq;
    int big_hint;               /* sizes above the scale table are common */
    int sparse_hint;            /* few events are a trace's first since a snapshot */

    /* the chain, owned by the serial work */
    counter count;
    uint32_t ntraces;           /* once counted */
    int counted;
    uint32_t bound;             /* the highest valid trace index known so far */
    hp_live_state run;          /* every event of the settled chunks */
    int run_lent;               /* an emission in place or piped, or a fused decode, has it */
    /* the pipeline (two threads): one decodes chunk after chunk on the lead
     * state, fused, while the other emits the last one on the running
     * state, which follows the lead by the values that each boundary
     * changed (the chunk's marks) */
    int pipeline;               /* this wave's chunks are pipeable */
    int no_pipeline;            /* HEAPPROF_PIPELINE=0: two threads split by chunks */
    hp_live_state lead;         /* every event of the piped chunks decoded */
    int lead_valid;             /* no chunk since the lead's last was not piped */
    int piped_pending;          /* piped chunks settled and not emitted */
    double decode_wall, decode_cpu; /* of the decode tasks: is the machine shared? */
    uint64_t time;              /* global time at the end of the settled chunks */
    size_t settled_end;         /* where the next chunk starts */

    scratch *scr;               /* per worker number */

    /* outcome */
    int failed, rc;
    char msg[1024];

    /* for the caller's thread: skipped stretches and progress to report */
    hp_skip *skipq;
    size_t nskipq, skipq_cap;
    size_t done_bytes, told_bytes;
    int told_any;

    double t_settle, t_totals, t_write;
} engine;

enum { J_SERIAL, J_DECODE, J_EMIT, J_COMPRESS };

/* The chunk this thread decoded last: it emits it next if it can, while
 * the chunk's events are still in its cache. */
static __thread const slot *decoded_here;
/* The digest whose piped chunk this thread decoded last, if it was piped. */
static __thread const void *piped_by;

static int oom_fail(const engine *e) { return hp_fail(HP_ENOMEM, "%s: out of memory", e->path); }

/* Records a failure (its message comes from this thread's hp_last_error),
 * lock held or not as `locked` says; the first one wins. */
static void fail(engine *e, int rc, int locked)
{
    hp_pool *p = NULL;
    if (!locked) {
        p = e->pool;
        hp_pool_lock(p);
    }
    if (!e->failed) {
        e->failed = 1;
        e->rc = rc;
        snprintf(e->msg, sizeof e->msg, "%s", hp_last_error());
    }
    hp_group_wake(e->g);
    if (p)
        hp_pool_unlock(p);
}

/* ---- decode ------------------------------------------------------------------------ */

/* Makes tr and dl hold `need` entries (a piped chunk's values), and with
 * `times`, t too (events). */
static int grow_arrays(decoded *d, size_t need, int times)
{
    size_t cap_tr = d->cap_v, cap_dl = d->cap_v;
    int rc = hp_grow(&d->tr, &cap_tr, need, sizeof *d->tr, 4096) |
             hp_grow(&d->dl, &cap_dl, need, sizeof *d->dl, 4096);
    d->cap_v = cap_tr < cap_dl ? cap_tr : cap_dl;
    if (times)
        rc |= hp_grow(&d->t, &d->cap_t, need, sizeof *d->t, 4096);
    d->cap = d->cap_t < d->cap_v ? d->cap_t : d->cap_v;
    return rc < 0 ? -1 : 0;
}

static int grow_events(decoded *d, size_t need) { return grow_arrays(d, need, 1); }

/* Makes the totals hold traces up to max_trace. */
static int grow_acc(slot *s, uint32_t max_trace)
{
    if (s->acc && max_trace <= s->acc_max)
        return 0;
    size_t old = s->acc ? (size_t)s->acc_max + 1 : 0, n = (size_t)max_trace + 1;
    n = n < 2 * old ? 2 * old : n;
    n = (n + 63) & ~(size_t)63;
    int64_t *acc = realloc(s->acc, n * sizeof *acc);
    if (!acc)
        return -1;
    s->acc = acc;
    uint64_t *bits = realloc(s->bits, n / 64 * sizeof *bits);
    if (!bits)
        return -1;
    s->bits = bits;
    memset(acc + old, 0, (n - old) * sizeof *acc);
    memset(bits + old / 64, 0, (n - old) / 64 * sizeof *bits);
    s->acc_max = (uint32_t)(n - 1 > HP_EV_TRACE_MASK ? HP_EV_TRACE_MASK : n - 1);
    return 0;
}

/* Clears the totals (a chunk decoded again). */
static void clear_totals(slot *s)
{
    if (!s->bits)
        return;
    size_t words = ((size_t)s->acc_max + 1) / 64;
    for (size_t i = 0; i < words; i++)
        for (uint64_t b = s->bits[i]; b; b &= b - 1)
            s->acc[i * 64 + (size_t)__builtin_ctzll(b)] = 0;
    memset(s->bits, 0, words * sizeof *s->bits);
}

/* The bulk of a chunk, far from the end of the file: events from `off`
 * while they start before `stop`, with no bounds checks (HP_EVENT_MAX bytes
 * are always there) and into arrays with room for them all. Stops early at
 * anything unusual (an invalid event, a trace past the totals, a time that
 * saturates), which the careful path takes. `totals`, `fast` and `apply`
 * are constants where it is inlined: six loops, each without the others'
 * branches.
 *
 * With `apply` (a fused chunk, decode_range) each event goes straight into
 * the running state instead of the arrays, and the loop stops before the
 * first event later than the next snapshot boundary (bs->limit, local
 * time), which the careful path then takes after the snapshot: its bytes
 * are read once, as the plain decoder reads them. */
typedef struct bulk_state {
    uint64_t t, nbig;
    size_t n, nfirst;
    uint32_t max_trace;
    hp_live_state *st; /* apply: the running state */
    uint64_t limit;    /* apply: the next boundary, in local time */
} bulk_state;

static inline __attribute__((always_inline)) size_t
bulk(const hp_scale *sc, slot *s, const uint8_t *data, size_t off, size_t stop, uint32_t bound,
     bulk_state *bs, int totals, int fast, int apply, int sparse)
{
    const uint8_t *p = data + off, *lim = data + stop;
    uint64_t t = bs->t, nbig = bs->nbig, limit = bs->limit;
    size_t n = bs->n;
    uint32_t maxtr = bs->max_trace;
    uint64_t *T = s->d.t;
    uint32_t *TR = s->d.tr;
    int64_t *DL = s->d.dl;
    int64_t *acc = s->acc;
    uint64_t *bits = s->bits;
    hp_live_state *st = bs->st;
    int64_t *live = apply ? st->live : NULL;
    uint8_t *flags = apply ? st->flags : NULL;
    uint32_t *dirty = apply ? st->dirty_list : NULL;
    size_t nd = apply ? st->ndirty : 0, nd0 = nd;
    if (totals && bound > s->acc_max)
        bound = s->acc_max;
    if (apply && bound > st->ntraces)
        bound = st->ntraces;
    while (p < lim) {
        uint32_t w = hp_be32(p);
        uint32_t trace = w & HP_EV_TRACE_MASK;
        if (trace > bound)
            break;
        uint64_t sec, usec, size;
        const uint8_t *q = hp_varint_fast(p + 4, &sec);
        if (!q || ((w & HP_EV_NEGATIVE) && sec == 0))
            break;
        q = hp_varint_fast(q, &usec);
        if (!q || usec >= HP_USEC_PER_SEC)
            break;
        q = hp_varint_fast(q, &size);
        if (!q)
            break;
        uint64_t tn = t;
        if (!(w & HP_EV_NEGATIVE)) {
            if (sec >= HP_TIME_LIMIT_US / HP_USEC_PER_SEC)
                break;
            tn += sec * HP_USEC_PER_SEC + usec;
            tn = tn < HP_TIME_LIMIT_US ? tn : HP_TIME_LIMIT_US;
        }
        if (apply && tn > limit)
            break;
        t = tn;
        int64_t v = fast ? hp_scale_fast(sc, size) : hp_scale_apply(sc, size);
        v = (w & HP_EV_FREE) ? -v : v;
        nbig += size >= HP_SCALE_SMALL;
        maxtr = trace > maxtr ? trace : maxtr;
        if (apply) { /* hp_live_apply, one event */
            live[trace] = hp_wrap_add(live[trace], v);
            unsigned f = flags[trace];
            if (sparse) {
                /* most traces are marked already: a load, and no store
                 * that the next event of a hot trace must wait for */
                if (!(f & HP_LIVE_DIRTY)) {
                    dirty[nd++] = trace;
                    flags[trace] = (uint8_t)(f | HP_LIVE_DIRTY);
                }
            } else { /* many first touches (a busy heap): no branch on them */
                dirty[nd] = trace;
                nd += !(f & HP_LIVE_DIRTY);
                flags[trace] = (uint8_t)(f | HP_LIVE_DIRTY);
            }
        } else {
            T[n] = t;
            TR[n] = trace;
            DL[n] = v;
        }
        n++;
        if (totals) {
            acc[trace] = hp_wrap_add(acc[trace], v);
            bits[trace >> 6] |= 1ull << (trace & 63);
        }
        p = q;
    }
    bs->t = t;
    bs->nbig = nbig;
    bs->n = n;
    bs->max_trace = maxtr;
    if (apply) {
        bs->nfirst += nd - nd0;
        st->ndirty = nd;
    }
    return (size_t)(p - data);
}

#define BULK(name, totals, fast, apply, sparse)                                                \
    static __attribute__((noinline)) size_t name(const hp_scale *sc, slot *s, const uint8_t *d, \
                                                 size_t off, size_t stop, uint32_t b,          \
                                                 bulk_state *bs)                               \
    {                                                                                          \
        return bulk(sc, s, d, off, stop, b, bs, totals, fast, apply, sparse);                  \
    }
BULK(bulk_tf, 1, 1, 0, 0)
BULK(bulk_tb, 1, 0, 0, 0)
BULK(bulk_nf, 0, 1, 0, 0)
BULK(bulk_nb, 0, 0, 0, 0)
BULK(bulk_af, 0, 1, 1, 0)
BULK(bulk_ab, 0, 0, 1, 0)
BULK(bulk_asf, 0, 1, 1, 1)
BULK(bulk_asb, 0, 0, 1, 1)

static int emit_start_and_limit(const engine *e, slot *s, bulk_state *bs);
static int fused_boundary(engine *e, slot *s, bulk_state *bs, uint64_t t);
static int piped_mark(const engine *e, slot *s, bulk_state *bs, uint64_t t);

/* Decodes the events that start in [start, end) into the slot, with its
 * totals unless it emits in place; a fused chunk applies them to the
 * running state instead, emitting each boundary it passes, until its
 * records fill (OUT_PAUSE_BYTES): from there on its events go into the
 * arrays and its emission task takes them, as for any chunk in place. A
 * piped chunk applies them to the lead state, and at each boundary takes
 * the values of the traces they touched into tr and dl, or the whole state
 * into its copies, for its emission task (piped_mark). */
static void decode_range(engine *e, slot *s, size_t start, size_t end, uint32_t bound)
{
    decoded *d = &s->d;
    const uint8_t *data = e->map->data, *dend = data + e->map->size;
    size_t size = e->map->size, off = start;
    int piped = s->piped, totals = !s->in_place && !piped, fused = s->fused;
    d->start = start;
    d->bound_used = bound;
    d->err_reason = 0;
    d->trunc_bytes = 0;
    d->nskips = 0;
    d->n = 0;
    d->napplied = 0;
    d->nfirst = 0;
    d->ndelta = 0;
    s->nmarks = 0;
    s->ncopies = 0;
    s->oom = 0;
    clear_totals(s);
    bulk_state bs = {0, 0, 0, 0, 0, piped ? &e->lead : &e->run, UINT64_MAX};
    /* (a piped chunk's values are no more than its events) */
    size_t need = (end > start ? (end - start) / MIN_EVENT : 0) + 2;
    /* the first piped chunk after others starts the lead from the running
     * state, which nothing touches until this chunk settles */
    int seed = s->seed_lead;
    s->seed_lead = 0;
    if ((seed && hp_live_copy_values(&e->lead, &e->run) < 0) ||
        (!fused && grow_events(d, need) < 0) || (piped && grow_arrays(d, need, 0) < 0) ||
        (totals && grow_acc(s, 1023) < 0) ||
        (fused && emit_start_and_limit(e, s, &bs) < 0)) {
        s->oom = 1;
        goto out;
    }
    /* the bulk may not read past the file: it stops HP_EVENT_MAX before */
    size_t bulk_end = size > HP_EVENT_MAX ? size - HP_EVENT_MAX : 0;
    while (off < end) {
        size_t stop = end < bulk_end ? end : bulk_end;
        if (off < stop) {
            if (fused && s->sparse)
                off = (s->fast_scale ? bulk_asf : bulk_asb)(e->scale, s, data, off, stop, bound, &bs);
            else if (fused)
                off = (s->fast_scale ? bulk_af : bulk_ab)(e->scale, s, data, off, stop, bound, &bs);
            else if (totals)
                off = (s->fast_scale ? bulk_tf : bulk_tb)(e->scale, s, data, off, stop, bound, &bs);
            else
                off = (s->fast_scale ? bulk_nf : bulk_nb)(e->scale, s, data, off, stop, bound, &bs);
            if (off >= end)
                break;
        }
        /* one event the careful way */
        hp_raw_event ev;
        int len = hp_event_decode(data + off, dend, bound, &ev);
        if (len > 0) {
            uint32_t trace = ev.word & HP_EV_TRACE_MASK;
            uint64_t t = hp_time_add(bs.t, hp_event_advance_us(&ev));
            if (piped && t > bs.limit && piped_mark(e, s, &bs, t) < 0) {
                s->oom = 1;
                break;
            }
            if (fused && !piped && t > bs.limit) { /* the boundaries before it first */
                int r = fused_boundary(e, s, &bs, t);
                if (r < 0 || (r > 0 && grow_events(d, (end - off) / MIN_EVENT + 2) < 0)) {
                    s->oom = 1;
                    break;
                }
                if (r > 0) { /* its records are full: the rest into the arrays */
                    fused = 0;
                    d->napplied = bs.n;
                    d->nfirst = bs.nfirst;
                    bs.n = 0;
                }
            }
            if ((!fused && bs.n == d->cap && grow_events(d, bs.n + 1) < 0) ||
                (totals && grow_acc(s, trace) < 0) ||
                (fused && hp_live_reserve(bs.st, trace) < 0)) {
                s->oom = 1;
                break;
            }
            bs.t = t;
            int64_t v = hp_scale_apply(e->scale, ev.size);
            v = (ev.word & HP_EV_FREE) ? -v : v;
            bs.nbig += ev.size >= HP_SCALE_SMALL;
            bs.max_trace = trace > bs.max_trace ? trace : bs.max_trace;
            if (fused) {
                hp_live_apply(bs.st, &trace, &v, 1);
            } else {
                d->t[bs.n] = bs.t;
                d->tr[bs.n] = trace;
                d->dl[bs.n] = v;
            }
            bs.n++;
            if (totals) {
                s->acc[trace] = hp_wrap_add(s->acc[trace], v);
                s->bits[trace >> 6] |= 1ull << (trace & 63);
            }
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
                s->oom = 1;
                break;
            }
            d->skips[d->nskips++] =
                (hp_skip){.path = e->path, .offset = off, .length = next - off, .reason = -len};
            off = next;
        }
    }
out:
    if (piped && !s->oom && piped_mark(e, s, &bs, 0) < 0) /* the values at its end */
        s->oom = 1;
    if (fused) {
        d->napplied = bs.n;
        d->nfirst = bs.nfirst;
    } else {
        d->n = bs.n;
    }
    d->duration = bs.t;
    d->max_trace = bs.max_trace;
    d->nbig = bs.nbig;
    d->actual_end = off;
}

/* resync and decode, for one chunk. */
static void decode_slot(engine *e, slot *s)
{
    double t0 = hp_clock(), c0 = hp_thread_cpu();
    if (!s->exact)
        s->d.start = hp_resync_run(e->map->data, e->map->size, s->nominal, s->bound, HP_SPLIT_RUN);
    double t1 = hp_clock(), emitted = s->t_emit;
    decode_range(e, s, s->d.start, s->d.end > s->d.start ? s->d.end : s->d.start, s->bound);
    s->t_resync += t1 - t0;
    double t2 = hp_clock();
    s->t_decode += t2 - t1 - (s->t_emit - emitted); /* a fused chunk's snapshots are emit's */
    s->wall = t2 - t0;
    s->cpu = hp_thread_cpu() - c0;
}

/* ---- emit -------------------------------------------------------------------------- */

static uint64_t boundary_of(uint64_t k, uint64_t interval_us)
{
    return k > UINT64_MAX / interval_us ? UINT64_MAX : k * interval_us;
}

/* Emits `repeat` copies of the state's snapshot into the records: the
 * cutoff decides the entries, the snapshot record encodes them. */
static int emit_one(const engine *e, emission *em, hp_live_state *st, uint64_t repeat)
{
    if (hp_grow(&em->recs, &em->recs_cap, em->nrecs + 1, sizeof *em->recs, 64) < 0)
        return -1;
    hp_cut cut;
    if (hp_live_cut(st, e->precision, &cut) < 0)
        return -1;
    hp_recbuf *rb = em->rb;
    if (hp_grow(&rb->p, &rb->cap, rb->len + hp_snapshot_record_bound(cut.nkept + 1), 1, 65536) < 0)
        return -1;
    size_t len = hp_snapshot_record_encode(rb->p + rb->len, cut.kept, cut.nkept, cut.other);
    em->recs[em->nrecs++] = (record){.off = rb->len, .len = len, .repeat = repeat};
    rb->len += len;
    if (st->nneg > 0)
        em->neg_snapshots += repeat;
    return 0;
}

/* Starts a chunk's emission at the first boundary at or after its start. */
static void emit_start(const engine *e, emission *em)
{
    em->started = 1;
    em->pos = 0;
    em->next_k = (em->t0 + e->interval_us - 1) / e->interval_us;
    em->next_boundary = boundary_of(em->next_k, e->interval_us);
}

/* Moves past every boundary before global time t, the time of the first
 * event after them; returns how many: their snapshots are all the same. */
static uint64_t pass_boundaries(const engine *e, emission *em, uint64_t t)
{
    uint64_t last_k = (t - 1) / e->interval_us; /* every k with k*I < t */
    uint64_t n = last_k - em->next_k + 1;
    em->next_k = last_k + 1;
    em->next_boundary = boundary_of(em->next_k, e->interval_us);
    return n;
}

/* Emits the snapshots of every boundary before global time t, the time of
 * the first event after them (not applied yet): one record, repeated. */
static int emit_before(const engine *e, emission *em, hp_live_state *st, uint64_t t)
{
    return emit_one(e, em, st, pass_boundaries(e, em, t));
}

/* A fused chunk (decode_range) emits as it decodes: its records, its first
 * boundary and the local time that the bulk may not pass before it. */
static int emit_start_and_limit(const engine *e, slot *s, bulk_state *bs)
{
    emission *em = &s->em;
    if (!s->piped && !em->rb && !(em->rb = hp_recbuf_get(e->w)))
        return -1;
    emit_start(e, em);
    bs->limit = em->next_boundary - em->t0;
    return 0;
}

/* A fused chunk reached an event at local time t past its next boundary:
 * the snapshots before it. Returns 1 when its records passed
 * OUT_PAUSE_BYTES (the rest of the chunk then goes into the arrays, for
 * the emission task, which pauses), 0 to go on, -1 when out of memory. */
static int fused_boundary(engine *e, slot *s, bulk_state *bs, uint64_t t)
{
    double t0 = hp_clock();
    emission *em = &s->em;
    int r = emit_before(e, em, bs->st, em->t0 + t);
    bs->limit = em->next_boundary - em->t0;
    s->t_emit += hp_clock() - t0;
    return r < 0 ? -1 : em->rb->len > OUT_PAUSE_BYTES;
}

/* A piped chunk reached an event at local time t past its next boundary,
 * or its end (t == 0): the values of the traces touched since its last
 * mark, and the snapshots that they end. Returns 0, or -1 when out of
 * memory. */
static int piped_mark(const engine *e, slot *s, bulk_state *bs, uint64_t t)
{
    decoded *d = &s->d;
    hp_live_state *lead = bs->st;
    uint64_t repeat = 0;
    if (t > 0) {
        repeat = pass_boundaries(e, &s->em, s->em.t0 + t);
        bs->limit = s->em.next_boundary - s->em.t0;
    }
    if (hp_grow(&s->marks, &s->marks_cap, s->nmarks + 1, sizeof *s->marks, 64) < 0)
        return -1;
    size_t n = (size_t)lead->ntraces + 1;
    if (lead->ndirty * 2 >= n) {
        /* most traces changed (a busy heap): copying the state costs less
         * than picking the changes, here and where they are set, and the
         * emission sorts every trace then anyway. At most 4/3 of the
         * values it replaces (8 bytes a trace, 12 a value, for half of
         * them or more): the memory still grows with the events. */
        if (hp_grow(&s->copies, &s->copies_cap, s->ncopies + n + 1, sizeof *s->copies, 4096) < 0)
            return -1;
        s->copies[s->ncopies] = (int64_t)n;
        memcpy(s->copies + s->ncopies + 1, lead->live, n * sizeof *lead->live);
        memset(lead->flags, 0, n); /* the lead is never sorted: no flag but these */
        lead->ndirty = 0;
        s->ncopies += n + 1;
        repeat |= MARK_COPY;
    } else {
        if (grow_arrays(d, d->ndelta + lead->ndirty, 0) < 0)
            return -1;
        d->ndelta += hp_live_take(lead, d->tr + d->ndelta, d->dl + d->ndelta);
    }
    s->marks[s->nmarks++] = (mark){d->ndelta, repeat};
    return 0;
}

/* The first i in [lo, n) with t[i] > b (n if none): times never decrease,
 * so a galloping search from lo. */
static size_t first_after(const uint64_t *t, size_t lo, size_t n, uint64_t b)
{
    size_t step = 1, hi = lo;
    while (hi < n && t[hi] <= b) {
        lo = hi + 1;
        hi += step;
        step *= 2;
    }
    hi = hi < n ? hi : n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid] <= b)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Applies the chunk's events from em->pos, emitting each boundary it
 * passes; returns 1 when it paused (its records passed OUT_PAUSE_BYTES),
 * 0 when done, -1 when out of memory. Events after the chunk's last
 * boundary are applied only in place: no snapshot of this chunk holds
 * them, and the running state gets them from the totals. */
static int emit_run(const engine *e, slot *s, hp_live_state *st)
{
    const decoded *d = &s->d;
    emission *em = &s->em;
    if (!em->started)
        emit_start(e, em);
    while (em->pos < d->n) {
        uint64_t t_last = em->t0 + d->t[d->n - 1];
        if (em->next_boundary >= t_last) { /* no boundary left in this chunk */
            if (s->in_place)
                hp_live_apply(st, d->tr + em->pos, d->dl + em->pos, d->n - em->pos);
            em->pos = d->n;
            break;
        }
        size_t j = first_after(d->t, em->pos, d->n, em->next_boundary - em->t0);
        hp_live_apply(st, d->tr + em->pos, d->dl + em->pos, j - em->pos);
        if (emit_before(e, em, st, em->t0 + d->t[j]) < 0)
            return -1;
        em->pos = j;
        if (em->rb->len > OUT_PAUSE_BYTES)
            return 1;
    }
    return 0;
}

/* A piped chunk's emission on the running state, from em->pos: the
 * values of each mark set, then its snapshots; returns 1 when it paused,
 * 0 when done, -1 when out of memory. */
static int emit_marks(const engine *e, slot *s, hp_live_state *st)
{
    const decoded *d = &s->d;
    emission *em = &s->em;
    if (hp_live_reserve(st, d->max_trace) < 0)
        return -1;
    while (em->mark < s->nmarks) {
        const mark *m = &s->marks[em->mark++];
        if (m->repeat & MARK_COPY) {
            size_t n = (size_t)s->copies[em->copy];
            if (hp_live_replace(st, s->copies + em->copy + 1, n) < 0)
                return -1;
            em->copy += n + 1;
        } else {
            hp_live_set(st, d->tr + em->pos, d->dl + em->pos, m->end - em->pos);
        }
        em->pos = m->end;
        uint64_t repeat = m->repeat & ~MARK_COPY;
        if (repeat > 0 && emit_one(e, em, st, repeat) < 0)
            return -1;
        if (em->rb->len > OUT_PAUSE_BYTES)
            return 1;
    }
    return 0;
}

/* emit, for one chunk: on its copy with this worker's sort arrays, in
 * place on the running state, or piped: its marks on the running state.
 * Sets the stage it ends in. */
static int emit_slot(engine *e, slot *s, int worker)
{
    double t0 = hp_clock();
    int r;
    if (s->piped) {
        r = emit_marks(e, s, &e->run);
    } else if (s->in_place) {
        r = emit_run(e, s, &e->run);
    } else {
        hp_live_state *st = &s->st;
        scratch *sc = &e->scr[worker];
        st->order = sc->order;
        st->tmp = sc->tmp;
        st->order_cap = sc->cap;
        st->order_valid = 0;
        r = emit_run(e, s, st);
        sc->order = st->order;
        sc->tmp = st->tmp;
        sc->cap = st->order_cap;
        st->order = st->tmp = NULL;
        st->order_cap = 0;
        st->order_valid = 0;
    }
    s->t_emit += hp_clock() - t0;
    if (r < 0)
        s->oom = 1;
    return r > 0 ? S_PAUSED : S_EMITTED;
}

/* ---- the serial work: settle, totals, write ----------------------------------------- */

/* Takes a chunk's salvage skips (for the caller to report), truncation and
 * events into the report. */
static int account_chunk(engine *e, const decoded *d)
{
    for (size_t s = 0; s < d->nskips; s++) {
        if (e->rep->skips++ == 0)
            e->rep->first_skip_offset = d->skips[s].offset;
        e->rep->skipped_bytes += d->skips[s].length;
    }
    if (d->nskips && e->o->on_skip) {
        hp_pool_lock(e->pool);
        int rc = hp_grow(&e->skipq, &e->skipq_cap, e->nskipq + d->nskips, sizeof *e->skipq, 16);
        if (rc == 0) {
            memcpy(e->skipq + e->nskipq, d->skips, d->nskips * sizeof *d->skips);
            e->nskipq += d->nskips;
        }
        hp_pool_unlock(e->pool);
        if (rc < 0)
            return oom_fail(e);
    }
    e->rep->truncated_bytes += d->trunc_bytes;
    e->rep->events += d->n + d->napplied;
    return HP_OK;
}

/* The chunk's totals into the running state (cleared for its next use). */
static void add_totals(engine *e, slot *s)
{
    hp_live_state *run = &e->run;
    size_t words = ((size_t)s->acc_max + 1) / 64;
    for (size_t i = 0; i < words; i++) {
        uint64_t b = s->bits[i];
        if (!b)
            continue;
        s->bits[i] = 0;
        for (; b; b &= b - 1) {
            size_t t = i * 64 + (size_t)__builtin_ctzll(b);
            hp_live_add_untracked(run, (uint32_t)t, s->acc[t]);
            s->acc[t] = 0;
        }
    }
    run->order_valid = 0;
}

/* Settles the chunk at settle_seq (stage S_DECODED): returns 1 when it
 * settled, 0 when it must be decoded again first, < 0 on failure. */
static int settle_slot(engine *e, slot *s, int *next_stage)
{
    double t0 = hp_clock();
    if (!e->counted) { /* the count ran beside the first chunks */
        uint32_t count = 0;
        HP_TRY(counter_join(&e->count, &count));
        e->ntraces = e->bound = count;
        e->counted = 1;
    }
    decoded *d = &s->d;
    size_t expect = e->settled_end;
    int redo = d->start != expect;
    /* decoded before the trace count was known: an event past the bound, a
     * partial final event whose trace word already is, or an invalid event
     * (whose reason the trace check, made first, may change) must be found
     * again with the real bound, so that the error is the sequential
     * reader's whatever the threads */
    int unbounded = d->bound_used > e->bound;
    if (redo || d->max_trace > e->bound || (unbounded && (d->trunc_bytes || d->err_reason))) {
        if (redo)
            e->rep->resyncs_failed++;
        d->start = expect;
        s->exact = 1;
        s->bound = e->bound;
        *next_stage = S_ASSIGNED;
        e->t_settle += hp_clock() - t0;
        return 0;
    }
    if (s->oom)
        return oom_fail(e);
    if (d->err_reason)
        return hp_fail_event(e->map, d->err_off, d->err_reason);
    HP_TRY(account_chunk(e, d));
    uint64_t start_time = e->time;
    s->em.t0 = start_time;
    e->time = hp_time_add(start_time, d->duration);
    /* ceil(R/I) + 1 snapshots so far; one limit for the writer and every
     * reader, checked before the chunk's snapshots are made */
    if (e->time / e->interval_us + 2 > HP_MAX_SNAPSHOTS)
        return hp_fail(HP_ELIMIT,
                       "%s: offset %zu: the profile spans %.0f s, over %u snapshots at this "
                       "interval (a damaged stream? try --salvage, or an interval of at least "
                       "%.3f s)",
                       e->path, d->actual_end, (double)e->time * 1e-6, HP_MAX_SNAPSHOTS,
                       (double)(e->time / (HP_MAX_SNAPSHOTS - 2) / 1000 + 1) / 1000.0);
    /* the mapped pages of this chunk are done with: keep RSS to a window */
    hp_map_dontneed(e->map, expect, d->actual_end - expect);
    e->settled_end = d->actual_end;
    HP_TRY(hp_map_check(e->map)); /* it did not shrink under this chunk */
    double t1 = hp_clock();
    e->t_settle += t1 - t0;

    if (s->piped) { /* it emits once the chunks before it have: no totals, no copy */
        s->em.pos = 0;
        s->em.mark = 0;
        s->em.copy = 0;
        *next_stage = S_SETTLED;
        e->t_totals += hp_clock() - t1;
        return 1;
    }
    if (hp_live_reserve(&e->run, d->max_trace) < 0)
        return oom_fail(e);
    if (!s->fused) { /* a fused chunk has emitted what it applied */
        s->em.started = 0;
        s->em.nrecs = 0;
        s->em.neg_snapshots = 0;
    }
    if (s->in_place) {
        *next_stage = S_SETTLED; /* it takes the running state (run_lent) */
    } else {
        uint64_t k = (start_time + e->interval_us - 1) / e->interval_us;
        int boundaries = d->n > 0 && start_time + d->t[d->n - 1] > boundary_of(k, e->interval_us);
        if (boundaries && hp_live_copy(&s->st, &e->run) < 0)
            return oom_fail(e);
        *next_stage = boundaries ? S_SETTLED : S_EMITTED;
        add_totals(e, s);
    }
    e->t_totals += hp_clock() - t1;
    return 1;
}

/* Hands a chunk's records to the writer. */
static int write_slot(engine *e, slot *s)
{
    double t0 = hp_clock(), w0 = hp_hpc_writer_write_seconds(e->w);
    emission *em = &s->em;
    if (s->oom)
        return oom_fail(e);
    for (size_t r = 0; r < em->nrecs; r++)
        HP_TRY(hp_hpc_writer_add_ref(e->w, em->rb, em->recs[r].off, em->recs[r].len,
                                     em->recs[r].repeat));
    e->rep->negative_snapshots += em->neg_snapshots;
    em->nrecs = 0;
    em->neg_snapshots = 0;
    if (em->rb && em->rb->len > 0) { /* the frames hold it now: a fresh one */
        hp_recbuf_put(e->w, em->rb);
        em->rb = NULL;
    }
    /* the writer counts its own writing */
    e->t_write += hp_clock() - t0 - (hp_hpc_writer_write_seconds(e->w) - w0);
    return HP_OK;
}

static void free_slot(slot *s, hp_hpc_writer *w)
{
    free(s->d.t);
    free(s->d.tr);
    free(s->d.dl);
    free(s->d.skips);
    free(s->acc);
    free(s->bits);
    hp_live_free(&s->st);
    free(s->marks);
    free(s->copies);
    free(s->em.recs);
    if (w) {
        hp_recbuf_put(w, s->em.rb);
    } else if (s->em.rb) { /* the writer is gone: the buffer is the slot's alone */
        free(s->em.rb->p);
        free(s->em.rb);
    }
    free(s);
}

/* Slots for a wave of n threads: two chunks per thread, one at one thread. */
static int slots_for(int n) { return n <= 1 ? 1 : 2 * n; }

/* Asks for this wave's threads (unlocked). */
static void new_wave(engine *e)
{
    int n = e->max_threads;
    if (e->grant) {
        n = e->grant(e->grant_ctx, e->end - e->assign_pos, e->threads);
        n = n < 1 ? 1 : n > e->max_threads ? e->max_threads : n;
    }
    size_t chunk = e->chunk_fixed;
    if (!chunk) {
        chunk = n <= 1 ? CHUNK_ONE : CHUNK_MANY;
        /* a small file still gets a chunk per thread */
        size_t per = (e->end - e->assign_pos) / (size_t)n + 1;
        chunk = per < chunk ? per : chunk;
        chunk = chunk < MIN_CHUNK ? MIN_CHUNK : chunk;
    }
    hp_pool *p = e->pool;
    hp_pool_lock(p);
    e->threads = n;
    /* the pipeline gains where its two sides weigh about the same: where
     * emitting is under half of decoding, the decoding thread bounds it.
     * Nor where another process shares the cores (the decode tasks got
     * under 85% of a core): the pipeline waits on its decoding thread
     * whenever that one waits for a core, where a split by chunks goes on
     * with the other (beside a CPU hog, -j 2 took 1.03x -j 1 with the
     * pipeline, 0.82-0.97x split by chunks). */
    int shared = e->decode_cpu < 0.85 * e->decode_wall;
    e->pipeline = n == PIPELINE_THREADS && !e->no_pipeline && !shared &&
                  (e->rep->t_decode == 0 || e->rep->t_emit * 2 >= e->rep->t_decode);
    e->want_slots = slots_for(n);
    e->chunk_bytes = chunk;
    e->wave_left = n;
    hp_group_set_limit(e->g, n <= 1 ? 1 : n + 1, 1); /* + the serial work */
    if (n > e->rep->threads)
        e->rep->threads = n;
    hp_pool_unlock(p);
}

/* Assigns the next range to a free slot (or a new one); returns 1 if it
 * did, 0 when none is free or nothing is left. */
static int assign(engine *e)
{
    if (e->assign_pos >= e->end)
        return 0;
    if (e->wave_left == 0)
        new_wave(e);
    hp_pool *p = e->pool;
    hp_pool_lock(p);
    slot *s = NULL;
    for (int i = 0; i < e->nslots && !s; i++)
        if (e->slots[i]->stage == S_FREE)
            s = e->slots[i];
    int hint = e->big_hint, sparse = e->sparse_hint;
    uint64_t settle_seq = e->settle_seq;
    hp_pool_unlock(p);
    if (e->pipeline && e->next_seq != settle_seq) /* a pipeline decodes in order */
        return 0;
    if (!s) {
        if (e->nslots >= e->want_slots)
            return 0;
        if (hp_grow(&e->slots, &e->slots_cap, (size_t)e->nslots + 1, sizeof *e->slots, 8) < 0 ||
            !(s = calloc(1, sizeof *s)))
            return oom_fail(e);
        s->stage = S_FREE;
        hp_pool_lock(p);
        e->slots[e->nslots++] = s;
        hp_pool_unlock(p);
    }
    s->seq = e->next_seq++;
    s->nominal = e->assign_pos;
    s->d.end = e->end - e->assign_pos > e->chunk_bytes ? e->assign_pos + e->chunk_bytes : e->end;
    /* the chunks before it all settled: it starts where they ended */
    s->exact = s->seq == settle_seq;
    s->d.start = s->exact ? e->settled_end : s->nominal;
    s->in_place = e->threads == 1 && !e->pipeline;
    /* with nothing before it left to settle, its start time and the trace
     * bound are final: it may apply its events as it decodes them, if the
     * running state is free then (engine_pick) */
    s->fusable = s->in_place && s->exact && e->counted;
    s->fused = 0;
    /* likewise, in a pipeline: its start is final, and the lead waits */
    s->pipeable = e->pipeline && s->exact && e->counted;
    s->piped = s->seed_lead = s->holds_run = 0;
    s->em.t0 = e->time;
    s->fast_scale = hint;
    s->sparse = sparse;
    s->bound = e->bound;
    s->oom = 0;
    s->t_resync = s->t_decode = s->t_emit = 0;
    e->assign_pos = s->d.end;
    e->wave_left--;
    hp_pool_lock(p);
    s->stage = S_ASSIGNED;
    hp_pool_unlock(p);
    return 1;
}

static slot *slot_at(engine *e, uint64_t seq, int stage)
{
    for (int i = 0; i < e->nslots; i++)
        if (e->slots[i]->seq == seq && e->slots[i]->stage == stage)
            return e->slots[i];
    return NULL;
}

/* The chunk to settle next, if it is decoded and the running state is not
 * lent to another chunk's emission nor owed a piped chunk's values
 * (settling touches it); a fused chunk holds the state itself, and a piped
 * one does not touch it (lock held). */
static slot *to_settle(engine *e)
{
    /* a fused slot at settle_seq is the one that holds the state: it took
     * it when picked, and no later chunk can settle before it */
    slot *s = slot_at(e, e->settle_seq, S_DECODED);
    return s && (s->piped || s->fused || (!e->run_lent && !e->piped_pending)) ? s : NULL;
}

/* The serial work, as long as there is some: settle, write, flush, assign.
 * Runs unlocked; reads and sets stages under the lock. */
static void serial_run(engine *e)
{
    hp_pool *p = e->pool;
    for (;;) {
        hp_pool_lock(p);
        if (e->failed) {
            hp_pool_unlock(p);
            return;
        }
        if (e->o->cancel && *e->o->cancel) {
            hp_pool_unlock(p);
            fail(e, hp_fail(HP_ECANCELED, "%s: cancelled", e->path), 0);
            return;
        }
        slot *st = to_settle(e);
        slot *wr = slot_at(e, e->write_seq, S_EMITTED);
        if (!wr)
            wr = slot_at(e, e->write_seq, S_PAUSED);
        hp_pool_unlock(p);
        int rc = HP_OK, did = 0;
        if (st) {
            int next = S_SETTLED;
            rc = settle_slot(e, st, &next);
            if (rc >= 0) {
                hp_pool_lock(p);
                st->stage = next;
                if (rc == 1) {
                    e->settle_seq++;
                    if (st->piped)
                        e->piped_pending++;
                    else /* its events are not in the lead */
                        e->lead_valid = 0;
                    if (st->in_place)
                        e->run_lent = 1;
                }
                hp_group_wake(e->g);
                hp_pool_unlock(p);
                did = 1;
            }
        } else if (wr) {
            rc = write_slot(e, wr);
            if (rc >= 0) {
                hp_pool_lock(p);
                if (wr->stage == S_PAUSED) {
                    wr->stage = S_SETTLED; /* resumes */
                } else {
                    e->write_seq++;
                    e->done_bytes = wr->d.actual_end;
                    wr->stage = S_FREE;
                    if (e->nslots > e->want_slots) { /* a lower grant drains */
                        for (int i = 0; i < e->nslots; i++)
                            if (e->slots[i] == wr)
                                e->slots[i] = e->slots[--e->nslots];
                        hp_pool_unlock(p);
                        free_slot(wr, e->w);
                        hp_pool_lock(p);
                    }
                }
                hp_group_wake(e->g);
                hp_pool_unlock(p);
                did = 1;
            }
        } else if (hp_hpc_writer_flushable(e->w)) {
            rc = hp_hpc_writer_flush(e->w);
            did = 1;
        } else {
            rc = assign(e);
            did = rc > 0;
            if (did) {
                hp_pool_lock(p);
                hp_group_wake(e->g);
                hp_pool_unlock(p);
            }
        }
        if (rc < 0) {
            fail(e, rc, 0);
            return;
        }
        if (!did)
            return;
    }
}

/* ---- the pool's view of the engine ---------------------------------------------------- */

/* Whether the serial work has something to do (lock held). */
static int serial_ready(engine *e)
{
    if ((e->o->cancel && *e->o->cancel) ||
        to_settle(e) ||
        slot_at(e, e->write_seq, S_EMITTED) || slot_at(e, e->write_seq, S_PAUSED) ||
        hp_hpc_writer_flushable(e->w))
        return 1;
    /* a pipeline assigns its next chunk once the last one settled (a new
     * wave's grant may end the pipeline: asked at once) */
    if (e->assign_pos >= e->end || (e->pipeline && e->wave_left > 0 && e->next_seq != e->settle_seq))
        return 0;
    if (e->nslots < (e->wave_left == 0 ? slots_for(e->max_threads) : e->want_slots))
        return 1;
    for (int i = 0; i < e->nslots; i++)
        if (e->slots[i]->stage == S_FREE)
            return 1;
    return 0;
}

/* The chunk to emit next (lock held): the one this thread decoded, if it
 * can; else the oldest (one on the running state first: the chain waits on
 * it). A piped chunk's emission takes the running state when it is free. */
static slot *pick_emit(engine *e)
{
    slot *best = NULL;
    for (int i = 0; i < e->nslots; i++) {
        slot *s = e->slots[i];
        if (s->stage != S_SETTLED || (s->piped && !s->holds_run && e->run_lent))
            continue;
        int chain = s->in_place || s->piped, best_chain = best && (best->in_place || best->piped);
        if (!best || (chain != best_chain ? chain : s->seq < best->seq))
            best = s;
    }
    /* among those on a copy, the one this thread decoded */
    for (int i = 0; best && !best->in_place && !best->piped && i < e->nslots; i++) {
        slot *s = e->slots[i];
        if (s == decoded_here && s->stage == S_SETTLED && !s->in_place && !s->piped)
            best = s;
    }
    if (best && best->piped && !best->holds_run) { /* the piped emissions take turns */
        best->holds_run = 1;
        e->run_lent = 1;
    }
    return best;
}

/* The chunk to decode next (lock held): the oldest; fused on the running
 * state, or piped on the lead, where it can be. */
static slot *pick_decode(engine *e)
{
    slot *best = NULL;
    for (int i = 0; i < e->nslots; i++) {
        slot *s = e->slots[i];
        if (s->stage == S_ASSIGNED && (!best || s->seq < best->seq))
            best = s;
    }
    if (best && best->fusable && !e->run_lent && !e->piped_pending) {
        best->fused = 1; /* it takes the running state */
        e->run_lent = 1;
    } else if (best && best->pipeable && (e->lead_valid || (!e->run_lent && !e->piped_pending))) {
        best->fused = best->piped = 1; /* it takes the lead */
        best->seed_lead = !e->lead_valid;
        e->lead_valid = 1;
    }
    return best;
}

static int engine_pick(void *ctx, hp_job *job)
{
    engine *e = ctx;
    if (e->failed)
        return 0;
    if (!e->serial_running && serial_ready(e)) {
        e->serial_running = 1;
        *job = (hp_job){J_SERIAL, NULL, 0};
        return 1;
    }
    if (e->heavy >= e->threads)
        return 0;
    /* in a pipeline, the thread that decodes goes on decoding: the other
     * emits, and either compresses */
    slot *s = e->pipeline && piped_by == e ? pick_decode(e) : NULL;
    int kind = J_DECODE;
    if (!s) {
        hp_frame_job *f = hp_hpc_writer_take(e->w);
        if (f) {
            e->heavy++;
            *job = (hp_job){J_COMPRESS, f, 0};
            return 1;
        }
        kind = (s = pick_emit(e)) ? J_EMIT : J_DECODE;
        if (!s)
            s = pick_decode(e);
    }
    if (!s)
        return 0;
    s->stage = kind == J_EMIT ? S_EMITTING : S_DECODING;
    e->heavy++;
    *job = (hp_job){kind, s, 0};
    return 1;
}

static void engine_run_job(void *ctx, const hp_job *job, int worker)
{
    engine *e = ctx;
    slot *s = job->p;
    switch (job->kind) {
    case J_SERIAL: serial_run(e); break;
    case J_DECODE:
        decode_slot(e, s);
        decoded_here = s;
        piped_by = s->piped ? e : NULL;
        break;
    case J_EMIT:
        if (!s->em.rb)
            s->em.rb = hp_recbuf_get(e->w);
        if (s->em.rb)
            s->em.next_stage = emit_slot(e, s, worker);
        else
            s->oom = 1;
        break;
    case J_COMPRESS: hp_hpc_writer_compress(e->w, job->p, worker); break;
    }
}

static void engine_done(void *ctx, const hp_job *job)
{
    engine *e = ctx;
    slot *s = job->p;
    switch (job->kind) {
    case J_SERIAL: e->serial_running = 0; return;
    case J_DECODE:
        s->stage = S_DECODED;
        e->big_hint = s->d.nbig * 8 > s->d.n + s->d.napplied; /* one size in eight or more */
        if (s->fused) /* under one event in eight a first touch */
            e->sparse_hint = s->d.nfirst * 8 < s->d.napplied;
        e->rep->t_resync += s->t_resync;
        e->rep->t_decode += s->t_decode;
        e->decode_wall += s->wall;
        e->decode_cpu += s->cpu;
        s->t_resync = s->t_decode = 0;
        break;
    case J_EMIT:
        s->stage = s->oom ? S_EMITTED : s->em.next_stage;
        if ((s->in_place || s->piped) && s->stage == S_EMITTED)
            e->run_lent = 0;
        if (s->piped && s->stage == S_EMITTED) {
            s->holds_run = 0;
            e->piped_pending--;
        }
        e->rep->t_emit += s->t_emit;
        s->t_emit = 0;
        break;
    case J_COMPRESS: hp_hpc_writer_done(e->w, job->p); break;
    }
    e->heavy--;
}

static int engine_finished(void *ctx)
{
    engine *e = ctx;
    if (e->serial_running || e->heavy > 0)
        return 0;
    if (e->failed)
        return 1;
    return e->assign_pos >= e->end && e->write_seq == e->next_seq && !e->run_lent &&
           !hp_hpc_writer_pending(e->w);
}

/* On the caller's thread: the callbacks into the user. */
static void engine_on_caller(void *ctx)
{
    engine *e = ctx;
    hp_pool *p = e->pool;
    hp_pool_lock(p);
    size_t done = e->done_bytes;
    int failed = e->failed;
    hp_skip *q = NULL;
    size_t nq = 0;
    if (e->nskipq) { /* take the queue: the serial work starts a new one */
        q = e->skipq;
        nq = e->nskipq;
        e->skipq = NULL;
        e->nskipq = e->skipq_cap = 0;
    }
    hp_pool_unlock(p);
    for (size_t i = 0; i < nq; i++)
        e->o->on_skip(e->o->skip_ctx, &q[i]);
    free(q);
    if (e->o->progress && (done != e->told_bytes || !e->told_any)) {
        e->told_bytes = done;
        e->told_any = 1;
        e->o->progress(e->o->progress_ctx, done, e->end);
    }
    if (!failed && e->o->cancel && *e->o->cancel)
        fail(e, hp_fail(HP_ECANCELED, "%s: cancelled", e->path), 0);
}

static const hp_group_ops engine_ops = {engine_pick, engine_run_job, engine_done, engine_finished,
                                        engine_on_caller};

/* ---- the whole digest ------------------------------------------------------------------- */

/* The last snapshot, ceil(R/I): every event. */
static int emit_final(engine *e)
{
    double t0 = hp_clock();
    hp_live_state *st = &e->run;
    hp_cut cut;
    if (hp_live_cut(st, e->precision, &cut) < 0)
        return oom_fail(e);
    uint8_t *rec = malloc(hp_snapshot_record_bound(cut.nkept + 1));
    if (!rec)
        return oom_fail(e);
    size_t len = hp_snapshot_record_encode(rec, cut.kept, cut.nkept, cut.other);
    if (st->nneg > 0)
        e->rep->negative_snapshots++;
    e->rep->t_emit += hp_clock() - t0;
    int rc = hp_hpc_writer_add(e->w, rec, len, 1);
    free(rec);
    return rc;
}

/* Runs every chunk on the pool, then the last snapshot. */
static int engine_run(engine *e, hp_hpm *hpm)
{
    if (e->o->salvage) {
        /* salvage resynchronises on the trace bound: know it first */
        HP_TRY(hp_hpm_count_traces_readonly(hpm, &e->ntraces));
        e->bound = e->ntraces;
        e->counted = 1;
    } else {
        /* until the count, which runs beside the first chunks: no valid
         * trace index can exceed the .hpm's size, and a bound that tight
         * keeps speculative resyncs from stopping on garbage */
        size_t hpm_size = hp_hpm_map(hpm)->size;
        e->bound = hpm_size < HP_EV_TRACE_MASK ? (uint32_t)hpm_size : HP_EV_TRACE_MASK;
        HP_TRY(counter_start(&e->count, hpm));
    }
    if (hp_live_init(&e->run, 0) < 0 || hp_live_init(&e->lead, 0) < 0)
        return oom_fail(e);
    e->scr = calloc((size_t)e->max_threads + 1, sizeof *e->scr);
    if (!e->scr)
        return oom_fail(e);
    if (hp_group_open(&e->g, e->pool, 1, &engine_ops, e) < 0)
        return hp_fail(HP_ENOMEM, "%s: cannot start the digest's threads", e->path);
    hp_group_run(e->g);
    hp_group_close(e->g); /* nothing of it runs from here on */
    e->g = NULL;
    engine_on_caller(e); /* the last callbacks */
    if (e->failed)
        return hp_fail(e->rc, "%s", e->msg);
    for (int i = 0; i < e->nslots; i++) { /* the slots' record buffers go back */
        hp_recbuf_put(e->w, e->slots[i]->em.rb);
        e->slots[i]->em.rb = NULL;
    }
    if (!e->counted) { /* an empty .hpd never settled a chunk */
        uint32_t count = 0;
        HP_TRY(counter_join(&e->count, &count));
        e->ntraces = e->bound = count;
        e->counted = 1;
    }
    return emit_final(e);
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
    if (o->level != HP_LEVEL_AUTO && (o->level < ZSTD_minCLevel() || o->level > ZSTD_maxCLevel()))
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

/* Opens the inputs and the writer. */
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
    e->chunk_fixed = o->chunk_bytes;
    e->rep->hpd_bytes = e->end;
    uint64_t sec, nsec;
    hp_hpm_initial_timespec(in->hpm, &sec, &nsec);
    const hp_map *hpm_map = hp_hpm_map(in->hpm);
    in->sources[0] = hpm_map;
    in->sources[1] = &in->map;
    int level = o->level;
    hp_writer_params wp = {
        .path = in->out_path,
        .inputs = in->sources,
        .ninputs = 2,
        .format = o->format,
        .level = level,
        /* the automatic choice's frames are larger: a frame's first snapshot
         * repeats nothing before it, and is most of what a frame costs */
        .frame_bytes = o->frame_bytes ? o->frame_bytes
                       : level == HP_LEVEL_AUTO ? HP_AUTO_FRAME_BYTES : (1u << 20),
        .threads = e->max_threads + 1, /* compression jobs' worker numbers */
        .async = 1,
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
    hp_group_close(e->g);
    counter_stop(&e->count); /* after an early failure */
    for (int i = 0; i < e->nslots; i++)
        free_slot(e->slots[i], e->w);
    free(e->slots);
    hp_hpc_writer_abort(e->w);
    if (e->scr)
        for (int i = 0; i <= e->max_threads; i++) {
            free(e->scr[i].order);
            free(e->scr[i].tmp);
        }
    free(e->scr);
    free(e->skipq);
    hp_live_free(&e->run);
    hp_live_free(&e->lead);
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

int hp_digest_run(const char *filebase, double time_interval, double precision,
                  const hp_make_options *opts, const hp_digest_hooks *hooks)
{
    static const hp_make_options defaults = HP_MAKE_OPTIONS_INIT;
    hp_make_report local_report;
    if (!opts)
        opts = &defaults;
    uint64_t interval_ms = 0;
    HP_TRY(check_params(time_interval, precision, opts, &interval_ms));
    if (hooks->max_threads < 1 || hooks->max_threads > HP_MAX_THREADS)
        return hp_fail(HP_EINVAL, "invalid thread count %d", hooks->max_threads);
    double start = hp_clock();

    engine e = {
        .o = opts,
        .rep = opts->report ? opts->report : &local_report,
        .precision = precision,
        .interval_us = interval_ms * 1000,
        .max_threads = hooks->max_threads,
        .grant = hooks->grant,
        .grant_ctx = hooks->grant_ctx,
        .pool = hooks->pool ? hooks->pool : hp_pool_shared(),
        /* a measurement's knob (make bench): the work of the split by chunks
         * that more threads use, measured on two */
        .no_pipeline = getenv("HEAPPROF_PIPELINE") && !strcmp(getenv("HEAPPROF_PIPELINE"), "0"),
    };
    memset(e.rep, 0, sizeof *e.rep);
    if (!e.pool)
        return hp_fail(HP_ENOMEM, "out of memory");
    inputs in = {0};
    int rc = engine_setup(&e, &in, filebase, interval_ms);
    if (rc == HP_OK)
        rc = engine_run(&e, in.hpm);
    if (rc == HP_OK) /* nothing that shrank under the digest is committed */
        rc = hp_map_check(hp_hpm_map(in.hpm));
    if (rc == HP_OK)
        rc = hp_map_check(&in.map);
    e.rep->t_settle = e.t_settle;
    e.rep->t_totals = e.t_totals;
    e.rep->t_write = e.t_write;
    if (rc == HP_OK) {
        rc = hp_hpc_writer_finish(e.w, e.rep);
        e.w = NULL;
    }
    if (e.rep->threads == 0)
        e.rep->threads = 1;
    e.rep->profile_seconds = (double)e.time * 1e-6;
    e.rep->t_total = hp_clock() - start;
    engine_teardown(&e, &in);
    return rc;
}

int hp_hpc_make_ex(const char *filebase, double time_interval, double precision,
                   const hp_make_options *opts)
{
    hp_digest_hooks hooks = {
        .max_threads = hp_thread_count(opts && opts->version > 0 ? opts->threads : 0)};
    return hp_digest_run(filebase, time_interval, precision, opts, &hooks);
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
