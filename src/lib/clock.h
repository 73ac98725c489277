/* clock.h - the clock the library times itself with: monotonic seconds,
 * for the phase timings of a digest and the durations of a batch; and the
 * calling thread's CPU seconds, which fall behind them when other work
 * takes the thread's core. */
#ifndef HP_CLOCK_H
#define HP_CLOCK_H

#include <time.h>

static inline double hp_seconds_of(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline double hp_clock(void) { return hp_seconds_of(CLOCK_MONOTONIC); }

static inline double hp_thread_cpu(void) { return hp_seconds_of(CLOCK_THREAD_CPUTIME_ID); }

#endif
