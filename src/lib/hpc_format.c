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

size_t hp_snapshot_record_encode(uint8_t *p, const hp_ranked *kept, size_t n, uint64_t other)
{
    uint8_t *start = p;
    size_t count = other > 0;
    for (size_t i = 0; i < n; i++)
        count += kept[i].trace != 0;
    hp_put_be32(p, HP_SNAPSHOT_MAGIC);
    p += 4;
    p += hp_varint_encode(p, count);
    uint64_t prev = 0;
    int first = 1, other_done = other == 0;
    for (size_t i = 0; i <= n; i++) {
        /* trace 0 goes before the first entry it does not follow: among
         * equal sizes the lower trace index, 0, comes first */
        if (!other_done && (i == n || (uint64_t)kept[i].bytes <= other)) {
            p += hp_varint_encode(p, 0);
            p += hp_varint_encode(p, first ? other : prev - other);
            prev = other;
            first = 0;
            other_done = 1;
        }
        if (i == n)
            break;
        if (kept[i].trace == 0)
            continue;
        uint64_t b = (uint64_t)kept[i].bytes;
        p += hp_varint_encode(p, kept[i].trace);
        p += hp_varint_encode(p, first ? b : prev - b);
        prev = b;
        first = 0;
    }
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
        (*entries)[i] = (hp_entry){trace, bytes};
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

int hp_index_decode(const uint8_t *p, const uint8_t *end, uint64_t header_end, uint64_t index_off,
                    uint64_t **offsets, size_t *n, const char **why)
{
    uint64_t count;
    int len;
    if (end - p < 4 || hp_be32(p) != HP_INDEX_MAGIC) {
        *why = "bad index magic";
        return HP_EFORMAT;
    }
    p += 4;
    if ((len = hp_varint_decode(p, end, &count)) <= 0) {
        *why = "truncated index";
        return HP_EFORMAT;
    }
    p += len;
    /* Every offset takes at least one byte: refuse absurd counts up front. */
    if (count > (uint64_t)(end - p)) {
        *why = "index claims more snapshots than it has bytes";
        return HP_ELIMIT;
    }
    uint64_t *off = malloc(((size_t)count + 1) * sizeof *off);
    if (!off) {
        *why = "out of memory";
        return HP_ENOMEM;
    }
    uint64_t prev = 0;
    for (size_t k = 0; k < count; k++) {
        uint64_t v;
        if ((len = hp_varint_decode(p, end, &v)) <= 0) {
            free(off);
            *why = "truncated index";
            return HP_EFORMAT;
        }
        p += len;
        uint64_t o = k == 0 ? v : prev + v;
        /* a snapshot record is at least 5 bytes (magic + entry count) */
        if ((k == 0 && o < header_end) || (k > 0 && (v < 5 || o < prev)) || o + 5 > index_off) {
            free(off);
            *why = "snapshot offsets out of order or out of range";
            return HP_EFORMAT;
        }
        off[k] = prev = o;
    }
    off[count] = index_off;
    *offsets = off;
    *n = (size_t)count;
    return HP_OK;
}
