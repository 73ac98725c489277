/* hpd_event.h - one .hpd event: decoding it, with the validity rules of
 * docs/FORMATS.md ("Damaged event streams"). Shared by the HPD iterator and
 * the digester's hot loop, hence inline. */
#ifndef HP_HPD_EVENT_H
#define HP_HPD_EVENT_H

#include "bytes.h"
#include "heapprof.h"

#include <stddef.h>
#include <stdint.h>

#define HP_EV_NEGATIVE 0x80000000u
#define HP_EV_FREE 0x40000000u
#define HP_EV_TRACE_MASK 0x3fffffffu
#define HP_USEC_PER_SEC 1000000u

/* An event as stored. */
typedef struct hp_raw_event {
    uint32_t word;  /* flags and trace index */
    uint64_t sec;   /* |delta| seconds */
    uint64_t usec;  /* |delta| microseconds part */
    uint64_t size;
} hp_raw_event;

/* The longest event: the word and three varints of HP_VARINT_MAX bytes. */
#define HP_EVENT_MAX (4 + 3 * HP_VARINT_MAX)

/* A varint at p where at least HP_VARINT_MAX bytes can be read: the byte
 * after it, or NULL when it runs past 10 bytes. The bulk of a .hpd, far
 * from its end, is decoded with this and no bounds checks; its results are
 * hp_varint_decode()'s. */
static inline const uint8_t *hp_varint_fast(const uint8_t *p, uint64_t *out)
{
    uint64_t b = p[0];
    if (__builtin_expect(b < 0x80, 1)) {
        *out = b;
        return p + 1;
    }
    uint64_t v = b & 0x7f;
    for (int i = 1; i < HP_VARINT_MAX; i++) {
        b = p[i];
        v |= (b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *out = v;
            return p + i + 1;
        }
    }
    return NULL;
}

/* Decodes the event at p. Returns its length (> 0); 0 when the input ends
 * inside it; or -reason (an hp_damage_reason) when it is invalid. Trace
 * indexes above max_trace are invalid. */
static inline int hp_event_decode(const uint8_t *p, const uint8_t *end, uint32_t max_trace,
                                  hp_raw_event *ev)
{
    if (end - p < 4)
        return 0;
    ev->word = hp_be32(p);
    if ((ev->word & HP_EV_TRACE_MASK) > max_trace)
        return -HP_DAMAGE_TRACE;
    const uint8_t *q = p + 4;
    int n = hp_varint_decode(q, end, &ev->sec);
    if (n <= 0)
        return n == 0 ? 0 : -HP_DAMAGE_VARINT;
    if ((ev->word & HP_EV_NEGATIVE) && ev->sec == 0)
        return -HP_DAMAGE_NEG_ZERO;
    q += n;
    n = hp_varint_decode(q, end, &ev->usec);
    if (n <= 0)
        return n == 0 ? 0 : -HP_DAMAGE_VARINT;
    if (ev->usec >= HP_USEC_PER_SEC)
        return -HP_DAMAGE_USEC;
    q += n;
    n = hp_varint_decode(q, end, &ev->size);
    if (n <= 0)
        return n == 0 ? 0 : -HP_DAMAGE_VARINT;
    return (int)(q + n - p);
}

/* Relative time saturates here (2^62 us, 146,000 years): only a damaged
 * stream gets there, and then it must not wrap round to a small time. */
#define HP_TIME_LIMIT_US (1ull << 62)

/* How far the relative clock moves for this event, in microseconds: the
 * delta when positive, 0 when the wall clock stepped back; at most
 * HP_TIME_LIMIT_US. */
static inline uint64_t hp_event_advance_us(const hp_raw_event *ev)
{
    if (ev->word & HP_EV_NEGATIVE)
        return 0;
    if (ev->sec >= HP_TIME_LIMIT_US / HP_USEC_PER_SEC)
        return HP_TIME_LIMIT_US;
    return ev->sec * HP_USEC_PER_SEC + ev->usec;
}

/* t + b, saturated at HP_TIME_LIMIT_US. */
static inline uint64_t hp_time_add(uint64_t t, uint64_t b)
{
    return b > HP_TIME_LIMIT_US || t > HP_TIME_LIMIT_US - b ? HP_TIME_LIMIT_US : t + b;
}

/* The error for the invalid event at `off` of the .hpd `map`, with its
 * reason; or, when the file is another of the profile's files (a .hpc or an
 * .hpm renamed), the error saying so. Returns HP_EFORMAT. */
struct hp_map;
int hp_fail_event(const struct hp_map *map, size_t off, int reason);

/* The run of consecutive valid events that salvage reading resumes at. */
#define HP_RESYNC_RUN 16

/* The run that a speculative chunk split must find. Longer than salvage's:
 * a wrong guess costs a serial re-decode of the chunk, and checking more
 * events costs next to nothing. */
#define HP_SPLIT_RUN 128

/* The first offset at or after `from` (relative to data) from which `run`
 * consecutive events are valid, or from which every event up to the end of
 * the data is valid; `size` when there is none. */
size_t hp_resync_run(const uint8_t *data, size_t size, size_t from, uint32_t max_trace, int run);

/* hp_resync_run() with HP_RESYNC_RUN: where salvage reading resumes. */
static inline size_t hp_resync(const uint8_t *data, size_t size, size_t from, uint32_t max_trace)
{
    return hp_resync_run(data, size, from, max_trace, HP_RESYNC_RUN);
}

#endif
