/* hpcwrite.h - streaming .hpc writer (v1, or v2 = zstd seekable).
 *
 * Snapshot records arrive in order, already encoded; the writer assigns the
 * index, cuts v2 frames at snapshot boundaries (a frame is closed before a
 * record that would take it past frame_bytes, so cuts depend only on the
 * record sizes and the output is the same for any thread count),
 * compresses batches of frames in parallel and writes them in order. */
#ifndef HP_HPCWRITE_H
#define HP_HPCWRITE_H

#include "heapprof.h"
#include "mapfile.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hp_hpc_writer hp_hpc_writer;

typedef struct hp_writer_params {
    const char *path;
    const hp_map *const *inputs; /* what the output is made from (outfile.h) */
    size_t ninputs;
    hp_format format;
    int level;
    size_t frame_bytes;
    int threads;
    uint64_t sec, nsec, interval_ms;
    hp_digest_params record;     /* recorded in v2 files */
} hp_writer_params;

int hp_hpc_writer_open(hp_hpc_writer **out, const hp_writer_params *params);

/* Appends `repeat` copies of one encoded snapshot record. */
int hp_hpc_writer_add(hp_hpc_writer *w, const uint8_t *rec, size_t len, uint64_t repeat);

/* Seconds the writer has spent compressing and writing so far (reported by
 * hp_hpc_writer_finish()), so that callers do not count them twice. */
double hp_hpc_writer_busy(const hp_hpc_writer *w);

/* Writes the index (and for v2 the header frame and seek table), commits the
 * file into place and frees the writer, whatever the outcome. */
int hp_hpc_writer_finish(hp_hpc_writer *w, hp_make_report *report);

/* Discards everything written; frees the writer. Accepts NULL. */
void hp_hpc_writer_abort(hp_hpc_writer *w);

#endif
