/* clock.h - the one clock the library times itself with: monotonic
 * seconds, for the phase timings of a digest and the durations of a batch. */
#ifndef HP_CLOCK_H
#define HP_CLOCK_H

#include <time.h>

static inline double hp_clock(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#endif
