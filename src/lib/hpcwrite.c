/* hpcwrite.c - the .hpc writer: records in, a v1 file or a v2 seekable
 * file out (see hpcwrite.h; the records are hpc_format.h's, the v2 parts
 * seekable.h's). */
#include "hpcwrite.h"

#include "clock.h"
#include "error.h"
#include "grow.h"
#include "hpc_format.h"
#include "outfile.h"
#include "parallel.h"
#include "seekable.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static int buf_reserve(buf *b, size_t extra)
{
    return hp_grow(&b->p, &b->cap, b->len + extra, 1, 4096);
}

static int buf_put(buf *b, const void *src, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->p + b->len, src, n);
    b->len += n;
    return 0;
}

typedef struct frame {
    buf raw;           /* v1 bytes */
    buf packed;        /* the zstd frame */
    size_t zret;       /* ZSTD_compress2's result */
    uint32_t checksum; /* of raw, for the seek table */
} frame;

struct hp_hpc_writer {
    hp_writer_params p;
    hp_outfile out;
    hp_hpc_header hdr;
    size_t header_len, header_slot;
    uint32_t header_checksum;

    uint64_t v1_pos;   /* offset in the v1 stream of the next record */
    uint64_t nsnap;
    buf index;         /* varint offsets: the first absolute, then deltas */
    uint64_t last_off;

    buf v1buf;         /* v1: write buffer */

    frame *frames;     /* v2: frames[0..npending) closed, frames[npending] open */
    int npending, maxpending;
    hp_seek_entry *seek;
    size_t nseek, seek_cap;
    ZSTD_CCtx **cctx;  /* one per thread */
    double t_compress, t_write;
};

#define V1_BUFFER (1u << 20)

static int oom(hp_hpc_writer *w) { return hp_fail(HP_ENOMEM, "%s: out of memory", w->p.path); }

int hp_hpc_writer_open(hp_hpc_writer **out, const hp_writer_params *params)
{
    *out = NULL;
    hp_hpc_writer *w = calloc(1, sizeof *w);
    if (!w)
        return hp_fail(HP_ENOMEM, "out of memory");
    w->p = *params;
    w->hdr = (hp_hpc_header){params->sec, params->nsec, params->interval_ms, 0};
    w->header_len = HP_HPC_HEADER_SIZE(params->interval_ms);
    int rc = hp_outfile_open(&w->out, params->path, params->inputs, params->ninputs);
    if (rc < 0) {
        free(w);
        return rc;
    }
    uint8_t slot[HP_HPC_HEADER_MAX + 256] = {0};
    if (w->p.format == HP_FORMAT_V1) {
        w->header_slot = w->header_len; /* rewritten with the index offset */
    } else {
        /* Room for the compressed header frame, whatever its size, plus a
         * skippable frame that pads the slot (see finish_v2). */
        w->header_slot = hp_header_slot_size(w->header_len);
        w->maxpending = 2 * (params->threads > 0 ? params->threads : 1);
        w->frames = calloc((size_t)w->maxpending + 1, sizeof *w->frames);
        w->cctx = calloc((size_t)w->maxpending, sizeof *w->cctx); /* >= threads */
        if (!w->frames || !w->cctx) {
            hp_hpc_writer_abort(w);
            return hp_fail(HP_ENOMEM, "out of memory");
        }
    }
    w->v1_pos = w->header_len;
    rc = hp_outfile_append(&w->out, slot, w->header_slot);
    if (rc < 0) {
        hp_hpc_writer_abort(w);
        return rc;
    }
    *out = w;
    return HP_OK;
}

void hp_hpc_writer_abort(hp_hpc_writer *w)
{
    if (!w)
        return;
    hp_outfile_abort(&w->out);
    if (w->frames)
        for (int i = 0; i <= w->maxpending; i++) {
            free(w->frames[i].raw.p);
            free(w->frames[i].packed.p);
        }
    if (w->cctx)
        for (int i = 0; i < w->maxpending; i++)
            ZSTD_freeCCtx(w->cctx[i]);
    free(w->cctx);
    free(w->frames);
    free(w->seek);
    free(w->index.p);
    free(w->v1buf.p);
    free(w);
}

/* ---- v2 frames ----------------------------------------------------------- */

