/* seekable.c - the v2 container's parts: parameter record, header slot and
 * seek table, each encoded and decoded here. */
#include "seekable.h"

#include "bytes.h"
#include "heapprof.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

/* ---- the parameter record ------------------------------------------------- */

static const char params_tag[8] = {'h', 'p', 'c', 'p', 'a', 'r', 'a', 'm'};

enum { FLAG_OVERRIDE = 1, FLAG_SALVAGE = 2 };

void hp_params_encode(uint8_t *p, const hp_digest_params *params)
{
    const hp_digest_params *d = params;
    uint64_t bits;
    memcpy(&bits, &d->precision, sizeof bits);
    memcpy(p, params_tag, 8);
    p[8] = 2;
    hp_put_le64(p + 9, d->interval_ms);
    hp_put_le64(p + 17, bits);
    hp_put_le32(p + 25, (d->override_sampling ? FLAG_OVERRIDE : 0) | (d->salvage ? FLAG_SALVAGE : 0));
    hp_put_le64(p + 29, d->hpm_size);
    hp_put_le64(p + 37, (uint64_t)d->hpm_mtime_ns);
    hp_put_le64(p + 45, d->hpd_size);
    hp_put_le64(p + 53, (uint64_t)d->hpd_mtime_ns);
}

int hp_params_decode(const uint8_t *p, size_t len, hp_digest_params *params)
{
    if (len < HP_PARAMS_V1_SIZE || memcmp(p, params_tag, 8) != 0 || p[8] < 1 || p[8] > 2 ||
        (p[8] == 2 && len < HP_PARAMS_SIZE))
        return 1;
    hp_digest_params *d = params;
    memset(d, 0, sizeof *d);
    uint64_t bits = hp_le64(p + 17);
    d->interval_ms = hp_le64(p + 9);
    memcpy(&d->precision, &bits, sizeof d->precision);
    if (p[8] == 2) {
        uint32_t flags = hp_le32(p + 25);
        d->override_sampling = (flags & FLAG_OVERRIDE) != 0;
        d->salvage = (flags & FLAG_SALVAGE) != 0;
        d->has_inputs = 1;
        d->hpm_size = hp_le64(p + 29);
        d->hpm_mtime_ns = (int64_t)hp_le64(p + 37);
        d->hpd_size = hp_le64(p + 45);
        d->hpd_mtime_ns = (int64_t)hp_le64(p + 53);
    }
    return 0;
}

/* ---- the header slot ------------------------------------------------------ */

size_t hp_header_slot_size(size_t header_len)
{
    return ZSTD_compressBound(header_len) + 8 + HP_PARAMS_SIZE;
}

int hp_header_slot_encode(uint8_t *slot, size_t slot_size, const uint8_t *frame, size_t len,
                          const hp_digest_params *params)
{
    if (len + 8 + HP_PARAMS_SIZE > slot_size)
        return -1;
    memset(slot, 0, slot_size);
    memcpy(slot, frame, len);
    hp_put_le32(slot + len, HP_SKIPPABLE_PAD_MAGIC);
    hp_put_le32(slot + len + 4, (uint32_t)(slot_size - len - 8));
    hp_params_encode(slot + len + 8, params);
    return 0;
}

int hp_header_slot_params(const uint8_t *slot, size_t slot_size, hp_digest_params *params)
{
    size_t z = ZSTD_findFrameCompressedSize(slot, slot_size);
    if (ZSTD_isError(z) || slot_size - z < 8 + HP_PARAMS_SIZE)
        return 1;
    const uint8_t *p = slot + z;
    if (hp_le32(p) != HP_SKIPPABLE_PAD_MAGIC)
        return 1;
    uint32_t len = hp_le32(p + 4);
    return hp_params_decode(p + 8, len < slot_size - z - 8 ? len : slot_size - z - 8, params);
}

/* ---- the seek table ------------------------------------------------------- */

uint32_t hp_frame_checksum(const void *data, size_t len) { return (uint32_t)XXH64(data, len, 0); }

hp_checksum_state *hp_frame_checksum_begin(void)
{
    XXH64_state_t *s = XXH64_createState();
    if (s)
        XXH64_reset(s, 0);
    return s;
}

void hp_frame_checksum_update(hp_checksum_state *s, const void *data, size_t len)
{
    XXH64_update(s, data, len);
}

uint32_t hp_frame_checksum_end(hp_checksum_state *s)
{
    uint32_t sum = (uint32_t)XXH64_digest(s);
    XXH64_freeState(s);
    return sum;
}

