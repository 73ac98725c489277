/* parallel.c: the one parallel loop. */
#include "testutil.h"

#include "parallel.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXN 200
#define MAXW 8

typedef struct loop {
    atomic_int calls[MAXN];
    atomic_int busy[MAXW];   /* calls running per worker number */
    atomic_int clash;        /* two calls at once with one worker number */
    atomic_int bad_worker;
    int threads;
} loop;

static void body(void *ctx, int i, int worker)
{
    loop *l = ctx;
    if (worker < 0 || worker >= l->threads || worker >= MAXW) {
        atomic_fetch_add(&l->bad_worker, 1);
        return;
    }
    if (atomic_fetch_add(&l->busy[worker], 1) != 0)
        atomic_fetch_add(&l->clash, 1);
    for (volatile int spin = 0; spin < 1000; spin++)
        ;
    atomic_fetch_add(&l->calls[i], 1);
    atomic_fetch_sub(&l->busy[worker], 1);
}

/* Every index exactly once, worker numbers below the team size and never
 * shared by two calls at a time, for any n and team size. */
static void every_index_once(void **state)
{
    (void)state;
    const int ns[] = {0, 1, 2, 7, MAXN};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (int threads = 1; threads <= MAXW; threads++) {
            loop *l = calloc(1, sizeof *l);
            l->threads = threads;
            hp_parallel_for(ns[a], threads, body, l);
            for (int i = 0; i < MAXN; i++)
                assert_int_equal(atomic_load(&l->calls[i]), i < ns[a] ? 1 : 0);
            assert_int_equal(atomic_load(&l->clash), 0);
            assert_int_equal(atomic_load(&l->bad_worker), 0);
            free(l);
        }
}

/* Two calls that wait for each other: they end only when two threads run
 * them at once (or after 10 s, which the test counts as a failure). */
static void meet(void *ctx, int i, int worker)
{
    (void)i, (void)worker;
    atomic_int *arrived = ctx;
    atomic_fetch_add(arrived, 1);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t);
    while (atomic_load(arrived) < 2 && t.tv_sec - t0.tv_sec < 10);
}

/* After fork() the parent's workers do not exist in the child: the child
 * must get threads of its own, not wait on the parent's (a child that had
 * only its calling thread would never see the two calls meet). */
static void threads_after_fork(void **state)
{
    (void)state;
    if (tu_under_tsan()) /* TSan refuses threads after a threaded fork() */
        skip();
    atomic_int arrived = 0;
    hp_parallel_for(2, 2, meet, &arrived); /* the parent's pool runs */
    assert_int_equal(atomic_load(&arrived), 2);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        atomic_store(&arrived, 0);
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        hp_parallel_for(2, 2, meet, &arrived);
        clock_gettime(CLOCK_MONOTONIC, &t);
        _exit(t.tv_sec - t0.tv_sec < 5 ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_index_once),
        cmocka_unit_test(threads_after_fork),
    };
    return cmocka_run_group_tests_name("parallel", tests, NULL, NULL);
}
