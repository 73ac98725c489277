/* hpm_internal.h - what the HPD reader and the digester need of an hp_hpm. */
#ifndef HP_HPM_INTERNAL_H
#define HP_HPM_INTERNAL_H

#include "heapprof.h"
#include "mapfile.h"
#include "scale.h"

const hp_scale *hp_hpm_scale(const hp_hpm *hpm);

/* The mapped .hpm: its path and identity. */
const hp_map *hp_hpm_map(const hp_hpm *hpm);

/* Counts the traces of an .hpm already opened; safe to call from another
 * thread while the owner does not touch the handle's lazy trace state. */
int hp_hpm_count_traces_readonly(const hp_hpm *hpm, uint32_t *count);

/* Called for each trace hp_hpm_visit_traces() finds: its frames, outermost
 * first, file ids interned in the handle (hp_hpm_file_name), valid during
 * the call only. A negative return stops the visit with that code. */
typedef int (*hp_trace_visit_fn)(void *ctx, uint32_t index, const hp_frame *frames, size_t depth);

/* Visits the traces whose indexes are in `wanted` (ascending; 0 and repeats
 * are skipped) in one pass over the file, keeping only their frames, so
 * that memory follows the traces asked for, not the file (a trace cache
 * already loaded that far is used instead). *last receives the last trace
 * index the pass reached: when an index is not visited, the file has only
 * *last traces. Returns HP_OK or the first error. */
int hp_hpm_visit_traces(hp_hpm *hpm, const uint32_t *wanted, size_t n, hp_trace_visit_fn fn,
                        void *ctx, uint32_t *last);

/* Sets *line to the stripped source line `lineno` of the interned file
 * `file_id`, read from the source file on first use; "" when the file or
 * the line cannot be read. Valid as long as the handle. Returns HP_OK, or
 * HP_ENOMEM (no text is ever left out for want of memory). */
int hp_hpm_source_line(hp_hpm *hpm, uint32_t file_id, uint32_t lineno, const char **line);

#endif
