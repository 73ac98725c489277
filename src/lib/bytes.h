/* bytes.h - the wire primitives: big-endian fixed-width integers and
 * unsigned LEB128 varints, decoded from memory with explicit bounds. */
#ifndef HP_BYTES_H
#define HP_BYTES_H

#include <stddef.h>
#include <stdint.h>

#define HP_VARINT_MAX 10 /* bytes of the longest 64-bit varint */

/* Results of hp_varint_decode() other than a length. */
enum { HP_VARINT_TRUNCATED = 0, HP_VARINT_OVERLONG = -1 };

static inline uint32_t hp_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t hp_be64(const uint8_t *p)
{
    return (uint64_t)hp_be32(p) << 32 | hp_be32(p + 4);
}

static inline void hp_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static inline void hp_put_be64(uint8_t *p, uint64_t v)
{
    hp_put_be32(p, (uint32_t)(v >> 32));
    hp_put_be32(p + 4, (uint32_t)v);
}

static inline void hp_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t hp_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void hp_put_le64(uint8_t *p, uint64_t v)
{
    hp_put_le32(p, (uint32_t)v);
    hp_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t hp_le64(const uint8_t *p)
{
    return (uint64_t)hp_le32(p) | (uint64_t)hp_le32(p + 4) << 32;
}

/* Decodes a varint from [p, end). Returns its length in bytes (1..10),
 * HP_VARINT_TRUNCATED when the input ends inside it, or HP_VARINT_OVERLONG
 * when it runs past 10 bytes. Bits beyond 64 are dropped, like heapprof. */
static inline int hp_varint_decode(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
    if (p < end && p[0] < 0x80) { /* the common one-byte case */
        *out = p[0];
        return 1;
    }
    uint64_t v = 0;
    for (int i = 0; i < HP_VARINT_MAX; i++) {
        if (p + i >= end)
            return HP_VARINT_TRUNCATED;
        uint8_t b = p[i];
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *out = v;
            return i + 1;
        }
    }
    return HP_VARINT_OVERLONG;
}

/* Encodes v; returns the bytes written (at most HP_VARINT_MAX). */
static inline size_t hp_varint_encode(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static inline size_t hp_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

#endif
