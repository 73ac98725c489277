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

#define HP_SCALE_FAST 4 /* ranges the branch-free path handles */

typedef struct hp_scale {
    size_t n;                         /* ranges, sorted by max_bytes */
    uint64_t max_bytes[HP_MAX_RANGES];
    double factor[HP_MAX_RANGES];     /* 1/p, or 0 when p == 0 */
    int64_t small[HP_SCALE_SMALL];    /* hp_scale_compute() of small sizes */
    /* the branch-free path (hp_scale_fast): the first ranges' bounds padded
     * with UINT64_MAX, their factors followed by 1 (beyond every range), and
     * the sizes below which it is exact: those whose double is exact and
     * whose product stays below the saturation */
    uint64_t fast_max[HP_SCALE_FAST];
    double fast_factor[HP_SCALE_FAST + 1];
    uint64_t fast_limit;
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

/* Fills s->small and the branch-free path; call after setting the ranges. */
static inline void hp_scale_build_table(hp_scale *s)
{
    for (uint64_t size = 0; size < HP_SCALE_SMALL; size++)
        s->small[size] = hp_scale_compute(s, size);
    s->fast_limit = s->n <= HP_SCALE_FAST ? (1ull << 53) : 0;
    for (size_t i = 0; i < HP_SCALE_FAST; i++) {
        s->fast_max[i] = i < s->n ? s->max_bytes[i] : UINT64_MAX;
        s->fast_factor[i] = i < s->n ? s->factor[i] : 1.0;
        /* no product may reach the saturation (9.2e18): sizes from where one
         * could take the exact path */
        if (i < s->n && s->factor[i] > 1.0) {
            double lim = 9.0e18 / s->factor[i];
            if (lim < (double)s->fast_limit)
                s->fast_limit = (uint64_t)lim;
        }
    }
    s->fast_factor[HP_SCALE_FAST] = 1.0;
}

/* The scaled size of an event: a table lookup for small sizes, which are
 * nearly all of them, instead of a range search, a multiplication and a
 * rounding per event. */
static inline int64_t hp_scale_apply(const hp_scale *s, uint64_t size)
{
    return size < HP_SCALE_SMALL ? s->small[size] : hp_scale_compute(s, size);
}

/* llrint(v) for |v| < 2^63 in the default rounding mode: one instruction
 * where the compiler would otherwise call libm (errno). */
#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
static inline int64_t hp_round(double v) { return _mm_cvtsd_si64(_mm_set_sd(v)); }
#else
static inline int64_t hp_round(double v) { return (int64_t)llrint(v); }
#endif

/* hp_scale_apply() without branches on the size, for streams where sizes
 * above HP_SCALE_SMALL are common and a branch on them mispredicts (a busy
 * heap: half its sizes). The same results: the range by counting the bounds
 * at or below the size, the product rounded as llrint does. */
static inline int64_t hp_scale_fast(const hp_scale *s, uint64_t size)
{
    if (__builtin_expect(size >= s->fast_limit, 0))
        return hp_scale_compute(s, size);
    unsigned idx = (size >= s->fast_max[0]) + (size >= s->fast_max[1]) +
                   (size >= s->fast_max[2]) + (size >= s->fast_max[3]);
    return hp_round((double)(int64_t)size * s->fast_factor[idx]);
}

#endif
