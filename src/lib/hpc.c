/* hpc.c - the .hpc reader, formats v1 and v2.
 *
 * A v2 file is a zstd seekable-format file whose content is a v1 file, so
 * both are read through one notion: "bytes [a, b) of the v1 stream". For v1
 * that is the mapped file; for v2 it is the one zstd frame that holds them
 * (the writer never lets a snapshot span frames), decompressed and cached. */
#include "error.h"
#include "grow.h"
#include "hpc_internal.h"
#include "hpc_format.h"
#include "seekable.h"
#include "sniff.h"
#include "mapfile.h"
#include "paths.h"

#include <stdlib.h>
#include <string.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_d_forceIgnoreChecksum */
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
    size_t frame_len, frame_cap;
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

/* Decompresses frame i piece by piece into `sink`, checking its size
 * against the seek table and, where the table has one, its checksum.
 * Memory is a small window, whatever the frame claims to hold. */
typedef int (*frame_sink)(void *ctx, const uint8_t *p, size_t n);

static int stream_frame(hp_hpc *hpc, size_t i, frame_sink sink, void *ctx)
{
    const hp_frame_map *m = &hpc->frames;
    uint64_t dsize = m->d_off[i + 1] - m->d_off[i], got = 0;
    ZSTD_inBuffer in = {hpc->map.data + m->c_off[i], (size_t)(m->c_off[i + 1] - m->c_off[i]), 0};
    uint8_t window[1u << 16];
    hp_checksum_state *sum = m->checksum ? hp_frame_checksum_begin() : NULL;
    if (m->checksum && !sum)
        return hp_fail(HP_ENOMEM, "%s: out of memory", hpc->map.path);
    ZSTD_DCtx_reset(hpc->dctx, ZSTD_reset_session_only);
    ZSTD_DCtx_setParameter(hpc->dctx, ZSTD_d_forceIgnoreChecksum, ZSTD_d_validateChecksum);
    const char *why = NULL;
    int rc = HP_OK;
    for (size_t ret = 1; rc == HP_OK && !why && ret != 0;) {
        ZSTD_outBuffer out = {window, sizeof window, 0};
        ret = ZSTD_decompressStream(hpc->dctx, &out, &in);
        if (ZSTD_isError(ret))
            why = ZSTD_getErrorName(ret);
        else if (got + out.pos > dsize)
            why = "more bytes than the seek table says";
        else if (ret != 0 && in.pos == in.size && out.pos < out.size)
            why = "truncated frame";
        if (why || out.pos == 0)
            continue;
        got += out.pos;
        if (sum)
            hp_frame_checksum_update(sum, window, out.pos);
        rc = sink(ctx, window, out.pos);
    }
    uint32_t checksum = sum ? hp_frame_checksum_end(sum) : 0;
    if (rc < 0)
        return rc;
    if (!why && got != dsize)
        why = "fewer bytes than the seek table says";
    if (why)
        return hp_fail(HP_EFORMAT, "%s: offset %llu: zstd frame %zu: %s", hpc->map.path,
                       (unsigned long long)m->c_off[i], i, why);
    if (m->checksum && checksum != m->checksum[i])
        return hp_fail(HP_EFORMAT,
                       "%s: offset %llu: zstd frame %zu: content differs from the seek table's "
                       "checksum (frames out of order?)",
                       hpc->map.path, (unsigned long long)m->c_off[i], i);
    return HP_OK;
}

/* A sink that appends to the cached frame, growing it as bytes arrive
 * (not by what the seek table claims). */
static int into_cache(void *ctx, const uint8_t *p, size_t n)
{
    hp_hpc *hpc = ctx;
    if (hp_grow(&hpc->frame, &hpc->frame_cap, hpc->frame_len + n, 1, 1u << 16) < 0)
        return hp_fail(HP_ENOMEM, "%s: out of memory", hpc->map.path);
    memcpy(hpc->frame + hpc->frame_len, p, n);
    hpc->frame_len += n;
    return HP_OK;
}

#define RELEASE_EVERY (16u << 20)

/* A random read costs its frame's decompression: a frame whose sizes are
 * sane (as our writer's are) is decompressed in one call straight into the
 * cache, and checksummed there, with no window and no copy. Any other
 * frame, and any frame this fails on, goes through stream_frame(), which
 * bounds memory by the bytes that arrive and names what is wrong. Returns
 * 1 when the frame is in the cache, 0 to stream it. */
#define DIRECT_MAX (16u << 20)

