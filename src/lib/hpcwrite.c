/* hpcwrite.c - the .hpc writer: records in, a v1 file or a v2 seekable
 * file out (see hpcwrite.h; the records are hpc_format.h's, the v2 parts
 * seekable.h's). */
#include "hpcwrite.h"

#include "bytes.h"
#include "clock.h"
#include "error.h"
#include "grow.h"
#include "hpc_format.h"
#include "outfile.h"
#include "parallel.h"
#include "seekable.h"

#include <pthread.h>
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

/* Part of a frame: `count` copies of len bytes at off in a record buffer,
 * or in the frame's own store when b is NULL. */
typedef struct piece {
    hp_recbuf *b;
    size_t off, len;
    uint64_t count;
} piece;

enum { F_OPEN, F_QUEUED, F_TAKEN, F_DONE };

typedef struct hp_frame_job {
    buf store;          /* copied records */
    piece *pieces;
    size_t npieces, pieces_cap;
    hp_recbuf **bufs;   /* the record buffers its pieces reference, one ref each */
    size_t nbufs, bufs_cap;
    size_t size;        /* decompressed bytes */
    buf raw;            /* the content, gathered by the compression */
    buf packed;         /* the zstd frame */
    size_t zret;        /* its size, or a zstd error, or (size_t)-1: out of memory */
    uint32_t checksum;  /* of raw, for the seek table */
    double secs;
    int state;
    struct hp_frame_job *next;
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

    /* v2. The lock guards the queue, the spares and the record buffers'
     * references, which compression jobs and the engine's serial work
     * touch at once. */
    pthread_mutex_t lock;
    frame *open;               /* being filled */
    frame *qhead, *qtail;      /* closed, in order, not yet written */
    int nqueued, maxpending;
    frame *spare;
    hp_recbuf *spare_bufs;
    hp_seek_entry *seek;
    size_t nseek, seek_cap;
    ZSTD_CCtx **cctx;          /* one per worker number */
    int ncctx;
    double t_compress, t_write;
};

#define V1_BUFFER (1u << 20)
#define AUTO_SAMPLE (512u << 10) /* bytes of a frame that decide its level */
#define AUTO_PROBE_LEVEL (-5)    /* finds repeats, codes nothing */
#define AUTO_LEVEL 1
#define AUTO_GAIN 0.9            /* compress when the probe keeps at most this */

static int oom(hp_hpc_writer *w) { return hp_fail(HP_ENOMEM, "%s: out of memory", w->p.path); }

/* ---- record buffers ------------------------------------------------------------ */

hp_recbuf *hp_recbuf_get(hp_hpc_writer *w)
{
    pthread_mutex_lock(&w->lock);
    hp_recbuf *b = w->spare_bufs;
    if (b)
        w->spare_bufs = b->next;
    pthread_mutex_unlock(&w->lock);
    if (!b && !(b = calloc(1, sizeof *b)))
        return NULL;
    b->len = 0;
    b->refs = 1;
    b->next = NULL;
    return b;
}

static void put_locked(hp_hpc_writer *w, hp_recbuf *b)
{
    if (--b->refs == 0) {
        b->next = w->spare_bufs;
        w->spare_bufs = b;
    }
}

void hp_recbuf_put(hp_hpc_writer *w, hp_recbuf *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&w->lock);
    put_locked(w, b);
    pthread_mutex_unlock(&w->lock);
}

/* ---- frames ----------------------------------------------------------------------- */

static frame *new_frame(hp_hpc_writer *w)
{
    pthread_mutex_lock(&w->lock);
    frame *f = w->spare;
    if (f)
        w->spare = f->next;
    pthread_mutex_unlock(&w->lock);
    if (!f && !(f = calloc(1, sizeof *f)))
        return NULL;
    f->store.len = f->raw.len = f->packed.len = 0;
    f->npieces = f->nbufs = f->size = 0;
    f->zret = 0;
    f->secs = 0;
    f->state = F_OPEN;
    f->next = NULL;
    return f;
}

static void free_frame(frame *f)
{
    free(f->store.p);
    free(f->pieces);
    free(f->bufs);
    free(f->raw.p);
    free(f->packed.p);
    free(f);
}

