/* parallel.c - the pool of workers and its groups (see parallel.h). */
#include "parallel.h"

#include "heapprof.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct hp_group {
    hp_pool *pool;
    hp_group *next, *prev;  /* the pool's open groups */
    int limit, running;
    const hp_group_ops *ops;
    void *ctx;
    char *in_use;           /* worker numbers taken by running tasks */
    int ids_cap;
};

struct hp_pool {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    hp_group *groups;       /* a ring, visited from a moving start for fairness */
    int nworkers;           /* started */
    int want;               /* what the open groups can use besides their callers */
};

static hp_pool *shared;
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* In a child after fork() the workers are gone and the lock may be held by
 * a thread that no longer exists: forget the pool (its memory is the
 * parent's) and make a new one when needed. */
static void child_after_fork(void)
{
    shared = NULL;
    pthread_mutex_init(&shared_lock, NULL);
}

static void register_atfork(void) { pthread_atfork(NULL, NULL, child_after_fork); }

hp_pool *hp_pool_shared(void)
{
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&shared_lock);
    if (!shared) {
        hp_pool *p = calloc(1, sizeof *p);
        if (p) {
            pthread_mutex_init(&p->lock, NULL);
            pthread_cond_init(&p->cv, NULL);
            shared = p;
        }
    }
    hp_pool *p = shared;
    pthread_mutex_unlock(&shared_lock);
    return p;
}

void hp_pool_lock(hp_pool *pool) { pthread_mutex_lock(&pool->lock); }
void hp_pool_unlock(hp_pool *pool) { pthread_mutex_unlock(&pool->lock); }

/* ---- running one task ---------------------------------------------------------- */

/* The lowest worker number below the limit that no running task has (a
 * scan: limits are tens of threads, tasks milliseconds long). */
static int take_id(hp_group *g)
{
    for (int id = 0; id < g->limit && id < g->ids_cap; id++)
        if (!g->in_use[id]) {
            g->in_use[id] = 1;
            return id;
        }
    return 0; /* not reached: fewer than `limit` tasks run */
}

static void give_id(hp_group *g, int id) { g->in_use[id] = 0; }

/* With the lock held: runs `job` of g unlocked, then takes its result. */
static void run_job(hp_group *g, const hp_job *job)
{
    int id = take_id(g);
    g->running++;
    pthread_mutex_unlock(&g->pool->lock);
    g->ops->run(g->ctx, job, id);
    pthread_mutex_lock(&g->pool->lock);
    g->ops->done(g->ctx, job);
    g->running--;
    give_id(g, id);
    pthread_cond_broadcast(&g->pool->cv);
}

static void *worker_main(void *arg)
{
    hp_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        hp_group *g = p->groups, *found = NULL;
        hp_job job;
        if (g)
            do {
                if (g->running < g->limit && g->ops->pick(g->ctx, &job)) {
                    found = g;
                    break;
                }
                g = g->next;
            } while (g != p->groups);
        if (!found) {
            pthread_cond_wait(&p->cv, &p->lock);
            continue;
        }
        p->groups = found->next; /* the next search starts after it */
        run_job(found, &job);
    }
    return NULL;
}

/* With the lock held: starts workers up to what the open groups can use. */
static void ensure_workers(hp_pool *p)
{
    int cap = p->want < HP_MAX_THREADS ? p->want : HP_MAX_THREADS;
    while (p->nworkers < cap) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &a, worker_main, p);
        pthread_attr_destroy(&a);
        if (rc != 0)
            break; /* fewer workers: the callers do the rest */
        p->nworkers++;
    }
}

/* ---- groups -------------------------------------------------------------------- */

static int set_ids(hp_group *g, int limit)
{
    if (limit <= g->ids_cap)
        return 0;
    char *u = realloc(g->in_use, (size_t)limit);
    if (!u)
        return -1;
    memset(u + g->ids_cap, 0, (size_t)(limit - g->ids_cap));
    g->in_use = u;
    g->ids_cap = limit;
    return 0;
}

