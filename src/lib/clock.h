/* clock.h - the clock the library times itself with: monotonic seconds,
 * for the phase timings of a digest and the durations of a batch; and the
 * calling thread's CPU seconds, which fall behind them when other work
 * takes the thread's core. */
#ifndef HP_CLOCK_H
#define HP_CLOCK_H

#include <time.h>

static inline double hp_clock(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline double hp_thread_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#endif
