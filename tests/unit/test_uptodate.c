/* uptodate.c: whether a digest needs making again. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>

/* v2 records the parameters; v1 cannot; up-to-date follows them. */
/* Sets a file's modification time `delta` seconds from now. */
static void touch(const char *path, long delta)
{
    struct timespec t[2] = {{0, UTIME_OMIT}, {time(NULL) + delta, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

static void recorded_params(void **state)
{
    tu_scratch *f = *state;
    tu_generate(f->fb, 3000, 20, 2, 4, NULL);
    const char *fb = f->fb, *v1 = f->out;
    char *hpm = tu_path(f->dir, "p.hpm"), *hpd = tu_path(f->dir, "p.hpd");
    touch(hpm, -10); /* file times are coarser than a digest is long */
    touch(hpd, -10);
    free(hpm);
    free(hpd);
    assert_int_equal(hp_hpc_make(fb, 0.25, 0.03, 0), HP_OK);
    hp_hpc *h;
    assert_int_equal(hp_hpc_open(&h, fb), HP_OK);
    uint64_t ms = 0;
    double p = 0;
    assert_int_equal(hp_hpc_recorded_params(h, &ms, &p), HP_OK);
    assert_int_equal(ms, 250);
    assert_true(p == 0.03);
    hp_hpc_close(h);
    assert_int_equal(hp_hpc_is_up_to_date(fb, NULL, 0.25, 0.03, HP_FORMAT_V2), 1);
    assert_int_equal(hp_hpc_is_up_to_date(fb, NULL, 0.5, 0.03, HP_FORMAT_V2), 0);
    assert_int_equal(hp_hpc_is_up_to_date(fb, NULL, 0.25, 0.01, HP_FORMAT_V2), 0);
    assert_int_equal(hp_hpc_is_up_to_date(fb, NULL, 0.25, 0.03, HP_FORMAT_V1), 0);

    hp_make_options o;
    hp_make_options_init(&o, HP_MAKE_OPTIONS_VERSION);
    o.format = HP_FORMAT_V1;
    o.output = v1;
    assert_int_equal(hp_hpc_make_ex(fb, 0.25, 0.03, &o), HP_OK);
    assert_int_equal(hp_hpc_open_path(&h, v1), HP_OK);
    assert_int_equal(hp_hpc_recorded_params(h, &ms, &p), HP_NOT_RECORDED);
    hp_hpc_close(h);
}

/* A newer input makes the digest stale; an output elsewhere is checked
 * where it is. */
static void newer_inputs(void **state)
{
    tu_scratch *f = *state;
    tu_generate(f->fb, 3000, 20, 2, 4, NULL);
    char *hpm = tu_path(f->dir, "p.hpm"), *hpd = tu_path(f->dir, "p.hpd");
    touch(hpm, -10); /* file times are coarser than a digest is long */
    touch(hpd, -10);
    hp_make_options o = HP_MAKE_OPTIONS_INIT;
    o.output = f->out;
    assert_int_equal(hp_hpc_make_ex(f->fb, 1, 0.01, &o), HP_OK);
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, f->out, 1, 0.01, HP_FORMAT_V2), 1);
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, NULL, 1, 0.01, HP_FORMAT_V2), 0); /* no p.hpc */
    touch(hpd, 10);
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, f->out, 1, 0.01, HP_FORMAT_V2), 0);
    touch(hpd, -10);
    touch(hpm, 10);
    assert_int_equal(hp_hpc_is_up_to_date(f->fb, f->out, 1, 0.01, HP_FORMAT_V2), 0);
    free(hpm);
    free(hpd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(recorded_params, tu_scratch_setup, tu_scratch_teardown),
        cmocka_unit_test_setup_teardown(newer_inputs, tu_scratch_setup, tu_scratch_teardown),
    };
    return cmocka_run_group_tests_name("uptodate", tests, NULL, NULL);
}
