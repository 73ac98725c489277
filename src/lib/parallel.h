/* parallel.h - the one way the library runs a loop on several threads.
 *
 * Every parallel loop of the engine and the writer goes through
 * hp_parallel_for(): one index at a time, dynamic schedule, a given team
 * size, and a worker number for per-thread scratch (compression contexts).
 *
 * The team is OpenMP's. ThreadSanitizer builds are the exception: GCC's
 * libgomp is not built with TSan, so TSan cannot see that a region's fork and
 * closing barrier order the serial code's writes before the team's reads and
 * the team's writes before what follows, and it reports every region as a
 * race, starting with libgomp's own argument block, which the team reads
 * before any annotation can run. There the same loop runs on plain pthreads
 * that TSan understands, so the loop bodies, which are where races would be,
 * are checked exactly as they run in production. */
#ifndef HP_PARALLEL_H
#define HP_PARALLEL_H

/* One index of a loop; `worker` is in [0, threads) and no two calls running
 * at the same time share it. */
typedef void (*hp_par_fn)(void *ctx, int i, int worker);

/* Calls fn(ctx, i, worker) for every i in [0, n) on up to `threads` threads,
 * and returns when all calls have returned. */
void hp_parallel_for(int n, int threads, hp_par_fn fn, void *ctx);

#endif
