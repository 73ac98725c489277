/* tune.c: thread counts from measurements. */
#include "testutil.h"

#include <string.h>

#include <stdlib.h>
#include <sys/stat.h>

/* One point per measured thread count (1, 2, 4, ... and the maximum), the
 * recommendation among them, and the scratch folder gone afterwards. */
static void points_and_recommendation(void **state)
{
    tu_scratch *s = *state;
    tu_generate(s->fb, 20000, 50, 5, 3, NULL);
    char *tmp = tu_path(s->dir, "tmp");
    assert_int_equal(mkdir(tmp, 0700), 0);
    setenv("TMPDIR", tmp, 1);
    hp_tune_point pts[8];
    size_t n;
    int best;
    assert_int_equal(hp_tune(s->fb, 0.1, 0.01, 3, 0, pts, 8, &n, &best), HP_OK);
    assert_int_equal(n, 3);
    assert_int_equal(pts[0].threads, 1);
    assert_int_equal(pts[1].threads, 2);
    assert_int_equal(pts[2].threads, 3);
    assert_true(pts[0].speedup == 1.0);
    for (size_t i = 0; i < n; i++) {
        assert_true(pts[i].bytes > 0 && pts[i].seconds > 0);
        assert_true(pts[i].efficiency > 0 && pts[i].efficiency <= pts[i].speedup);
    }
    assert_true(best == 1 || best == 2 || best == 3);
    assert_int_equal(tu_count_entries(tmp), 0);
    /* a slice: only its bytes are digested */
    assert_int_equal(hp_tune(s->fb, 0.1, 0.01, 1, 4096, pts, 8, &n, &best), HP_OK);
    assert_int_equal(n, 1);
    assert_true(pts[0].bytes == 4096);
    unsetenv("TMPDIR");
    free(tmp);
}

/* A batch: the model measured on its largest profile, the batch replayed
 * with the scheduler and every fixed --jobs; the scheduler needs no help. */
static void batch_advice(void **state)
{
    tu_scratch *s = *state;
    for (int i = 0; i < 4; i++) {
        char *fb = tu_path(s->dir, "q%d", i);
        tu_generate(fb, 20000 + 30000 * (uint64_t)i, 50, 5, (uint64_t)i + 1, NULL);
        free(fb);
    }
    hp_batch *b;
    assert_int_equal(hp_batch_new(&b), HP_OK);
    assert_int_equal(hp_batch_add(b, s->dir, 0), HP_OK);
    hp_batch_tuning t;
    assert_int_equal(hp_tune_batch(b, 0.1, 0.01, 2, 0, &t), HP_OK);
    assert_int_equal(t.cores, hp_thread_count(2));
    assert_true(t.s_per_byte > 0 && t.serial >= 0 && t.serial <= 1);
    assert_true(t.automatic_s > 0 && t.best_jobs_s > 0);
    assert_true(t.best_jobs >= 1 && t.best_jobs <= t.cores);
    assert_int_equal(t.advise_jobs, t.best_jobs_s < 0.9 * t.automatic_s);
    assert_int_equal(t.advise_jobs, 0);
    /* measured on the largest (q3, the most events), 1 and 2 threads */
    assert_non_null(strstr(hp_batch_filebase(b, t.sample), "q3"));
    assert_int_equal(t.npoints, 2);
    assert_int_equal(t.points[0].point.threads, 1);
    assert_int_equal(t.points[1].point.threads, 2);
    hp_batch_free(b);
    hp_batch *empty;
    assert_int_equal(hp_batch_new(&empty), HP_OK);
    assert_int_equal(hp_tune_batch(empty, 0.1, 0.01, 2, 0, &t), HP_EINVAL);
    hp_batch_free(empty);
}

static void bad_arguments(void **state)
{
    tu_scratch *s = *state;
    hp_tune_point pts[4];
    size_t n;
    int best;
    assert_int_equal(hp_tune(s->fb, 0.1, 0.01, 0, 0, pts, 4, &n, &best), HP_EINVAL);
    assert_int_equal(hp_tune(s->fb, 0.1, 0.01, HP_MAX_THREADS + 1, 0, pts, 4, &n, &best), HP_EINVAL);
    assert_int_equal(hp_tune(s->fb, 0.1, 0.01, 2, 0, pts, 0, &n, &best), HP_EINVAL);
    assert_int_equal(hp_tune(s->fb, 0.1, 0.01, 2, 0, pts, 4, &n, &best), HP_EIO); /* no profile */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(points_and_recommendation, tu_scratch_setup,
                                        tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(batch_advice, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(bad_arguments, tu_scratch_setup, tu_scratch_teardown),
    };
    return cmocka_run_group_tests_name("tune", tests, NULL, NULL);
}
