/* parallel.h - the library's threads: one pool of workers that every
 * parallel loop and every digest shares.
 *
 * A *group* is one user's share of the pool (a digest, a parallel loop):
 * it says which task to run next (`pick`, under the pool's lock, so that
 * a group's state needs no lock of its own), runs it (`run`, unlocked) and
 * takes its result (`done`, locked again). At most `limit` tasks of a
 * group run at once, wherever they run: on the pool's workers or on the
 * group's caller, which takes part (hp_group_run) until its group is done.
 * Several groups share the workers, each within its limit: the chunks of
 * every running digest are tasks of one pool.
 *
 * Waiting is passive (a condition variable, no spinning), so threads that
 * have nothing to do leave the cores to whoever has: on a machine already
 * busy, more threads than cores cost a few context switches, not the
 * cycles that spinning barriers took. The workers are plain pthreads, which
 * ThreadSanitizer understands (OpenMP's libgomp is not built with it), so
 * `make check SANITIZE=thread` checks the loop bodies as they run in
 * production. */
#ifndef HP_PARALLEL_H
#define HP_PARALLEL_H

#include <stddef.h>
#include <stdint.h>

/* ---- the one parallel loop ------------------------------------------------ */

/* One index of a loop; `worker` is in [0, threads) and no two calls running
 * at the same time share it. */
typedef void (*hp_par_fn)(void *ctx, int i, int worker);

/* Calls fn(ctx, i, worker) for every i in [0, n) on up to `threads` threads
 * (the caller and the pool's workers), dynamic schedule, and returns when
 * all calls have returned. */
void hp_parallel_for(int n, int threads, hp_par_fn fn, void *ctx);

/* ---- the pool and its groups ----------------------------------------------- */

typedef struct hp_pool hp_pool;
typedef struct hp_group hp_group;

/* What a group's task is, as its pick fills it in: a kind and two
 * arguments, the group's to interpret. */
typedef struct hp_job {
    int kind;
    void *p;
    int64_t i;
} hp_job;

typedef struct hp_group_ops {
    /* With the pool's lock held: fills *job and returns 1, or 0 when no
     * task is ready. Called only while fewer than `limit` tasks run. */
    int (*pick)(void *ctx, hp_job *job);
    /* Without the lock: runs the task. `worker` is in [0, limit) and unique
     * among the group's running tasks. */
    void (*run)(void *ctx, const hp_job *job, int worker);
    /* With the lock held: the task has run. */
    void (*done)(void *ctx, const hp_job *job);
    /* With the lock held: whether the group's caller may return (every
     * task it will ever pick has run). */
    int (*finished)(void *ctx);
    /* On the caller's thread, without the lock, each time it wakes (may be
     * NULL): for what must run there, such as callbacks into the user. */
    void (*on_caller)(void *ctx);
} hp_group_ops;

/* The process's pool, created at first use (NULL when even that fails).
 * Its workers sleep when no group has work; there are as many as the open
 * groups can use at once. A child process after fork() gets a fresh one. */
hp_pool *hp_pool_shared(void);

/* Opens a group of `limit` (>= 1) concurrent tasks on `pool`; *out is set
 * (under the pool's lock) before any task can run. Returns 0,
 * or -1 when out of memory or threads. */
int hp_group_open(hp_group **out, hp_pool *pool, int limit, const hp_group_ops *ops, void *ctx);

/* Changes the limit (>= 1); tasks already running finish. With the lock
 * held or not, as `locked` says. */
void hp_group_set_limit(hp_group *g, int limit, int locked);
int hp_group_limit(const hp_group *g);

/* The caller takes part in the group's work until ops->finished() says it
 * is done, then returns (no task of the group runs any more). */
void hp_group_run(hp_group *g);

/* Wakes sleeping workers and the caller: call after making work ready from
 * outside a task (with the lock held). Tasks' completions wake them anyway. */
void hp_group_wake(hp_group *g);

/* Closes a group whose caller returned from hp_group_run (or never ran
 * it). Accepts NULL. */
void hp_group_close(hp_group *g);

/* The pool's lock, for state that pick/done share with the caller. */
void hp_pool_lock(hp_pool *pool);
void hp_pool_unlock(hp_pool *pool);

#endif
