/* hpc_format.h - the records of a v1 .hpc (header, snapshot, index) and the
 * zstd seekable-format constants of v2, shared by the reader and writer. */
#ifndef HP_HPC_FORMAT_H
#define HP_HPC_FORMAT_H

#include "bytes.h"
#include "heapprof.h"

#include <math.h>

#define HP_HPC_VERSION 1
#define HP_SNAPSHOT_MAGIC 0x5379a0bdu
#define HP_INDEX_MAGIC 0xab935776u
#define HP_HPC_HEADER_MAX (4 + 8 + 8 + HP_VARINT_MAX + 8)
#define HP_HPC_HEADER_SIZE(interval_ms) (4 + 8 + 8 + hp_varint_size(interval_ms) + 8)

/* zstd seekable format (contrib/seekable_format in facebook/zstd). */
#define HP_SKIPPABLE_SEEK_MAGIC 0x184D2A5Eu
#define HP_SKIPPABLE_PAD_MAGIC 0x184D2A50u
#define HP_SEEKABLE_MAGIC 0x8F92EAB1u
#define HP_SEEK_FOOTER 9
/* The digest parameters, recorded in v2's header padding frame: the tag
 * "hpcparam", a version byte (1), interval_ms (LE64), precision (the LE64
 * bits of a double). */
#define HP_PARAMS_SIZE (8 + 1 + 8 + 8)
#define HP_MAX_FRAME_CONTENT (1u << 30)

/* The interval in whole milliseconds, as the header stores it: the API's
 * seconds rounded to the nearest ms. */
static inline uint64_t hp_interval_ms(double seconds)
{
    return (uint64_t)llround(seconds * 1000.0);
}

/* Writes the parameter record (HP_PARAMS_SIZE bytes) at p. */
void hp_params_encode(uint8_t *p, uint64_t interval_ms, double precision);

/* Reads a parameter record from [p, p + len); returns 0, or 1 when there is
 * none (too short, another tag or version). */
int hp_params_decode(const uint8_t *p, size_t len, uint64_t *interval_ms, double *precision);

typedef struct hp_hpc_header {
    uint64_t sec, nsec, interval_ms, index_offset;
} hp_hpc_header;

/* Decodes a header from [p, p + len). Returns 0 (and *used = its length),
 * HP_EVERSION, or HP_EFORMAT with *used = where it went wrong. */
int hp_hpc_header_decode(const uint8_t *p, size_t len, hp_hpc_header *h, size_t *used);

/* Encodes a header; returns its length (HP_HPC_HEADER_SIZE). */
size_t hp_hpc_header_encode(uint8_t *p, const hp_hpc_header *h);

/* Decodes the index at [p, end): snapshot offsets, each >= header_end and
 * increasing, all before index_off; (*offsets)[*n] is set to index_off.
 * Returns 0 or a negative hp_error with *why set. */
int hp_hpc_index_decode(const uint8_t *p, const uint8_t *end, uint64_t header_end,
                        uint64_t index_off, uint64_t **offsets, size_t *n, const char **why);

/* Decodes a snapshot record filling exactly [p, end) into a growable entry
 * array. Returns 0 or a negative hp_error with *why set. */
int hp_hpc_snapshot_decode(const uint8_t *p, const uint8_t *end, hp_entry **entries, size_t *cap,
                           size_t *count, const char **why);

#endif