static size_t compress_frame(hp_hpc_writer *w, ZSTD_CCtx **cctx, frame *f)
{
    if (!*cctx) {
        *cctx = ZSTD_createCCtx();
        if (!*cctx)
            return (size_t)-1;
        ZSTD_CCtx_setParameter(*cctx, ZSTD_c_compressionLevel, w->p.level);
        ZSTD_CCtx_setParameter(*cctx, ZSTD_c_checksumFlag, 1);
        ZSTD_CCtx_setParameter(*cctx, ZSTD_c_contentSizeFlag, 1);
    }
    f->packed.len = 0;
    if (buf_reserve(&f->packed, ZSTD_compressBound(f->raw.len)) < 0)
        return (size_t)-1;
    return ZSTD_compress2(*cctx, f->packed.p, f->packed.cap, f->raw.p, f->raw.len);
}

static void compress_pending(void *arg, int i, int worker)
{
    hp_hpc_writer *w = arg;
    frame *f = &w->frames[i];
    f->zret = compress_frame(w, &w->cctx[worker], f);
    f->checksum = hp_frame_checksum(f->raw.p, f->raw.len);
}

/* Compresses the closed frames in parallel and writes them in order. */
static int flush_frames(hp_hpc_writer *w)
{
    int n = w->npending;
    if (n == 0)
        return HP_OK;
    double t0 = hp_clock();
    hp_parallel_for(n, w->p.threads, compress_pending, w);
    double t1 = hp_clock();
    w->t_compress += t1 - t0;
    for (int i = 0; i < n; i++) {
        frame *f = &w->frames[i];
        if (f->zret == (size_t)-1)
            return oom(w);
        if (ZSTD_isError(f->zret))
            return hp_fail(HP_EIO, "%s: zstd: %s", w->p.path, ZSTD_getErrorName(f->zret));
        HP_TRY(hp_outfile_append(&w->out, f->packed.p, f->zret));
        if (hp_grow(&w->seek, &w->seek_cap, w->nseek + 1, sizeof *w->seek, 256) < 0)
            return oom(w);
        w->seek[w->nseek++] = (hp_seek_entry){
            .csize = (uint32_t)f->zret, .dsize = (uint32_t)f->raw.len, .checksum = f->checksum};
        f->raw.len = 0;
    }
    /* the open frame moves back to the front */
    frame open = w->frames[n];
    w->frames[n] = w->frames[0];
    w->frames[0] = open;
    w->npending = 0;
    w->t_write += hp_clock() - t1;
    return HP_OK;
}

static int close_frame(hp_hpc_writer *w)
{
    if (w->frames[w->npending].raw.len == 0)
        return HP_OK;
    w->npending++;
    return w->npending == w->maxpending ? flush_frames(w) : HP_OK;
}

/* Appends v1 bytes to the open frame, closing it first when they would take
 * it past frame_bytes (a record never spans two frames). */
static int frame_put(hp_hpc_writer *w, const uint8_t *p, size_t len)
{
    frame *f = &w->frames[w->npending];
    if (f->raw.len > 0 && f->raw.len + len > w->p.frame_bytes) {
        HP_TRY(close_frame(w));
        f = &w->frames[w->npending];
    }
    return buf_put(&f->raw, p, len) < 0 ? oom(w) : HP_OK;
}

/* ---- records ------------------------------------------------------------- */

static int v1_put(hp_hpc_writer *w, const uint8_t *p, size_t len)
{
    if (w->v1buf.len + len > V1_BUFFER) {
        double t0 = hp_clock();
        HP_TRY(hp_outfile_append(&w->out, w->v1buf.p, w->v1buf.len));
        w->t_write += hp_clock() - t0;
        w->v1buf.len = 0;
    }
    if (len > V1_BUFFER) {
        double t0 = hp_clock();
        HP_TRY(hp_outfile_append(&w->out, p, len));
        w->t_write += hp_clock() - t0;
        return HP_OK;
    }
    return buf_put(&w->v1buf, p, len) < 0 ? oom(w) : HP_OK;
}

int hp_hpc_writer_add(hp_hpc_writer *w, const uint8_t *rec, size_t len, uint64_t repeat)
{
    for (uint64_t r = 0; r < repeat; r++) {
        uint8_t v[HP_VARINT_MAX];
        if (buf_put(&w->index, v, hp_index_offset_encode(v, w->nsnap, w->last_off, w->v1_pos)) < 0)
            return oom(w);
        w->last_off = w->v1_pos;
        w->nsnap++;
        w->v1_pos += len;
        HP_TRY(w->p.format == HP_FORMAT_V1 ? v1_put(w, rec, len) : frame_put(w, rec, len));
    }
    return HP_OK;
}

/* The index record: its head, then the offsets gathered so far. */
static int index_record(hp_hpc_writer *w, buf *out)
{
    uint8_t head[HP_INDEX_HEAD_MAX];
    size_t n = hp_index_head_encode(head, w->nsnap);
    if (buf_put(out, head, n) < 0 || buf_put(out, w->index.p, w->index.len) < 0)
        return oom(w);
    return HP_OK;
}

