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

/* A stored 64-bit value read as two's complement (heapprof 1.0 stores its
 * wrapped 32-bit counters as 10-byte varints), without an
 * implementation-defined conversion. */
static inline int64_t hp_int64_of(uint64_t v)
{
    return v <= (uint64_t)INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

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

/* A varint at p, which has at least HP_VARINT_MAX bytes after it: the byte
 * after it, or NULL when it runs past 10 bytes. The same value as
 * hp_varint_decode(), without its bounds checks (the record decoder's inner
 * loop). */
static inline const uint8_t *hp_varint_decode_unchecked(const uint8_t *p, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < HP_VARINT_MAX; i++) {
        uint8_t b = p[i];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *out = v;
            return p + i + 1;
        }
    }
    return NULL;
}

/* Reads a snapshot record entry by entry, for readers that need only part
 * of it or no array of it (the timeline); hp_snapshot_record_decode() reads
 * whole records through the same two steps. */
typedef struct hp_record_cursor {
    const uint8_t *p, *end;
    uint64_t left;  /* entries not read yet */
    uint64_t prev;  /* the bytes of the entry read last */
    int started;
} hp_record_cursor;

/* Reads the magic and the entry count of the record filling [p, end).
 * Returns 0 (c->left is the count) or HP_EFORMAT with *why set. */
int hp_record_open(hp_record_cursor *c, const uint8_t *p, const uint8_t *end, const char **why);

/* The next entry: 1 and (*trace, *bytes); 0 after the last one, when the
 * record must end there; or HP_EFORMAT with *why set. */
static inline int hp_record_next(hp_record_cursor *c, uint32_t *trace, uint64_t *bytes,
                                 const char **why)
{
    if (c->left == 0) {
        if (c->p != c->end) {
            *why = "trailing bytes after the last entry";
            return HP_EFORMAT;
        }
        return 0;
    }
    uint64_t t, v;
    if (c->end - c->p >= 2 * HP_VARINT_MAX) { /* room for both: no bounds checks */
        const uint8_t *q = hp_varint_decode_unchecked(c->p, &t);
        if (q)
            q = hp_varint_decode_unchecked(q, &v);
        if (!q) {
            *why = "truncated snapshot";
            return HP_EFORMAT; /* a varint of more than 10 bytes */
        }
        c->p = q;
    } else {
        int len;
        *why = "truncated snapshot";
        if ((len = hp_varint_decode(c->p, c->end, &t)) <= 0)
            return HP_EFORMAT;
        c->p += len;
        if ((len = hp_varint_decode(c->p, c->end, &v)) <= 0)
            return HP_EFORMAT;
        c->p += len;
    }
    if (t > UINT32_MAX) {
        *why = "trace index out of range";
        return HP_EFORMAT;
    }
    /* heapprof 1.0's writer stores prev - this as unsigned even where its
     * "other" entry is out of order; modular arithmetic recovers exactly
     * what it meant */
    c->prev = c->started ? c->prev - v : v;
    c->started = 1;
    c->left--;
    *trace = (uint32_t)t;
    *bytes = c->prev;
    return 1;
}

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
