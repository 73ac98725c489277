/* livestate.h - the live bytes per trace at one moment, ranked in snapshot
 * order, and the precision cutoff that decides a snapshot's entries (their
 * encoding is the snapshot record's, in hpc_format.h).
 *
 * A digest emits many snapshots from a state that changes a little between
 * them, so the sorted order is kept and repaired from the traces touched
 * since the last snapshot: the touched ones are sorted (a radix sort when
 * there are many) and merged with the untouched, or, when most traces were
 * touched, the order is rebuilt by a radix sort of every live trace, which
 * gives the same order for less work. One state is used by one thread.
 *
 * A state's arrays hold the traces up to the highest index it has been
 * asked for (hp_live_reserve), not the .hpm's declared count: a profile
 * that declares 2^24 traces and uses 20,000 costs 20,000 entries. */
#ifndef HP_LIVESTATE_H
#define HP_LIVESTATE_H

#include "hpc_format.h"

#include <stddef.h>
#include <stdint.h>

/* flags[trace] */
#define HP_LIVE_DIRTY 1u /* touched since the order was last repaired */
#define HP_LIVE_NEG 2u   /* negative when last counted in nneg */

typedef struct hp_live_state {
    uint32_t ntraces;     /* the arrays hold indexes 0..ntraces */
    int64_t *live;        /* live bytes per trace */
    uint8_t *flags;       /* HP_LIVE_DIRTY, HP_LIVE_NEG */
    uint32_t *dirty_list; /* the traces with HP_LIVE_DIRTY */
    size_t ndirty;
    size_t nneg;          /* traces with negative live bytes (exact once sorted) */
    hp_ranked *order, *tmp; /* live > 0, sorted as a snapshot is; scratch */
    size_t norder, order_cap;
    uint64_t total;       /* the sum of order's bytes (wrapping) */
    int order_valid;
} hp_live_state;

/* A state for traces 0..ntraces (it grows with hp_live_reserve). Returns 0,
 * or -1 when out of memory. */
int hp_live_init(hp_live_state *st, uint32_t ntraces);
void hp_live_free(hp_live_state *st);

/* Makes the arrays hold traces 0..max_trace (new ones at 0 bytes). Returns
 * 0, or -1 when out of memory (the state is then unchanged). */
int hp_live_reserve(hp_live_state *st, uint32_t max_trace);

/* Makes `st` a copy of `src`'s live bytes (growing st as needed); its
 * sorted order too when src's is up to date, so that the next snapshot of
 * `st` only sorts what changes after the copy. Returns 0 or -1 (memory). */
int hp_live_copy(hp_live_state *st, const hp_live_state *src);

/* Makes `st` a copy of `src`'s live bytes alone (hp_live_replace), with
 * nothing marked as touched, the signs counted afresh and no order: for a
 * state that is never sorted. Returns 0 or -1 (memory). */
int hp_live_copy_values(hp_live_state *st, const hp_live_state *src);

/* Brings the sorted order (and nneg, and total) up to date with the live
 * bytes (done by hp_live_cut() too). Returns 0, or -1 when out of memory
 * (the order is then invalid, the live bytes intact). */
int hp_live_sort(hp_live_state *st);

/* a + b with wrapping: live-byte counters only reach 2^63 in a damaged
 * stream, and that must not be undefined behaviour. */
