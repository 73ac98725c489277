#include "parallel.h"

#if defined(__SANITIZE_THREAD__)
#define HP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HP_TSAN 1
#endif
#endif

#ifdef HP_TSAN
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct team {
    int n;
    hp_par_fn fn;
    void *ctx;
    atomic_int next;
} team;

typedef struct member {
    team *t;
    int worker;
} member;

static void *member_main(void *arg)
{
    member *m = arg;
    for (int i; (i = atomic_fetch_add(&m->t->next, 1)) < m->t->n;)
        m->t->fn(m->t->ctx, i, m->worker);
    return NULL;
}

static void run_team(int n, int threads, hp_par_fn fn, void *ctx)
{
    team t = {n, fn, ctx, 0};
    member *m = calloc((size_t)threads, sizeof *m);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    int started = 0;
    if (m && tid)
        for (; started < threads - 1; started++) {
            m[started] = (member){&t, started + 1};
            if (pthread_create(&tid[started], NULL, member_main, &m[started]) != 0)
                break;
        }
    member self = {&t, 0};
    member_main(&self);
    for (int i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    free(m);
    free(tid);
}
#else
#include <omp.h>

static void run_team(int n, int threads, hp_par_fn fn, void *ctx)
{
    (void)threads; /* unused where OpenMP pragmas are not compiled (the fuzz build) */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int i = 0; i < n; i++)
        fn(ctx, i, omp_get_thread_num());
}
#endif

void hp_parallel_for(int n, int threads, hp_par_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    if (n == 1 || threads <= 1) { /* no team to wake for one piece of work */
        for (int i = 0; i < n; i++)
            fn(ctx, i, 0);
        return;
    }
    run_team(n, threads < n ? threads : n, fn, ctx);
}
