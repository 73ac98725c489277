/* hpc_format.c - the v1 records: header, snapshot, index. */
#include "hpc_format.h"

#include "error.h"
#include "grow.h"

#include <stdlib.h>
#include <string.h>

/* ---- the header ----------------------------------------------------------- */

size_t hp_hpc_header_encode(uint8_t *p, const hp_hpc_header *h)
{
    hp_put_be32(p, HP_HPC_VERSION);
    hp_put_be64(p + 4, h->sec);
    hp_put_be64(p + 12, h->nsec);
    size_t n = hp_varint_encode(p + 20, h->interval_ms);
    hp_put_be64(p + 20 + n, h->index_offset);
    return 20 + n + 8;
}

int hp_hpc_header_decode(const uint8_t *p, size_t len, hp_hpc_header *h, size_t *used)
{
    *used = 0;
    if (len < 4)
        return HP_EFORMAT;
    if (hp_be32(p) != HP_HPC_VERSION)
        return HP_EVERSION;
    if (len < 20) {
        *used = len;
        return HP_EFORMAT;
    }
    h->sec = hp_be64(p + 4);
    h->nsec = hp_be64(p + 12);
    int n = hp_varint_decode(p + 20, p + len, &h->interval_ms);
    *used = 20;
    if (n <= 0 || 20 + (size_t)n + 8 > len)
        return HP_EFORMAT;
    h->index_offset = hp_be64(p + 20 + n);
    *used = 20 + (size_t)n + 8;
    return HP_OK;
}

/* ---- the snapshot record -------------------------------------------------- */

/* A varint, without a branch on its length below 2^21 (traces and the
 * differences between neighbouring entries nearly always are; their
 * lengths vary at random, and a mispredicted branch per entry cost more
 * than the encoding). It may write 4 bytes where it uses fewer: the record
 * bound gives every varint 10. */
static inline uint8_t *put_entry_varint(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (__builtin_expect(v < (1u << 21), 1)) {
        uint32_t two = v >= 0x80, three = v >= 0x4000;
        uint32_t x = (uint32_t)((v & 0x7f) | ((v << 1) & 0x7f00) | ((v << 2) & 0x7f0000)) |
                     two << 7 | three << 15;
        memcpy(p, &x, 4);
        return p + 1 + two + three;
    }
#endif
    return hp_varint_put(p, v);
}

/* Entries [from, to) of kept, trace 0's own left out, after `prev` (or
 * first in the record when *first). */
static uint8_t *encode_entries(uint8_t *p, const hp_ranked *kept, size_t from, size_t to,
                               uint64_t *prev, int *first)
{
    size_t i = from;
    if (*first) { /* the first entry stores its bytes, the others a difference */
        while (i < to && kept[i].trace == 0)
            i++;
        if (i == to)
            return p;
        p = hp_varint_put(p, kept[i].trace);
        p = hp_varint_put(p, (uint64_t)kept[i].bytes);
        *prev = (uint64_t)kept[i].bytes;
        *first = 0;
        i++;
    }
    uint64_t pv = *prev;
    for (; i < to; i++) {
        uint32_t t = kept[i].trace;
        if (t == 0)
            continue;
        uint64_t b = (uint64_t)kept[i].bytes;
        p = put_entry_varint(p, t);
        p = put_entry_varint(p, pv - b);
        pv = b;
    }
    *prev = pv;
    return p;
}

size_t hp_snapshot_record_encode(uint8_t *p, const hp_ranked *kept, size_t n, uint64_t other)
{
    uint8_t *start = p;
    size_t count = other > 0;
    for (size_t i = 0; i < n; i++)
        count += kept[i].trace != 0;
    hp_put_be32(p, HP_SNAPSHOT_MAGIC);
    p += 4;
    p = hp_varint_put(p, count);
    /* trace 0 goes before the first entry it does not follow (among equal
     * sizes the lower trace index, 0, comes first): before the first with
     * bytes <= other, found by bisection as the entries are sorted */
    size_t pos = n;
    if (other > 0) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if ((uint64_t)kept[mid].bytes <= other)
                hi = mid;
            else
                lo = mid + 1;
        }
        pos = lo;
    }
    uint64_t prev = 0;
    int first = 1;
    p = encode_entries(p, kept, 0, pos, &prev, &first);
    if (other > 0) {
        p = hp_varint_put(p, 0);
        p = hp_varint_put(p, first ? other : prev - other);
        prev = other;
        first = 0;
    }
    p = encode_entries(p, kept, pos, n, &prev, &first);
    return (size_t)(p - start);
}

int hp_record_open(hp_record_cursor *c, const uint8_t *p, const uint8_t *end, const char **why)
{
    uint64_t n;
    int len;
    *c = (hp_record_cursor){0};
    *why = "truncated snapshot";
    if (end - p < 4 || hp_be32(p) != HP_SNAPSHOT_MAGIC) {
        *why = "bad snapshot magic";
        return HP_EFORMAT;
    }
    p += 4;
    if ((len = hp_varint_decode(p, end, &n)) <= 0)
        return HP_EFORMAT;
    p += len;
    if (n > (uint64_t)(end - p) / 2) { /* an entry is at least 2 bytes */
        *why = "snapshot claims more entries than it has bytes";
        return HP_EFORMAT;
    }
    *c = (hp_record_cursor){.p = p, .end = end, .left = n};
    return HP_OK;
}

