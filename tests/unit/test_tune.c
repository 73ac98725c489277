/* tune.c: thread counts from measurements. */
#include "testutil.h"

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
        cmocka_unit_test_setup_teardown(bad_arguments, tu_scratch_setup, tu_scratch_teardown),
    };
    return cmocka_run_group_tests_name("tune", tests, NULL, NULL);
}
