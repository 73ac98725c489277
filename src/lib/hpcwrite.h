/* hpcwrite.h - streaming .hpc writer (v1, or v2 = zstd seekable).
 *
 * Snapshot records arrive in order, already encoded; the writer assigns the
 * index and cuts v2 frames at snapshot boundaries (a frame is closed before
 * a record that would take it past frame_bytes, so cuts depend only on the
 * record sizes and the output is the same for any thread count). Closed
 * frames are compressed in parallel and written in order.
 *
 * Two ways to drive it:
 *   - plainly (hp_hpc_writer_add, copying each record): the writer
 *     compresses batches of frames itself with hp_parallel_for;
 *   - by the digest engine (params.async): records are referenced in the
 *     engine's record buffers (hp_recbuf, no copy), and the engine runs the
 *     compression jobs on its pool (take / compress / done) and the ordered
 *     writes (flush) as its own serial work, so that neither sits on the
 *     path of the next snapshots.
 *
 * The compression of a v2 frame: with an explicit zstd level, that level
 * for every frame; with HP_LEVEL_AUTO, a choice per frame from its content
 * alone (never from the thread count or timing): the first 512 KiB of the
 * frame are compressed at zstd's fastest level, which finds the repeats of
 * one snapshot in the next and nothing else; a frame where they save at
 * least 10% is compressed at level 1, any other is stored (zstd raw blocks:
 * a busy heap's snapshots share little, and entropy coding alone saved 5%
 * of them for a fifth of the digest's time). docs/PERFORMANCE.md has the
 * measurements. */
#ifndef HP_HPCWRITE_H
#define HP_HPCWRITE_H

#include "heapprof.h"
#include "mapfile.h"

#include <stddef.h>
#include <stdint.h>

typedef struct hp_hpc_writer hp_hpc_writer;

/* The frame size of the automatic choice (the engine's default; an explicit
 * level keeps 1 MiB frames). */
#define HP_AUTO_FRAME_BYTES (2u << 20)

typedef struct hp_writer_params {
    const char *path;
    const hp_map *const *inputs; /* what the output is made from (outfile.h) */
    size_t ninputs;
    hp_format format;
    int level;                   /* a zstd level, or HP_LEVEL_AUTO */
    size_t frame_bytes;
    int threads;                 /* plain use: the threads that compress batches;
                                    async: the most compression jobs at once */
    int async;                   /* driven by the engine (see above) */
    uint64_t sec, nsec, interval_ms;
    hp_digest_params record;     /* recorded in v2 files */
} hp_writer_params;

int hp_hpc_writer_open(hp_hpc_writer **out, const hp_writer_params *params);

/* Appends `repeat` copies of one encoded snapshot record (copied). */
int hp_hpc_writer_add(hp_hpc_writer *w, const uint8_t *rec, size_t len, uint64_t repeat);

/* ---- driven by the engine ---------------------------------------------------- */

/* A buffer of encoded records, referenced by the frames that hold them until
 * they are compressed. The engine emits into one (p, len, cap: grow it as
 * any buffer), hands records in it to the writer, and drops its reference. */
typedef struct hp_recbuf {
    uint8_t *p;
    size_t len, cap;
    int refs;
    struct hp_recbuf *next; /* the writer's spares */
} hp_recbuf;

/* A buffer with one reference (the caller's), empty; NULL when out of
 * memory. Thread-safe. */
hp_recbuf *hp_recbuf_get(hp_hpc_writer *w);
/* Drops a reference. Thread-safe. Accepts NULL. */
void hp_recbuf_put(hp_hpc_writer *w, hp_recbuf *b);

/* Appends `repeat` copies of the record at b->p + off, len bytes, without
 * copying it (v2: the frames take references; v1: written at once). */
int hp_hpc_writer_add_ref(hp_hpc_writer *w, hp_recbuf *b, size_t off, size_t len, uint64_t repeat);

/* A closed frame's compression, for the engine's pool. */
typedef struct hp_frame_job hp_frame_job;

/* The oldest closed frame not yet taken, or NULL. Thread-safe. */
hp_frame_job *hp_hpc_writer_take(hp_hpc_writer *w);
/* Compresses it (gathers its records, releasing their buffers, and
 * computes its checksum); jobs run concurrently, each with its own worker
 * number below params.threads. */
void hp_hpc_writer_compress(hp_hpc_writer *w, hp_frame_job *job, int worker);
/* Marks it compressed. Thread-safe. */
void hp_hpc_writer_done(hp_hpc_writer *w, hp_frame_job *job);
/* Whether compressed frames wait at the head of the queue, for flush. */
int hp_hpc_writer_flushable(hp_hpc_writer *w);
/* Writes the compressed frames at the head of the queue, in order. One
 * caller at a time (the engine's serial work). */
int hp_hpc_writer_flush(hp_hpc_writer *w);

/* Frames closed and not yet written. Thread-safe. */
int hp_hpc_writer_pending(hp_hpc_writer *w);

/* Seconds spent writing so far (the caller of the ordered work's view). */
double hp_hpc_writer_write_seconds(const hp_hpc_writer *w);

/* Writes what remains, the index (and for v2 the header frame and seek
 * table), commits the file into place and frees the writer, whatever the
 * outcome. No job may be running. */
int hp_hpc_writer_finish(hp_hpc_writer *w, hp_make_report *report);

/* Discards everything written; frees the writer. No job may be running.
 * Accepts NULL. */
void hp_hpc_writer_abort(hp_hpc_writer *w);

#endif
