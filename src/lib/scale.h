/* scale.h - turning a sampled event size into the bytes it stands for.
 *
 * The table is built once from the .hpm ranges; the hot loop of the digest
 * calls hp_scale_apply() per event, so it is inline and branch-light. */
#ifndef HP_SCALE_H
#define HP_SCALE_H

#include "heapprof.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define HP_SCALE_SMALL 1024 /* most Python allocations are smaller */

typedef struct hp_scale {
    size_t n;                         /* ranges, sorted by max_bytes */
    uint64_t max_bytes[HP_MAX_RANGES];
    double factor[HP_MAX_RANGES];     /* 1/p, or 0 when p == 0 */
    int64_t small[HP_SCALE_SMALL];    /* hp_scale_compute() of small sizes */
} hp_scale;

/* The factor for an event of `size` bytes (1 beyond every range). */
static inline double hp_scale_factor_of(const hp_scale *s, uint64_t size)
{
    for (size_t i = 0; i < s->n; i++)
        if (size < s->max_bytes[i])
            return s->factor[i];
    return 1.0;
}

/* llrint(size * factor), saturated at INT64_MAX: a size beyond 2^63 can only
 * come from a damaged stream, and must not turn into undefined behaviour. */
static inline int64_t hp_scale_compute(const hp_scale *s, uint64_t size)
{
    for (size_t i = 0; i < s->n; i++) {
        if (size < s->max_bytes[i]) {
            double v = (double)size * s->factor[i];
            return v < 9.2e18 ? (int64_t)llrint(v) : INT64_MAX;
        }
    }
    return size <= (uint64_t)INT64_MAX ? (int64_t)size : INT64_MAX;
}

/* Fills s->small; call after setting the ranges. */
static inline void hp_scale_build_table(hp_scale *s)
{
    for (uint64_t size = 0; size < HP_SCALE_SMALL; size++)
        s->small[size] = hp_scale_compute(s, size);
}

/* The scaled size of an event: a table lookup for small sizes, which are
 * nearly all of them, instead of a range search, a multiplication and a
 * rounding per event. */
static inline int64_t hp_scale_apply(const hp_scale *s, uint64_t size)
{
    return size < HP_SCALE_SMALL ? s->small[size] : hp_scale_compute(s, size);
}

#endif