#define SEEK_ENTRY 12         /* with checksums */
#define SEEK_CHECKSUMS 0x80   /* the descriptor's Checksum_Flag */

size_t hp_seek_table_size(size_t nframes) { return 8 + nframes * SEEK_ENTRY + HP_SEEK_FOOTER; }

void hp_seek_table_encode(uint8_t *p, const hp_seek_entry *e, size_t n)
{
    size_t len = hp_seek_table_size(n);
    hp_put_le32(p, HP_SKIPPABLE_SEEK_MAGIC);
    hp_put_le32(p + 4, (uint32_t)(len - 8));
    for (size_t i = 0; i < n; i++) {
        uint8_t *q = p + 8 + SEEK_ENTRY * i;
        hp_put_le32(q, e[i].csize);
        hp_put_le32(q + 4, e[i].dsize);
        hp_put_le32(q + 8, e[i].checksum);
    }
    uint8_t *foot = p + len - HP_SEEK_FOOTER;
    hp_put_le32(foot, (uint32_t)n);
    foot[4] = SEEK_CHECKSUMS;
    hp_put_le32(foot + 5, HP_SEEKABLE_MAGIC);
}

static int bad(const char **why, size_t *where, const char *what, size_t off)
{
    *why = what;
    *where = off;
    return HP_EFORMAT;
}

static int decode_table(const uint8_t *d, size_t size, hp_frame_map *map, const char **why,
                        size_t *where)
{
    memset(map, 0, sizeof *map);
    if (size < HP_SEEK_FOOTER + 8)
        return bad(why, where, "file too short for a seek table", size);
    const uint8_t *foot = d + size - HP_SEEK_FOOTER;
    if (hp_le32(foot + 5) != HP_SEEKABLE_MAGIC)
        return bad(why, where, "no zstd seek table (bad seekable magic)", size - 4);
    uint32_t nframes = hp_le32(foot);
    uint8_t desc = foot[4];
    if (desc & 0x7c)
        return bad(why, where, "reserved bits set in seek table descriptor", size - 5);
    size_t esz = (desc & SEEK_CHECKSUMS) ? 12 : 8;
    if (nframes == 0 || nframes > (size - HP_SEEK_FOOTER - 8) / esz)
        return bad(why, where, "seek table claims more frames than it has bytes",
                   size - HP_SEEK_FOOTER);
    size_t table = 8 + (size_t)nframes * esz + HP_SEEK_FOOTER;
    const uint8_t *t = d + size - table;
    if (hp_le32(t) != HP_SKIPPABLE_SEEK_MAGIC || hp_le32(t + 4) != table - 8)
        return bad(why, where, "bad seek table frame header", size - table);
    map->c_off = malloc(((size_t)nframes + 1) * sizeof *map->c_off);
    map->d_off = malloc(((size_t)nframes + 1) * sizeof *map->d_off);
    if (esz == 12)
        map->checksum = malloc((size_t)nframes * sizeof *map->checksum);
    if (!map->c_off || !map->d_off || (esz == 12 && !map->checksum)) {
        *why = "out of memory";
        *where = 0;
        return HP_ENOMEM;
    }
    map->nframes = nframes;
    map->c_off[0] = map->d_off[0] = 0;
    for (size_t i = 0; i < nframes; i++) {
        const uint8_t *e = t + 8 + i * esz;
        uint32_t csize = hp_le32(e), dsize = hp_le32(e + 4);
        if (dsize > HP_MAX_FRAME_CONTENT) {
            bad(why, where, "a frame claims more decompressed bytes than a frame may hold",
                (size_t)(e - d));
            return HP_ELIMIT;
        }
        map->c_off[i + 1] = map->c_off[i] + csize;
        map->d_off[i + 1] = map->d_off[i] + dsize;
        if (map->checksum)
            map->checksum[i] = hp_le32(e + 8);
    }
    if (map->c_off[nframes] != size - table)
        return bad(why, where, "seek table frame sizes do not add up to the file", size - table);
    return HP_OK;
}

static int fail_map(hp_frame_map *map, int rc)
{
    free(map->c_off);
    free(map->d_off);
    free(map->checksum);
    memset(map, 0, sizeof *map);
    return rc;
}

int hp_seek_table_decode(const uint8_t *d, size_t size, hp_frame_map *map, const char **why,
                         size_t *where)
{
    int rc = decode_table(d, size, map, why, where);
    return rc < 0 ? fail_map(map, rc) : HP_OK;
}
