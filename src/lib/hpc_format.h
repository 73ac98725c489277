/* hpc_format.h - the records of a v1 .hpc, each with its encoder and its
 * decoder side by side (docs/FORMATS.md, ".hpc v1"):
 *
 *   header    version, start time, interval, offset of the index
 *   snapshot  magic, entry count, entries (trace, bytes as differences)
 *   index     magic, snapshot count, snapshot offsets (as differences)
 *
 * The v2 container around these bytes is in seekable.h. */
#ifndef HP_HPC_FORMAT_H
#define HP_HPC_FORMAT_H

#include "bytes.h"
#include "heapprof.h"

#include <math.h>

#define HP_HPC_VERSION 1
#define HP_SNAPSHOT_MAGIC 0x5379a0bdu
#define HP_INDEX_MAGIC 0xab935776u

/* The interval in whole milliseconds, as the header stores it: the API's
 * seconds rounded to the nearest ms. */
static inline uint64_t hp_interval_ms(double seconds)
{
    return (uint64_t)llround(seconds * 1000.0);
}

/* ---- the header ----------------------------------------------------------- */

#define HP_HPC_HEADER_MAX (4 + 8 + 8 + HP_VARINT_MAX + 8)
#define HP_HPC_HEADER_SIZE(interval_ms) (4 + 8 + 8 + hp_varint_size(interval_ms) + 8)

typedef struct hp_hpc_header {
    uint64_t sec, nsec, interval_ms, index_offset;
} hp_hpc_header;

/* Encodes a header; returns its length (HP_HPC_HEADER_SIZE). */
size_t hp_hpc_header_encode(uint8_t *p, const hp_hpc_header *h);

/* Decodes a header from [p, p + len). Returns 0 (and *used = its length),
 * HP_EVERSION, or HP_EFORMAT with *used = where it went wrong. */
int hp_hpc_header_decode(const uint8_t *p, size_t len, hp_hpc_header *h, size_t *used);

/* ---- the snapshot record -------------------------------------------------- */

/* An entry in snapshot order (bytes descending, then trace ascending), as
 * the live state ranks its traces. */
typedef struct hp_ranked {
    int64_t bytes;
    uint32_t trace;
} hp_ranked;

/* The most bytes a record of `count` entries takes. */
static inline size_t hp_snapshot_record_bound(size_t count)
{
    return 4 + HP_VARINT_MAX + count * 2 * HP_VARINT_MAX;
}

/* Encodes a snapshot record at p (hp_snapshot_record_bound(n + 1) bytes of
 * room): the entries kept[0..n), which are in snapshot order and positive,
 * and the "other" entry, trace 0 with `other` bytes when other > 0, placed
 * where rule 4 of the contract puts it. Entries of trace 0 in `kept` are
 * left out: their bytes belong in `other`. Returns the record's length. */
size_t hp_snapshot_record_encode(uint8_t *p, const hp_ranked *kept, size_t n, uint64_t other);

/* Decodes a snapshot record filling exactly [p, end) into a growable entry
 * array. Returns 0 or a negative hp_error with *why set. */
int hp_snapshot_record_decode(const uint8_t *p, const uint8_t *end, hp_entry **entries,
                              size_t *cap, size_t *count, const char **why);

/* ---- the index ------------------------------------------------------------ */

/* The index is written as snapshots arrive: each snapshot's offset (the
 * first absolute, the others as the difference from the one before) is
 * encoded as it is known, and the record's head goes before them at the
 * end. */
#define HP_INDEX_HEAD_MAX (4 + HP_VARINT_MAX)

/* Encodes the index's head (magic and snapshot count); returns its length. */
size_t hp_index_head_encode(uint8_t *p, uint64_t count);

/* Encodes snapshot k's offset given snapshot k-1's (ignored for k == 0);
 * returns the bytes written (at most HP_VARINT_MAX). */
size_t hp_index_offset_encode(uint8_t *p, uint64_t k, uint64_t prev, uint64_t offset);

/* The index decoded as its bytes arrive (from the frames of a v2 file, one
 * piece at a time): every offset is checked as it is read, and the offsets
 * array grows only as valid offsets come, so that a damaged or hostile
 * index is refused before it costs memory. */
typedef struct hp_index_decoder {
    uint64_t header_end, index_off, total_len, consumed;
    int stage;                       /* magic, count, offsets, done */
    uint8_t pending[HP_VARINT_MAX];  /* the magic or a varint, split across pieces */
    size_t npending;
    uint64_t count, k, prev;
    uint64_t *off;
    size_t cap;
    const char *why;                 /* set with an error */
} hp_index_decoder;

/* An index of `total_len` bytes in a file whose header ends at header_end
 * and whose index starts at index_off. */
void hp_index_decoder_init(hp_index_decoder *d, uint64_t header_end, uint64_t index_off,
                           uint64_t total_len);

/* Decodes the next `n` bytes. Returns 0 or a negative hp_error (d->why). */
int hp_index_decoder_feed(hp_index_decoder *d, const uint8_t *p, size_t n);

/* After the last byte: the offsets (the caller frees them), with
 * (*offsets)[*n] = index_off. Returns 0 or a negative hp_error (d->why). */
int hp_index_decoder_finish(hp_index_decoder *d, uint64_t **offsets, size_t *n);

void hp_index_decoder_free(hp_index_decoder *d);

/* Decodes the index at [p, end) at once: snapshot offsets, each >=
 * header_end and increasing, all before index_off; (*offsets)[*n] is set to
 * index_off. Returns 0 or a negative hp_error with *why set. */
int hp_index_decode(const uint8_t *p, const uint8_t *end, uint64_t header_end, uint64_t index_off,
                    uint64_t **offsets, size_t *n, const char **why);

#endif
