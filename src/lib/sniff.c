/* sniff.c - telling the profile's files apart by their first bytes. */
#include "sniff.h"

#include "bytes.h"
#include "hpc_format.h"
#include "heapprof.h"

#include <zstd.h>

/* Seconds since the epoch between 2000 and 2100: a plausible start time. */
static int plausible_time(uint64_t sec, uint64_t nsec)
{
    return sec >= 946684800ull && sec < 4102444800ull && nsec < 1000000000ull;
}

static int is_v1_hpc(const uint8_t *d, size_t size)
{
    hp_hpc_header h;
    size_t used;
    return hp_hpc_header_decode(d, size, &h, &used) == HP_OK && plausible_time(h.sec, h.nsec) &&
           h.index_offset >= used && h.index_offset <= size - 4 &&
           hp_be32(d + h.index_offset) == HP_INDEX_MAGIC;
}

static int is_hpm(const uint8_t *d, size_t size)
{
    uint64_t nranges;
    return size >= 21 && hp_be32(d) == 1 && plausible_time(hp_be64(d + 4), hp_be64(d + 12)) &&
           hp_varint_decode(d + 20, d + size, &nranges) > 0 && nranges <= HP_MAX_RANGES;
}

const char *hp_sniff(const uint8_t *d, size_t size)
{
    if (size >= 4 && hp_le32(d) == ZSTD_MAGICNUMBER)
        return "a zstd file (a v2 .hpc?)";
    if (is_v1_hpc(d, size))
        return "a v1 .hpc";
    if (is_hpm(d, size))
        return "an .hpm";
    return NULL;
}