int hp_snapshot_record_decode(const uint8_t *p, const uint8_t *end, hp_entry **entries,
                              size_t *cap, size_t *count, const char **why)
{
    hp_record_cursor c;
    HP_TRY(hp_record_open(&c, p, end, why));
    size_t n = (size_t)c.left;
    if (hp_grow(entries, cap, n, sizeof **entries, 64) < 0) {
        *why = "out of memory";
        return HP_ENOMEM;
    }
    uint32_t trace;
    uint64_t bytes;
    int rc;
    for (size_t i = 0; (rc = hp_record_next(&c, &trace, &bytes, why)) == 1; i++)
        (*entries)[i] = (hp_entry){trace, hp_int64_of(bytes)};
    if (rc < 0)
        return rc;
    *count = n;
    return HP_OK;
}

/* ---- the index ------------------------------------------------------------ */

size_t hp_index_head_encode(uint8_t *p, uint64_t count)
{
    hp_put_be32(p, HP_INDEX_MAGIC);
    return 4 + hp_varint_encode(p + 4, count);
}

size_t hp_index_offset_encode(uint8_t *p, uint64_t k, uint64_t prev, uint64_t offset)
{
    return hp_varint_encode(p, k == 0 ? offset : offset - prev);
}

void hp_index_decoder_init(hp_index_decoder *d, uint64_t header_end, uint64_t index_off,
                           uint64_t total_len)
{
    memset(d, 0, sizeof *d);
    d->header_end = header_end;
    d->index_off = index_off;
    d->total_len = total_len;
}

static int index_fail(hp_index_decoder *d, int rc, const char *why)
{
    d->why = why;
    return rc;
}

/* Takes one whole varint (or the magic) from the decoder's stream. */
static int index_value(hp_index_decoder *d, uint64_t v)
{
    switch (d->stage) {
    case 1: /* the count */
        if (v > HP_MAX_SNAPSHOTS)
            return index_fail(d, HP_ELIMIT,
                              "index claims more snapshots than a digest may have (HP_MAX_SNAPSHOTS)");
        /* every offset takes at least one byte: refuse absurd counts up front */
        if (v > d->total_len - d->consumed)
            return index_fail(d, HP_ELIMIT, "index claims more snapshots than it has bytes");
        d->count = v;
        d->stage = v ? 2 : 3;
        return HP_OK;
    case 2: { /* snapshot k's offset, as a difference from k-1's */
        uint64_t o = d->k == 0 ? v : d->prev + v;
        /* a snapshot record is at least 5 bytes (magic + entry count) */
        if ((d->k == 0 && o < d->header_end) || (d->k > 0 && (v < 5 || o < d->prev)) ||
            o + 5 > d->index_off)
            return index_fail(d, HP_EFORMAT, "snapshot offsets out of order or out of range");
        /* grown as offsets prove valid, never sized by the claimed count */
        if (hp_grow(&d->off, &d->cap, (size_t)d->k + 2, sizeof *d->off, 1024) < 0)
            return index_fail(d, HP_ENOMEM, "out of memory");
        d->off[d->k++] = d->prev = o;
        if (d->k == d->count)
            d->stage = 3;
        return HP_OK;
    }
    default:
        return index_fail(d, HP_EFORMAT, "trailing bytes after the index");
    }
}

int hp_index_decoder_feed(hp_index_decoder *d, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        d->consumed++;
        d->pending[d->npending++] = p[i];
        if (d->stage == 0) { /* the magic */
            if (d->npending < 4)
                continue;
            if (hp_be32(d->pending) != HP_INDEX_MAGIC)
                return index_fail(d, HP_EFORMAT, "bad index magic");
            d->npending = 0;
            d->stage = 1;
            continue;
        }
        if (p[i] & 0x80) { /* a varint goes on */
            if (d->npending == HP_VARINT_MAX)
                return index_fail(d, HP_EFORMAT, "over-long varint in the index");
            continue;
        }
        uint64_t v = 0;
        hp_varint_decode(d->pending, d->pending + d->npending, &v);
        d->npending = 0;
        int rc = index_value(d, v);
        if (rc < 0)
            return rc;
    }
    return HP_OK;
}

int hp_index_decoder_finish(hp_index_decoder *d, uint64_t **offsets, size_t *n)
{
    if (d->stage != 3) {
        free(d->off);
        d->off = NULL;
        return index_fail(d, HP_EFORMAT, "truncated index");
    }
    if (hp_grow(&d->off, &d->cap, (size_t)d->k + 1, sizeof *d->off, 1) < 0)
        return index_fail(d, HP_ENOMEM, "out of memory");
    d->off[d->k] = d->index_off;
    *offsets = d->off;
    *n = (size_t)d->k;
    d->off = NULL;
    return HP_OK;
}

void hp_index_decoder_free(hp_index_decoder *d)
{
    free(d->off);
    d->off = NULL;
}

int hp_index_decode(const uint8_t *p, const uint8_t *end, uint64_t header_end, uint64_t index_off,
                    uint64_t **offsets, size_t *n, const char **why)
{
    hp_index_decoder d;
    hp_index_decoder_init(&d, header_end, index_off, (uint64_t)(end - p));
    int rc = hp_index_decoder_feed(&d, p, (size_t)(end - p));
    if (rc == HP_OK)
        rc = hp_index_decoder_finish(&d, offsets, n);
    hp_index_decoder_free(&d);
    *why = d.why;
    return rc;
}
