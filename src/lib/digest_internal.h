/* digest_internal.h - the digest engine's entry point for batches (issue 14).
 *
 * hp_hpc_make_ex() digests with a constant thread count. A batch scheduler
 * instead hands threads to its running digests as they progress: before
 * each wave of chunks, the engine asks `grant` how many threads the wave
 * gets, and runs at most that many of its tasks at once on the shared pool
 * (parallel.h), whose workers every running digest shares. A digest holds
 * chunk buffers and live states only for the threads it was granted (two
 * half-size chunks per thread, so that one can be decoded while the other
 * emits; one in all at one thread), and frees them as a lower grant drains
 * them: a batch whose grants sum to at most `threads` holds at most
 * `threads` threads' worth of chunk memory, whatever the number of running
 * digests. The output never depends on the grants. */
#ifndef HP_DIGEST_INTERNAL_H
#define HP_DIGEST_INTERNAL_H

#include "heapprof.h"
#include "parallel.h"

#include <stdint.h>

/* Asked before each wave: the digest has `remaining` bytes of .hpd left to
 * assign to chunks and ran its last wave on `current` threads (0 before the
 * first). Returns the threads for the next wave; the engine clamps it to
 * [1, max_threads]. Called from one of the digest's threads (any of them,
 * one call at a time per digest), never with the pool's lock held. */
typedef int (*hp_grant_fn)(void *ctx, uint64_t remaining, int current);

typedef struct hp_digest_hooks {
    int max_threads;   /* the most threads a wave may get (1..HP_MAX_THREADS) */
    hp_grant_fn grant; /* NULL: max_threads for every wave */
    void *grant_ctx;
    hp_pool *pool;     /* NULL: hp_pool_shared() */
} hp_digest_hooks;

/* hp_hpc_make_ex() with threads granted per wave: the same checks, output,
 * report and errors. opts->threads is ignored for hooks->max_threads;
 * report->threads is the largest grant. */
int hp_digest_run(const char *filebase, double time_interval, double precision,
                  const hp_make_options *opts, const hp_digest_hooks *hooks);

#endif
