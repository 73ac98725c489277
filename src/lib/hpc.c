/* hpc.c - the .hpc reader, formats v1 and v2.
 *
 * A v2 file is a zstd seekable-format file whose content is a v1 file, so
 * both are read through one notion: "bytes [a, b) of the v1 stream". For v1
 * that is the mapped file; for v2 it is the one zstd frame that holds them
 * (the writer never lets a snapshot span frames), decompressed and cached. */
#include "error.h"
#include "hpc_format.h"
#include "hpc_internal.h"
#include "seekable.h"
#include "mapfile.h"
#include "paths.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

struct hp_hpc {
    hp_map map;
    int format;
    uint64_t sec, nsec, interval_ms;
    uint64_t index_off;  /* in the v1 stream */
    uint64_t v1_size;    /* length of the v1 stream */
    uint64_t *offsets;   /* snapshot k starts at offsets[k]; offsets[n] = index_off */
    size_t n;

    /* v2 only: where each frame is, in the file and in the v1 stream */
    hp_frame_map frames;
    ZSTD_DCtx *dctx;
    uint8_t *frame;      /* the cached decompressed frame */
    size_t frame_cap;
    size_t cached;       /* index of the cached frame, or SIZE_MAX */
    uint64_t released;   /* compressed bytes before this were given back */

    hp_entry *entries;
    size_t entries_cap;
};

/* ---- v2: seek table and frames ------------------------------------------- */

static int parse_seek_table(hp_hpc *hpc)
{
    const char *why;
    size_t where;
    int rc = hp_seek_table_decode(hpc->map.data, hpc->map.size, &hpc->frames, &why, &where);
    if (rc < 0)
        return hp_fail(rc, "%s: offset %zu: %s", hpc->map.path, where, why);
    hpc->v1_size = hpc->frames.d_off[hpc->frames.nframes];
    hpc->dctx = ZSTD_createDCtx();
    if (!hpc->dctx)
        return hp_fail(HP_ENOMEM, "%s: out of memory", hpc->map.path);
    hpc->cached = SIZE_MAX;
    return HP_OK;
}

#define RELEASE_EVERY (16u << 20)

static int load_frame(hp_hpc *hpc, size_t i)
{
    if (hpc->cached == i)
        return HP_OK;
    size_t prev = hpc->cached;
    size_t dsize = (size_t)(hpc->frames.d_off[i + 1] - hpc->frames.d_off[i]);
    if (dsize > hpc->frame_cap) {
        uint8_t *p = realloc(hpc->frame, dsize);
        if (!p)
            return hp_fail(HP_ENOMEM, "%s: out of memory", hpc->map.path);
        hpc->frame = p;
        hpc->frame_cap = dsize;
    }
    hpc->cached = SIZE_MAX;
    size_t r = ZSTD_decompressDCtx(hpc->dctx, hpc->frame, dsize, hpc->map.data + hpc->frames.c_off[i],
                                   (size_t)(hpc->frames.c_off[i + 1] - hpc->frames.c_off[i]));
    if (ZSTD_isError(r) || r != dsize)
        return hp_fail(HP_EFORMAT, "%s: offset %llu: zstd frame %zu: %s", hpc->map.path,
                       (unsigned long long)hpc->frames.c_off[i], i,
                       ZSTD_isError(r) ? ZSTD_getErrorName(r) : "size differs from the seek table");
    hpc->cached = i;
    /* a pass from front to back (the peak, a timeline) keeps only a window
     * of the compressed file resident, as the .hpm scans do */
    if (prev != SIZE_MAX && i == prev + 1 && hpc->frames.c_off[i] - hpc->released >= RELEASE_EVERY) {
        hp_map_dontneed(&hpc->map, (size_t)hpc->released, (size_t)(hpc->frames.c_off[i] - hpc->released));
        hpc->released = hpc->frames.c_off[i];
    }
    return HP_OK;
}

