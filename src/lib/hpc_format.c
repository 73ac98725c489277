#include "hpc_format.h"

#include <stdlib.h>
#include <string.h>

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

size_t hp_hpc_header_encode(uint8_t *p, const hp_hpc_header *h)
{
    hp_put_be32(p, HP_HPC_VERSION);
    hp_put_be64(p + 4, h->sec);
    hp_put_be64(p + 12, h->nsec);
    size_t n = hp_varint_encode(p + 20, h->interval_ms);
    hp_put_be64(p + 20 + n, h->index_offset);
    return 20 + n + 8;
}

int hp_hpc_index_decode(const uint8_t *p, const uint8_t *end, uint64_t header_end,
                        uint64_t index_off, uint64_t **offsets, size_t *n, const char **why)
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

int hp_hpc_snapshot_decode(const uint8_t *p, const uint8_t *end, hp_entry **entries, size_t *cap,
                           size_t *count, const char **why)
{
    uint64_t n;
    int len;
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
    if (n > *cap) {
        hp_entry *e = realloc(*entries, (size_t)n * sizeof *e);
        if (!e) {
            *why = "out of memory";
            return HP_ENOMEM;
        }
        *entries = e;
        *cap = (size_t)n;
    }
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t trace, v;
        if ((len = hp_varint_decode(p, end, &trace)) <= 0)
            return HP_EFORMAT;
        p += len;
        if ((len = hp_varint_decode(p, end, &v)) <= 0)
            return HP_EFORMAT;
        p += len;
        if (trace > UINT32_MAX) {
            *why = "trace index out of range";
            return HP_EFORMAT;
        }
        /* heapprof 1.0's writer stores prev - this as unsigned even where
         * its "other" entry is out of order; modular arithmetic recovers
         * exactly what it meant */
        prev = i == 0 ? v : prev - v;
        (*entries)[i] = (hp_entry){(uint32_t)trace, prev};
    }
    if (p != end) {
        *why = "trailing bytes after the last entry";
        return HP_EFORMAT;
    }
    *count = (size_t)n;
    return HP_OK;
}

static const char params_tag[8] = {'h', 'p', 'c', 'p', 'a', 'r', 'a', 'm'};

void hp_params_encode(uint8_t *p, uint64_t interval_ms, double precision)
{
    uint64_t bits;
    memcpy(&bits, &precision, sizeof bits);
    memcpy(p, params_tag, 8);
    p[8] = 1;
    hp_put_le64(p + 9, interval_ms);
    hp_put_le64(p + 17, bits);
}

int hp_params_decode(const uint8_t *p, size_t len, uint64_t *interval_ms, double *precision)
{
    if (len < HP_PARAMS_SIZE || memcmp(p, params_tag, 8) != 0 || p[8] != 1)
        return 1;
    uint64_t bits = hp_le64(p + 17);
    *interval_ms = hp_le64(p + 9);
    memcpy(precision, &bits, sizeof *precision);
    return 0;
}