static int finish_v1(hp_hpc_writer *w)
{
    w->hdr.index_offset = w->v1_pos;
    buf idx = {0};
    int rc = index_record(w, &idx);
    if (rc == HP_OK)
        rc = v1_put(w, idx.p, idx.len);
    free(idx.p);
    HP_TRY(rc);
    HP_TRY(hp_outfile_append(&w->out, w->v1buf.p, w->v1buf.len));
    uint8_t h[HP_HPC_HEADER_MAX];
    size_t hl = hp_hpc_header_encode(h, &w->hdr);
    return hp_outfile_pwrite(&w->out, h, hl, 0);
}

/* v2: the index starts a frame of its own and may take several; every
 * frame is then compressed and written. */
static int write_index_frames(hp_hpc_writer *w)
{
    w->hdr.index_offset = w->v1_pos;
    buf idx = {0};
    int rc = index_record(w, &idx);
    if (rc == HP_OK)
        rc = close_frame(w);
    for (size_t off = 0; rc == HP_OK && off < idx.len; off += w->p.frame_bytes) {
        size_t n = idx.len - off < w->p.frame_bytes ? idx.len - off : w->p.frame_bytes;
        rc = frame_put(w, idx.p + off, n);
    }
    free(idx.p);
    if (rc == HP_OK)
        rc = close_frame(w);
    if (rc == HP_OK)
        rc = flush_frames(w);
    return rc;
}

/* v2: the header frame, now that the index offset is known, goes into the
 * slot reserved at the start with the parameter record; seek entry 0 covers
 * the slot. */
static int write_header_slot(hp_hpc_writer *w)
{
    frame *f = &w->frames[0];
    f->raw.len = 0;
    if (buf_reserve(&f->raw, HP_HPC_HEADER_MAX) < 0)
        return oom(w);
    f->raw.len = hp_hpc_header_encode(f->raw.p, &w->hdr);
    size_t z = compress_frame(w, &w->cctx[0], f);
    if (z == (size_t)-1)
        return oom(w);
    uint8_t slot[HP_HPC_HEADER_MAX + 256];
    if (ZSTD_isError(z) || hp_header_slot_encode(slot, w->header_slot, f->packed.p, z, &w->p.record) < 0)
        return hp_fail(HP_EIO, "%s: cannot compress the header frame", w->p.path);
    w->header_checksum = hp_frame_checksum(f->raw.p, f->raw.len);
    return hp_outfile_pwrite(&w->out, slot, w->header_slot, 0);
}

/* v2: the seek table, after the last frame. */
static int write_seek_table(hp_hpc_writer *w)
{
    size_t len = hp_seek_table_size(w->nseek + 1);
    hp_seek_entry *e = malloc((w->nseek + 1) * sizeof *e);
    uint8_t *t = malloc(len);
    int rc = HP_OK;
    if (e && t) {
        e[0] = (hp_seek_entry){.csize = (uint32_t)w->header_slot,
                               .dsize = (uint32_t)w->header_len,
                               .checksum = w->header_checksum};
        memcpy(e + 1, w->seek, w->nseek * sizeof *e);
        hp_seek_table_encode(t, e, w->nseek + 1);
        rc = hp_outfile_append(&w->out, t, len);
    } else {
        rc = oom(w);
    }
    free(e);
    free(t);
    return rc;
}

static int finish_v2(hp_hpc_writer *w)
{
    HP_TRY(write_index_frames(w));
    HP_TRY(write_header_slot(w));
    return write_seek_table(w);
}

double hp_hpc_writer_busy(const hp_hpc_writer *w) { return w->t_compress + w->t_write; }

int hp_hpc_writer_finish(hp_hpc_writer *w, hp_make_report *report)
{
    double t0 = hp_clock();
    int rc = w->p.format == HP_FORMAT_V1 ? finish_v1(w) : finish_v2(w);
    uint64_t size = w->out.size;
    if (rc == HP_OK)
        rc = hp_outfile_commit(&w->out);
    w->t_write += hp_clock() - t0;
    if (report) {
        report->snapshots = w->nsnap;
        report->output_bytes = size;
        report->v1_bytes = w->v1_pos + 4 + hp_varint_size(w->nsnap) + w->index.len;
        report->t_compress += w->t_compress;
        report->t_write += w->t_write;
    }
    hp_hpc_writer_abort(w); /* frees; a committed file stays */
    return rc;
}