/* Drops a frame's references to record buffers (lock held). */
static void release_bufs(hp_hpc_writer *w, frame *f)
{
    for (size_t i = 0; i < f->nbufs; i++)
        put_locked(w, f->bufs[i]);
    f->nbufs = 0;
}

int hp_hpc_writer_open(hp_hpc_writer **out, const hp_writer_params *params)
{
    *out = NULL;
    hp_hpc_writer *w = calloc(1, sizeof *w);
    if (!w)
        return hp_fail(HP_ENOMEM, "out of memory");
    pthread_mutex_init(&w->lock, NULL);
    w->p = *params;
    w->hdr = (hp_hpc_header){params->sec, params->nsec, params->interval_ms, 0};
    w->header_len = HP_HPC_HEADER_SIZE(params->interval_ms);
    int rc = hp_outfile_open(&w->out, params->path, params->inputs, params->ninputs);
    if (rc < 0) {
        pthread_mutex_destroy(&w->lock);
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
        int threads = params->threads > 0 ? params->threads : 1;
        w->maxpending = 2 * threads;
        w->ncctx = threads;
        w->cctx = calloc((size_t)w->ncctx, sizeof *w->cctx);
        w->open = new_frame(w);
        if (!w->cctx || !w->open) {
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
    frame *lists[3] = {w->open, w->qhead, w->spare};
    for (int l = 0; l < 3; l++)
        for (frame *f = lists[l], *next; f; f = next) {
            next = l == 0 ? NULL : f->next;
            release_bufs(w, f);
            free_frame(f);
        }
    for (hp_recbuf *b = w->spare_bufs, *next; b; b = next) {
        next = b->next;
        free(b->p);
        free(b);
    }
    if (w->cctx)
        for (int i = 0; i < w->ncctx; i++)
            ZSTD_freeCCtx(w->cctx[i]);
    free(w->cctx);
    free(w->seek);
    free(w->index.p);
    free(w->v1buf.p);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

/* ---- v2: compressing a frame ------------------------------------------------------- */

/* A zstd frame of raw blocks holding src: what zstd itself writes for data
 * it cannot compress, without its search for matches. */
static size_t store_frame(buf *out, const uint8_t *src, size_t n, uint32_t checksum)
{
    size_t blocks = n ? (n + ZSTD_BLOCKSIZE_MAX - 1) / ZSTD_BLOCKSIZE_MAX : 1;
    out->len = 0;
    if (buf_reserve(out, 9 + 3 * blocks + n + 4) < 0)
        return (size_t)-1;
    uint8_t *p = out->p;
    hp_put_le32(p, ZSTD_MAGICNUMBER);
    p[4] = 0xA4; /* 4-byte content size, single segment, content checksum */
    hp_put_le32(p + 5, (uint32_t)n);
    p += 9;
    for (size_t off = 0, b = 0; b < blocks; b++) {
        size_t len = n - off < ZSTD_BLOCKSIZE_MAX ? n - off : ZSTD_BLOCKSIZE_MAX;
        uint32_t head = (uint32_t)(len << 3) | (b + 1 == blocks); /* raw block, last? */
        p[0] = (uint8_t)head;
        p[1] = (uint8_t)(head >> 8);
        p[2] = (uint8_t)(head >> 16);
        memcpy(p + 3, src + off, len);
        p += 3 + len;
        off += len;
    }
    hp_put_le32(p, checksum);
    p += 4;
    return (size_t)(p - out->p);
}

static size_t zstd_frame(ZSTD_CCtx *c, buf *out, const uint8_t *src, size_t n, int level)
{
    ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    out->len = 0;
    if (buf_reserve(out, ZSTD_compressBound(n)) < 0)
        return (size_t)-1;
    return ZSTD_compress2(c, out->p, out->cap, src, n);
}

/* Compresses f->raw into f->packed with the writer's level, or, with
 * HP_LEVEL_AUTO, the level its content calls for (hpcwrite.h). */
static size_t compress_raw(hp_hpc_writer *w, ZSTD_CCtx **cctx, frame *f)
{
    if (!*cctx) {
        *cctx = ZSTD_createCCtx();
        if (!*cctx)
            return (size_t)-1;
        ZSTD_CCtx_setParameter(*cctx, ZSTD_c_checksumFlag, 1);
        ZSTD_CCtx_setParameter(*cctx, ZSTD_c_contentSizeFlag, 1);
    }
    const uint8_t *src = f->raw.p;
    size_t n = f->raw.len;
    if (w->p.level != HP_LEVEL_AUTO)
        return zstd_frame(*cctx, &f->packed, src, n, w->p.level);
    size_t sample = n < AUTO_SAMPLE ? n : AUTO_SAMPLE;
    size_t z = zstd_frame(*cctx, &f->packed, src, sample, AUTO_PROBE_LEVEL);
    if (z == (size_t)-1 || ZSTD_isError(z))
        return z;
    if ((double)z <= AUTO_GAIN * (double)sample)
        return zstd_frame(*cctx, &f->packed, src, n, AUTO_LEVEL);
    return store_frame(&f->packed, src, n, f->checksum);
}

/* Copies the frame's pieces into raw and drops its record buffers. */
static int gather(hp_hpc_writer *w, frame *f)
{
    f->raw.len = 0;
    int rc = buf_reserve(&f->raw, f->size);
    if (rc == 0)
        for (size_t i = 0; i < f->npieces; i++) {
            const piece *pc = &f->pieces[i];
            const uint8_t *src = (pc->b ? pc->b->p : f->store.p) + pc->off;
            for (uint64_t k = 0; k < pc->count; k++) {
                memcpy(f->raw.p + f->raw.len, src, pc->len);
                f->raw.len += pc->len;
            }
        }
    f->npieces = 0;
    f->store.len = 0;
    pthread_mutex_lock(&w->lock);
    release_bufs(w, f);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void hp_hpc_writer_compress(hp_hpc_writer *w, hp_frame_job *f, int worker)
{
    double t0 = hp_clock();
    if (gather(w, f) < 0 || worker < 0 || worker >= w->ncctx) {
        f->zret = (size_t)-1;
    } else {
        f->checksum = hp_frame_checksum(f->raw.p, f->raw.len);
        f->zret = compress_raw(w, &w->cctx[worker], f);
    }
    f->secs = hp_clock() - t0;
}

hp_frame_job *hp_hpc_writer_take(hp_hpc_writer *w)
{
    pthread_mutex_lock(&w->lock);
    frame *f = w->qhead;
    while (f && f->state != F_QUEUED)
        f = f->next;
    if (f)
        f->state = F_TAKEN;
    pthread_mutex_unlock(&w->lock);
    return f;
}

void hp_hpc_writer_done(hp_hpc_writer *w, hp_frame_job *f)
{
    pthread_mutex_lock(&w->lock);
    f->state = F_DONE;
    w->t_compress += f->secs;
    pthread_mutex_unlock(&w->lock);
}

int hp_hpc_writer_flushable(hp_hpc_writer *w)
{
    pthread_mutex_lock(&w->lock);
    int r = w->qhead && w->qhead->state == F_DONE;
    pthread_mutex_unlock(&w->lock);
    return r;
}

int hp_hpc_writer_flush(hp_hpc_writer *w)
{
    for (;;) {
        pthread_mutex_lock(&w->lock);
        frame *f = w->qhead;
        if (!f || f->state != F_DONE) {
            pthread_mutex_unlock(&w->lock);
            return HP_OK;
        }
        w->qhead = f->next;
        if (!w->qhead)
            w->qtail = NULL;
        w->nqueued--;
        pthread_mutex_unlock(&w->lock);
        double t0 = hp_clock();
        int rc = HP_OK;
        if (f->zret == (size_t)-1)
            rc = oom(w);
        else if (ZSTD_isError(f->zret))
            rc = hp_fail(HP_EIO, "%s: zstd: %s", w->p.path, ZSTD_getErrorName(f->zret));
        else
            rc = hp_outfile_append(&w->out, f->packed.p, f->zret);
        if (rc == HP_OK && hp_grow(&w->seek, &w->seek_cap, w->nseek + 1, sizeof *w->seek, 256) < 0)
            rc = oom(w);
        if (rc == HP_OK)
            w->seek[w->nseek++] = (hp_seek_entry){
                .csize = (uint32_t)f->zret, .dsize = (uint32_t)f->raw.len, .checksum = f->checksum};
        w->t_write += hp_clock() - t0;
        pthread_mutex_lock(&w->lock);
        f->next = w->spare;
        w->spare = f;
        pthread_mutex_unlock(&w->lock);
        if (rc < 0)
            return rc;
    }
}

/* Plain use: compresses every queued frame with hp_parallel_for, then
 * writes them. */
typedef struct batch {
    hp_hpc_writer *w;
    frame **f;
} batch;

static void compress_batch(void *arg, int i, int worker)
{
    batch *b = arg;
    hp_hpc_writer_compress(b->w, b->f[i], worker);
}

static int drain(hp_hpc_writer *w)
{
    frame *list[64];
    for (;;) {
        int n = 0;
        hp_frame_job *f;
        while (n < 64 && (f = hp_hpc_writer_take(w)))
            list[n++] = f;
        if (n == 0)
            return hp_hpc_writer_flush(w);
        batch b = {w, list};
        int threads = w->ncctx < n ? w->ncctx : n;
        hp_parallel_for(n, threads, compress_batch, &b);
        for (int i = 0; i < n; i++)
            hp_hpc_writer_done(w, list[i]);
        HP_TRY(hp_hpc_writer_flush(w));
    }
}

static int close_frame(hp_hpc_writer *w)
{
    frame *f = w->open;
    if (f->size == 0)
        return HP_OK;
    frame *next = new_frame(w);
    if (!next)
        return oom(w);
    pthread_mutex_lock(&w->lock);
    f->state = F_QUEUED;
    if (w->qtail)
        w->qtail->next = f;
    else
        w->qhead = f;
    w->qtail = f;
    w->nqueued++;
    int full = w->nqueued >= w->maxpending;
    pthread_mutex_unlock(&w->lock);
    w->open = next;
    return full && !w->p.async ? drain(w) : HP_OK;
}

/* Appends `count` copies of a record to the open frame (referenced in b,
 * or copied from src into each frame's store), closing frames so that none
 * passes frame_bytes (a record never spans two frames). */
static int frame_put(hp_hpc_writer *w, hp_recbuf *b, const uint8_t *src, size_t off, size_t len,
                     uint64_t count)
{
    while (count > 0) {
        frame *f = w->open;
        if (f->size > 0 && f->size + len > w->p.frame_bytes) {
            HP_TRY(close_frame(w));
            f = w->open;
        }
        /* as many copies as fit (at least one: a record alone may be larger) */
        uint64_t k = 1;
        if (len > 0 && f->size + len <= w->p.frame_bytes)
            k = (w->p.frame_bytes - f->size) / len;
        k = k < 1 ? 1 : k > count ? count : k;
        piece pc = {b, off, len, k};
        if (!b) {
            pc.off = f->store.len;
            if (buf_put(&f->store, src, len) < 0)
                return oom(w);
        }
        piece *last = f->npieces ? &f->pieces[f->npieces - 1] : NULL;
        if (b && last && last->b == b && last->off == off && last->len == len) {
            last->count += k;
        } else {
            if (hp_grow(&f->pieces, &f->pieces_cap, f->npieces + 1, sizeof *f->pieces, 16) < 0)
                return oom(w);
            f->pieces[f->npieces++] = pc;
        }
        if (b && (f->nbufs == 0 || f->bufs[f->nbufs - 1] != b)) {
            if (hp_grow(&f->bufs, &f->bufs_cap, f->nbufs + 1, sizeof *f->bufs, 4) < 0)
                return oom(w);
            pthread_mutex_lock(&w->lock);
            b->refs++;
            pthread_mutex_unlock(&w->lock);
            f->bufs[f->nbufs++] = b;
        }
        f->size += k * len;
        count -= k;
    }
    return HP_OK;
}

/* ---- records --------------------------------------------------------------------- */

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

/* The index entries of `repeat` records of len bytes. */
static int index_records(hp_hpc_writer *w, size_t len, uint64_t repeat)
{
    for (uint64_t r = 0; r < repeat; r++) {
        uint8_t v[HP_VARINT_MAX];
        if (buf_put(&w->index, v, hp_index_offset_encode(v, w->nsnap, w->last_off, w->v1_pos)) < 0)
            return oom(w);
        w->last_off = w->v1_pos;
        w->nsnap++;
        w->v1_pos += len;
    }
    return HP_OK;
}

static int add_record(hp_hpc_writer *w, hp_recbuf *b, const uint8_t *rec, size_t off, size_t len,
                      uint64_t repeat)
{
    HP_TRY(index_records(w, len, repeat));
    if (w->p.format == HP_FORMAT_V1) {
        const uint8_t *p = b ? b->p + off : rec;
        for (uint64_t r = 0; r < repeat; r++)
            HP_TRY(v1_put(w, p, len));
        return HP_OK;
    }
    return frame_put(w, b, rec, off, len, repeat);
}

int hp_hpc_writer_add(hp_hpc_writer *w, const uint8_t *rec, size_t len, uint64_t repeat)
{
    return add_record(w, NULL, rec, 0, len, repeat);
}

int hp_hpc_writer_add_ref(hp_hpc_writer *w, hp_recbuf *b, size_t off, size_t len, uint64_t repeat)
{
    return add_record(w, b, NULL, off, len, repeat);
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
        rc = frame_put(w, NULL, idx.p + off, 0, n, 1);
    }
    free(idx.p);
    if (rc == HP_OK)
        rc = close_frame(w);
    if (rc == HP_OK)
        rc = drain(w);
    return rc;
}

/* v2: the header frame, now that the index offset is known, goes into the
 * slot reserved at the start with the parameter record; seek entry 0 covers
 * the slot. The header frame is compressed at the writer's level, or at 1. */
static int write_header_slot(hp_hpc_writer *w)
{
    uint8_t h[HP_HPC_HEADER_MAX];
    size_t hl = hp_hpc_header_encode(h, &w->hdr);
    ZSTD_CCtx *c = ZSTD_createCCtx();
    buf packed = {0};
    size_t z = (size_t)-1;
    if (c) {
        ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
        ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1);
        z = zstd_frame(c, &packed, h, hl, w->p.level == HP_LEVEL_AUTO ? AUTO_LEVEL : w->p.level);
        ZSTD_freeCCtx(c);
    }
    int rc = HP_OK;
    uint8_t slot[HP_HPC_HEADER_MAX + 256];
    if (z == (size_t)-1)
        rc = oom(w);
    else if (ZSTD_isError(z) ||
             hp_header_slot_encode(slot, w->header_slot, packed.p, z, &w->p.record) < 0)
        rc = hp_fail(HP_EIO, "%s: cannot compress the header frame", w->p.path);
    free(packed.p);
    HP_TRY(rc);
    w->header_checksum = hp_frame_checksum(h, hl);
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

double hp_hpc_writer_write_seconds(const hp_hpc_writer *w) { return w->t_write; }

int hp_hpc_writer_pending(hp_hpc_writer *w)
{
    pthread_mutex_lock(&w->lock);
    int n = w->nqueued;
    pthread_mutex_unlock(&w->lock);
    return n;
}

int hp_hpc_writer_finish(hp_hpc_writer *w, hp_make_report *report)
{
    /* the phases are what ran before: the end (the last frames, the index,
     * the header, the commit) is the digest's fixed cost, outside them */
    double compress = w->t_compress, write = w->t_write;
    int rc = w->p.format == HP_FORMAT_V1 ? finish_v1(w) : finish_v2(w);
    uint64_t size = w->out.size;
    if (rc == HP_OK)
        rc = hp_outfile_commit(&w->out);
    if (report) {
        report->snapshots = w->nsnap;
        report->output_bytes = size;
        report->v1_bytes = w->v1_pos + 4 + hp_varint_size(w->nsnap) + w->index.len;
        report->t_compress += compress;
        report->t_write += write;
    }
    hp_hpc_writer_abort(w); /* frees; a committed file stays */
    return rc;
}
