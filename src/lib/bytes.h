/* bytes.h - the wire primitives: big-endian fixed-width integers and
 * unsigned LEB128 varints, decoded from memory with explicit bounds. */
#ifndef HP_BYTES_H
#define HP_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* hp_varint_encode() for a buffer with HP_VARINT_MAX bytes of room at p:
 * returns the byte after the varint. Values below 2^56 take no loop and no
 * branch on their length: the 7-bit groups are spread into one 8-byte
 * store (little-endian hosts), which is what makes encoding millions of
 * snapshot entries cheap. */
static inline uint8_t *hp_varint_put(uint8_t *p, uint64_t v)
{
    if (v < 0x80) {
        *p = (uint8_t)v;
        return p + 1;
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (v < (1u << 21)) { /* two or three bytes: most traces and differences */
        uint32_t x = (uint32_t)((v & 0x7f) | ((v << 1) & 0x7f00) | ((v << 2) & 0x7f0000));
        unsigned len = 2 + (v >= (1u << 14));
        x |= len == 2 ? 0x80u : 0x8080u;
        memcpy(p, &x, 4);
        return p + len;
    }
    if (v < (1ull << 56)) {
        uint64_t x = (v & 0x7full) | ((v << 1) & 0x7f00ull) | ((v << 2) & 0x7f0000ull) |
                     ((v << 3) & 0x7f000000ull) | ((v << 4) & 0x7f00000000ull) |
                     ((v << 5) & 0x7f0000000000ull) | ((v << 6) & 0x7f000000000000ull) |
                     ((v << 7) & 0x7f00000000000000ull);
        unsigned len = (unsigned)(70 - __builtin_clzll(v)) / 7; /* ceil(bits / 7) */
        x |= 0x8080808080808080ull & ((1ull << (8 * (len - 1))) - 1);
        memcpy(p, &x, 8);
        return p + len;
    }
#endif
    return p + hp_varint_encode(p, v);
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
