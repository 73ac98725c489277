/* livestate.h - the live bytes per trace at one moment, ranked in snapshot
 * order, and the precision cutoff that decides a snapshot's entries (their
 * encoding is the snapshot record's, in hpc_format.h).
 *
 * A digest emits many snapshots from a state that changes a little between
 * them, so the sorted order is kept and repaired from the traces touched
 * since the last snapshot (a sort of the touched ones and a merge), not
 * rebuilt. One state is used by one thread. */
#ifndef HP_LIVESTATE_H
#define HP_LIVESTATE_H

#include "hpc_format.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hp_live_state {
    uint32_t ntraces;     /* arrays hold indexes 0..ntraces */
    int64_t *live;        /* live bytes per trace */
    int64_t *acc;         /* scratch, always zero between uses */
    uint8_t *dirty;       /* touched since the last snapshot */
    uint32_t *dirty_list;
    size_t ndirty;
    size_t nneg;          /* traces with negative live bytes */
    hp_ranked *order, *tmp; /* live > 0, sorted as a snapshot is */
    size_t norder;
    int order_valid;
} hp_live_state;

int hp_live_init(hp_live_state *st, uint32_t ntraces);
void hp_live_free(hp_live_state *st);

/* Makes `st` a copy of `src` (same ntraces), its sorted order included, so
 * that the next snapshot of `st` only sorts what changes after the copy. */
void hp_live_copy(hp_live_state *st, const hp_live_state *src);

/* Brings the sorted order up to date with the live bytes (done by
 * hp_live_cut() too). */
void hp_live_sort(hp_live_state *st);

/* a + b with wrapping: live-byte counters only reach 2^63 in a damaged
 * stream, and that must not be undefined behaviour. */
static inline int64_t hp_wrap_add(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* Adds `delta` bytes to a trace (hp_wrap_add). */
static inline void hp_live_add(hp_live_state *st, uint32_t trace, int64_t delta)
{
    int64_t old = st->live[trace];
    int64_t now = hp_wrap_add(old, delta);
    st->live[trace] = now;
    st->nneg += (size_t)(now < 0) - (size_t)(old < 0);
    if (!st->dirty[trace]) {
        st->dirty[trace] = 1;
        st->dirty_list[st->ndirty++] = trace;
    }
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
 * changes. */
void hp_live_cut(hp_live_state *st, double precision, hp_cut *cut);

#endif