static size_t frame_of(const hp_hpc *hpc, uint64_t off)
{
    size_t lo = 0, hi = hpc->frames.nframes; /* d_off[lo] <= off < d_off[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (hpc->frames.d_off[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Points *p at v1 bytes [off, off + len), which must lie in one frame for v2. */
static int v1_bytes(hp_hpc *hpc, uint64_t off, uint64_t len, const uint8_t **p)
{
    if (off > hpc->v1_size || len > hpc->v1_size - off)
        return hp_fail(HP_EFORMAT, "%s: offset %llu: beyond the end of the data", hpc->map.path,
                       (unsigned long long)off);
    if (hpc->format == 1) {
        *p = hpc->map.data + off;
        return HP_OK;
    }
    size_t i = frame_of(hpc, off);
    if (off + len > hpc->frames.d_off[i + 1])
        return hp_fail(HP_EFORMAT, "%s: decompressed offset %llu: record spans two zstd frames",
                       hpc->map.path, (unsigned long long)off);
    HP_TRY(load_frame(hpc, i));
    *p = hpc->frame + (off - hpc->frames.d_off[i]);
    return HP_OK;
}

/* ---- header and index ---------------------------------------------------- */

static int parse_header(hp_hpc *hpc)
{
    const char *path = hpc->map.path;
    /* The header is at most 4 + 8 + 8 + 10 + 8 bytes; for v2 it is frame 0. */
    uint64_t avail = hpc->format == 1 ? hpc->v1_size : hpc->frames.d_off[1];
    uint64_t len = avail < HP_HPC_HEADER_MAX ? avail : HP_HPC_HEADER_MAX;
    const uint8_t *h;
    HP_TRY(v1_bytes(hpc, 0, len, &h));
    hp_hpc_header hdr;
    size_t used;
    int rc = hp_hpc_header_decode(h, (size_t)len, &hdr, &used);
    if (rc == HP_EVERSION)
        return hp_fail(rc, "%s: offset 0: unsupported .hpc version %u (expected 1)", path, hp_be32(h));
    if (rc < 0)
        return hp_fail(rc, "%s: offset %zu: truncated or invalid header", path, used);
    hpc->sec = hdr.sec;
    hpc->nsec = hdr.nsec;
    hpc->interval_ms = hdr.interval_ms;
    hpc->index_off = hdr.index_offset;
    if (hdr.interval_ms == 0)
        return hp_fail(HP_EFORMAT, "%s: offset 20: interval of 0 ms", path);
    if (hdr.index_offset < used || hdr.index_offset > hpc->v1_size)
        return hp_fail(HP_EFORMAT, "%s: offset %zu: index offset %llu outside the file", path,
                       used - 8, (unsigned long long)hdr.index_offset);
    return HP_OK;
}

static int parse_index(hp_hpc *hpc, uint64_t header_end)
{
    const char *path = hpc->map.path;
    const uint8_t *p, *end;
    uint8_t *copy = NULL;
    uint64_t len = hpc->v1_size - hpc->index_off;
    if (hpc->format == 1) {
        p = hpc->map.data + hpc->index_off;
    } else { /* the index may span the last frames: gather them */
        if (len > HP_MAX_FRAME_CONTENT)
            return hp_fail(HP_ELIMIT, "%s: index of %llu bytes", path, (unsigned long long)len);
        copy = malloc(len ? (size_t)len : 1);
        if (!copy)
            return hp_fail(HP_ENOMEM, "%s: out of memory", path);
        for (uint64_t got = 0; got < len;) {
            size_t i = frame_of(hpc, hpc->index_off + got);
            int rc = load_frame(hpc, i);
            if (rc < 0) {
                free(copy);
                return rc;
            }
            uint64_t from = hpc->index_off + got - hpc->frames.d_off[i];
            uint64_t n = hpc->frames.d_off[i + 1] - hpc->frames.d_off[i] - from;
            memcpy(copy + got, hpc->frame + from, (size_t)n);
            got += n;
        }
        p = copy;
    }
    end = p + len;
    const char *why;
    int rc = hp_index_decode(p, end, header_end, hpc->index_off, &hpc->offsets, &hpc->n, &why);
    free(copy);
    if (rc < 0)
        return hp_fail(rc, "%s: offset %llu%s: %s", path, (unsigned long long)hpc->index_off,
                       hpc->format == 2 ? " (decompressed)" : "", why);
    return HP_OK;
}

int hp_hpc_open_path(hp_hpc **out, const char *path)
{
    *out = NULL;
    hp_hpc *hpc = calloc(1, sizeof *hpc);
    if (!hpc)
        return hp_fail(HP_ENOMEM, "out of memory");
    int rc = hp_map_open(&hpc->map, path);
    if (rc == HP_OK && hpc->map.size >= 4 && hp_le32(hpc->map.data) == ZSTD_MAGICNUMBER) {
        hpc->format = 2;
        rc = parse_seek_table(hpc);
    } else if (rc == HP_OK) {
        hpc->format = 1;
        hpc->v1_size = hpc->map.size;
    }
    if (rc == HP_OK)
        rc = parse_header(hpc);
    if (rc == HP_OK)
        rc = parse_index(hpc, HP_HPC_HEADER_SIZE(hpc->interval_ms));
    if (rc < 0) {
        hp_hpc_close(hpc);
        return rc;
    }
    *out = hpc;
    return HP_OK;
}

int hp_hpc_open(hp_hpc **out, const char *filebase)
{
    char *path = hp_path_join(filebase, ".hpc");
    if (!path)
        return hp_fail(HP_ENOMEM, "out of memory");
    int rc = hp_hpc_open_path(out, path);
    free(path);
    return rc;
}

void hp_hpc_close(hp_hpc *hpc)
{
    if (!hpc)
        return;
    ZSTD_freeDCtx(hpc->dctx);
    free(hpc->frame);
    free(hpc->frames.c_off);
    free(hpc->frames.d_off);
    free(hpc->offsets);
    free(hpc->entries);
    hp_map_close(&hpc->map);
    free(hpc);
}

const char *hp_hpc_path(const hp_hpc *hpc) { return hpc->map.path; }
int hp_hpc_format(const hp_hpc *hpc) { return hpc->format; }
size_t hp_hpc_length(const hp_hpc *hpc) { return hpc->n; }
double hp_hpc_time_interval(const hp_hpc *hpc) { return (double)hpc->interval_ms / 1000.0; }
double hp_hpc_initial_time(const hp_hpc *hpc) { return (double)hpc->sec + (double)hpc->nsec * 1e-9; }

void hp_hpc_initial_timespec(const hp_hpc *hpc, uint64_t *sec, uint64_t *nsec)
{
    *sec = hpc->sec;
    *nsec = hpc->nsec;
}

/* ---- snapshots ----------------------------------------------------------- */

/* Points *p at snapshot k's record, *len its length. */
static int record_bytes(hp_hpc *hpc, size_t k, const uint8_t **p, uint64_t *len)
{
    if (k >= hpc->n)
        return hp_fail(HP_ERANGE, "%s: snapshot %zu out of range (%zu snapshots)", hpc->map.path, k,
                       hpc->n);
    *len = hpc->offsets[k + 1] - hpc->offsets[k];
    return v1_bytes(hpc, hpc->offsets[k], *len, p);
}

int hp_hpc_record_fail(const hp_hpc *hpc, size_t k, int rc, const char *why)
{
    return hp_fail(rc, "%s: offset %llu%s: snapshot %zu: %s", hpc->map.path,
                   (unsigned long long)hpc->offsets[k], hpc->format == 2 ? " (decompressed)" : "", k,
                   why);
}

int hp_hpc_record(hp_hpc *hpc, size_t k, hp_record_cursor *c)
{
    const uint8_t *p;
    uint64_t len = 0;
    const char *why;
    HP_TRY(record_bytes(hpc, k, &p, &len));
    int rc = hp_record_open(c, p, p + len, &why);
    return rc < 0 ? hp_hpc_record_fail(hpc, k, rc, why) : HP_OK;
}

int hp_hpc_snapshot(hp_hpc *hpc, size_t k, hp_snapshot *out)
{
    const uint8_t *p;
    uint64_t len = 0;
    HP_TRY(record_bytes(hpc, k, &p, &len));
    size_t count;
    const char *why;
    int rc = hp_snapshot_record_decode(p, p + len, &hpc->entries, &hpc->entries_cap, &count, &why);
    if (rc < 0)
        return hp_hpc_record_fail(hpc, k, rc, why);
    out->relative_time = (double)k * (double)hpc->interval_ms / 1000.0;
    out->count = count;
    out->entries = hpc->entries;
    return HP_OK;
}

int hp_hpc_total_usage(hp_hpc *hpc, size_t k, uint64_t *total)
{
    hp_record_cursor c;
    uint32_t trace;
    uint64_t bytes, sum = 0;
    const char *why;
    int rc;
    HP_TRY(hp_hpc_record(hpc, k, &c)); /* summed as read: no array of entries */
    while ((rc = hp_record_next(&c, &trace, &bytes, &why)) == 1)
        sum += bytes;
    if (rc < 0)
        return hp_hpc_record_fail(hpc, k, rc, why);
    *total = sum;
    return HP_OK;
}

int hp_hpc_recorded_params(const hp_hpc *hpc, uint64_t *interval_ms, double *precision)
{
    if (hpc->format != 2)
        return HP_NOT_RECORDED;
    hp_params p;
    if (hp_header_slot_params(hpc->map.data, (size_t)hpc->frames.c_off[1], &p) != 0)
        return HP_NOT_RECORDED;
    *interval_ms = p.interval_ms;
    *precision = p.precision;
    return HP_OK;
}