int hp_group_open(hp_group **out, hp_pool *pool, int limit, const hp_group_ops *ops, void *ctx)
{
    *out = NULL;
    if (!pool)
        return -1;
    hp_group *g = calloc(1, sizeof *g);
    if (!g)
        return -1;
    g->pool = pool;
    g->ops = ops;
    g->ctx = ctx;
    if (limit < 1)
        limit = 1;
    if (set_ids(g, limit) < 0) {
        free(g->in_use);
        free(g);
        return -1;
    }
    g->limit = limit;
    pthread_mutex_lock(&pool->lock);
    *out = g; /* before any worker can pick its tasks: they may use it */
    if (pool->groups) {
        g->next = pool->groups;
        g->prev = pool->groups->prev;
        g->prev->next = g;
        g->next->prev = g;
    } else {
        g->next = g->prev = g;
        pool->groups = g;
    }
    pool->want += limit - 1;
    ensure_workers(pool);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

void hp_group_set_limit(hp_group *g, int limit, int locked)
{
    if (limit < 1)
        limit = 1;
    if (!locked)
        pthread_mutex_lock(&g->pool->lock);
    if (limit != g->limit && set_ids(g, limit) == 0) {
        g->pool->want += limit - g->limit;
        g->limit = limit;
        ensure_workers(g->pool);
        pthread_cond_broadcast(&g->pool->cv);
    }
    if (!locked)
        pthread_mutex_unlock(&g->pool->lock);
}

int hp_group_limit(const hp_group *g) { return g->limit; }

void hp_group_wake(hp_group *g) { pthread_cond_broadcast(&g->pool->cv); }

void hp_group_run(hp_group *g)
{
    hp_pool *p = g->pool;
    pthread_mutex_lock(&p->lock);
    int woke = 1;
    for (;;) {
        if (g->running == 0 && g->ops->finished(g->ctx))
            break;
        hp_job job;
        int ran = g->running < g->limit && g->ops->pick(g->ctx, &job);
        if (ran)
            run_job(g, &job);
        /* the callbacks (progress, cancelling) after each wake-up, and after
         * each task the caller ran: one that always finds work never waits */
        if ((ran || woke) && g->ops->on_caller) {
            pthread_mutex_unlock(&p->lock);
            g->ops->on_caller(g->ctx);
            pthread_mutex_lock(&p->lock);
            woke = 0;
            continue;
        }
        if (ran)
            continue;
        pthread_cond_wait(&p->cv, &p->lock);
        woke = 1;
    }
    pthread_mutex_unlock(&p->lock);
}

void hp_group_close(hp_group *g)
{
    if (!g)
        return;
    hp_pool *p = g->pool;
    pthread_mutex_lock(&p->lock);
    while (g->running > 0) /* a caller that never ran it: its tasks end first */
        pthread_cond_wait(&p->cv, &p->lock);
    if (g->next == g) {
        p->groups = NULL;
    } else {
        g->prev->next = g->next;
        g->next->prev = g->prev;
        if (p->groups == g)
            p->groups = g->next;
    }
    p->want -= g->limit - 1;
    pthread_mutex_unlock(&p->lock);
    free(g->in_use);
    free(g);
}

/* ---- the parallel loop ------------------------------------------------------------ */

typedef struct loop {
    int n, next, done;
    hp_par_fn fn;
    void *ctx;
} loop;

static int loop_pick(void *ctx, hp_job *job)
{
    loop *l = ctx;
    if (l->next >= l->n)
        return 0;
    job->i = l->next++;
    return 1;
}

static void loop_run(void *ctx, const hp_job *job, int worker)
{
    loop *l = ctx;
    l->fn(l->ctx, (int)job->i, worker);
}

static void loop_done(void *ctx, const hp_job *job)
{
    (void)job;
    ((loop *)ctx)->done++;
}

static int loop_finished(void *ctx)
{
    loop *l = ctx;
    return l->done == l->n;
}

static const hp_group_ops loop_ops = {loop_pick, loop_run, loop_done, loop_finished, NULL};

void hp_parallel_for(int n, int threads, hp_par_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    hp_group *g = NULL;
    if (n > 1 && threads > 1) {
        loop l = {n, 0, 0, fn, ctx};
        if (hp_group_open(&g, hp_pool_shared(), threads < n ? threads : n, &loop_ops, &l) == 0) {
            hp_group_run(g);
            hp_group_close(g);
            return;
        }
    }
    /* one thread, or no pool to be had: no team to wake */
    for (int i = 0; i < n; i++)
        fn(ctx, i, 0);
}
