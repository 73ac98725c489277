/* grow.h - the one way the library grows an array.
 *
 * Every growable array (event buffers, records, frames, names, seek
 * entries ...) doubles its capacity through hp_grow(), so that amortised
 * appends cost O(1) and no caller hand-writes the loop. */
#ifndef HP_GROW_H
#define HP_GROW_H

#include <stdlib.h>
#include <string.h>

/* Makes the array at *pp (a pointer to any T *) hold at least `need`
 * elements of `elem` bytes, doubling from `first` (at least 1). *cap is its
 * capacity in elements. Returns 0, or -1 when out of memory (the array is
 * then unchanged). The pointer is passed as void * and copied in and out,
 * so that callers need no casts of their T ** to void **. */
static inline int hp_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : (first ? first : 1);
    while (n < need) {
        if (n > (size_t)-1 / 2 / elem)
            return -1;
        n *= 2;
    }
    void *p;
    memcpy(&p, pp, sizeof p);
    void *q = realloc(p, n * elem);
    if (!q)
        return -1;
    memcpy(pp, &q, sizeof q);
    *cap = n;
    return 0;
}

#endif