static inline int64_t hp_wrap_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* Adds `delta` bytes to a trace and keeps nneg exact, without tracking it
 * for the order: for a state that is copied rather than sorted (the
 * digest's running state), whose order the caller marks invalid. Returns
 * the trace's flags as they were. */
static inline unsigned hp_live_add_untracked(hp_live_state *st, uint32_t trace, int64_t delta)
{
    int64_t now = hp_wrap_add(st->live[trace], delta);
    st->live[trace] = now;
    unsigned f = st->flags[trace];
    unsigned neg = now < 0 ? HP_LIVE_NEG : 0;
    st->nneg += (size_t)(neg != 0) - (size_t)((f & HP_LIVE_NEG) != 0);
    st->flags[trace] = (uint8_t)((f & HP_LIVE_DIRTY) | neg);
    return f;
}

/* Adds `delta` bytes to a trace (hp_wrap_add), within ntraces, keeping
 * nneg exact at once and the trace tracked for the order. */
static inline void hp_live_add(hp_live_state *st, uint32_t trace, int64_t delta)
{
    if (!(hp_live_add_untracked(st, trace, delta) & HP_LIVE_DIRTY)) {
        st->dirty_list[st->ndirty++] = trace;
        st->flags[trace] |= HP_LIVE_DIRTY;
    }
}

/* For each i < n, adds x[i] bytes to trace tr[i] (with `add`) or sets it
 * to x[i], marking the trace touched for the order (the first time only:
 * the list has a spare slot for the store that a marked trace wastes). */
static inline __attribute__((always_inline)) void
hp_live_update(hp_live_state *st, const uint32_t *tr, const int64_t *x, size_t n, int add)
{
    int64_t *live = st->live;
    uint8_t *flags = st->flags;
    uint32_t *list = st->dirty_list;
    size_t nd = st->ndirty;
    for (size_t i = 0; i < n; i++) {
        uint32_t t = tr[i];
        live[t] = add ? hp_wrap_add(live[t], x[i]) : x[i];
        unsigned f = flags[t];
        list[nd] = t;
        nd += !(f & HP_LIVE_DIRTY);
        flags[t] = (uint8_t)(f | HP_LIVE_DIRTY);
    }
    st->ndirty = nd;
}

/* Adds dl[i] bytes to trace tr[i] for each i < n, all within ntraces: the
 * digest's hot loop, so nneg is brought up to date by the next sort
 * instead of per event. */
static inline void hp_live_apply(hp_live_state *st, const uint32_t *tr, const int64_t *dl, size_t n)
{
    hp_live_update(st, tr, dl, n, 1);
}

/* Sets n traces' live bytes (tr[i] to v[i]), tracking them for the order:
 * what a state that follows another one (the digest's pipeline) is given,
 * the values of the traces it touched. */
static inline void hp_live_set(hp_live_state *st, const uint32_t *tr, const int64_t *v, size_t n)
{
    hp_live_update(st, tr, v, n, 0);
}

/* Replaces the live bytes with v[0..n) for traces 0..n-1, and 0 past
 * them: nothing marked as touched, nneg counted, the order to be rebuilt.
 * Returns 0 or -1 (memory). */
int hp_live_replace(hp_live_state *st, const int64_t *v, size_t n);

/* Takes the traces touched since the last take (or sort): their indexes
 * and live bytes into tr and v (room for st->ndirty), unmarked; returns how
 * many. For a state that is never sorted, only followed (hp_live_set). */
static inline size_t hp_live_take(hp_live_state *st, uint32_t *tr, int64_t *v)
{
    size_t n = st->ndirty;
    for (size_t i = 0; i < n; i++) {
        uint32_t t = st->dirty_list[i];
        tr[i] = t;
        v[i] = st->live[t];
        st->flags[t] = (uint8_t)(st->flags[t] & ~HP_LIVE_DIRTY);
    }
    st->ndirty = 0;
    return n;
}

/* A snapshot's entries after the precision cutoff: kept[0..nkept) in
 * snapshot order (trace 0's own entry may be among them; the record leaves
 * it to `other`), and `other`, trace 0's bytes plus the dropped ones. */
typedef struct hp_cut {
    const hp_ranked *kept;
    size_t nkept;
    uint64_t other;
} hp_cut;

/* Sorts the state and applies the precision cutoff (rule 5 of the
 * contract). The cut points into the state's order: valid until the state
 * changes. Returns 0, or -1 when out of memory. */
int hp_live_cut(hp_live_state *st, double precision, hp_cut *cut);

#endif
