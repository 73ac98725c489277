/* seekable.h - the v2 container: a zstd seekable-format file (zstd's
 * contrib/seekable_format) whose decompressed bytes are a v1 .hpc.
 *
 *   header slot  seek entry 0: the compressed v1 header frame, padded to a
 *                size fixed before the header is known by a skippable frame
 *                that holds heapprof-c's parameter record
 *   data frames  whole snapshot records, about frame_bytes each
 *   index frames the v1 index, in frames of its own
 *   seek table   a skippable frame: per frame its compressed and
 *                decompressed size; then the footer
 *
 * Each part's encoder sits beside its decoder here; the v1 records inside
 * the frames are in hpc_format.h. */
#ifndef HP_SEEKABLE_H
#define HP_SEEKABLE_H

#include <stddef.h>
#include <stdint.h>

#define HP_SKIPPABLE_SEEK_MAGIC 0x184D2A5Eu
#define HP_SKIPPABLE_PAD_MAGIC 0x184D2A50u
#define HP_SEEKABLE_MAGIC 0x8F92EAB1u
#define HP_SEEK_FOOTER 9
#define HP_MAX_FRAME_CONTENT (1u << 30)

/* ---- the parameter record ------------------------------------------------- */

/* What a digest was made with, recorded for --skip-up-to-date: the tag
 * "hpcparam", a version byte (1), interval_ms (LE64), precision (the LE64
 * bits of a double). */
#define HP_PARAMS_SIZE (8 + 1 + 8 + 8)

typedef struct hp_params {
    uint64_t interval_ms;
    double precision;
} hp_params;

/* Writes the record (HP_PARAMS_SIZE bytes) at p. */
void hp_params_encode(uint8_t *p, const hp_params *params);

/* Reads a record from [p, p + len); returns 0, or 1 when there is none
 * (too short, another tag or version). */
int hp_params_decode(const uint8_t *p, size_t len, hp_params *params);

/* ---- the header slot ------------------------------------------------------ */

/* The slot's size for a header of `header_len` bytes: room for its
 * compressed frame, whatever its size, and the padding frame. */
size_t hp_header_slot_size(size_t header_len);

/* Fills slot[0, slot_size): the compressed header frame `frame` of `len`
 * bytes, then a skippable frame holding `params` that pads the rest.
 * Returns 0, or -1 when the frame does not leave room for it. */
int hp_header_slot_encode(uint8_t *slot, size_t slot_size, const uint8_t *frame, size_t len,
                          const hp_params *params);

/* The parameters recorded in a header slot: 0, or 1 when there are none
 * (another writer's file). */
int hp_header_slot_params(const uint8_t *slot, size_t slot_size, hp_params *params);

/* ---- the seek table ------------------------------------------------------- */

typedef struct hp_seek_entry {
    uint32_t csize, dsize; /* compressed and decompressed bytes of a frame */
} hp_seek_entry;

/* The bytes of a seek table of `nframes` entries, frame header and footer
 * included. */
size_t hp_seek_table_size(size_t nframes);

/* Encodes the seek table of frames e[0..n) at p (hp_seek_table_size(n)). */
void hp_seek_table_encode(uint8_t *p, const hp_seek_entry *e, size_t n);

/* Where the frames of a seekable file are: frame i holds decompressed bytes
 * [d_off[i], d_off[i+1]) and is stored at [c_off[i], c_off[i+1]). */
typedef struct hp_frame_map {
    size_t nframes;
    uint64_t *c_off, *d_off;
} hp_frame_map;

/* Decodes the seek table at the end of the file data[0, size) into *map
 * (arrays the caller frees). Returns 0, or a negative hp_error with *why
 * and *where (the file offset concerned) set and *map empty. */
int hp_seek_table_decode(const uint8_t *data, size_t size, hp_frame_map *map, const char **why,
                         size_t *where);

#endif
