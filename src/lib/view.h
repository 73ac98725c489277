/* view.h - what the exporters, the timeline and the diff look at: a run
 * (its digest and its metadata), snapshots copied out of the digest, and
 * the stacks of the traces those snapshots name.
 *
 * Stacks are read from the .hpm in one pass that keeps only the traces
 * asked for (hp_hpm_visit_traces), so memory follows the snapshots used,
 * not the size of the .hpm. */
#ifndef HP_VIEW_H
#define HP_VIEW_H

#include "heapprof.h"
#include "mapfile.h"

#include <stddef.h>
#include <stdint.h>

/* One profile: FILEBASE.hpc and FILEBASE.hpm. */
typedef struct hp_run {
    char *filebase;
    hp_hpc *hpc;
    hp_hpm *hpm;
    uint64_t interval_ms;
    uint64_t sec, nsec;  /* the start, from the digest */
    const hp_map *inputs[2]; /* the .hpc and the .hpm: no output may replace them */
} hp_run;

int hp_run_open(hp_run *r, const char *filebase);
void hp_run_close(hp_run *r);

/* The digest's path, for messages. */
const char *hp_run_hpc_path(const hp_run *r);

/* One entry, its size read as two's-complement (heapprof's digests store
 * wrapped 32-bit counters as negative numbers). */
typedef struct hp_view_entry {
    uint32_t trace;
    int64_t bytes;
} hp_view_entry;

/* Snapshot k, copied (the reader's entries last until its next call). */
typedef struct hp_view {
    size_t k;
    uint64_t ms;     /* relative time, whole milliseconds */
    hp_view_entry *e;
    size_t n;
    int64_t total;   /* the sum of the entries, OTHER included */
    int64_t other;   /* the sum of trace 0's entries */
} hp_view;

int hp_view_read(hp_view *v, hp_run *r, size_t k);
void hp_view_free(hp_view *v);

/* The stacks of a set of traces. */
typedef struct hp_stacks {
    uint32_t *trace;   /* ascending, distinct, nonzero once resolved */
    size_t n, cap;
    size_t *start;     /* trace[i]'s frames are frames[start[i] .. start[i + 1]) */
    hp_frame *frames;
    size_t nframes, frames_cap;
    int resolved;
} hp_stacks;

/* Asks for a trace (0 is ignored), or every trace of a view. */
int hp_stacks_want(hp_stacks *s, uint32_t trace);
int hp_stacks_want_view(hp_stacks *s, const hp_view *v);

/* Sorts the traces asked for and drops repeats (resolving does it too). */
int hp_stacks_compact(hp_stacks *s);

/* Reads the stacks asked for from r's .hpm in one pass. A trace the .hpm
 * lacks is an error naming both files. */
int hp_stacks_resolve(hp_stacks *s, hp_run *r);

/* The frames of a resolved trace, outermost first (file ids of the run's
 * hp_hpm). Returns HP_OK, or HP_NO_TRACE when it was not asked for. */
int hp_stacks_get(const hp_stacks *s, uint32_t trace, const hp_frame **frames, size_t *depth);

void hp_stacks_free(hp_stacks *s);

/* Resolves `at` in r's digest, with the messages of hp_hpc_find. */
int hp_run_find(hp_run *r, const hp_at *at, size_t *k);

/* time_nanos of snapshot k: the start plus k intervals, saturating. */
int64_t hp_run_time_nanos(const hp_run *r, size_t k);

#endif
