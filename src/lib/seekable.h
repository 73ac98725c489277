/* seekable.h - the v2 container: a zstd seekable-format file (zstd's
 * contrib/seekable_format) whose decompressed bytes are a v1 .hpc.
 *
 *   header slot  seek entry 0: the compressed v1 header frame, padded to a
 *                size fixed before the header is known by a skippable frame
 *                that holds heapprof-c's parameter record
 *   data frames  whole snapshot records, about frame_bytes each
 *   index frames the v1 index, in frames of its own
 *   seek table   a skippable frame: per frame its compressed and
 *                decompressed size and the checksum of its content (the
 *                low 32 bits of XXH64, seed 0); then the footer
 *
 * Each part's encoder sits beside its decoder here; the v1 records inside
 * the frames are in hpc_format.h. */
#ifndef HP_SEEKABLE_H
#define HP_SEEKABLE_H

#include "heapprof.h"

#include <stddef.h>
#include <stdint.h>

#define HP_SKIPPABLE_SEEK_MAGIC 0x184D2A5Eu
#define HP_SKIPPABLE_PAD_MAGIC 0x184D2A50u
#define HP_SEEKABLE_MAGIC 0x8F92EAB1u
#define HP_SEEK_FOOTER 9
/* The most decompressed bytes a frame may hold: the writer's frames are
 * about 1 MiB, and a single snapshot record (never split) of this size would
 * need some 12 million live traces. Readers refuse more before allocating. */
#define HP_MAX_FRAME_CONTENT (256u << 20)

/* ---- the parameter record ------------------------------------------------- */

/* What a digest was made with and from, recorded for --skip-up-to-date
 * (docs/FORMATS.md, "The parameter record"): the tag "hpcparam", a version
 * byte, then little-endian fields. Version 1 (heapprof-c 0.2) holds the
 * interval (LE64 ms) and the precision (the LE64 bits of a double); version
 * 2 adds the flags (LE32: override-sampling, salvage) and the identity of
 * both inputs as they were read: size and modification time (LE64 bytes,
 * LE64 nanoseconds) of the .hpm, then of the .hpd. */
#define HP_PARAMS_V1_SIZE (8 + 1 + 8 + 8)
#define HP_PARAMS_SIZE (HP_PARAMS_V1_SIZE + 4 + 4 * 8)

/* Writes the record (version 2, HP_PARAMS_SIZE bytes) at p. */
void hp_params_encode(uint8_t *p, const hp_digest_params *params);

/* Reads a record from [p, p + len): version 1 or 2 (p.has_inputs says
 * which). Returns 0, or 1 when there is none (too short, another tag or
 * version). */
int hp_params_decode(const uint8_t *p, size_t len, hp_digest_params *params);

/* ---- the header slot ------------------------------------------------------ */

/* The slot's size for a header of `header_len` bytes: room for its
 * compressed frame, whatever its size, and the padding frame. */
size_t hp_header_slot_size(size_t header_len);

/* Fills slot[0, slot_size): the compressed header frame `frame` of `len`
 * bytes, then a skippable frame holding `params` that pads the rest.
 * Returns 0, or -1 when the frame does not leave room for it. */
int hp_header_slot_encode(uint8_t *slot, size_t slot_size, const uint8_t *frame, size_t len,
                          const hp_digest_params *params);

/* The parameters recorded in a header slot: 0, or 1 when there are none
 * (another writer's file). */
int hp_header_slot_params(const uint8_t *slot, size_t slot_size, hp_digest_params *params);

/* ---- the seek table ------------------------------------------------------- */

typedef struct hp_seek_entry {
    uint32_t csize, dsize; /* compressed and decompressed bytes of a frame */
    uint32_t checksum;     /* hp_frame_checksum() of its decompressed bytes */
} hp_seek_entry;

/* The checksum the seek table keeps per frame: the low 32 bits of XXH64
 * (seed 0) of its decompressed bytes. zstd's own checksums cannot tell two
 * valid frames stored in the wrong order; these can. */
uint32_t hp_frame_checksum(const void *data, size_t len);

/* The same, for a frame read in pieces: begin (NULL when out of memory),
 * update with each piece, end (which frees the state). */
typedef struct XXH64_state_s hp_checksum_state;
hp_checksum_state *hp_frame_checksum_begin(void);
void hp_frame_checksum_update(hp_checksum_state *s, const void *data, size_t len);
uint32_t hp_frame_checksum_end(hp_checksum_state *s);

/* The bytes of a seek table of `nframes` entries with checksums, frame
 * header and footer included. */
size_t hp_seek_table_size(size_t nframes);

/* Encodes the seek table of frames e[0..n) at p (hp_seek_table_size(n)). */
void hp_seek_table_encode(uint8_t *p, const hp_seek_entry *e, size_t n);

/* Where the frames of a seekable file are: frame i holds decompressed bytes
 * [d_off[i], d_off[i+1]) and is stored at [c_off[i], c_off[i+1]);
 * checksum[i] is its checksum, when the table has them (else NULL: files
 * from other writers may lack them). */
typedef struct hp_frame_map {
    size_t nframes;
    uint64_t *c_off, *d_off;
    uint32_t *checksum;
} hp_frame_map;

/* Decodes the seek table at the end of the file data[0, size) into *map
 * (arrays the caller frees). Returns 0, or a negative hp_error with *why
 * and *where (the file offset concerned) set and *map empty. */
int hp_seek_table_decode(const uint8_t *data, size_t size, hp_frame_map *map, const char **why,
                         size_t *where);

#endif