static int load_frame_direct(hp_hpc *hpc, size_t i)
{
    const hp_frame_map *m = &hpc->frames;
    uint64_t dsize = m->d_off[i + 1] - m->d_off[i];
    const uint8_t *src = hpc->map.data + m->c_off[i];
    size_t csize = (size_t)(m->c_off[i + 1] - m->c_off[i]);
    if (dsize > DIRECT_MAX || ZSTD_findFrameCompressedSize(src, csize) != csize)
        return 0;
    if (hp_grow(&hpc->frame, &hpc->frame_cap, (size_t)dsize, 1, 1u << 16) < 0)
        return 0;
    /* the seek table's checksum covers the same bytes as zstd's own: one
     * pass of XXH64 over the frame is enough (it was a fifth of a read) */
    ZSTD_DCtx_reset(hpc->dctx, ZSTD_reset_session_only); /* parameters change only there */
    ZSTD_DCtx_setParameter(hpc->dctx, ZSTD_d_forceIgnoreChecksum,
                           m->checksum ? ZSTD_d_ignoreChecksum : ZSTD_d_validateChecksum);
    size_t got = ZSTD_decompressDCtx(hpc->dctx, hpc->frame, (size_t)dsize, src, csize);
    if (ZSTD_isError(got) || got != dsize)
        return 0;
    if (m->checksum && hp_frame_checksum(hpc->frame, got) != m->checksum[i])
        return 0;
    hpc->frame_len = got;
    return 1;
}

static int load_frame(hp_hpc *hpc, size_t i)
{
    if (hpc->cached == i)
        return HP_OK;
    size_t prev = hpc->cached;
    hpc->cached = SIZE_MAX;
    hpc->frame_len = 0;
    if (!load_frame_direct(hpc, i)) /* sets frame_len only when it succeeds */
        HP_TRY(stream_frame(hpc, i, into_cache, hpc));
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
        return hp_fail(rc, "%s: offset 0: unsupported .hpc version %u (expected 1)", path,
                       hp_be32(h));
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

/* A sink that feeds the index decoder the bytes from the index's start. */
typedef struct index_feed {
    hp_index_decoder *d;
    uint64_t skip; /* bytes of the frame before the index */
} index_feed;

static int into_index(void *ctx, const uint8_t *p, size_t n)
{
    index_feed *f = ctx;
    size_t skip = f->skip < n ? (size_t)f->skip : n;
    f->skip -= skip;
    return hp_index_decoder_feed(f->d, p + skip, n - skip);
}

static int parse_index(hp_hpc *hpc, uint64_t header_end)
{
    const char *path = hpc->map.path;
    hp_index_decoder d;
    hp_index_decoder_init(&d, header_end, hpc->index_off, hpc->v1_size - hpc->index_off);
    int rc;
    if (hpc->format == 1) {
        rc = hp_index_decoder_feed(&d, hpc->map.data + hpc->index_off,
                                   (size_t)(hpc->v1_size - hpc->index_off));
    } else { /* the index is in the last frames: decoded as they decompress */
        rc = HP_OK;
        for (size_t i = frame_of(hpc, hpc->index_off); rc == HP_OK && i < hpc->frames.nframes; i++) {
            index_feed f = {&d, i == frame_of(hpc, hpc->index_off)
                                    ? hpc->index_off - hpc->frames.d_off[i] : 0};
            rc = stream_frame(hpc, i, into_index, &f);
            if (rc < 0 && !d.why) { /* the frame's own error: already said */
                hp_index_decoder_free(&d);
                return rc;
            }
        }
    }
    if (rc == HP_OK)
        rc = hp_index_decoder_finish(&d, &hpc->offsets, &hpc->n);
    hp_index_decoder_free(&d);
    if (rc < 0)
        return hp_fail(rc, "%s: offset %llu%s: %s", path, (unsigned long long)hpc->index_off,
                       hpc->format == 2 ? " (decompressed)" : "", d.why);
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
    const char *kind = rc < 0 && hpc->format == 1 ? hp_sniff(hpc->map.data, hpc->map.size) : NULL;
    if (kind && strcmp(kind, "a v1 .hpc")) /* another of the profile's files */
        rc = hp_fail(HP_EFORMAT, "%s: offset 0: not a .hpc: this is %s", path, kind);
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
    free(hpc->frames.checksum);
    free(hpc->offsets);
    free(hpc->entries);
    hp_map_close(&hpc->map);
    free(hpc);
}

int hp_hpc_format(const hp_hpc *hpc) { return hpc->format; }
const hp_map *hp_hpc_map(const hp_hpc *hpc) { return &hpc->map; }
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

int hp_hpc_total_usage(hp_hpc *hpc, size_t k, int64_t *total)
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
    *total = hp_int64_of(sum); /* summed modulo 2^64: signed overflow is undefined */
    return HP_OK;
}

int hp_hpc_snapshot_offset(const hp_hpc *hpc, size_t k, uint64_t *offset)
{
    if (k >= hpc->n)
        return hp_fail(HP_ERANGE, "%s: snapshot %zu out of range (%zu snapshots)", hpc->map.path, k,
                       hpc->n);
    *offset = hpc->offsets[k];
    return HP_OK;
}

int hp_hpc_recorded_params(const hp_hpc *hpc, hp_digest_params *params)
{
    if (hpc->format != 2 || hp_header_slot_params(hpc->map.data, (size_t)hpc->frames.c_off[1], params))
        return HP_NOT_RECORDED;
    return HP_OK;
}
